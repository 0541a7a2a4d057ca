"""The web app: search, facets, browsing and resource pages (Flask).

The package is organised by area, one Flask blueprint per module:

- `pages/`: HTML pages for people (home, search, resources, browse, files);
- `dissemination/`: what partners and machines read (Atom feeds, JSON API and its
  OpenAPI description, OAI-PMH, sitemap and OpenSearch, the embeddable list, and the
  `records` describers that turn a resource into metadata for all of them);
- `publishing/`: endpoints that publish content (the forge webhook, `hooks`);
- `statistics/`: `/statistiques` and its exports (CSV, ODS, JSON API), the annual review
  of a centre, and what they are drawn with (SVG charts, spreadsheets, tables);
- `core/`: shared request machinery, no routes (catalogue, query parameters, pagination,
  facets, formatting filters, Markdown links, caching headers, error pages, security
  headers);
- `agenda/`: events and training cycles, one home for a feature that spans people and
  machines: the `/agenda` page, its iCalendar files (`ical`), Atom feed and JSON API
  (`views`), its parameters and French date formatting;
- `alerts/`: the pages of the email alerts (subscription form, links of the emails); the
  subscriptions and the sending, which need no Flask, are the top-level `alerts` package;
- here: the application factory, the `kb serve` command (`commands`) and the threaded
  server it runs (`serving`).

Where does a new page go? A page for people (an agenda, statistics...) is a new module
in `pages/` holding a blueprint named after the module, registered in `create_app` below;
its templates go in `templates/<blueprint name>/` (the folder is named after the
blueprint, as `templates/browse/` for `pages/browse.py`), its tests in
`tests/test_webapp_<module>.py`. A new feed, export or machine format goes in
`dissemination/` the same way. Query parameters are read with `core/params.py` (never
`int(request.args[...])` by hand), listings paginated with `core/pagination.py`, and the
content is reached through `core/catalogue.py`, never by opening files or the index.

`create_app()` reads the same settings as the `kb` command (kb.toml, then the environment:
KB_CONTENT, KB_INDEX, KB_SITE_URL, KB_SOURCE_URL, KB_CONFIG); a mapping passed to it
overrides them with the same names, and may hold Flask's own keys (TESTING...):

    create_app({"KB_CONTENT": "/srv/contenu", "KB_INDEX": "/srv/index"})

`KB_BUILD_INDEX` (default True) builds the index at startup when there is none, so that
`gunicorn 'webapp:create_app()'` works on a fresh checkout.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kb import territories
from kb.config import SETTINGS, Settings, load_settings

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

# Settings that the `kb` command and the web app share, by the name used in both the
# environment and the app's configuration mapping.
SETTING_NAMES = {setting.env: setting.key for setting in SETTINGS if setting.env}


def settings_from_config(config: Mapping[str, Any]) -> Settings:
    """kb settings (kb.toml < environment) overridden by KB_* keys of the mapping."""
    options = {key: config.get(name) for name, key in SETTING_NAMES.items()}
    settings = load_settings(options, config_file=config.get("KB_CONFIG"))
    for warning in settings.warnings:
        log.warning(warning)
    return settings


def config_from_settings(settings: Settings) -> dict[str, Any]:
    """The mapping that makes `create_app` use already-resolved settings (`kb serve`)."""
    return {name: settings[key] for name, key in SETTING_NAMES.items()}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    # Imported here, not at module level: `kb` loads this package for its `serve` command,
    # and `kb check` (run by the git hook on every push) should not pay for Flask.
    from flask import Flask

    from . import agenda, alerts
    from .core import errors, formatting, incoming, responses, security
    from .core.catalogue import Catalogue
    from .dissemination import api, discovery, embed, feeds, oai
    from .pages import browse, files, home, resources, search
    from .pages import territories as territory_pages
    from .publishing import hooks, status
    from .statistics import review
    from .statistics import views as statistics

    config = dict(config or {})
    app = Flask(__name__)
    app.config.update(
        KB_BUILD_INDEX=True,
        JSON_AS_ASCII=False,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        MAX_CONTENT_LENGTH=64 * 1024,  # the site takes no uploads
    )
    app.config.update({k: v for k, v in config.items() if k not in SETTING_NAMES})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    settings = settings_from_config(config)
    app.config["KB_SETTINGS"] = settings
    territories.configure(settings.index, settings.content)  # where the QPV list is

    @app.before_request
    def _own_territories() -> None:
        # The QPV list is the one of this app's instance, even when a process holds
        # several apps (tests): cheap, it only sets two paths.
        territories.configure(settings.index, settings.content)

    if not settings.is_set("url_site"):
        log.warning(
            "url_site (KB_SITE_URL) n'est pas réglé : les liens absolus des flux, de l'API, "
            "de l'OAI-PMH et du plan du site pointent vers %s. En production, réglez url_site "
            "sur l'adresse publique du site (voir docs/deploiement.md).",
            settings.site_url,
        )

    catalogue = Catalogue(settings)
    if app.config["KB_BUILD_INDEX"]:
        report = catalogue.ensure_index()
        if report is not None:
            log.info("Index construit : %s", report.summary())
    app.extensions["kb_catalogue"] = catalogue

    app.jinja_env.autoescape = True  # also for templates not ending in .html
    formatting.install(app)
    security.install(app)
    errors.install(app)
    responses.install(app)
    incoming.install(app, settings.site_url)
    pages = (home.bp, search.bp, resources.bp, browse.bp, territory_pages.bp, files.bp)
    for blueprint in pages:
        app.register_blueprint(blueprint)
    for blueprint in (feeds.bp, api.bp, discovery.bp, oai.bp, embed.bp):  # dissemination
        app.register_blueprint(blueprint)
    app.register_blueprint(hooks.bp)  # publishing
    app.register_blueprint(status.bp)
    for blueprint in (statistics.bp, review.bp):  # statistics and annual reviews
        app.register_blueprint(blueprint)
    app.register_blueprint(agenda.views.bp)  # the agenda: its page and its calendars
    app.register_blueprint(alerts.views.bp)  # email alerts: subscription and email links
    app.jinja_env.globals.update(
        alert_fields=alerts.views.alert_fields, alerts_enabled=alerts.views.alerts_enabled
    )
    return app

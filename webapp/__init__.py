"""The web app: search, facets, browsing and resource pages (Flask).

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

    from . import (
        api,
        browse,
        discovery,
        embed,
        errors,
        feeds,
        files,
        formatting,
        home,
        hooks,
        oai,
        resources,
        responses,
        search,
        security,
    )
    from .catalogue import Catalogue

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
    for blueprint in (home.bp, search.bp, resources.bp, browse.bp, files.bp, hooks.bp):
        app.register_blueprint(blueprint)
    for blueprint in (feeds.bp, api.bp, discovery.bp, oai.bp, embed.bp):  # dissemination
        app.register_blueprint(blueprint)
    return app

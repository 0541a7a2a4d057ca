"""The agenda's pages pass axe-core (WCAG 2.1 A and AA) in Chromium, on a desktop and a
phone, with the events of tests/agenda_support.py around a fixed "now"."""

from __future__ import annotations

import pytest
from agenda_support import agenda_config, build_agenda_site
from test_browser_accessibility import WCAG_TAGS

pytestmark = pytest.mark.browser

PAGES = {
    "agenda": "/agenda",
    "agenda passé": "/agenda?periode=passes",
    "agenda filtré par dates": "/agenda?du=2026-04-01&au=2026-04-30&mode=presentiel",
    "formation": "/ressources/ca/cycle",
    "événement annulé": "/ressources/ca/annulee",
    "compte rendu issu d'un événement": "/ressources/ca/compte-rendu-rencontre",
    "recherche avec le formulaire d'alerte": "/recherche?q=rencontre",
    "alertes : lien invalide": "/alertes/confirmer/pas-un-jeton",
    "alertes : demander un lien": "/alertes/lien",
}


@pytest.fixture(scope="module")
def agenda_server(tmp_path_factory):
    from webapp import create_app
    from webapp.serving import ServerThread

    site = build_agenda_site(tmp_path_factory.mktemp("agenda-navigateur"))
    server = ServerThread(create_app(agenda_config(site)))
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _manage_page() -> str:
    from agenda_support import ALERT_SECRET

    from alerts.tokens import MANAGE, Signer

    return "/alertes/gerer/" + Signer(ALERT_SECRET).make(MANAGE, "a@example.org")


PAGES["alertes : gérer ses alertes"] = _manage_page()


@pytest.mark.parametrize("viewport", [(1280, 900), (375, 812)], ids=["bureau", "mobile"])
@pytest.mark.parametrize("path", list(PAGES.values()), ids=list(PAGES))
def test_no_wcag_violation_on_agenda_pages(browser, agenda_server, axe, path, viewport):
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale="fr-FR"
    )
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(agenda_server + path, wait_until="load")
        assert response.status in (200, 400)
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        assert results.violations_count == 0, results.generate_report()
        assert errors == []
    finally:
        context.close()

"""axe-core (WCAG 2.0 and 2.1, levels A and AA) finds no violation on the main pages."""

from __future__ import annotations

import pytest
from webapp_support import DIAGNOSTIC, RETIRED

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    "accueil": "/",
    "recherche avec résultats": "/recherche?q=diagnostic",
    "recherche avec filtres actifs": "/recherche?q=mobilit%C3%A9&thematiques=mobilite&annee=2015-2024",
    "recherche sans résultat": "/recherche?q=zzzqqq&piliers=cadre-de-vie",
    "recherche sans requête": "/recherche",
    "recherche corrigée": "/recherche?q=diagnostik",
    "ressource": DIAGNOSTIC,
    "ressource avec tableau large": "/ressources/centre-alpha/fiche-rangee",
    "ressource hostile": "/ressources/centre-beta/fiche-piegee",
    "centre": "/centres/centre-alpha",
    "dispositif": "/dispositifs/gusp",
    "territoire": "/territoires/11",
    "erreur 404": "/nulle-part",
    "erreur 400": "/recherche?page=x",
    "ressource retirée (410)": RETIRED,
    "liste intégrée": "/integrer?thematiques=mobilite&nombre=5",
    "à propos (mode d'emploi des flux, de l'API, d'OAI-PMH)": "/a-propos",
    "statistiques": "/statistiques",
    "statistiques filtrées, années d'entrée": "/statistiques?thematiques=mobilite&annees=entree",
    "bilan annuel d'un centre": "/centres/centre-gamma/bilan/2010",
}


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.parametrize("viewport", [(1280, 900), (375, 812)], ids=["bureau", "mobile"])
@pytest.mark.parametrize("path", list(PAGES.values()), ids=list(PAGES))
def test_no_wcag_violation(make_session, axe, path, viewport):
    session = make_session(viewport={"width": viewport[0], "height": viewport[1]})
    session.goto(path)
    results = axe.run(session.page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, results.generate_report()

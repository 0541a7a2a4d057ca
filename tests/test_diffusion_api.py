"""The JSON API under /api/v1/: search, resources, centres, vocabularies, its OpenAPI 3.1
description (checked with schemathesis), pagination, ETag revalidation, CORS, errors."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import schemathesis
from htmlcheck import dangers
from hypothesis import HealthCheck, settings
from schemathesis import checks
from webapp_support import DIAGNOSTIC, RETIRED, RETIRED_TITLE, SERIES, SITE_URL

from indexer.search import SearchIndex, SearchRequest


def get_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:300])
    assert response.mimetype == "application/json"
    return response.get_json()


def local(url: str) -> str:
    """An absolute link of the API as a path for the test client."""
    assert url.startswith(SITE_URL), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- search ---------------------------------------------------------------------------------


def test_search_has_the_shape_of_kb_search_json_plus_pagination(web_client, webapp_site):
    data = get_json(web_client, "/api/v1/recherche?q=mobilit%C3%A9&thematiques=mobilite")
    expected = (
        SearchIndex(webapp_site.index)
        .search(SearchRequest(q="mobilité", filters={"thematiques": ("mobilite",)}))
        .as_json()
    )
    pagination = data.pop("pagination")
    assert data == expected  # same shape and values as `kb search --json`
    assert pagination["page"] == 1
    assert pagination["par_page"] == 10
    assert pagination["pages"] == 3  # 24 series resources
    assert pagination["precedente"] is None
    assert pagination["suivante"].endswith("page=2")


def test_paging_through_the_api_reads_every_published_resource_once(web_client, webapp_site):
    url = "/api/v1/recherche?par_page=7&tri=date"
    seen: list[str] = []
    pages = 0
    while url:
        data = get_json(web_client, url)
        seen += [hit["id"] for hit in data["resultats"]]
        following = data["pagination"]["suivante"]
        url = local(following) if following else None
        pages += 1
        assert pages < 20
    published = {meta["id"] for meta in SearchIndex(webapp_site.index).all_metadata()}
    assert len(seen) == len(set(seen)) == len(published)
    assert set(seen) == published
    assert not any("brouillon" in resource_id for resource_id in seen)
    assert SERIES + 3 <= len(seen)


def test_pagination_links_are_also_in_the_link_header(web_client):
    response = web_client.get("/api/v1/recherche?thematiques=mobilite&page=2")
    link = response.headers["Link"]
    assert 'rel="first"' in link and 'rel="prev"' in link
    assert 'rel="next"' in link and 'rel="last"' in link
    assert f"<{SITE_URL}/api/v1/recherche?thematiques=mobilite&page=3>" in link


def test_every_page_is_reachable_beyond_the_page_window(web_client):
    # The HTML search stops at 1000 results; the API, like the feeds, reads everything.
    data = get_json(web_client, "/api/v1/recherche?par_page=1&page=28")
    assert len(data["resultats"]) == 1


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/api/v1/recherche?page=x", "numéro de page"),
        ("/api/v1/recherche?piliers=inconnu", "valeur inconnue"),
        ("/api/v1/recherche?par_page=1000", "par_page"),
        ("/api/v1/recherche?tri=titre", "tri inconnu"),
        ("/api/v1/recherche?sortie=xml", "paramètre inconnu"),
        ("/api/v1/centres?x=1", "aucun paramètre"),
    ],
)
def test_invalid_parameters_give_a_french_json_error(web_client, url, words):
    data = get_json(web_client, url, 400)
    assert data["erreur"]["statut"] == 400
    assert data["erreur"]["titre"] == "Requête invalide"
    assert any(words in message.lower() for message in data["erreur"]["messages"]), data


def test_a_page_past_the_last_is_a_json_404(web_client):
    data = get_json(web_client, "/api/v1/recherche?thematiques=mobilite&page=9", 404)
    assert "la page 9 n'existe pas" in data["erreur"]["messages"][0].lower()


def test_unknown_api_addresses_and_methods_answer_in_json(web_client):
    assert get_json(web_client, "/api/v1/inconnu", 404)["erreur"]["titre"] == "Page introuvable"
    response = web_client.post("/api/v1/recherche")
    assert response.status_code == 405 and response.mimetype == "application/json"
    assert "GET" in response.headers["Allow"]


# --- one resource, centres, vocabularies -------------------------------------------------------


def test_a_resource_has_all_its_metadata_body_attachments_and_links(web_client):
    data = get_json(web_client, "/api/v1" + DIAGNOSTIC)
    assert data["id"] == "centre-alpha/diagnostic-en-marchant"
    assert data["titre"] == "Conduire un diagnostic en marchant avec les habitants"
    assert data["mise_a_jour"] == "2023-01-10"
    assert data["piliers"] == ["cadre-de-vie", "cohesion-sociale"]
    assert data["territoire"] == {
        "region": "84",
        "departement": "69",
        "communes": ["69123"],
        "epci": [],
        "qpv": ["QN06901M"],
    }
    assert data["lieux"] == [
        {"type": "region", "code": "84", "nom": "Auvergne-Rhône-Alpes"},
        {"type": "departement", "code": "69", "nom": "Rhône"},
        {"type": "epci", "code": "200046977", "nom": "Métropole de Lyon"},
        {"type": "commune", "code": "69123", "nom": "Lyon"},
        {"type": "qpv", "code": "QN06901M", "nom": "Quartier prioritaire QN06901M"},
    ]
    assert data["libelles"]["communes"] == {"69123": "Lyon (69)"}
    assert data["periode"] == {"debut": "2020", "fin": "2022"}
    assert data["licence"] == "CC BY-SA 4.0"
    assert "centre-alpha/ancien-diagnostic" in data["alias"]
    assert data["libelles"]["dispositifs"]["gusp"].startswith("Gestion urbaine")
    assert data["libelles"]["region"] == "Auvergne-Rhône-Alpes"
    # The sanitised body, its links made absolute for other sites.
    assert '<h3 id="sec-contexte">Contexte</h3>' in data["corps_html"]
    assert dangers(data["corps_html"]) == []
    assert f'href="{SITE_URL}/fichiers/centre-alpha/bilan.pdf"' in data["corps_html"]
    attachments = {a["nom"]: a for a in data["pieces_jointes"]}
    assert attachments["bilan.pdf"]["type_mime"] == "application/pdf"
    assert attachments["bilan.pdf"]["url"] == f"{SITE_URL}/fichiers/centre-alpha/bilan.pdf"
    assert data["liens"]["page"] == SITE_URL + DIAGNOSTIC
    assert data["liens"]["source"] == SITE_URL + DIAGNOSTIC + "/source.md"


def test_a_hostile_resource_body_is_sanitised_in_the_api(web_client):
    data = get_json(web_client, "/api/v1/ressources/centre-beta/fiche-piegee")
    assert "window.__xss" in data["corps_html"]  # shown as text...
    assert dangers(data["corps_html"]) == []  # ...never as markup


@pytest.mark.parametrize(
    "old",
    [
        "/api/v1/ressources/centre-alpha/ancien-diagnostic",
        "/api/v1/ressources/Centre-Alpha/Diagnostic-En-Marchant",
    ],
)
def test_former_ids_redirect_in_the_api_too(web_client, old):
    response = web_client.get(old)
    assert response.status_code == 301
    assert response.headers["Location"] == "/api/v1" + DIAGNOSTIC


def test_a_removed_resource_is_gone_in_the_api_with_its_title(web_client):
    data = get_json(web_client, "/api/v1" + RETIRED, 410)
    assert data["ressource"]["titre"] == RETIRED_TITLE
    assert data["ressource"]["date"] == "2019-05-02"
    assert data["recherche_proche"].startswith(SITE_URL + "/api/v1/recherche?q=")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/ressources/centre-alpha/brouillon-secret",
        "/api/v1/ressources/centre-alpha/inconnue",
        "/api/v1/ressources/centre-orphelin/fiche",
    ],
)
def test_drafts_and_unknown_resources_are_not_found(web_client, url):
    data = get_json(web_client, url, 404)
    assert data["erreur"]["statut"] == 404


def test_drafts_never_appear_in_any_search(web_client):
    data = get_json(web_client, "/api/v1/recherche?q=confidentiel&par_page=100")
    assert all("brouillon" not in hit["id"] for hit in data["resultats"])


def test_centres_and_vocabularies(web_client):
    centres = {c["id"]: c for c in get_json(web_client, "/api/v1/centres")["centres"]}
    assert centres["centre-gamma"]["ressources"] == SERIES
    assert centres["centre-alpha"]["nom"] == "Centre Alpha des quartiers (test)"
    assert centres["centre-alpha"]["flux"] == f"{SITE_URL}/recherche.atom?centre=centre-alpha"
    assert "centre-orphelin" not in centres
    vocabularies = get_json(web_client, "/api/v1/vocabulaires")
    assert {"piliers", "thematiques", "dispositifs", "publics", "types", "regions"} <= set(
        vocabularies
    )
    gusp = next(t for t in vocabularies["dispositifs"] if t["id"] == "gusp")
    assert gusp["libelle"] == "Gestion urbaine et sociale de proximité"
    assert gusp["sigle"] == "GUSP"


# --- HTTP: caching and cross-origin reads ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/v1/recherche?q=diagnostic", "/api/v1" + DIAGNOSTIC, "/api/v1/centres", "/api/v1/"],
)
def test_etag_revalidation_answers_304(web_client, url):
    first = web_client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = web_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    changed = web_client.get(url, headers={"If-None-Match": '"autre-version"'})
    assert changed.status_code == 200


def test_cors_allows_any_page_to_read_the_api(web_client):
    response = web_client.get("/api/v1/recherche", headers={"Origin": "https://partenaire.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    error = web_client.get("/api/v1/recherche?page=x", headers={"Origin": "https://p.example"})
    assert error.headers["Access-Control-Allow-Origin"] == "*"  # errors are readable too
    preflight = web_client.options(
        "/api/v1/recherche",
        headers={
            "Origin": "https://partenaire.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    # Pages of the site are not opened to other origins.
    assert "Access-Control-Allow-Origin" not in web_client.get("/recherche").headers


# --- the OpenAPI description, and the API checked against it ----------------------------------


def test_the_description_is_openapi_3_1_and_lists_the_accepted_values(web_client):
    from openapi_spec_validator import validate

    description = get_json(web_client, "/api/v1/openapi.json")
    validate(description)  # raises on an invalid OpenAPI document
    assert description["openapi"] == "3.1.0"
    assert description["servers"] == [{"url": SITE_URL + "/api/v1"}]
    parameters = {p["name"]: p for p in description["paths"]["/recherche"]["get"]["parameters"]}
    assert set(parameters) >= {"q", "piliers", "centre", "annee", "tri", "page", "par_page"}
    assert "cadre-de-vie" in parameters["piliers"]["schema"]["items"]["enum"]
    assert parameters["centre"]["schema"]["items"]["enum"] == [
        "centre-alpha",
        "centre-beta",
        "centre-gamma",
    ]


@pytest.fixture(scope="module")
def api_schema(web_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", web_app)


schema = schemathesis.pytest.from_fixture("api_schema")

# Conformance of every response. Not `positive_data_acceptance` nor
# `negative_data_rejection`: like the search page, the API refuses a reversed period
# (2022-2018) and ignores empty values (`publics=`), which a schema cannot express.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_conforms_to_its_description(case):
    case.call_and_validate(checks=CHECKS)


def test_real_resources_conform_to_the_description(api_schema, webapp_site):
    """Generated ids mostly miss: check every published resource, an alias and a removed one."""
    operation = api_schema["/ressources/{centre}/{fiche}"]["GET"]
    ids = [meta["id"] for meta in SearchIndex(webapp_site.index).all_metadata()]
    expected = {resource_id: 200 for resource_id in ids}
    expected["centre-alpha/ancien-diagnostic"] = 301
    expected[RETIRED.removeprefix("/ressources/")] = 410
    for resource_id, status in expected.items():
        centre, _, slug = resource_id.partition("/")
        case = operation.Case(path_parameters={"centre": centre, "fiche": slug})
        response = case.call_and_validate(checks=CHECKS)
        assert response.status_code == status, resource_id


def test_search_keeps_approximate_results_apart(web_client):
    data = get_json(web_client, "/api/v1/recherche?q=diagnostic+t%C3%A9l%C3%A9ph%C3%A9rique")
    assert data["total"] == 0 and data["resultats"] == []
    found = {hit["id"]: hit["mots_absents"] for hit in data["approchants"]}
    assert found["centre-alpha/diagnostic-en-marchant"] == ["téléphérique"]
    full = get_json(web_client, "/api/v1/recherche?q=mobilit%C3%A9+emploi+jeunes")
    assert full["total"] >= 1 and full["approchants"] == []

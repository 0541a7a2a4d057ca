"""Metadata for the web (sitemap, robots.txt, OpenSearch; JSON-LD, Open Graph and Dublin
Core on resource pages; "Citer cette ressource"), the embeddable list, and the about
page's documentation."""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree
from webapp_support import (
    DIAGNOSTIC,
    HOSTILE,
    RETIRED,
    SERIES,
    SITE_URL,
    elements,
    hrefs,
    page_dangers,
    text,
)

from indexer.search import SearchIndex
from webapp.dissemination import discovery

SITEMAP = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
OPENSEARCH = {"o": "http://a9.com/-/spec/opensearch/1.1/"}


def xml(client, url: str, mimetype: str) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    return etree.fromstring(response.data)


# --- sitemap, robots.txt, OpenSearch --------------------------------------------------------------


def test_the_sitemap_lists_every_published_resource_once_with_its_last_change(
    web_client, webapp_site
):
    root = xml(web_client, "/sitemap.xml", "application/xml")
    assert root.tag == etree.QName(SITEMAP["s"], "urlset").text
    urls = {
        url.findtext("s:loc", namespaces=SITEMAP): url.findtext("s:lastmod", namespaces=SITEMAP)
        for url in root.iterfind("s:url", SITEMAP)
    }
    locs = root.xpath("//s:loc/text()", namespaces=SITEMAP)
    assert len(locs) == len(set(locs))
    resources = {u for u in urls if "/ressources/" in u}
    published = {SITE_URL + m["url"] for m in SearchIndex(webapp_site.index).all_metadata()}
    assert resources == published
    assert SERIES + 3 <= len(resources)
    assert urls[SITE_URL + DIAGNOSTIC] == "2023-01-10"  # mise_a_jour
    assert urls[SITE_URL + "/ressources/centre-beta/maison-du-projet"] == "2020-09-17"
    assert SITE_URL + "/" in urls and SITE_URL + "/centres/centre-alpha" in urls
    assert not any("brouillon" in u or "orphelin" in u or u.endswith(RETIRED) for u in urls)


def test_a_large_sitemap_becomes_an_index_of_sitemaps(web_client, monkeypatch):
    monkeypatch.setattr(discovery, "MAX_URLS", 10)
    index = xml(web_client, "/sitemap.xml", "application/xml")
    assert index.tag == etree.QName(SITEMAP["s"], "sitemapindex").text
    parts = index.xpath("//s:loc/text()", namespaces=SITEMAP)
    assert parts[0] == f"{SITE_URL}/sitemap.xml?page=1"
    locs = []
    for part in parts:
        root = xml(web_client, part.removeprefix(SITE_URL), "application/xml")
        locs += root.xpath("//s:loc/text()", namespaces=SITEMAP)
        assert len(root) <= 10
    assert len(locs) == len(set(locs)) > 30
    assert web_client.get(f"/sitemap.xml?page={len(parts) + 1}").status_code == 404


def test_robots_txt_points_to_the_sitemap(web_client):
    response = web_client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in body
    assert "Disallow: /recherche" in body
    assert "User-agent: *" in body


def test_the_opensearch_description_lets_browsers_search_the_site(web_client):
    root = xml(web_client, "/opensearch.xml", "application/opensearchdescription+xml")
    assert len(root.findtext("o:ShortName", namespaces=OPENSEARCH)) <= 16
    templates = {url.get("type"): url.get("template") for url in root.iterfind("o:Url", OPENSEARCH)}
    assert templates["text/html"] == f"{SITE_URL}/recherche?q={{searchTerms}}"
    assert templates["application/atom+xml"].startswith(f"{SITE_URL}/recherche.atom?q=")
    html = web_client.get("/").get_data(as_text=True)
    assert elements(
        html,
        "link",
        rel="search",
        type="application/opensearchdescription+xml",
        href="/opensearch.xml",
    )


# --- resource pages: JSON-LD, Open Graph, Dublin Core, citation ---------------------------------------


def json_ld(html: str) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_a_resource_page_describes_itself_in_schema_org(web_client):
    html = web_client.get(DIAGNOSTIC).get_data(as_text=True)
    data = json_ld(html)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Article"
    assert data["url"] == SITE_URL + DIAGNOSTIC
    assert data["headline"] == "Conduire un diagnostic en marchant avec les habitants"
    assert data["datePublished"] == "2021-03-15" and data["dateModified"] == "2023-01-10"
    assert data["publisher"] == {
        "@type": "Organization",
        "name": "Centre Alpha des quartiers (test)",
        "url": "https://example.org/alpha",
    }
    about = {term["termCode"]: term for term in data["about"]}
    assert about["gusp"]["url"] == f"{SITE_URL}/dispositifs/gusp"
    assert about["cadre-de-vie"]["name"].startswith("Cadre de vie")
    places = {place.get("name"): place for place in data["spatialCoverage"]}
    assert places["Auvergne-Rhône-Alpes"]["identifier"] == "84"
    assert places["Quartier prioritaire QN06901M"]["@type"] == "Place"
    assert places["Lyon"] == {
        "@type": "City",
        "name": "Lyon",
        "identifier": "69123",
        "additionalType": "commune",
    }
    assert places["Métropole de Lyon"]["identifier"] == "200046977"
    assert data["license"] == "CC BY-SA 4.0"
    assert data["inLanguage"] == "fr-FR"


def test_a_resource_page_has_open_graph_and_dublin_core_tags(web_client):
    html = web_client.get(DIAGNOSTIC).get_data(as_text=True)
    og = {m["property"]: m["content"] for m in elements(html, "meta") if "property" in m}
    assert og["og:title"] == "Conduire un diagnostic en marchant avec les habitants"
    assert og["og:url"] == SITE_URL + DIAGNOSTIC
    assert og["og:type"] == "article"
    assert og["og:locale"] == "fr_FR"
    assert og["article:published_time"] == "2021-03-15"
    dc: dict[str, list[str]] = {}
    for meta in elements(html, "meta"):
        if meta.get("name", "").startswith(("DC.", "DCTERMS.")):
            dc.setdefault(meta["name"], []).append(meta["content"])
    assert dc["DC.title"] == ["Conduire un diagnostic en marchant avec les habitants"]
    assert dc["DC.identifier"] == [SITE_URL + DIAGNOSTIC]
    assert dc["DC.publisher"] == ["Centre Alpha des quartiers (test)"]
    assert dc["DC.language"] == ["fr"]
    assert dc["DCTERMS.issued"] == ["2021-03-15"]
    assert "Participation citoyenne" in dc["DC.subject"]
    assert elements(html, "link", rel="schema.DC", href="http://purl.org/dc/elements/1.1/")


def test_cite_this_resource_gives_text_and_bibtex_with_the_permanent_link(web_client):
    import datetime as dt

    from webapp.core.formatting import date_fr

    html = web_client.get(DIAGNOSTIC).get_data(as_text=True)
    assert "Citer cette ressource" in text(html)
    citation = text(html.split('id="citation-texte">', 1)[1].split("</p>", 1)[0])
    assert citation.startswith("Chef de projet GUSP, Chargée de mission participation.")
    assert "Conduire un diagnostic en marchant avec les habitants [fiche pratique]" in citation
    assert f"Disponible sur : {SITE_URL}{DIAGNOSTIC}" in citation
    assert f"(consulté le {date_fr(dt.date.today())})".replace("\u00a0", " ") in citation
    bibtex = html.split("<code>@misc{", 1)[1].split("</code>", 1)[0]
    assert bibtex.startswith("crpv:centre-alpha/diagnostic-en-marchant,")
    assert f"url          = {{{SITE_URL}{DIAGNOSTIC}}}" in bibtex
    assert f"urldate      = {{{dt.date.today().isoformat()}}}" in bibtex
    assert "author       = {{Chef de projet GUSP} and {Chargée de mission participation}}" in bibtex


def test_bibtex_escapes_special_characters():
    from webapp.dissemination.records import bibtex_text

    assert bibtex_text("50 % & {x} #1 a_b ~ ^ \\") == (
        r"50 \% \& \{x\} \#1 a\_b \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )


def test_hostile_metadata_stays_inert_in_the_page_descriptions(web_client):
    html = web_client.get(HOSTILE).get_data(as_text=True)
    assert page_dangers(html) == []
    data = json_ld(html)  # parses: no markup broke out of the data block
    assert data["@type"]


# --- the embeddable list ---------------------------------------------------------------------------


def test_the_embed_lists_the_latest_matching_resources_and_may_be_framed(web_client):
    response = web_client.get("/integrer?thematiques=mobilite&nombre=3")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "X-Frame-Options" not in response.headers
    html = response.get_data(as_text=True)
    links = [a for a in elements(html, "a") if "/ressources/" in a["href"]]
    assert [a["href"] for a in links] == [
        f"{SITE_URL}/ressources/centre-gamma/serie-{n:02d}" for n in (24, 23, 22)
    ]
    assert all(a["target"] == "_blank" and a["rel"] == "noopener" for a in links)
    assert "Thématique : Mobilité" in text(html)
    assert f"{SITE_URL}/recherche?thematiques=mobilite&tri=ajout" in hrefs(html)
    assert not elements(html, "script") and "style=" not in html


def test_only_the_embed_may_be_framed(web_client):
    for url in ("/", "/recherche", DIAGNOSTIC, "/a-propos"):
        response = web_client.get(url)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "url", ["/integrer?nombre=50", "/integrer?piliers=inconnu", "/integrer?page=2"]
)
def test_invalid_embed_parameters_are_explained_inside_the_frame(web_client, url):
    response = web_client.get(url)
    assert response.status_code == 400
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "paramètres sont invalides" in text(response.get_data(as_text=True))


def test_the_embed_drops_drafts_and_takes_the_search_parameters(web_client):
    html = web_client.get("/integrer?q=confidentiel&nombre=20").get_data(as_text=True)
    assert "brouillon-secret" not in html
    assert (
        web_client.get("/integrer?q=diagnostic&centre=centre-alpha&annee=2021").status_code == 200
    )


# --- documentation ------------------------------------------------------------------------------------


def test_the_about_page_explains_feeds_api_oai_and_embed_with_examples(web_client):
    html = web_client.get("/a-propos").get_data(as_text=True)
    page = text(html)
    for anchor in ("liens-permanents", "flux", "api", "oai-pmh", "integrer"):
        assert elements(html, "h2", id=anchor), anchor
    assert f"{SITE_URL}/recherche.atom?piliers=developpement-economique&region=76" in page
    assert f"curl '{SITE_URL}/api/v1/recherche?" in page
    assert f"{SITE_URL}/oai?verb=ListRecords&metadataPrefix=oai_dc" in page
    assert f'<iframe src="{SITE_URL}/integrer?' in page
    assert "from sickle import Sickle" in page
    assert "/api/v1/openapi.json" in hrefs(html)
    # The examples work.
    assert (
        web_client.get("/recherche.atom?piliers=developpement-economique&region=76").status_code
        == 200
    )
    assert (
        web_client.get("/integrer?piliers=developpement-economique&region=76&nombre=5").status_code
        == 200
    )


@pytest.mark.parametrize(
    "url",
    [
        "/flux.atom",
        "/recherche.atom?q=diagnostic",
        "/api/v1/recherche",
        "/api/v1/openapi.json",
        "/oai?verb=Identify",
        "/sitemap.xml",
        "/robots.txt",
        "/opensearch.xml",
        RETIRED,
        "/integrer",
    ],
)
def test_new_responses_carry_the_security_headers(web_client, url):
    from webapp.core.security import CONTENT_SECURITY_POLICY

    response = web_client.get(url)
    assert response.status_code < 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    if url.startswith("/integrer"):
        assert response.headers["Content-Security-Policy"] != CONTENT_SECURITY_POLICY
    else:
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"

"""The web app's pages through the Flask test client: home, resource, browse, about, health."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from webapp_support import (
    DIAGNOSTIC,
    SERIES,
    SERIES_TITLE,
    SITE_URL,
    build_site,
    elements,
    hrefs,
    text,
)

from indexer.build import Indexer
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent


def get_ok(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def one_h1(html: str) -> str:
    found = elements(html, "h1")
    assert len(found) == 1, "une page a un seul titre de niveau 1"
    return text(html.split("<h1", 1)[1].split("</h1>", 1)[0].split(">", 1)[1])


# --- home, about, health -----------------------------------------------------------------


def test_home_shows_search_pillars_latest_and_centres(web_client):
    html = get_ok(web_client, "/")
    page = text(html)
    assert "La base de connaissances" in one_h1(html)
    assert elements(html, "input", type="search", name="q", id="q")
    assert elements(html, "label", for_="q")
    # The three pillars with their counts (2 + 24 series on the economic pillar...).
    assert "/piliers/cohesion-sociale" in hrefs(html)
    assert "/piliers/cadre-de-vie" in hrefs(html)
    assert "/piliers/developpement-economique" in hrefs(html)
    assert "25\u00a0ressources" in page  # developpement-economique: 24 series + clauses
    # The latest publications: the newest series resource first.
    assert SERIES_TITLE.format(number=SERIES) in page
    # The centres, by name, with links.
    assert "/centres/centre-alpha" in hrefs(html)
    assert "Centre Alpha des quartiers (test)" in page
    # Drafts never show.
    assert "confidentiel" not in html


def test_home_marks_itself_current_and_has_landmarks(web_client):
    html = get_ok(web_client, "/")
    assert '<html lang="fr">' in html
    assert elements(html, "a", class_="skip-link", href="#contenu")
    assert elements(html, "main", id="contenu")
    assert elements(html, "header") and elements(html, "footer") and elements(html, "nav")
    assert elements(html, "a", class_="brand", aria_current="page")


def test_about_page(web_client):
    html = get_ok(web_client, "/a-propos")
    assert "À propos" in one_h1(html)
    page = text(html)
    for words in ("Cohésion sociale", "kb check", "brouillon", "RGAA"):
        assert words in page
    assert elements(html, "a", href="/a-propos", aria_current="page")


def test_healthz_reports_index_version_size_and_time(web_client, webapp_site):
    response = web_client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["statut"] == "ok"
    assert data["ressources"] == 5 + SERIES  # drafts, orphans and broken files left out
    assert data["centres"] == 3
    assert data["version_index"].startswith("gen-")
    assert data["indexe_le"][:4].isdigit()
    assert response.headers["Cache-Control"] == "no-store"


# --- resource page -----------------------------------------------------------------------


def test_resource_page_body_and_metadata(web_client):
    html = get_ok(web_client, DIAGNOSTIC)
    page = text(html)
    assert one_h1(html) == "Conduire un diagnostic en marchant avec les habitants"
    # Body: headings demoted below the page's h1 (Markdown `##` sections become h3, under
    # the body's own h2), table, image through /fichiers/.
    assert elements(html, "h2", id="titre-texte")
    assert elements(html, "h3", id="sec-contexte")
    assert elements(html, "img", src="/fichiers/centre-alpha/plan-parcours.png")
    assert elements(html, "td", class_="align-right")
    # Metadata with labels and full names.
    for expected in (
        "Fiche pratique",
        "Centre Alpha des quartiers (test)",
        "15\u00a0mars 2021",
        "10\u00a0janvier 2023",
        "De 2020 à 2022",
        "Cadre de vie et renouvellement urbain",
        "Cohésion sociale",
        "Gestion urbaine de proximité",
        "Participation citoyenne",
        "Gestion urbaine et sociale de proximité (GUSP)",
        "Conseils citoyens",
        "Habitants",
        "Professionnels",
        "Auvergne-Rhône-Alpes",
        "Rhône (69)",
        "69123",
        "QN06901M",
        "Mission GUSP de la ville (fictive)",
        "Bailleur social du quartier",
        "Chef de projet GUSP, Chargée de mission participation",
        "CC BY-SA 4.0",
        "diagnostic en marchant, propreté, tranquillité",
    ):
        assert expected in page, expected
    links = hrefs(html)
    for link in (
        "/piliers/cadre-de-vie",
        "/thematiques/participation-citoyenne",
        "/dispositifs/gusp",
        "/centres/centre-alpha",
        "/territoires/84",
        "/recherche?type=fiche-pratique",
        "/recherche?publics=habitants",
        "/territoires/departements/69",
        "/territoires/communes/69123",
        "/territoires/epci/200046977",
        "/territoires/qpv/QN06901M",
    ):
        assert link in links, link


def test_resource_page_links_attachments_with_type_and_size(web_client):
    html = get_ok(web_client, DIAGNOSTIC)
    page = text(html)
    links = hrefs(html)
    for name in ("grille-observation.csv", "bilan.pdf", "compte-rendu.odt", "tableau.xlsx"):
        assert f"/fichiers/centre-alpha/{name}" in links
    assert "tableau CSV" in page and "document PDF" in page and "classeur Excel" in page
    assert "texte OpenDocument" in page
    assert "77\u00a0octets" in page  # the PDF's size
    # Relative links to other resources go to their pages; external ones get rel.
    assert "/ressources/centre-alpha/fiche-rangee" in links
    assert elements(html, "a", href="https://example.org/reseau", rel="noopener nofollow")


def test_resource_page_breadcrumbs_permalink_source_related(web_client):
    html = get_ok(web_client, DIAGNOSTIC)
    crumbs = elements(html, "nav", aria_label="Fil d'Ariane")
    assert crumbs
    assert elements(html, "span", aria_current="page")
    assert elements(html, "a", href=SITE_URL + DIAGNOSTIC, class_="permalink-url")
    assert elements(html, "link", rel="canonical", href=SITE_URL + DIAGNOSTIC)
    assert DIAGNOSTIC + "/source.md" in hrefs(html)
    assert "Ressources proches" in text(html)
    assert "/ressources/centre-beta/maison-du-projet" in hrefs(html) or any(
        h.startswith("/ressources/") and h != DIAGNOSTIC for h in hrefs(html)
    )
    assert "Sommaire" in text(html)  # four headings: a table of contents


def test_resource_in_a_subfolder_is_reached_by_its_id(web_client):
    html = get_ok(web_client, "/ressources/centre-alpha/fiche-rangee")
    assert "réussite éducative" in one_h1(html)
    assert "Programme de réussite éducative (PRE)" in text(html)


def test_source_file_is_served_as_plain_text(web_client, webapp_site):
    response = web_client.get(DIAGNOSTIC + "/source.md")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("inline")
    expected = (webapp_site.content / "centre-alpha" / "diagnostic-en-marchant.md").read_bytes()
    assert response.data == expected


def test_source_link_uses_the_configured_forge(webapp_site):
    template = "https://forge.example.org/crpv/contenu/-/blob/main/{chemin}"
    app = create_app(webapp_site.config(KB_SOURCE_URL=template))
    html = get_ok(app.test_client(), DIAGNOSTIC)
    expected = (
        "https://forge.example.org/crpv/contenu/-/blob/main/centre-alpha/diagnostic-en-marchant.md"
    )
    assert expected in hrefs(html)


@pytest.mark.parametrize(
    "url",
    [
        "/ressources/centre-alpha/brouillon-secret",  # a draft
        "/ressources/centre-alpha/brouillon-secret/source.md",
        "/ressources/centre-alpha/inconnue",
        "/ressources/centre-inconnu/diagnostic-en-marchant",
        "/ressources/centre-orphelin/fiche",  # its centre has no card: not published
        "/ressources/centre-orphelin/fiche/source.md",
        "/ressources/Centre-Alpha/Diagnostic",  # not an identifier
        "/ressources/centre-alpha/..",
        "/ressources/centre-alpha/inconnue/source.md",
        "/ressources/centre-alpha",
    ],
)
def test_unknown_and_draft_resources_are_not_found(web_client, url):
    response = web_client.get(url)
    assert response.status_code == 404
    assert "Page introuvable" in text(response.get_data(as_text=True))
    assert "confidentiel" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "old",
    ["/ressources/centre-alpha/ancien-diagnostic", "/ressources/centre-beta/vieux-diagnostic"],
)
def test_an_alias_redirects_permanently_to_the_canonical_url(web_client, old):
    response = web_client.get(old)
    assert response.status_code == 301
    assert response.headers["Location"] == DIAGNOSTIC


# --- browse pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        ("/piliers", "Les trois piliers", ["Cohésion sociale", "25\u00a0ressources"]),
        ("/thematiques", "Thématiques", ["Mobilité", "24\u00a0ressources", "Éducation"]),
        (
            "/dispositifs",
            "Dispositifs",
            ["Gestion urbaine et sociale de proximité (GUSP)", "Démarche partenariale"],
        ),
        ("/centres", "Les centres de ressources", ["Centre Bêta (test)", "Île-de-France"]),
        (
            "/territoires",
            "Les ressources par territoire",
            ["Occitanie", "Corse", "0\u00a0ressource"],
        ),
    ],
)
def test_index_pages_list_every_value_with_counts(web_client, url, title, expected):
    html = get_ok(web_client, url)
    assert title in one_h1(html)
    page = text(html)
    for words in expected:
        assert words in page, words
    assert elements(html, "a", href=url, aria_current="page")


def test_index_pages_list_the_whole_vocabulary(web_client):
    html = get_ok(web_client, "/thematiques")
    assert len([h for h in hrefs(html) if h.startswith("/thematiques/")]) == 24
    html = get_ok(web_client, "/dispositifs")
    assert len([h for h in hrefs(html) if h.startswith("/dispositifs/")]) == 18
    html = get_ok(web_client, "/territoires")
    regions = {h for h in hrefs(html) if re.fullmatch(r"/territoires/\d\d", h)}
    assert len(regions) == 18
    departements = {h for h in hrefs(html) if h.startswith("/territoires/departements/")}
    assert len(departements) == 101  # the map: mainland and overseas


def test_pillar_page_lists_its_resources_and_refines(web_client):
    html = get_ok(web_client, "/piliers/cadre-de-vie")
    assert one_h1(html) == "Cadre de vie et renouvellement urbain"
    page = text(html)
    assert "2\u00a0ressources" in page
    assert DIAGNOSTIC in hrefs(html)
    assert "/ressources/centre-beta/maison-du-projet" in hrefs(html)
    assert "/recherche?piliers=cadre-de-vie" in hrefs(html)
    assert "/recherche?piliers=cadre-de-vie&thematiques=participation-citoyenne" in hrefs(html)
    # The section is current in the navigation.
    assert elements(html, "a", href="/piliers", aria_current="true")


def test_dispositif_page_shows_the_glossary_definition(web_client):
    html = get_ok(web_client, "/dispositifs/gusp")
    assert one_h1(html) == "Gestion urbaine et sociale de proximité (GUSP)"
    page = text(html)
    assert "Démarche partenariale associant collectivité" in page
    assert "Aussi appelé : GUP" in page
    assert DIAGNOSTIC in hrefs(html)


def test_theme_page_pages_through_its_resources(web_client):
    first = get_ok(web_client, "/thematiques/mobilite")
    assert "24\u00a0ressources, page 1 sur 2" in text(first)
    assert "/thematiques/mobilite?page=2" in hrefs(first)
    second = get_ok(web_client, "/thematiques/mobilite?page=2")
    assert SERIES_TITLE.format(number=1) in text(second)  # the oldest come last
    assert elements(second, "a", href="/thematiques/mobilite?page=2", aria_current="page")


def test_term_without_resources_has_a_helpful_page(web_client):
    html = get_ok(web_client, "/dispositifs/emplois-francs")
    assert "Aucune ressource pour le moment" in text(html)


@pytest.mark.parametrize(
    "url",
    [
        "/piliers/inconnu",
        "/thematiques/Mobilite",
        "/dispositifs/%3Cscript%3E",
        "/centres/centre-orphelin",
        "/centres/inconnu",
        "/territoires/99",
        "/territoires/69",  # a department, not a region
    ],
)
def test_unknown_browse_values_are_not_found(web_client, url):
    assert web_client.get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/thematiques/mobilite?page=0",
        "/piliers/cadre-de-vie?page=x",
        "/centres/centre-alpha?tri=date",
    ],
)
def test_browse_pages_check_their_parameters(web_client, url):
    response = web_client.get(url)
    assert response.status_code == 400
    assert "Requête invalide" in text(response.get_data(as_text=True))


def test_browse_page_beyond_the_last_is_not_found(web_client):
    response = web_client.get("/thematiques/mobilite?page=3")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "La page 3 n'existe pas : cette liste compte 2 pages" in text(html)
    assert "/thematiques/mobilite?page=2" in hrefs(html)


def test_centre_page_renders_its_card_and_resources(web_client):
    html = get_ok(web_client, "/centres/centre-alpha")
    assert one_h1(html) == "Centre Alpha des quartiers (test)"
    page = text(html)
    assert "accompagne les équipes des contrats de ville" in page
    assert elements(html, "strong")  # Markdown rendered by the common renderer
    assert elements(html, "img", src="/fichiers/centre-alpha/logo-alpha.png")
    assert elements(html, "a", href="mailto:contact@alpha.example.org")
    assert elements(html, "a", href="https://example.org/alpha")
    assert "Auvergne-Rhône-Alpes" in page
    assert DIAGNOSTIC in hrefs(html)
    # A search box restricted to the centre.
    assert elements(html, "input", type="hidden", name="centre", value="centre-alpha")


def test_centre_card_links_to_other_resources(web_client):
    html = get_ok(web_client, "/centres/centre-beta")
    assert DIAGNOSTIC in hrefs(html)
    assert "Accueil du centre, 01 23 45 67 89" in text(html)  # a contact that is no address


def test_territory_page_lists_departments_and_resources(web_client):
    html = get_ok(web_client, "/territoires/11")
    assert one_h1(html) == "Île-de-France"
    page = text(html)
    assert "Val-d'Oise (95)" in page and "Paris (75)" in page
    assert "/territoires/departements/95" in hrefs(html)
    assert "/ressources/centre-beta/maison-du-projet" in hrefs(html)


# --- configuration and index lifecycle ---------------------------------------------------


def test_app_builds_the_index_when_there_is_none(tmp_path):
    site = build_site(tmp_path)
    fresh = tmp_path / "index-neuf"
    app = create_app(site.config(KB_INDEX=str(fresh)))
    assert (fresh / "ACTUEL").is_file()
    assert app.test_client().get("/healthz").get_json()["ressources"] == 5 + SERIES


def test_app_reads_settings_from_the_environment(tmp_path, monkeypatch, webapp_site):
    monkeypatch.setenv("KB_CONTENT", str(webapp_site.content))
    monkeypatch.setenv("KB_INDEX", str(webapp_site.index))
    monkeypatch.setenv("KB_SITE_URL", "https://env.example.org/")
    app = create_app({"TESTING": True})
    html = get_ok(app.test_client(), DIAGNOSTIC)
    assert "https://env.example.org" + DIAGNOSTIC in hrefs(html)


def test_app_reads_settings_from_a_config_file(tmp_path, webapp_site):
    config = tmp_path / "kb.toml"
    config.write_text(
        f'contenu = "{webapp_site.content}"\nindex = "{webapp_site.index}"\n'
        'url_site = "https://toml.example.org"\n',
        encoding="utf-8",
    )
    app = create_app({"TESTING": True, "KB_CONFIG": str(config)})
    html = get_ok(app.test_client(), DIAGNOSTIC)
    assert "https://toml.example.org" + DIAGNOSTIC in hrefs(html)


def test_app_without_content_nor_index_says_so(tmp_path):
    with pytest.raises(RuntimeError, match="dossier de contenu"):
        create_app({"KB_CONTENT": str(tmp_path / "rien"), "KB_INDEX": str(tmp_path / "index")})


def test_a_new_index_version_is_seen_without_restart(tmp_path):
    from indexer.build import Indexer

    site = build_site(tmp_path)
    app = create_app(site.config())
    client = app.test_client()
    assert client.get("/ressources/centre-beta/nouvelle-fiche").status_code == 404
    (site.content / "centre-beta" / "nouvelle-fiche.md").write_text(
        "---\ntitre: Une fiche toute neuve\ntype: guide\ndate: 2025-02-03\n"
        "piliers: [cohesion-sociale]\nresume: Fiche ajoutée pendant que le site tourne.\n---\n"
        "Texte neuf.\n",
        encoding="utf-8",
    )
    Indexer(site.content, site.index).update()
    assert client.get("/ressources/centre-beta/nouvelle-fiche").status_code == 200
    assert client.get("/healthz").get_json()["ressources"] == 6 + SERIES
    # A full rebuild (new generation) is picked up too.
    Indexer(site.content, site.index).rebuild()
    assert "Une fiche toute neuve" in get_ok(client, "/recherche?q=neuve")


def test_the_site_shows_the_published_version_until_the_next_one(tmp_path):
    """Pages come from the live index version, never from the files: an edit (here a
    sheet turned draft) is online when it is indexed, together with search, and not
    before."""
    site = build_site(tmp_path)
    client = create_app(site.config()).test_client()
    assert client.get("/ressources/centre-beta/maison-du-projet").status_code == 200
    path = site.content / "centre-beta" / "maison-du-projet.md"
    text_before = path.read_text(encoding="utf-8")
    path.write_text(
        text_before.replace("\ntype:", "\nstatut: brouillon\ntype:", 1), encoding="utf-8"
    )
    assert client.get("/ressources/centre-beta/maison-du-projet").status_code == 200
    source = client.get("/ressources/centre-beta/maison-du-projet/source.md")
    assert source.status_code == 200 and "brouillon" not in source.get_data(as_text=True)
    Indexer(site.content, site.index).update(["centre-beta/maison-du-projet.md"])
    assert client.get("/ressources/centre-beta/maison-du-projet").status_code == 410
    assert client.get("/ressources/centre-beta/maison-du-projet/source.md").status_code == 404


def test_demo_content_smoke(tmp_path):
    """The demo content shipped with the project: every page kind answers."""
    app = create_app({"KB_CONTENT": str(ROOT / "content"), "KB_INDEX": str(tmp_path / "i")})
    client = app.test_client()
    assert client.get("/healthz").get_json()["ressources"] == 52  # 44 resources, 8 events
    for url in (
        "/",
        "/agenda",
        "/agenda.ics",
        "/ressources/crpv-demo-occitanie/cycle-qualification-laicite-2027",
        "/recherche?q=renouvellement",
        "/ressources/crpv-demo-nord/gusp-diagnostic-en-marchant",
        "/centres/crpv-demo-nord",
        "/territoires/32",
        "/dispositifs/npnru",
        "/fichiers/crpv-demo-nord/plan-diagnostic-en-marchant.png",
    ):
        assert client.get(url).status_code == 200, url
    health = json.loads(client.get("/healthz").data)
    assert health["centres"] == 5


ALL_PAGES = [
    "/",
    "/recherche",
    "/recherche?q=diagnostic&piliers=cadre-de-vie",
    "/recherche?q=zzzqqq",
    "/recherche?page=x",
    DIAGNOSTIC,
    "/ressources/centre-beta/fiche-piegee",
    "/piliers",
    "/piliers/cohesion-sociale",
    "/thematiques",
    "/thematiques/education",
    "/dispositifs",
    "/dispositifs/pre",
    "/centres",
    "/centres/centre-gamma",
    "/territoires",
    "/territoires/76",
    "/territoires/departements/69",
    "/territoires/communes/69123",
    "/a-propos",
    "/nulle-part",
]


@pytest.mark.parametrize("url", ALL_PAGES)
def test_every_page_has_the_accessible_frame(web_client, url):
    html = web_client.get(url).get_data(as_text=True)
    one_h1(html)
    assert '<html lang="fr">' in html
    assert elements(html, "a", class_="skip-link", href="#contenu")
    assert len(elements(html, "main", id="contenu")) == 1
    assert elements(html, "nav", aria_label="Navigation principale")
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.strip() and title.endswith("Ressources politique de la ville")
    # Every form control has a label (or is hidden).
    labels = {label["for"] for label in elements(html, "label")}
    for field in elements(html, "input"):
        assert field.get("type") == "hidden" or field.get("id") in labels, field
    # Search forms are distinct landmarks.
    names = [form.get("aria-label") for form in elements(html, "form", role="search")]
    assert len(names) == len(set(names)) and all(names)

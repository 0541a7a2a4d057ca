"""Security: response headers, hostile content, attachment serving, error pages."""

from __future__ import annotations

import pytest
from htmlcheck import dangers
from webapp_support import DIAGNOSTIC, HOSTILE, PDF, elements, hrefs, page_dangers, text

from indexer.build import Indexer
from webapp import create_app
from webapp.core.markup import extract_markup, render_body
from webapp.core.security import CONTENT_SECURITY_POLICY

EVERY_KIND_OF_RESPONSE = [
    "/",
    "/recherche?q=diagnostic",
    "/recherche?page=x",  # 400
    "/recherche?page=99",  # 404 beyond the last page
    DIAGNOSTIC,
    DIAGNOSTIC + "/source.md",
    "/ressources/centre-alpha/ancien-diagnostic",  # 301
    "/piliers",
    "/centres/centre-alpha",
    "/territoires/84",
    "/a-propos",
    "/healthz",
    "/fichiers/centre-alpha/bilan.pdf",
    "/fichiers/centre-alpha/grille-observation.csv",
    "/fichiers/centre-beta/page.html",  # 404
    "/static/css/site.css",
    "/inexistant",
]


@pytest.mark.parametrize("url", EVERY_KIND_OF_RESPONSE)
def test_every_response_carries_the_security_headers(web_client, url):
    response = web_client.get(url)
    assert response.status_code < 500
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_policy_forbids_inline_code_and_framing():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "url",
    ["/", "/recherche", "/recherche?q=diagnostic&piliers=cadre-de-vie", DIAGNOSTIC, "/a-propos"],
)
def test_pages_have_no_inline_script_or_style(web_client, url):
    html = web_client.get(url).get_data(as_text=True)
    assert page_dangers(html) == []
    assert "<style" not in html
    assert elements(html, "script", src=elements(html, "script")[0]["src"])


# --- hostile content ---------------------------------------------------------------------


def test_hostile_resource_page_contains_nothing_executable(web_client):
    response = web_client.get(HOSTILE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert page_dangers(html) == []
    # Attribute-level checks are page_dangers' (parsed); hostile text shown escaped is fine,
    # but no hostile element may appear as markup.
    lowered = html.lower()
    for needle in (
        "<script>alert",
        "<img src=x",
        "<iframe",
        "<svg",
        "<math",
        "<object",
        "<base",
        "<style",
        '<form action="https',
        "<meta http-equiv",
    ):
        assert needle not in lowered, needle
    # The remote image became a link, not an <img> (the CSP would block it anyway).
    assert not [i for i in elements(html, "img") if "evil" in i.get("src", "")]


def test_hostile_front_matter_is_shown_as_text(web_client):
    html = web_client.get(HOSTILE).get_data(as_text=True)
    page = text(html)
    assert "Fiche piégée <script>alert('titre')</script> & « guillemets » \"doubles\"" in page
    assert "&lt;script&gt;alert(&#39;titre&#39;)&lt;/script&gt; &amp; « guillemets »" in html
    assert "<b onmouseover=alert('porteur')>Porteur</b>" in page
    assert "\"><svg onload=alert('auteur')>" in page
    assert "</mark><script>alert('mot')</script>" in page
    assert "<a href=javascript:alert('licence')>licence</a>" in page
    # In the <title> and the meta description too.
    assert "<title>Fiche piégée &lt;script&gt;" in html
    assert 'content="Résumé piégé &lt;img src=x onerror=alert(&#39;resume&#39;)&gt;' in html


def test_hostile_body_rendering_passes_the_shared_html_check(webapp_site):
    source = (webapp_site.content / "centre-beta" / "fiche-piegee.md").read_text(encoding="utf-8")
    body, _ = render_body(source.split("---\n", 2)[2], "centre-beta")
    assert dangers(str(body)) == []


def test_hostile_centre_card_and_name(web_client):
    html = web_client.get("/centres/centre-gamma").get_data(as_text=True)
    assert page_dangers(html) == []
    page = text(html)
    assert "Centre Gamma <script>alert('nom')</script> (test)" in page
    assert "<img src=x onerror=alert('contact')>" in page
    assert not [h for h in hrefs(html) if "javascript" in h.lower()]


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/centres",
        "/recherche?q=alerte",
        "/recherche?centre=centre-gamma",
        "/recherche?q=pi%C3%A9g%C3%A9&thematiques=prevention-delinquance",
        "/thematiques/prevention-delinquance",
        "/recherche?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "/recherche?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
        "/recherche?piliers=%3Cscript%3E",
    ],
)
def test_hostile_strings_never_reach_pages_unescaped(web_client, url):
    html = web_client.get(url).get_data(as_text=True)
    assert page_dangers(html) == []
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_extracts_are_trusted_only_when_they_are_escaped_text_and_marks():
    assert str(extract_markup("a &lt;b&gt; <mark>c</mark>")) == "a &lt;b&gt; <mark>c</mark>"
    assert str(extract_markup("<script>x</script>")) == "&lt;script&gt;x&lt;/script&gt;"
    assert str(extract_markup("<mark onclick=x>y</mark>")).startswith("&lt;mark")


# --- attachments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mimetype", "disposition"),
    [
        ("centre-alpha/bilan.pdf", "application/pdf", "inline"),
        ("centre-alpha/plan-parcours.png", "image/png", "inline"),
        ("centre-alpha/grille-observation.csv", "text/csv", "attachment"),
        ("centre-alpha/compte-rendu.odt", "application/vnd.oasis.opendocument.text", "attachment"),
        (
            "centre-alpha/tableau.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "attachment",
        ),
    ],
)
def test_allowed_attachments_are_served_with_their_type(web_client, path, mimetype, disposition):
    response = web_client.get(f"/fichiers/{path}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"].startswith(disposition)
    assert path.rsplit("/", 1)[1] in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_attachment_content_is_the_file(web_client, webapp_site):
    response = web_client.get("/fichiers/centre-alpha/bilan.pdf")
    assert response.data == PDF
    assert "max-age=3600" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "centre-beta/page.html",  # pushed HTML
        "centre-beta/dessin.svg",  # pushed SVG
        "centre-alpha/diagnostic-en-marchant.md",  # sources go through their resource page
        "centre-alpha/_prive/secret.pdf",  # `_` folder
        "centre-alpha/.cache/cache.pdf",  # hidden folder
        "centre-alpha/_centre.md",
        "README.md",  # root files belong to no centre
        "centre-beta/lien-interne.pdf",  # symbolic links, inside or outside
        "centre-beta/lien-externe.pdf",
        "centre-beta/dossier-lien/bilan.pdf",
        "centre-alpha/../centre-alpha/bilan.pdf",
        "centre-alpha/%2e%2e/centre-alpha/bilan.pdf",
        "../ailleurs/secret.pdf",
        "%2e%2e/ailleurs/secret.pdf",
        "centre-alpha/..%2f..%2failleurs/secret.pdf",
        "centre-alpha/..%5c..%5cailleurs%5csecret.pdf",
        "/etc/passwd",
        "centre-alpha//bilan.pdf",
        "centre-alpha/./bilan.pdf",
        "centre-alpha/bilan.pdf%00.png",
        "centre-alpha/inexistant.pdf",
        "centre-alpha",
        "centre-alpha/sous-dossier",
        "centre-alpha/bilan.PDF.md",
        "centre-alpha/bilan",
    ],
)
def test_other_files_are_never_served(web_client, path):
    response = web_client.get(f"/fichiers/{path}", follow_redirects=True)
    assert response.status_code == 404, path
    assert response.mimetype == "text/html"
    assert b"%PDF" not in response.data


def test_upper_case_extensions_are_served_as_their_type(tmp_path):
    from webapp_support import build_site

    site = build_site(tmp_path)
    (site.content / "centre-alpha" / "PHOTO.PNG").write_bytes(b"\x89PNG\r\n\x1a\n")
    client = create_app(site.config()).test_client()
    # No published resource links to it yet: not served.
    assert client.get("/fichiers/centre-alpha/PHOTO.PNG").status_code == 404
    sheet = site.content / "centre-alpha" / "diagnostic-en-marchant.md"
    with sheet.open("a", encoding="utf-8") as handle:
        handle.write("\n![Photo](PHOTO.PNG)\n")
    Indexer(site.content, site.index).update([sheet.relative_to(site.content).as_posix()])
    response = client.get("/fichiers/centre-alpha/PHOTO.PNG")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == b"\x89PNG\r\n\x1a\n"


# --- error pages -------------------------------------------------------------------------


def test_not_found_page_is_french_and_helpful(web_client):
    response = web_client.get("/nulle-part")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page introuvable" in text(html)
    assert elements(html, "input", type="search", name="q")
    assert "/" in hrefs(html)
    assert '<html lang="fr">' in html


def test_server_error_page_is_french_and_leaks_nothing(webapp_site):
    app = create_app(webapp_site.config(TESTING=False, PROPAGATE_EXCEPTIONS=False))

    @app.get("/_panne")
    def broken():
        raise RuntimeError("détail interne secret")

    response = app.test_client().get("/_panne")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Erreur interne du serveur" in text(html)
    assert "secret" not in html and "Traceback" not in html
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"


def test_broken_index_gives_500_and_unhealthy_status(tmp_path, webapp_site):
    import shutil

    index = tmp_path / "index"
    shutil.copytree(webapp_site.index, index)
    app = create_app(
        webapp_site.config(KB_INDEX=str(index), TESTING=False, PROPAGATE_EXCEPTIONS=False)
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    generation = (index / "ACTUEL").read_text().strip()
    shutil.rmtree(index / generation)
    (index / "ACTUEL").write_text("gen-999999", encoding="utf-8")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["statut"] == "erreur"
    assert client.get("/recherche?q=x").status_code == 500


def test_large_request_bodies_are_refused(web_client):
    response = web_client.post("/recherche", data="x" * 100_000)
    assert response.status_code in (405, 413)


def test_a_view_may_send_its_own_policy(webapp_site):
    from flask import make_response

    app = create_app(webapp_site.config())

    @app.get("/_integrable")
    def framable():
        response = make_response("liste")
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors *"
        return response

    response = app.test_client().get("/_integrable")
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors *")
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"

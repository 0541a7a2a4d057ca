"""The request's Host is never trusted: absolute links come from the site's address and
redirects are relative (webapp/core/incoming.py). `kb serve` links to the port it serves on
(tests/test_webapp_cli.py); gunicorn without `url_site` says so at startup."""

from __future__ import annotations

import logging
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from webapp_support import DIAGNOSTIC, SITE_URL, route_paths

from webapp import create_app
from webapp.core.incoming import relative_location

FORGED = "evil.example"
OWN_HOSTS = {urlsplit(SITE_URL).hostname, "127.0.0.1", "localhost"}
ROOT = Path(__file__).resolve().parent.parent


def redirect_candidates(app) -> list[str]:
    """Paths that the app answers with a redirect: double slashes (Werkzeug merges them),
    a trailing slash added or removed, former addresses of a resource."""
    candidates = [
        DIAGNOSTIC + "/",
        "/ressources/centre-alpha/ancien-diagnostic",
        "/ressources/centre-beta/vieux-diagnostic?utm_source=lettre",
        "/api/v1/ressources/centre-alpha/ancien-diagnostic",
        "/api/v1",
        "/fichiers//x.pdf",
    ]
    for path, _, _ in route_paths(app).values():
        candidates.append(path.replace("/", "//"))
        candidates.append(path[:-1] if path.endswith("/") else path + "/")
    return candidates


@pytest.fixture(scope="module")
def unconfigured_app(webapp_site):
    """The app as gunicorn runs it when `url_site` is not set."""
    return create_app(webapp_site.config(KB_SITE_URL=None))


@pytest.mark.parametrize("configured", [True, False], ids=["url_site", "sans-url_site"])
def test_no_redirect_is_built_from_the_request_host(web_app, unconfigured_app, configured):
    app = web_app if configured else unconfigured_app
    client = app.test_client()
    redirects = {}
    for path in redirect_candidates(app):
        for host in (FORGED, f"{FORGED}:8443", "localhost"):
            # PATH_INFO as a server passes it (the test client reads `//x` as a host).
            path_info, _, query = path.partition("?")
            environ = {"PATH_INFO": path_info, "QUERY_STRING": query}
            response = client.get("/", headers={"Host": host}, environ_overrides=environ)
            assert response.status_code < 500, (path, host)
            if 300 <= response.status_code < 400:
                location = response.headers["Location"]
                assert location.startswith("/") and not location.startswith("//"), location
                assert FORGED not in location and "127.0.0.1" not in location
                redirects[path] = location
    # The merged slashes and the trailing slash redirects are there, and relative.
    assert redirects["/fichiers//x.pdf"] == "/fichiers/x.pdf"
    assert redirects["/api/v1"] == "/api/v1/"
    assert redirects[DIAGNOSTIC + "/"] == DIAGNOSTIC
    assert redirects["//api//v1//recherche"] == "/api/v1/recherche"
    assert redirects["//centres//centre-alpha"] == "/centres/centre-alpha"
    assert redirects["/ressources/centre-beta/vieux-diagnostic?utm_source=lettre"] == (
        DIAGNOSTIC + "?utm_source=lettre"
    )
    assert redirects["/api/v1/ressources/centre-alpha/ancien-diagnostic"] == (
        "/api/v1/ressources/centre-alpha/diagnostic-en-marchant"
    )
    assert len(redirects) > 20


def test_a_double_slash_path_cannot_redirect_off_site(web_client):
    # A path starting with `//` would be read as another host if sent back as it is.
    for path in ("//evil.example/fichiers/x.pdf", "/\\evil.example//x", "///evil.example/"):
        response = web_client.get("/", environ_overrides={"PATH_INFO": path})
        assert response.status_code < 500
        location = response.headers.get("Location", "/")
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def test_relative_location():
    host = "ressources.example.org"
    assert relative_location("https://ressources.example.org/a?b=1#c", host) == "/a?b=1#c"
    assert relative_location("http://ressources.example.org:8080//x", host) == "/x"
    assert relative_location("http://ressources.example.org/\\\\x", host) == "/x"
    assert relative_location("https://ressources.example.org", host) == "/"
    assert relative_location("https://partenaire.example.net/a", host) == (
        "https://partenaire.example.net/a"
    )
    assert relative_location("/deja/relative", host) == "/deja/relative"


@pytest.mark.parametrize(
    "host", ["a" * 64, "a" * 5000, "[::1", "x/y", "\x00", "é.example", "evil.example:99999"]
)
def test_a_malformed_host_header_does_not_break_pages(web_client, host):
    for path in ("/", "/recherche?q=emploi", "/centres/centre-alpha", "/oai?verb=Identify"):
        response = web_client.get(path, headers={"Host": host})
        assert response.status_code == 200, (path, response.status_code)


@pytest.mark.parametrize("configured", [True, False], ids=["url_site", "sans-url_site"])
def test_absolute_links_never_use_the_request_host(web_app, unconfigured_app, configured):
    app = web_app if configured else unconfigured_app
    expected = SITE_URL if configured else "http://127.0.0.1:5000"
    client = app.test_client()
    pages = [
        "/flux.atom",
        "/recherche.atom?thematiques=mobilite",
        "/api/v1/recherche?thematiques=mobilite&par_page=2",
        "/api/v1/",
        "/api/v1/openapi.json",
        DIAGNOSTIC,
        "/api/v1" + DIAGNOSTIC,
        "/oai?verb=Identify",
        "/oai?verb=ListRecords&metadataPrefix=oai_dc",
        "/sitemap.xml",
        "/robots.txt",
        "/opensearch.xml",
        "/integrer",
    ]
    for path in pages:
        response = client.get(path, headers={"Host": f"{FORGED}:8080"})
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        assert FORGED not in body, path
        assert FORGED not in str(response.headers), path
        absolute = re.findall(r"https?://[^\s\"'<>]+", body)
        own = [url for url in absolute if urlsplit(url).hostname in OWN_HOSTS]
        assert own and all(url.startswith(expected + "/") for url in own), (path, own)
    feed = client.get("/recherche.atom?thematiques=mobilite").get_data(as_text=True)
    assert f'href="{expected}/recherche.atom?thematiques=mobilite" rel="self"' in feed
    api = client.get("/api/v1/recherche?thematiques=mobilite&par_page=2").get_json()
    assert api["pagination"]["suivante"] == (
        f"{expected}/api/v1/recherche?thematiques=mobilite&page=2&par_page=2"
    )


def test_the_app_warns_when_url_site_is_not_set(webapp_site, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp"):
        create_app(webapp_site.config(KB_SITE_URL=None))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "url_site (KB_SITE_URL) n'est pas réglé" in w and "http://127.0.0.1:5000" in w
        for w in warnings
    ), warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="webapp"):
        create_app(webapp_site.config())
    assert not any("url_site" in r.getMessage() for r in caplog.records)


def test_gunicorn_without_url_site_warns_at_startup(webapp_site):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_CONTENT=str(webapp_site.content), KB_INDEX=str(webapp_site.index))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "webapp:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr])
    reader.start()
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("url_site" in line for line in seen):
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                if process.poll() is not None:
                    break
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=20)
        process.stderr.close()
    warning = next((line for line in seen if "url_site" in line), "")
    assert "url_site (KB_SITE_URL) n'est pas réglé" in warning, seen
    assert "http://127.0.0.1:5000" in warning and "docs/deploiement.md" in warning

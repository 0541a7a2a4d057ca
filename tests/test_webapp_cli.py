"""`kb serve`: updates the index, then serves the site and says where, in French."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

from webapp_support import build_site

ROOT = Path(__file__).resolve().parent.parent


def start_serve(*args: str, **settings: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_url(process: subprocess.Popen, timeout: float = 60) -> tuple[str, list[str]]:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "disponible sur" in line:
            return line.split("disponible sur", 1)[1].strip(), lines
    raise AssertionError(f"pas d'adresse annoncée : {lines} {process.stderr.read()}")


def test_serve_indexes_then_serves(tmp_path):
    site = build_site(tmp_path)
    index = tmp_path / "index-serve"
    process = start_serve("--content", str(site.content), "--index", str(index), "--port", "0")
    try:
        url, lines = wait_for_url(process)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert any(line.startswith("Index reconstruit : ") for line in lines)
        with urllib.request.urlopen(url + "healthz", timeout=10) as response:
            health = json.load(response)
        assert health["statut"] == "ok" and health["ressources"] > 0
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "Base de connaissances" in response.read().decode("utf-8")
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str) -> str:
    request = urllib.request.Request(url, headers={"Host": "evil.example"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode("utf-8")


def absolute_links(site, url: str) -> dict[str, str]:
    """Absolute links of the feeds, the API, OAI-PMH and the sitemap, as served at `url`."""
    import feedparser

    feed = feedparser.parse(fetch(url + "flux.atom"))
    api = json.loads(fetch(url + "api/v1/recherche?par_page=1"))
    identify = ElementTree.fromstring(fetch(url + "oai?verb=Identify"))
    sitemap = ElementTree.fromstring(fetch(url + "sitemap.xml"))
    namespaces = {"oai": "http://www.openarchives.org/OAI/2.0/"}
    sitemap_ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    return {
        "feed self": next(link.href for link in feed.feed.links if link.rel == "self"),
        "feed id": feed.entries[0].id,
        "api next": api["pagination"]["suivante"],
        "oai baseURL": identify.findtext("oai:Identify/oai:baseURL", namespaces=namespaces),
        "sitemap": sitemap.findtext("s:url/s:loc", namespaces=sitemap_ns),
    }


def test_serve_links_to_the_port_it_serves_on(tmp_path):
    # No url_site: feed readers and harvesters must come back to this server, not to
    # http://127.0.0.1:5000, and never to the host a request claimed.
    site = build_site(tmp_path)
    process = start_serve("--content", str(site.content), "--index", str(site.index), "--port", "0")
    try:
        url, _ = wait_for_url(process)
        links = absolute_links(site, url)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert not url.endswith(":5000/")
    for name, link in links.items():
        assert link.startswith(url), (name, link, url)


def test_serve_uses_the_configured_site_url(tmp_path):
    site = build_site(tmp_path)
    process = start_serve(
        "--content",
        str(site.content),
        "--index",
        str(site.index),
        "--port",
        "0",
        KB_SITE_URL="https://ressources.example.org/",
    )
    try:
        url, _ = wait_for_url(process)
        links = absolute_links(site, url)
    finally:
        process.terminate()
        process.wait(timeout=10)
    for name, link in links.items():
        assert link.startswith("https://ressources.example.org/"), (name, link)


def test_serve_reports_a_busy_port_in_french(tmp_path):
    site = build_site(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = start_serve(
            "--content", str(site.content), "--index", str(tmp_path / "i"), "--port", str(port)
        )
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"impossible d'écouter sur 127.0.0.1:{port}" in err
    assert "--port 5001" in err


def test_serve_without_content_folder(run_kb, tmp_path):
    result = run_kb("serve", "--content", tmp_path / "absent", "--index", tmp_path / "i")
    assert result.code == 2
    assert "dossier de contenu introuvable" in result.err


def test_serve_rejects_a_bad_port(run_kb, tmp_path):
    result = run_kb("serve", "--content", tmp_path, "--port", "70000")
    assert result.code == 2
    assert "--port doit être compris entre 0 et 65535" in result.err


def test_serve_help_is_french(run_kb):
    result = run_kb("serve", "--help")
    assert result.code == 0
    assert "adresse d'écoute" in result.out
    assert "docs/deploiement.md" in result.out


def test_deployment_guide_documents_every_setting_and_option():
    from kb.config import SETTINGS
    from webapp import SETTING_NAMES
    from webapp.commands import register

    guide = (ROOT / "docs" / "deploiement.md").read_text(encoding="utf-8")
    # The [publication] settings are documented in docs/publier.md (test_publication_install).
    settings = [s for s in SETTINGS if not s.key.startswith("publication.")]
    for setting in settings:
        assert f"`{setting.key}`" in guide, setting.key
        if setting.env:
            assert f"`{setting.env}`" in guide, setting.env
    names = [n for n in SETTING_NAMES if SETTING_NAMES[n] in {s.key for s in settings}]
    for name in [*names, "KB_CONFIG", "KB_BUILD_INDEX"]:
        assert name in guide, name
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    serve = parser._subparsers._group_actions[0].choices["serve"]
    for action in serve._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert f"`{option}`" in guide, option
    assert "'webapp:create_app()'" in guide
    assert "gunicorn --workers" in guide
    assert "kb index" in guide and "/healthz" in guide


def test_served_url_names_the_listening_address():
    from webapp.serving import served_url

    assert served_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert served_url("::1", 8080) == "http://[::1]:8080"
    assert served_url("localhost", 5001) == "http://localhost:5001"
    # Every interface: the machine's name, which other computers can reach.
    assert served_url("0.0.0.0", 8080) == f"http://{socket.gethostname()}:8080"

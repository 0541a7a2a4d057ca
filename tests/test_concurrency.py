"""Threads viewing and searching while publications land: no error, no false empty
result, no page that differs from a sequential render (issue: runtime safety)."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from markupsafe import escape
from werkzeug.serving import make_server

from indexer.build import Indexer
from webapp import create_app

CORPUS = Path(__file__).parent / "fixtures" / "recherche"
STABLE = "centre-a/commerce-2016"
CHANGING = "centre-b/prairie"


def fetch(base: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")


def test_pages_and_searches_stay_right_while_versions_change(tmp_path):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    indexer = Indexer(content, index)
    indexer.update()
    app = create_app({"KB_CONTENT": content, "KB_INDEX": index, "TESTING": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()

    sheet = content / "centre-b" / "prairie.md"
    original = sheet.read_text(encoding="utf-8")
    variants = [
        original,
        original.replace("entretiennent les parcelles", "entretiennent le verger"),
    ]
    expected_bodies: set[str] = set()
    for text in variants:  # the sequential renders of both versions of the changing sheet
        sheet.write_text(text, encoding="utf-8")
        indexer.update(["centre-b/prairie.md"])
        expected_bodies.add(
            json.loads(fetch(base, f"/api/v1/ressources/{CHANGING}")[1])["corps_html"]
        )
    assert len(expected_bodies) == 2
    stable_body = json.loads(fetch(base, f"/api/v1/ressources/{STABLE}")[1])["corps_html"]
    stable_title = str(escape(json.loads(fetch(base, f"/api/v1/ressources/{STABLE}")[1])["titre"]))
    assert stable_body and stable_body in fetch(base, f"/ressources/{STABLE}")[1]

    problems: list[str] = []
    stop = threading.Event()
    counts = [0]

    def reader(number: int) -> None:
        while not stop.is_set():
            status, page = fetch(base, f"/ressources/{STABLE}")
            if status != 200 or stable_body not in page or stable_title not in page:
                problems.append(f"page stable {status}")
            status, data = fetch(base, f"/api/v1/ressources/{CHANGING}")
            if status != 200 or json.loads(data)["corps_html"] not in expected_bodies:
                problems.append(f"api {status}")
            status, data = fetch(base, "/api/v1/recherche?q=commerce")
            if status != 200 or json.loads(data)["total"] == 0:
                problems.append(f"recherche vide {status}")
            status, _ = fetch(base, "/recherche?q=jardin+verger")
            if status != 200:
                problems.append(f"page de recherche {status}")
            counts[0] += 1

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    try:
        for round_number in range(12):  # publications landing while the readers read
            sheet.write_text(variants[round_number % 2], encoding="utf-8")
            indexer.update(["centre-b/prairie.md"])
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
        server.shutdown()
    assert counts[0] > 12
    assert problems == []

"""The content tree and index of the web app's tests (Flask test client and browser).

`build_site(folder)` copies `tests/fixtures/webapp`, adds what is better generated than
stored (binary attachments, a series of resources for paging, symbolic links), and builds
the index. The fixtures that use it are in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from htmlcheck import FORBIDDEN_ELEMENTS, URL_ATTRIBUTES, url_scheme_is_forbidden

from indexer.build import Indexer

FIXTURE = Path(__file__).parent / "fixtures" / "webapp"
SERIES = 24  # resources of centre-gamma, all on `mobilite`: more than a page of anything
SITE_URL = "https://ressources.example.org"

DIAGNOSTIC = "/ressources/centre-alpha/diagnostic-en-marchant"
HOSTILE = "/ressources/centre-beta/fiche-piegee"
RETIRED = "/ressources/centre-beta/fiche-retiree"  # published once, then removed: 410
RETIRED_TITLE = "Un ancien guide des marches exploratoires"
JSON_LD = "application/ld+json"
SERIES_TITLE = "Mobilité vers l'emploi, fiche de série n° {number:02d}"


def png(width: int = 8, height: int = 6, rgb: tuple[int, int, int] = (0, 0, 145)) -> bytes:
    """A valid, tiny PNG image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZIP_LIKE = b"PK\x03\x04" + b"\x00" * 60  # stands for an office document


def series_resource(number: int) -> str:
    return f"""---
titre: "{SERIES_TITLE.format(number=number)}"
type: fiche-pratique
date: {2000 + number}-01-15
piliers: [developpement-economique]
thematiques: [mobilite]
publics: [jeunes]
territoire:
  region: "76"
resume: Fiche de série sur la mobilité vers l'emploi des jeunes, numéro {number}.
---
## Contexte

Texte de la fiche de série numéro {number} sur la mobilité et l'auto-école sociale.
"""


@dataclass(frozen=True)
class Site:
    content: Path
    index: Path
    outside: Path  # a folder next to the content, that must never be served

    def config(self, **overrides) -> dict:
        config = {
            "TESTING": True,
            "KB_CONTENT": str(self.content),
            "KB_INDEX": str(self.index),
            "KB_SITE_URL": SITE_URL,
            "KB_SOURCE_URL": "",
        }
        config.update(overrides)
        return config


def build_site(base: Path) -> Site:
    content = base / "content"
    shutil.copytree(FIXTURE, content)
    alpha, beta, gamma = content / "centre-alpha", content / "centre-beta", content / "centre-gamma"
    (alpha / "plan-parcours.png").write_bytes(png(64, 40))
    (alpha / "logo-alpha.png").write_bytes(png(16, 16, (201, 25, 30)))
    (alpha / "bilan.pdf").write_bytes(PDF)
    (alpha / "compte-rendu.odt").write_bytes(ZIP_LIKE)
    (alpha / "tableau.xlsx").write_bytes(ZIP_LIKE)
    (alpha / "_prive").mkdir()
    (alpha / "_prive" / "secret.pdf").write_bytes(PDF)
    (alpha / ".cache").mkdir()
    (alpha / ".cache" / "cache.pdf").write_bytes(PDF)
    for number in range(1, SERIES + 1):
        (gamma / f"serie-{number:02d}.md").write_text(series_resource(number), encoding="utf-8")

    outside = base / "ailleurs"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(PDF)
    (outside / "secret.md").write_text("secret\n", encoding="utf-8")
    os.symlink(alpha / "bilan.pdf", beta / "lien-interne.pdf")
    os.symlink(outside / "secret.pdf", beta / "lien-externe.pdf")
    os.symlink(alpha, beta / "dossier-lien")

    # A resource published once, then removed: the index's registry remembers it (410).
    retired = beta / "fiche-retiree.md"
    retired.write_text(
        f"---\ntitre: {RETIRED_TITLE}\ntype: guide\ndate: 2019-05-02\npiliers: [cadre-de-vie]\n"
        "resume: Guide retiré de la base.\n---\nTexte.\n",
        encoding="utf-8",
    )
    index = base / "index"
    Indexer(content, index).update()
    retired.unlink()
    Indexer(content, index).update()
    return Site(content, index, outside)


# --- Reading pages -------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def text(html: str) -> str:
    """The visible text of a page, ASCII whitespace collapsed (no-break spaces are kept)."""
    return re.sub(r"[ \t\n\r\f\v]+", " ", "".join(parse(html).texts)).strip()


def elements(html: str, tag: str, **attrs: str) -> list[dict[str, str]]:
    """Attributes of every `tag` element having the given attribute values
    (`class_="x"` matches a class among others)."""
    found = []
    for name, values in parse(html).elements:
        if name != tag:
            continue
        ok = True
        for key, wanted in attrs.items():
            key = key.rstrip("_").replace("_", "-")
            if key == "class":
                ok = ok and wanted in values.get("class", "").split()
            else:
                ok = ok and values.get(key) == wanted
        if ok:
            found.append(values)
    return found


def hrefs(html: str) -> list[str]:
    return [a["href"] for a in elements(html, "a") if "href" in a]


def page_dangers(html: str) -> list[str]:
    """What could run code or load foreign content in a whole page of the site.

    The site's own markup is allowed (its script and stylesheets from /static/, its forms
    to itself); anything else that htmlcheck forbids in a body is reported.
    """
    found = []
    for tag, attrs in parse(html).elements:
        if tag == "script":
            if attrs == {"type": JSON_LD}:
                continue  # data, never run (checked below)
            if not attrs.get("src", "").startswith("/static/"):
                found.append(f"<script> {attrs}")
        elif tag == "link":
            href = attrs.get("href", "")
            if attrs.get("rel", "").startswith("schema."):
                continue  # names a metadata vocabulary (Dublin Core): loads nothing
            if not (href.startswith(("/", SITE_URL)) and not href.startswith("//")):
                found.append(f"<link> {attrs}")
        elif tag == "form":
            if attrs.get("action") != "/recherche":
                found.append(f"<form> {attrs}")
        elif tag == "meta":
            if "http-equiv" in attrs:
                found.append(f"<meta> {attrs}")
        elif tag in ("input", "button"):
            pass
        elif tag in FORBIDDEN_ELEMENTS:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"{name} sur <{tag}>")
            elif name == "style":
                found.append(f"style sur <{tag}>")
            elif name in URL_ATTRIBUTES and url_scheme_is_forbidden(value):
                found.append(f"{name}={value!r} sur <{tag}>")
    if re.search(r"<script(?![^>]*\bsrc=)(?! type=\"application/ld\+json\">)[^>]*>", html):
        found.append("script en ligne")
    for data in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        if "<" in data:
            found.append("« < » dans les données JSON-LD")
        try:
            json.loads(data)
        except ValueError:
            found.append("données JSON-LD illisibles")
    return found


def require(available: bool, what: str) -> None:
    """Skip a test whose tool is missing on a developer's machine; fail loudly in CI."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} est introuvable alors que CI est défini : il doit être installé")
    pytest.skip(f"{what} introuvable (le test tourne en CI)")


# Valid values for the path arguments of the app's routes (route_paths).
PATH_VALUES = {
    "centre": "centre-alpha",
    "slug": "diagnostic-en-marchant",
    "centre_id": "centre-alpha",
    "region": "76",
    "path": "centre-alpha/bilan.pdf",
    "filename": "css/site.css",
    "year": "2024",
    "code": "76",
    "token": "jeton-invalide",
    "source": "nord",  # a [[sources]] name (webhook)
}
TERMS = {"browse.pilier": "cohesion-sociale", "browse.thematique": "mobilite"}
TERMS["browse.dispositif"] = "asv"


def route_paths(app) -> dict[str, tuple[str, dict[str, str], frozenset[str]]]:
    """Every route of the app, by endpoint: a concrete path built from valid values, those
    values, and the route's methods. A route added without a value here fails loudly."""
    from flask import url_for

    routes = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            values = {name: PATH_VALUES.get(name) for name in rule.arguments}
            if "term_id" in values:
                values["term_id"] = TERMS[rule.endpoint]
            assert None not in values.values(), f"valeur d'exemple manquante : {rule.rule}"
            routes[rule.endpoint] = (url_for(rule.endpoint, **values), values, rule.methods)
    return routes

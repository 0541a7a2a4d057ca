"""How values are written on the pages, in French: dates, sizes, counts, file types.

Installed as Jinja filters and globals by `install(app)`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import cache
from pathlib import Path

from flask import Flask, current_app, request, url_for

from kb.french import MONTHS
from kb.model import Periode

FILE_KINDS = {
    "pdf": "document PDF",
    "odt": "texte OpenDocument",
    "docx": "document Word",
    "xlsx": "classeur Excel",
    "csv": "tableau CSV",
    "png": "image PNG",
    "jpg": "image JPEG",
    "jpeg": "image JPEG",
    "webp": "image WebP",
}

NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space: French thousands separator


def as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def date_fr(value: dt.date | str | None) -> str:
    """`2017-10-10` -> `10 octobre 2017` (`1er` for the first day)."""
    day = as_date(value)
    if day is None:
        return str(value or "")
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number}{NBSP}{MONTHS[day.month - 1]} {day.year}"


def iso_date(value: dt.date | str | None) -> str:
    day = as_date(value)
    return day.isoformat() if day else ""


_BEFORE_PUNCTUATION = re.compile(r" ([:;!?»])|(«) ")


def typography_fr(text: str) -> str:
    """No-break spaces around French double punctuation, so that `:` never starts a line
    (a full one before `:` and inside quotes, a narrow one before `;`, `!`, `?`)."""

    def space(match: re.Match) -> str:
        if match.group(2):
            return f"«{NBSP}"
        mark = match.group(1)
        return (NBSP if mark in ":»" else NNBSP) + mark

    return _BEFORE_PUNCTUATION.sub(space, text)


def number_fr(value: int) -> str:
    return f"{value:,}".replace(",", NNBSP)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`0 ressource`, `1 ressource`, `2 ressources` (French: 0 and 1 are singular)."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{number_fr(count)}{NBSP}{word}"


def filesize_fr(size: int) -> str:
    if size < 1000:
        return plural(size, "octet")
    for unit, factor in (("ko", 1000), ("Mo", 1000**2), ("Go", 1000**3)):
        if size < factor * 1000 or unit == "Go":
            value = size / factor
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return f"{text.replace('.', ',')}{NBSP}{unit}"
    raise AssertionError("unreachable")


def file_kind(extension: str) -> str:
    return FILE_KINDS.get(extension.lower(), extension.upper())


def periode_fr(periode: Periode | None) -> str:
    if periode is None:
        return ""

    def bound(value: dt.date | int | None) -> str:
        return date_fr(value) if isinstance(value, dt.date) else str(value)

    if periode.debut is not None and periode.fin is not None:
        return f"de {bound(periode.debut)} à {bound(periode.fin)}"
    if periode.debut is not None:
        return f"depuis {bound(periode.debut)}"
    if periode.fin is not None:
        return f"jusqu'à {bound(periode.fin)}"
    return ""


@cache
def _file_hash(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def static_url(filename: str) -> str:
    """URL of a static file with its content hash, so that caches can keep it for long."""
    folder = Path(current_app.static_folder or "")
    full = folder / filename
    try:
        version = _file_hash(str(full), full.stat().st_mtime_ns)
    except OSError:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


def nav_state(*endpoint_prefixes: str, exact: str | None = None) -> str | None:
    """`aria-current` value for a navigation link: `page` on the page itself, `true` in its
    section (a sub-page), else None (attribute left out)."""
    endpoint = request.endpoint or ""
    if exact and endpoint == exact:
        return "page"
    if any(endpoint.startswith(prefix) for prefix in endpoint_prefixes):
        return "true"
    return None


def label(key: str, value: str) -> str:
    """The French label of a facet value (vocabulary term, centre name...)."""
    from .catalogue import current_catalogue

    return current_catalogue().label(key, value)


def place_url(kind: str, code: str) -> str:
    """Where a place of a resource leads: its territory page."""
    from ..pages.territories import place_url as territory_page

    return territory_page(kind, code)


def install(app: Flask) -> None:
    from .markup import extract_markup

    app.jinja_env.filters.update(
        extract=extract_markup,
        date_fr=date_fr,
        iso_date=iso_date,
        number_fr=number_fr,
        filesize=filesize_fr,
        file_kind=file_kind,
        periode_fr=periode_fr,
        typo=typography_fr,
    )
    app.jinja_env.globals.update(
        label=label,
        place_url=place_url,
        plural=plural,
        static_url=static_url,
        nav_state=nav_state,
        site_name="Base de connaissances des centres de ressources politique de la ville",
        site_short_name="Ressources politique de la ville",
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

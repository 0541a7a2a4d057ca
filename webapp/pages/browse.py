"""Browsing: pillars, themes, dispositifs and centres, each with an index page listing all
of them with counts, and a page per value listing its resources (territories have their
own module, `territories`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from markupsafe import Markup

from indexer.search import SearchRequest
from kb.vocabulary import fold

from ..core.catalogue import Catalogue, CentreInfo, current_catalogue
from ..core.errors import PageOutOfRange
from ..core.pagination import paginate
from ..core.params import FACET_TITLES, SearchParams, parse_page_args
from .resources import local_moment

bp = Blueprint("browse", __name__)

PER_PAGE = 20
REFINE_VALUES = 8

# What each vocabulary browse page is called, and which facet refines its listing.
TERM_PAGES = {
    "piliers": {
        "title": "Les trois piliers",
        "one": "Pilier",
        "index": "browse.piliers",
        "endpoint": "browse.pilier",
        "refine": "thematiques",
    },
    "thematiques": {
        "title": "Thématiques",
        "one": "Thématique",
        "index": "browse.thematiques",
        "endpoint": "browse.thematique",
        "refine": "dispositifs",
    },
    "dispositifs": {
        "title": "Dispositifs",
        "one": "Dispositif",
        "index": "browse.dispositifs",
        "endpoint": "browse.dispositif",
        "refine": "thematiques",
    },
}

PILLAR_DESCRIPTIONS = {
    "cohesion-sociale": "Éducation, santé, culture, sport, accès aux droits, prévention, "
    "lien social : réduire les inégalités que vivent les habitants des quartiers.",
    "cadre-de-vie": "Habitat, renouvellement urbain, gestion urbaine de proximité, mobilité, "
    "tranquillité : améliorer la vie quotidienne dans les quartiers.",
    "developpement-economique": "Emploi, insertion, création d'entreprise, commerce, économie "
    "sociale et solidaire : rapprocher les habitants de l'activité.",
}


@dataclass(frozen=True)
class Entry:
    """One line of an index page."""

    id: str
    label: str
    count: int
    url: str
    detail: str = ""


@dataclass(frozen=True)
class RefineLink:
    label: str
    count: int
    url: str


def listing(catalogue: Catalogue, key: str, value: str, refine: str | None):
    """The resources filed under one value, newest first, one page of them."""
    page = parse_page_args(request.args)
    filters = {key: (value,)}
    result = catalogue.search(
        SearchRequest(filters=filters, sort="date", page=page, per_page=PER_PAGE)
    )
    if page > result.pages:
        raise PageOutOfRange(page, result.pages, _page_url(result.pages))
    refine_links = []
    if refine:
        params = SearchParams(filters=filters)
        for facet_value in (result.facets.get(refine) or [])[:REFINE_VALUES]:
            refine_links.append(
                RefineLink(
                    facet_value.libelle,
                    facet_value.nombre,
                    params.toggled(refine, facet_value.valeur).url(),
                )
            )
    return {
        "result": result,
        "hits": result.hits,
        "first_number": (page - 1) * PER_PAGE + 1,
        "pagination": paginate(page, result.pages, _page_url),
        "search_url": SearchParams(filters=filters).url(),
        "refine_links": refine_links,
    }


def _page_url(number: int) -> str:
    args = dict(request.view_args or {})
    if number > 1:
        args["page"] = number
    return url_for(request.endpoint or "", **args)


# --- pillars, themes, dispositifs ---------------------------------------------------------


def _term_index(key: str):
    catalogue = current_catalogue()
    overview = catalogue.overview()
    page = TERM_PAGES[key]
    entries = [
        Entry(
            term.id,
            term.libelle,
            overview.count(key, term.id),
            url_for(page["endpoint"], term_id=term.id),
            PILLAR_DESCRIPTIONS.get(term.id, "") if key == "piliers" else "",
        )
        for term in catalogue.vocabulary(key)
    ]
    if key != "piliers":
        entries.sort(key=lambda e: fold(e.label))
    return render_template(
        "browse/terms.html",
        key=key,
        title=page["title"],
        entries=entries,
        vocabulary=catalogue.vocabulary(key),
        total=overview.total,
    )


def _term_page(key: str, term_id: str):
    catalogue = current_catalogue()
    term = catalogue.vocabulary(key).terms.get(term_id)
    if term is None:
        abort(404)
    page = TERM_PAGES[key]
    return render_template(
        "browse/term.html",
        key=key,
        term=term,
        kind=page["one"],
        index_title=page["title"],
        index_url=url_for(page["index"]),
        description=PILLAR_DESCRIPTIONS.get(term.id, "") if key == "piliers" else "",
        refine_title=FACET_TITLES[page["refine"]],
        **listing(catalogue, key, term.id, page["refine"]),
    )


@bp.get("/piliers")
def piliers():
    return _term_index("piliers")


@bp.get("/piliers/<term_id>")
def pilier(term_id: str):
    return _term_page("piliers", term_id)


@bp.get("/thematiques")
def thematiques():
    return _term_index("thematiques")


@bp.get("/thematiques/<term_id>")
def thematique(term_id: str):
    return _term_page("thematiques", term_id)


@bp.get("/dispositifs")
def dispositifs():
    return _term_index("dispositifs")


@bp.get("/dispositifs/<term_id>")
def dispositif(term_id: str):
    return _term_page("dispositifs", term_id)


# --- centres ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """Where a centre's content comes from: its source (a git repository declared in the
    instance's configuration, or the instance's own repository) and the commit online."""

    source: str | None  # the source's name; None: the instance's own repository
    depot: str | None  # its address, when it is a web address (credentials removed)
    branche: str | None
    commit: str | None
    publie_le: str | None

    @property
    def published(self) -> dt.datetime | None:
        return local_moment(self.publie_le)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "depot": self.depot,
            "branche": self.branche,
            "commit": self.commit,
            "publie_le": self.publie_le,
        }


@dataclass(frozen=True)
class Cell:
    count: int
    url: str


@dataclass(frozen=True)
class MatrixRow:
    value: str
    label: str
    count: int
    url: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class DirectoryEntry:
    """A centre as the network's directory shows it."""

    centre: CentreInfo
    url: str
    region: str  # the region's name, "" when the card gives none
    contact_is_email: bool
    provenance: Provenance
    total: int
    last_change: dt.datetime | None
    search_url: str
    columns: tuple[tuple[str, str, int, str], ...]  # (pillar, label, resources, search url)
    rows: tuple[MatrixRow, ...]
    without_theme: int


def provenance(info: dict, centre_id: str) -> Provenance:
    """From the live version's infos.json: the source that provides the centre (`sources`,
    written when the instance gathers several repositories), else the version's commit."""
    sources = info.get("sources")
    if isinstance(sources, dict):
        for name, source in sorted(sources.items()):
            if isinstance(source, dict) and centre_id in (source.get("centres") or ()):
                return Provenance(
                    str(name),
                    _web_address(source.get("depot")),
                    _text(source.get("branche")),
                    _text(source.get("commit")),
                    _text(source.get("publie_le")),
                )
    return Provenance(
        None,
        None,
        None,
        _text(info.get("commit")),
        _text(info.get("en_ligne_le") or info.get("indexe_le")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _web_address(value: object) -> str | None:
    """A repository's address, shown only when it is a web address, without any user name,
    password, query or fragment (a local path or an SSH address says nothing to readers)."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def directory(catalogue: Catalogue) -> tuple[DirectoryEntry, ...]:
    """Every centre of the network: card, provenance, what it has published (immutable:
    computed once per index version and shared by the requests)."""
    profiles = catalogue.centre_profiles()
    info = catalogue.version_info()
    regions = catalogue.vocabularies.regions
    pillars = list(catalogue.vocabulary("piliers"))
    entries = []
    for centre in catalogue.centres().values():
        profile = profiles.get(centre.id)
        base = {"centre": (centre.id,)}
        columns: list[tuple[str, str, int, str]] = []
        rows: list[MatrixRow] = []
        total, changed, without = 0, None, 0
        if profile is not None:
            total, without = profile.total, profile.without_theme
            changed = local_moment(profile.last_change)
            columns = [
                (
                    c.value,
                    c.label,
                    c.count,
                    SearchParams(filters={**base, "piliers": (c.value,)}).url(),
                )
                for c in profile.matrix.columns
            ]
            for row, cells in zip(profile.matrix.rows, profile.matrix.cells, strict=True):
                in_row = {**base, "thematiques": (row.value,)}
                rows.append(
                    MatrixRow(
                        row.value,
                        row.label,
                        row.count,
                        SearchParams(filters=in_row).url(),
                        tuple(
                            Cell(count, SearchParams(filters={**in_row, "piliers": (p.id,)}).url())
                            for p, count in zip(pillars, cells, strict=True)
                        ),
                    )
                )
        else:
            columns = [(p.id, p.libelle, 0, "") for p in pillars]
        contact = (centre.contact or "").strip()
        entries.append(
            DirectoryEntry(
                centre,
                url_for("browse.centre", centre_id=centre.id),
                regions.label(centre.region) if centre.region else "",
                bool(contact and "@" in contact and " " not in contact),
                provenance(info, centre.id),
                total,
                changed,
                SearchParams(filters=base).url(),
                tuple(columns),
                tuple(rows),
                without,
            )
        )
    return tuple(entries)


@bp.get("/centres")
def centres():
    catalogue = current_catalogue()
    entries = catalogue.per_version("annuaire", lambda: directory(catalogue))
    return render_template("browse/centres.html", entries=entries, total=catalogue.overview().total)


@bp.get("/centres.json")
def centres_json():
    catalogue = current_catalogue()
    site = catalogue.site_url
    data = []
    for entry in catalogue.per_version("annuaire", lambda: directory(catalogue)):
        centre = entry.centre
        data.append(
            {
                "id": centre.id,
                "nom": centre.nom,
                "url": site + entry.url,
                "region": {"code": centre.region, "libelle": entry.region}
                if centre.region
                else None,
                "site": centre.site,
                "contact": centre.contact,
                "provenance": entry.provenance.as_json(),
                "ressources": entry.total,
                "derniere_modification": entry.last_change.isoformat()
                if entry.last_change
                else None,
                "recherche": site + entry.search_url,
                "thematiques_piliers": {
                    "piliers": [
                        {
                            "valeur": value,
                            "libelle": label,
                            "nombre": count,
                            "recherche": site + url if url else None,
                        }
                        for value, label, count, url in entry.columns
                    ],
                    "thematiques": [
                        {
                            "valeur": row.value,
                            "libelle": row.label,
                            "nombre": row.count,
                            "recherche": site + row.url,
                            "par_pilier": [cell.count for cell in row.cells],
                        }
                        for row in entry.rows
                    ],
                    "sans_thematique": entry.without_theme,
                },
            }
        )
    return jsonify({"type": "centres", "nombre": len(data), "centres": data})


def centre_entries(catalogue: Catalogue, overview) -> list[Entry]:
    """Every centre with its number of resources and its region (home and /centres)."""
    regions = catalogue.vocabularies.regions
    return [
        Entry(
            centre.id,
            centre.nom,
            overview.count("centre", centre.id),
            url_for("browse.centre", centre_id=centre.id),
            regions.label(centre.region) if centre.region else "",
        )
        for centre in catalogue.centres().values()
    ]


@bp.get("/centres/<centre_id>")
def centre(centre_id: str):
    catalogue = current_catalogue()
    info = catalogue.centres().get(centre_id)
    if info is None:
        abort(404)
    body = Markup(info.html) if info.html else None  # rendered and sanitised when indexed
    contact = info.contact
    return render_template(
        "browse/centre.html",
        centre=info,
        body=body,
        contact=contact,
        contact_is_email=bool(contact and "@" in contact and " " not in contact.strip()),
        region=catalogue.vocabularies.regions.label(info.region) if info.region else None,
        **listing(catalogue, "centre", centre_id, "thematiques"),
    )

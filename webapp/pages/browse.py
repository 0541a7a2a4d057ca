"""Browsing: pillars, themes, dispositifs and centres, each with an index page listing all
of them with counts, and a page per value listing its resources (territories have their
own module, `territories`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup

from indexer.search import SearchRequest
from kb.vocabulary import fold

from ..core.catalogue import Catalogue, current_catalogue
from ..core.errors import PageOutOfRange
from ..core.pagination import paginate
from ..core.params import FACET_TITLES, SearchParams, parse_page_args

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


@bp.get("/centres")
def centres():
    catalogue = current_catalogue()
    overview = catalogue.overview()
    entries = centre_entries(catalogue, overview)
    return render_template("browse/centres.html", entries=entries, total=overview.total)


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

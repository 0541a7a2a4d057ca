"""The JSON API, `/api/v1/`: search, resources, centres, vocabularies, and its OpenAPI 3.1
description (`/api/v1/openapi.json`).

`recherche` takes the parameters of `/recherche` (plus `par_page`) and answers the JSON of
`kb search --json`, with pagination links. Every answer can be revalidated (ETag), is
readable from any web page (CORS) and, when it is an error, says why in French.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, request, url_for

from indexer.search import MAX_PER_PAGE
from kb.model import Resource
from kb.pages import attachment_url
from kb.vocabulary import VOCABULARY_NAMES as ALL_VOCABULARIES

from ..core.catalogue import current_catalogue
from ..core.errors import PageOutOfRange, json_error
from ..core.params import InvalidParameters, SearchParams, parse_search_args, read_count
from ..core.responses import cacheable
from ..pages.resources import similar_search_url
from .openapi import describe_api
from .records import Describer

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PER_PAGE = 10
PATH = "/api/v1/recherche"


def json_response(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return cacheable(response)


@bp.get("/")
def index():
    site = current_catalogue().site_url
    return json_response(
        {
            "description": "API de la base de connaissances des centres de ressources "
            "politique de la ville (lecture seule, sans clé).",
            "documentation": site + "/a-propos#api",
            "openapi": site + url_for("api.openapi"),
            "liens": {
                "recherche": site + url_for("api.search"),
                "centres": site + url_for("api.centres"),
                "vocabulaires": site + url_for("api.vocabularies"),
                "ressource": site + "/api/v1/ressources/{centre}/{fiche}",
            },
        }
    )


@bp.get("/openapi.json")
def openapi():
    return json_response(describe_api(current_catalogue()))


# --- search ---------------------------------------------------------------------------------


def read_search(args) -> tuple[SearchParams, int]:
    messages: list[str] = []
    per_page = read_count(args, "par_page", PER_PAGE, MAX_PER_PAGE, messages)
    try:
        params = parse_search_args(args, current_catalogue().known_values, extra=("par_page",))
    except InvalidParameters as error:
        raise InvalidParameters(messages + error.messages, error.usable) from None
    if messages:
        raise InvalidParameters(messages, params)
    return params, per_page


def page_url(params: SearchParams, per_page: int, page: int) -> str:
    url = current_catalogue().site_url + params.with_page(page).url(PATH)
    if per_page != PER_PAGE:
        url += ("&" if "?" in url else "?") + f"par_page={per_page}"
    return url


@bp.get("/recherche")
def search():
    catalogue = current_catalogue()
    params, per_page = read_search(request.args)
    # Every page; a group of near-duplicates once, its other members in `egalement`.
    result = catalogue.search(replace(params.request(per_page), deep=True, collapse=True))
    if params.page > result.pages:
        raise PageOutOfRange(params.page, result.pages, page_url(params, per_page, result.pages))
    links = {
        "premiere": page_url(params, per_page, 1),
        "precedente": page_url(params, per_page, params.page - 1) if params.page > 1 else None,
        "suivante": (
            page_url(params, per_page, params.page + 1) if params.page < result.pages else None
        ),
        "derniere": page_url(params, per_page, result.pages),
    }
    data = result.as_json()
    data["pagination"] = {
        "page": params.page,
        "par_page": per_page,
        "pages": result.pages,
        **links,
    }
    response = json_response(data)
    relations = {"first": "premiere", "prev": "precedente", "next": "suivante", "last": "derniere"}
    response.headers["Link"] = ", ".join(
        f'<{links[key]}>; rel="{rel}"' for rel, key in relations.items() if links[key]
    )
    return response


# --- one resource ---------------------------------------------------------------------------


@bp.get("/ressources/<centre>/<slug>")
def resource(centre: str, slug: str):
    catalogue = current_catalogue()
    resource_id = f"{centre}/{slug}"
    page = catalogue.page(resource_id)
    if page is None:
        location = catalogue.locate(resource_id)
        if location.status == "moved":
            target_centre, _, target_slug = location.id.partition("/")
            return redirect(
                url_for("api.resource", centre=target_centre, slug=target_slug), code=301
            )
        if location.status == "gone":
            removed = location.removed or {}
            return json_error(
                410,
                [f"la ressource « {removed.get('titre')} » a été retirée de la base"],
                ressource={
                    "id": removed.get("id"),
                    "titre": removed.get("titre"),
                    "date": removed.get("date"),
                    "retiree_le": removed.get("retiree"),
                },
                recherche_proche=catalogue.site_url + "/api/v1" + similar_search_url(removed),
            )
        abort(404)
    return json_response(resource_json(page.resource, page.html))


_SITE_RELATIVE = re.compile(r'\b(href|src)="/(?!/)')


def resource_json(resource: Resource, html: str) -> dict[str, Any]:
    catalogue = current_catalogue()
    site = catalogue.site_url
    label = catalogue.label
    meta = catalogue.metadata(resource.id) or {}
    describer = Describer(catalogue)
    # The body as rendered when indexed, its site-relative links made absolute for
    # partners who show it elsewhere.
    body_html = _SITE_RELATIVE.sub(lambda m: f'{m.group(1)}="{site}/', html)
    territoire = resource.territoire
    periode = resource.periode
    return {
        "id": resource.id,
        "centre": resource.centre,
        "fiche": resource.slug,
        "titre": resource.titre,
        "type": resource.type,
        "date": resource.date.isoformat(),
        "mise_a_jour": resource.mise_a_jour.isoformat() if resource.mise_a_jour else None,
        "piliers": list(resource.piliers),
        "thematiques": list(resource.thematiques),
        "dispositifs": list(resource.dispositifs),
        "publics": list(resource.publics),
        "territoire": {
            "region": meta.get("region") or territoire.region,
            "departement": territoire.departement,
            "communes": list(territoire.communes),
            "epci": list(territoire.epci),
            "qpv": list(territoire.qpv),
        },
        # Every place by name, the EPCI of the communes included (what pages show).
        "lieux": [
            {"type": place.kind, "code": place.code, "nom": place.nom}
            for place in describer.places(
                {
                    "region": meta.get("region") or territoire.region,
                    "departement": territoire.departement,
                    "communes": territoire.communes,
                    "epci": territoire.epci,
                    "qpv": territoire.qpv,
                }
            )
        ],
        "porteur": resource.porteur,
        "partenaires": list(resource.partenaires),
        "auteurs": list(resource.auteurs),
        "mots_cles": list(resource.mots_cles),
        "periode": (
            {
                "debut": None if periode.debut is None else str(periode.debut),
                "fin": None if periode.fin is None else str(periode.fin),
            }
            if periode
            else None
        ),
        "licence": resource.licence,
        "alias": list(resource.alias_ids),
        # The same practice published elsewhere in the base (its near-duplicates).
        "egalement": [
            {**other, "url": site + other["url"]} for other in catalogue.also_published(resource.id)
        ],
        "resume": resource.resume,
        "libelles": {
            "type": label("type", resource.type),
            "centre": label("centre", resource.centre),
            "piliers": {v: label("piliers", v) for v in resource.piliers},
            "thematiques": {v: label("thematiques", v) for v in resource.thematiques},
            "dispositifs": {v: label("dispositifs", v) for v in resource.dispositifs},
            "publics": {v: label("publics", v) for v in resource.publics},
            "region": label("region", meta["region"]) if meta.get("region") else None,
            "departement": (
                label("departement", territoire.departement) if territoire.departement else None
            ),
            "communes": {v: label("commune", v) for v in territoire.communes},
            "epci": {v: label("epci", v) for v in territoire.epci},
            "qpv": {v: label("qpv", v) for v in territoire.qpv},
        },
        "corps_html": body_html,
        "pieces_jointes": [
            {
                "nom": attachment.name,
                "url": site + attachment_url(attachment.path),
                "type_mime": attachment.mime_type,
                "taille": attachment.size,
            }
            for attachment in resource.attachments
        ],
        "liens": {
            "page": site + resource.url,
            "api": site + url_for("api.resource", centre=resource.centre, slug=resource.slug),
            "source": describer.source_url({"url": resource.url, "path": resource.path}),
            "centre": site + url_for("browse.centre", centre_id=resource.centre),
            "flux_centre": site + url_for("feeds.search_feed", centre=resource.centre),
        },
    }


# --- centres and vocabularies ---------------------------------------------------------------


@bp.get("/centres")
def centres():
    catalogue = current_catalogue()
    if request.args:
        raise InvalidParameters(["cette adresse ne prend aucun paramètre"], SearchParams())
    overview = catalogue.overview()
    site = catalogue.site_url
    return json_response(
        {
            "centres": [
                {
                    "id": centre.id,
                    "nom": centre.nom,
                    "region": centre.region,
                    "site": centre.site,
                    "ressources": overview.count("centre", centre.id),
                    "url": site + url_for("browse.centre", centre_id=centre.id),
                    "recherche": site + url_for("api.search", centre=centre.id),
                    "flux": site + url_for("feeds.search_feed", centre=centre.id),
                }
                for centre in catalogue.centres().values()
            ]
        }
    )


# Every vocabulary but the publication status, which concerns authors, not readers.
VOCABULARY_NAMES = tuple(name for name in ALL_VOCABULARIES if name != "statuts")


def _plain(value: Any) -> Any:
    """A vocabulary's extra value as JSON (YAML may hold dates)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


@bp.get("/vocabulaires")
def vocabularies():
    if request.args:
        raise InvalidParameters(["cette adresse ne prend aucun paramètre"], SearchParams())
    vocabularies = current_catalogue().vocabularies
    return json_response(
        {
            name: [
                {
                    **{key: _plain(value) for key, value in term.extra.items()},
                    "id": term.id,
                    "libelle": term.libelle,
                }
                for term in vocabularies[name]
            ]
            for name in VOCABULARY_NAMES
        }
    )

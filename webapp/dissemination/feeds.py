"""Atom 1.0 feeds: `/flux.atom` (everything) and `/recherche.atom?<parameters of /recherche>`.

A partner subscribes to any search. Feeds are paged (RFC 5005: `first`, `previous`,
`next`, `last` links), newest first, so that following `next` reads the whole matching
catalogue exactly once. The order is always by entry into the base (first publication),
whatever `tri` says: a sheet published today about a 2019 action is news today. Each
entry's `published` is that entry date and `updated` its last change in the base; the
sheet's own date stays in the summary of the resource, as `dc:date` does in OAI-PMH.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request

from indexer.search import SearchResult

from ..core.catalogue import current_catalogue
from ..core.errors import PageOutOfRange
from ..core.facets import search_summary
from ..core.params import DEFAULT_SORT, SearchParams, parse_page_args, parse_search_args
from ..core.responses import cacheable
from ..pages.territories import place_url
from .records import Describer, day_start, xml_text

bp = Blueprint("feeds", __name__)

PER_PAGE = 50
SITE_TITLE = "Ressources politique de la ville"
ATOM = "application/atom+xml"


@bp.get("/flux.atom")
def everything():
    """Every resource; its only parameter is `page` (a filtered feed is /recherche.atom)."""
    return feed(SearchParams(page=parse_page_args(request.args)), "/flux.atom")


@bp.get("/recherche.atom")
def search_feed():
    params = parse_search_args(request.args, current_catalogue().known_values)
    return feed(params, "/recherche.atom")


def feed(params: SearchParams, path: str) -> Response:
    catalogue = current_catalogue()
    params = replace(params, sort=DEFAULT_SORT)  # links name no sort: feeds are by entry
    search = replace(
        params.request(PER_PAGE),
        sort="ajout",
        with_facets=False,
        with_suggestion=False,
        deep=True,
    )
    result = catalogue.search(search)
    if params.page > result.pages:
        raise PageOutOfRange(params.page, result.pages, params.with_page(result.pages).url(path))
    xml = build_feed(params, path, result)
    response = Response(xml, mimetype=ATOM)
    response.charset = "utf-8"
    return cacheable(response)


def build_feed(params: SearchParams, path: str, result: SearchResult) -> bytes:
    catalogue = current_catalogue()
    describer = Describer(catalogue)
    site = catalogue.site_url
    summary = search_summary(params, catalogue.label)

    def page_url(page: int, where: str = path) -> str:
        return site + params.with_page(page).url(where)

    generator = FeedGenerator()
    generator.id(page_url(1))  # the same for every page: one logical feed
    if path == "/flux.atom":
        generator.title(f"{SITE_TITLE} : nouvelles ressources")
    else:
        generator.title(xml_text(f"{SITE_TITLE} : {summary or 'toutes les ressources'}"))
    generator.subtitle(
        "Fiches pratiques, retours d'expérience, guides et études des centres de ressources "
        "politique de la ville, de la plus récente à la plus ancienne."
    )
    generator.language("fr")
    generator.author({"name": "Réseau des centres de ressources politique de la ville"})
    generator.link(href=page_url(params.page), rel="self", type=ATOM)
    html_params = params if path != "/flux.atom" else SearchParams()
    generator.link(
        href=site + html_params.with_sort("ajout").url("/recherche"),
        rel="alternate",
        type="text/html",
    )
    generator.link(href=page_url(1), rel="first", type=ATOM)
    if params.page > 1:
        generator.link(href=page_url(params.page - 1), rel="previous", type=ATOM)
    if params.page < result.pages:
        generator.link(href=page_url(params.page + 1), rel="next", type=ATOM)
    generator.link(href=page_url(result.pages), rel="last", type=ATOM)
    generator.generator("Base de connaissances CRPV", uri=site + "/a-propos#flux")

    moments = []
    for hit in result.hits:
        meta = hit.meta
        url = site + hit.url
        entry = generator.add_entry(order="append")
        entry.id(url)
        entry.title(xml_text(hit.titre))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.summary(xml_text(hit.resume))
        published = moment(meta.get("entree")) or day_start(meta["date"])
        changed = max(published, moment(meta.get("modifiee")) or published)
        entry.published(published)
        entry.updated(changed)
        moments.append(changed)
        centre = describer.centre(hit.centre)
        entry.author({"name": xml_text(centre.nom), "uri": describer.centre_page(centre.id)})
        for term in describer.terms(meta, ("piliers", "thematiques")):
            entry.category({"term": term.id, "scheme": term.scheme, "label": xml_text(term.label)})
        entry.category(
            {
                "term": hit.type,
                "scheme": site + "/recherche?type=",
                "label": xml_text(describer.label("type", hit.type)),
            }
        )
        for place in describer.places(meta):  # by name, with their territory page
            entry.category(
                {
                    "term": place.code,
                    "scheme": site + place_url(place.kind, place.code).rsplit("/", 1)[0] + "/",
                    "label": xml_text(place.nom),
                }
            )
    generator.updated(max(moments) if moments else _index_time())
    return generator.atom_str(pretty=True, encoding="UTF-8")


def moment(stamp: str | None) -> dt.datetime | None:
    """An instant recorded by the index (ISO 8601, UTC when no offset is given)."""
    if not stamp:
        return None
    try:
        value = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _index_time() -> dt.datetime:
    stamp = current_catalogue().stats().get("indexe_le")
    try:
        return dt.datetime.fromisoformat(stamp) if stamp else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

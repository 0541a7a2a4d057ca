"""`/ressources/<centre>/<slug>`: one resource, with its metadata, files and neighbours.

The address is permanent: a former id (`alias`), another case or a trailing slash answer
301 to the current address; a resource that left the index answers 410 Gone with its
title and date (the index's registry remembers every id ever published).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from markupsafe import Markup

from kb import territories
from kb.model import resource_url
from kb.pages import attachment_url

from ..agenda.chain import chain_of
from ..agenda.views import now
from ..core.catalogue import Location, current_catalogue
from ..dissemination.records import Describer

PARIS = ZoneInfo("Europe/Paris")
bp = Blueprint("resources", __name__)

RELATED = 4
MIN_HEADINGS_FOR_CONTENTS = 3


@bp.get("/ressources/<centre>/<slug>")
def resource(centre: str, slug: str):
    catalogue = current_catalogue()
    resource_id = f"{centre}/{slug}"
    page = catalogue.page(resource_id)
    if page is None:
        return elsewhere(catalogue.locate(resource_id))
    found = page.resource
    centres = catalogue.centres()
    source_url = catalogue.source_link(found) or url_for(
        "resources.source", centre=centre, slug=slug
    )
    meta = catalogue.metadata(resource_id) or {}
    return render_template(
        "resources/resource.html",
        resource=found,
        entered=local_moment(meta.get("entree")),
        changed=local_moment(meta.get("modifiee")),
        body=Markup(page.html),  # rendered and sanitised when indexed (kb.pages)
        headings=page.headings if len(page.headings) >= MIN_HEADINGS_FOR_CONTENTS else (),
        centre=centres.get(found.centre),
        attachments=[(a, attachment_url(a.path)) for a in found.attachments],
        related=catalogue.related(resource_id, RELATED),
        also=[
            (
                other["url"],
                centres[other["centre"]].nom if other["centre"] in centres else other["centre"],
            )
            for other in catalogue.also_published(resource_id)
        ],
        permalink=catalogue.permalink(found.url),
        source_url=source_url,
        vocabularies=catalogue.vocabularies,
        described=describe(resource_id),
        **event_context(resource_id),
        places=territories.current().place_refs(
            communes=found.territoire.communes,
            epci=found.territoire.epci,
            qpv=found.territoire.qpv,
        ),
    )


def event_context(resource_id: str) -> dict:
    """The event part of the page (sessions, place...) and the capitalisation chain."""
    meta = current_catalogue().metadata(resource_id)
    return {
        "event": (meta or {}).get("evenement"),
        "chain": chain_of(current_catalogue(), meta),
        "today": now().date(),
    }


@bp.get("/ressources/<centre>/<slug>/")
def trailing_slash(centre: str, slug: str):
    location = current_catalogue().locate(f"{centre}/{slug}")
    if location.status == "found":
        location = Location("moved", location.id)
    return elsewhere(location)


def elsewhere(location: Location):
    """The answer for an address that is not a resource's current one."""
    if location.status == "moved":
        target = resource_url(location.id)
        if request.query_string:  # a newsletter's tracking tags, kept
            target += "?" + request.query_string.decode("latin-1")
        return redirect(target, code=301)
    if location.status == "gone":
        return gone(location.removed or {})
    abort(404)


def similar_search_url(removed: dict) -> str:
    """A search on the removed resource's title: its words, not a phrase, kept short."""
    words = " ".join(str(removed.get("titre") or "").replace('"', " ").split())
    return "/recherche?" + urlencode(
        {"q": words[:200].rsplit(" ", 1)[0] if len(words) > 200 else words}
    )


def gone(removed: dict) -> Response:
    html = render_template(
        "resources/gone.html",
        removed=removed,
        search_url=similar_search_url(removed),
        centre_id=str(removed.get("id", "")).partition("/")[0],
    )
    response = Response(html, status=410, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def describe(resource_id: str) -> dict | None:
    """What the page tells machines: Dublin Core, Open Graph, JSON-LD, citations."""
    meta = current_catalogue().metadata(resource_id)
    if meta is None:
        return None
    describer = Describer(current_catalogue())
    today = dt.date.today()
    return {
        "dublin_core": describer.dublin_core_meta(meta),
        "open_graph": describer.open_graph(meta),
        "json_ld": describer.json_ld(meta),
        "citation": describer.citation(meta, today),
        "bibtex": describer.bibtex(meta, today),
        "consulted": today,
    }


def local_moment(stamp: str | None) -> dt.datetime | None:
    """A time recorded by the index (ISO 8601, UTC) in France's time."""
    try:
        moment = dt.datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PARIS) if moment else None


@bp.get("/ressources/<centre>/<slug>/source.md")
def source(centre: str, slug: str):
    """The Markdown file of a published resource, as plain text (as it was published)."""
    page = current_catalogue().page(f"{centre}/{slug}")
    if page is None:
        abort(404)
    response = Response(page.source, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'inline; filename="{page.resource.slug}.md"'
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response

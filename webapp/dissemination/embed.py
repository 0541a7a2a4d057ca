"""`/integrer?<parameters of /recherche>&nombre=N`: the latest N matching resources as a
small, self-contained HTML page for partners' sites (`<iframe>`).

It is the only page that other sites may frame: it sends its own Content-Security-Policy
(`frame-ancestors *`, still no script at all), and links open in a new tab.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, render_template, request

from ..core.catalogue import current_catalogue
from ..core.facets import search_summary
from ..core.params import InvalidParameters, SearchParams, parse_search_args, read_count
from ..core.responses import cacheable

bp = Blueprint("embed", __name__)

DEFAULT_COUNT = 5
MAX_COUNT = 20
POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors *",
    )
)


def read_embed(args) -> tuple[SearchParams, int]:
    messages: list[str] = []
    count = read_count(args, "nombre", DEFAULT_COUNT, MAX_COUNT, messages)
    try:
        params = parse_search_args(args, current_catalogue().known_values, extra=("nombre",))
    except InvalidParameters as error:
        raise InvalidParameters(messages + error.messages, error.usable) from None
    if messages:
        raise InvalidParameters(messages, params)
    if params.page != 1:
        raise InvalidParameters(["la liste intégrée n'a pas de pages"], replace(params, page=1))
    return params, count


@bp.get("/integrer")
def embedded_list():
    catalogue = current_catalogue()
    try:
        params, count = read_embed(request.args)
    except InvalidParameters as error:
        # Shown inside the partner's frame, so with the embed's own policy.
        html = render_template("embed/list.html", messages=error.messages, hits=[], total=0)
        return framable(Response(html, status=400, mimetype="text/html"))
    search = replace(params.request(count), sort="ajout", with_facets=False, with_suggestion=False)
    result = catalogue.search(search)
    html = render_template(
        "embed/list.html",
        messages=[],
        hits=result.hits,
        total=result.total,
        summary=search_summary(params, catalogue.label),
        more_url=catalogue.site_url + replace(params, sort="ajout").url("/recherche"),
        feed_url=catalogue.site_url + params.url("/recherche.atom"),
        site_url=catalogue.site_url,
    )
    return framable(cacheable(Response(html, mimetype="text/html")))


def framable(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    return response

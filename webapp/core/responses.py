"""Responses meant for programs: feeds, the API, harvesting, sitemaps.

They are cacheable and revalidated by their ETag (a client sending `If-None-Match` gets
304 Not Modified while nothing changed), and any web page may read them (CORS, GET only:
they are public, read-only data).
"""

from __future__ import annotations

from flask import Flask, Response, request

# Paths whose responses any origin may read.
OPEN_PATHS = (
    "/api/",
    "/flux.atom",
    "/recherche.atom",
    "/agenda.ics",
    "/agenda.atom",
    "/oai",
    "/sitemap.xml",
    "/opensearch.xml",
)
MAX_AGE = 300  # seconds: new publications show within minutes, and revalidation is cheap

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Link, Content-Length, Retry-After",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def cacheable(response: Response, max_age: int = MAX_AGE) -> Response:
    """Add an ETag (a hash of the body) and Cache-Control, and answer 304 Not Modified
    when the client already has this version."""
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.add_etag()
    return response.make_conditional(request)


def is_open(path: str) -> bool:
    return path.startswith(OPEN_PATHS)


def add_cors_headers(response: Response) -> Response:
    if not is_open(request.path):
        return response
    response.headers.update(CORS_HEADERS)
    if request.method == "OPTIONS":
        response.headers.update(PREFLIGHT_HEADERS)
    return response


def install(app: Flask) -> None:
    app.after_request(add_cors_headers)

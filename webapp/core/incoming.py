"""What reaches Flask from the raw request, and the redirects it sends back.

The request's Host header is never trusted: anyone can send `Host: evil.example`. Absolute
URLs are built from the site's address (`url_site`, or the address `kb serve` listens on),
never from the request. Two guards make sure nothing else slips through:

- before Flask sees a request, its Host is replaced by the site's own: Werkzeug's routing
  (trailing-slash and double-slash redirects) and anything reading `request.host` get the
  site's host, and a malformed Host cannot break URL building (it gave a 500);
- every `Location` that points to the site itself is sent relative (`/fichiers/x.pdf`), so
  a redirect stays on whatever host the visitor used, even when `url_site` is not set.

Query strings are made ASCII: a client may send raw bytes (`?q=\xff`) where browsers send
`%FF`, and Werkzeug then fails to decode `request.args` (a 500). Such bytes are escaped as
a browser would have, and then read like any other invalid percent-escape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

# Outside printable ASCII: escaped in query strings.
_UNSAFE_IN_QUERY = re.compile(r"[^\x21-\x7e]")

# A relative Location must not start like a scheme-relative one (`//host`, `/\host`):
# browsers would leave the site.
_LEADING_SLASHES = re.compile(r"^[/\\]+")


def site_host(site_url: str) -> str:
    """`host[:port]` of the site's address, as a Host header would carry it."""
    return urlsplit(site_url).netloc or "localhost"


def relative_location(location: str, host: str) -> str:
    """`location` without scheme and host when it points to `host` (any port); others
    unchanged."""
    parts = urlsplit(location)
    if not parts.netloc or parts.hostname != urlsplit(f"//{host}").hostname:
        return location
    path = _LEADING_SLASHES.sub("/", parts.path) or "/"
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def escaped_query(query: str) -> str:
    """A WSGI QUERY_STRING (bytes as latin-1) with every byte outside printable ASCII
    percent-escaped."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        raw = bytes([ord(char)]) if ord(char) < 256 else char.encode("utf-8")
        return "".join(f"%{byte:02X}" for byte in raw)

    return _UNSAFE_IN_QUERY.sub(escape, query)


class IncomingRequests:
    """WSGI middleware: the site's own Host and an ASCII query string on every request;
    relative redirects to the site."""

    def __init__(self, app: Callable[..., Iterable[bytes]], host: str) -> None:
        self.app = app
        self.host = host

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        environ["HTTP_HOST"] = self.host
        environ.pop("HTTP_X_FORWARDED_HOST", None)
        environ["QUERY_STRING"] = escaped_query(environ.get("QUERY_STRING", ""))

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [
                (name, relative_location(value, self.host))
                if name.lower() == "location"
                else (name, value)
                for name, value in headers
            ]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def install(app: Flask, site_url: str) -> None:
    app.wsgi_app = IncomingRequests(app.wsgi_app, site_host(site_url))  # type: ignore[method-assign]

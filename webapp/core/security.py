"""Headers sent with every response.

The pages carry no inline script or style at all, so the Content-Security-Policy can be
strict: only the site's own scripts, styles and images. Even if a content author managed
to get markup past the sanitiser, the browser would refuse to run it.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for older browsers
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def add_headers(response: Response) -> Response:
    # A view may send its own policy (an embeddable page will allow framing): then the
    # older X-Frame-Options header, which cannot express it, is left out.
    own_policy = "Content-Security-Policy" in response.headers
    for name, value in HEADERS.items():
        if name == "X-Frame-Options" and own_policy:
            continue
        response.headers.setdefault(name, value)
    return response


def install(app: Flask) -> None:
    app.after_request(add_headers)

"""Error pages, in French, for every HTTP error and for unusable search parameters.

Under /api/ the same errors are JSON: `{"erreur": {"statut", "titre", "messages"}}`.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

from .params import InvalidParameters

log = logging.getLogger(__name__)

TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    410: "Ressource retirée",
    413: "Requête trop volumineuse",
    414: "Adresse trop longue",
    429: "Trop de requêtes",
    431: "En-têtes trop volumineux",
    500: "Erreur interne du serveur",
    503: "Service momentanément indisponible",
}

EXPLANATIONS = {
    400: "La demande n'a pas pu être comprise.",
    403: "Vous n'avez pas accès à cette page.",
    404: "La page demandée n'existe pas ou n'est plus en ligne. Si vous avez suivi un lien, "
    "il est peut-être ancien : essayez la recherche.",
    405: "Cette adresse ne s'utilise pas ainsi (méthode HTTP non prise en charge).",
    410: "Cette ressource a été retirée de la base de connaissances.",
    413: "La requête envoyée est trop volumineuse.",
    414: "L'adresse demandée est trop longue.",
    429: "Trop de requêtes ont été envoyées en peu de temps : réessayez dans un instant.",
    431: "Les en-têtes de la requête sont trop volumineux.",
    500: "Une erreur inattendue s'est produite de notre côté. Elle a été enregistrée ; "
    "réessayez dans quelques instants.",
    503: "Le service est momentanément indisponible : réessayez dans quelques instants.",
}


class PageOutOfRange(NotFound):
    """A page number past the last page of a listing."""

    def __init__(self, page: int, pages: int, last_url: str) -> None:
        super().__init__()
        self.page = page
        self.pages = pages
        self.last_url = last_url


JSON_PATHS = ("/api/",)


def wants_json() -> bool:
    return request.path.startswith(JSON_PATHS)


def json_error(code: int, messages: list[str] | None = None, **extra) -> Response:
    """An API error: its status, French title and messages (sentences, capitalised)."""
    messages = messages or [EXPLANATIONS.get(code, TITLES.get(code, f"Erreur {code}"))]
    body = {
        "erreur": {
            "statut": code,
            "titre": TITLES.get(code, f"Erreur {code}"),
            "messages": [m[:1].upper() + m[1:] for m in messages],
        },
        **extra,
    }
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store" if code >= 500 else "no-cache"
    return response


def render_error(
    code: int,
    messages: list[str] | None = None,
    links: list[tuple[str, str]] | None = None,
    query: str = "",
) -> Response:
    html = render_template(
        "errors/error.html",
        code=code,
        title=TITLES.get(code, f"Erreur {code}"),
        explanation=EXPLANATIONS.get(code, ""),
        messages=messages or [],
        links=links or [],
        query=query,
    )
    response = Response(html, status=code, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store" if code >= 500 else "no-cache"
    return response


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error  # redirects raised by the router
    if isinstance(error, PageOutOfRange):
        pages = "une seule page" if error.pages == 1 else f"{error.pages} pages"
        if wants_json():
            return json_error(
                404, [f"la page {error.page} n'existe pas : cette liste compte {pages}"]
            )
        return render_error(
            404,
            [f"la page {error.page} n'existe pas : cette liste compte {pages}"],
            [("Aller à la dernière page", error.last_url)],
        )
    response = json_error(error.code) if wants_json() else render_error(error.code)
    for name in ("Allow", "Retry-After"):
        if name in (headers := dict(error.get_headers())):
            response.headers[name] = headers[name]
    return response


def handle_invalid_parameters(error: InvalidParameters) -> Response:
    if wants_json():
        return json_error(400, error.messages)
    retry = error.usable.url(request.path)
    return render_error(
        400,
        error.messages,
        [("Relancer la recherche sans les paramètres invalides", retry)],
        query=error.usable.q,
    )


def handle_server_error(error: InternalServerError) -> Response:
    # Flask has already logged the original exception (app.log_exception).
    try:
        return json_error(500) if wants_json() else render_error(500)
    except Exception:  # the error page itself failed: say it plainly
        log.exception("La page d'erreur n'a pas pu être affichée")
        return Response(
            "Erreur interne du serveur : réessayez dans quelques instants.",
            status=500,
            mimetype="text/plain",
        )


def install(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InvalidParameters, handle_invalid_parameters)
    app.register_error_handler(InternalServerError, handle_server_error)

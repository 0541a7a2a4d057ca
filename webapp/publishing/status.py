"""`/publication` (and `/publication.json`): where the content online comes from.

Per source of a regional or national instance (`[[sources]]`): the commit online and since
when, the last attempt and its errors (`fichier:ligne: erreur : …`), so that a centre can
see why its last push is not online. The same for the main repository (single-repository
mode). Public: no secret, and the repositories' addresses without the credentials they
may embed.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

from publishing.publisher import publication_status
from publishing.sources import load_sources, source_statuses

bp = Blueprint("publication", __name__)

OUTCOMES = {
    "publiee": "publiée",
    "inchangee": "déjà en ligne",
    "refusee": "refusée",
    "erreur": "échec (sera retentée)",
}
PUBLIC_ATTEMPT_KEYS = ("date", "resultat", "commit", "message", "erreurs")


def publication_report() -> dict:
    """The status of every source of the instance, as plain data (HTML and JSON)."""
    settings = current_app.config["KB_SETTINGS"]
    main = publication_status(settings.index) or {}
    attempt = main.get("derniere_tentative") or {}
    report: dict = {
        "sources": source_statuses(settings.index, load_sources(settings)),
        "depot_principal": None,
    }
    if main.get("commit") or attempt:
        report["depot_principal"] = {
            "commit": main.get("commit"),
            "publie_le": main.get("publie_le"),
            "derniere_tentative": {k: attempt[k] for k in PUBLIC_ATTEMPT_KEYS if k in attempt}
            or None,
        }
    return report


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/publication")
def page() -> Response:
    html = render_template("publishing/status.html", report=publication_report(), outcomes=OUTCOMES)
    return _no_store(Response(html, mimetype="text/html"))


@bp.get("/publication.json")
def as_json() -> Response:
    return _no_store(jsonify(publication_report()))

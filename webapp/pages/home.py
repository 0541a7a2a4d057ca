"""The home page, the about page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, url_for

from publishing.harvest import harvest_summary
from publishing.publisher import publication_status
from publishing.queue import PublicationQueue
from publishing.service import is_running
from publishing.sources import load_sources, source_statuses

from ..core.catalogue import current_catalogue
from .browse import PILLAR_DESCRIPTIONS, Entry, centre_entries

bp = Blueprint("home", __name__)

LATEST = 6


@bp.get("/")
def index():
    catalogue = current_catalogue()
    overview = catalogue.overview()
    pillars = [
        Entry(
            term.id,
            term.libelle,
            overview.count("piliers", term.id),
            url_for("browse.pilier", term_id=term.id),
            PILLAR_DESCRIPTIONS.get(term.id, ""),
        )
        for term in catalogue.vocabularies.piliers
    ]
    centres = centre_entries(catalogue, overview)
    themes = sorted(
        (
            Entry(
                term.id,
                term.libelle,
                overview.count("thematiques", term.id),
                url_for("browse.thematique", term_id=term.id),
            )
            for term in catalogue.vocabularies.thematiques
        ),
        key=lambda e: -e.count,
    )
    return render_template(
        "home/index.html",
        total=overview.total,
        pillars=pillars,
        latest=catalogue.latest(LATEST),
        centres=centres,
        themes=[t for t in themes if t.count][:10],
    )


@bp.get("/a-propos")
def about():
    catalogue = current_catalogue()
    return render_template(
        "home/about.html",
        pillars=list(catalogue.vocabularies.piliers),
        descriptions=PILLAR_DESCRIPTIONS,
        stats=catalogue.stats(),
        centres=len(catalogue.centres()),
        # Copy-paste examples of the feeds, the API, OAI-PMH and the embed (issue 6).
        site_url=catalogue.site_url,
        example=next(iter(catalogue.latest(1)), None),
    )


@bp.get("/healthz")
def health():
    """For monitoring: the live index version, its size and when it was last updated."""
    try:
        stats = current_catalogue().stats()
    except Exception as exc:  # any failure to read the index is an unhealthy service
        response = jsonify(statut="erreur", message=f"index illisible : {type(exc).__name__}")
        response.status_code = 503
    else:
        response = jsonify(
            statut="ok",
            version_index=stats["version"],
            ressources=stats["ressources"],
            centres=stats["centres"],
            indexe_le=stats["indexe_le"],
            publication=publication_status(current_catalogue().settings.index),
            publications_en_attente=len(
                PublicationQueue(current_catalogue().settings.index).pending()
            ),
            service_publication=is_running(current_catalogue().settings.index),
            moissons=harvest_summary(current_catalogue().settings.index),
            sources=source_statuses(
                current_catalogue().settings.index, load_sources(current_catalogue().settings)
            ),
        )
    response.headers["Cache-Control"] = "no-store"
    return response

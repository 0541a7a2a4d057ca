"""`/ressources/<centre>/<slug>`: one resource, with its metadata, files and neighbours."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from kb.model import resource_url

from .catalogue import current_catalogue
from .files import attachment_url, send_content_file, servable_path
from .markup import render_body

bp = Blueprint("resources", __name__)

RELATED = 4
MIN_HEADINGS_FOR_CONTENTS = 3


@bp.get("/ressources/<centre>/<slug>")
def resource(centre: str, slug: str):
    catalogue = current_catalogue()
    resource_id = f"{centre}/{slug}"
    found = catalogue.resource(resource_id)
    if found is None:
        canonical = catalogue.canonical_id(resource_id)
        if canonical:
            return redirect(resource_url(canonical), code=301)
        abort(404)
    folder = found.path.rsplit("/", 1)[0]
    body, rendered = render_body(found.body, folder)
    centres = catalogue.centres()
    source_url = catalogue.source_link(found) or url_for(
        "resources.source", centre=centre, slug=slug
    )
    return render_template(
        "resources/resource.html",
        resource=found,
        body=body,
        headings=rendered.headings if len(rendered.headings) >= MIN_HEADINGS_FOR_CONTENTS else (),
        centre=centres.get(found.centre),
        attachments=[(a, attachment_url(a.path)) for a in found.attachments],
        related=catalogue.related(resource_id, RELATED),
        permalink=catalogue.permalink(found.url),
        source_url=source_url,
        vocabularies=catalogue.vocabularies,
    )


@bp.get("/ressources/<centre>/<slug>/source.md")
def source(centre: str, slug: str):
    """The Markdown file of a published resource, as plain text."""
    catalogue = current_catalogue()
    found = catalogue.resource(f"{centre}/{slug}")
    if found is None:
        abort(404)
    checked = servable_path(catalogue.content_root, found.path, {"md"})
    if checked is None:
        abort(404)
    return send_content_file(
        checked, "text/plain", as_attachment=False, download_name=f"{found.slug}.md"
    )

"""`/fichiers/<chemin>`: the attachments of published resources.

Only a file that a published resource of the live version links to is served: the
indexer copies those into the index's object store (indexer/store.py), and the path is
looked up there, never on disk. A draft's attachment, a file no published resource names,
a source file or anything under `..` is a 404 whatever its name. The MIME type comes from
the extension table (never guessed), documents are sent as downloads, and pushed HTML or
SVG can never be served: their extensions are not in the table.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_file

from kb.model import ATTACHMENT_TYPES

from ..core.catalogue import current_catalogue

bp = Blueprint("files", __name__)

# Shown in the browser; everything else (office documents, CSV) is downloaded.
INLINE_TYPES = frozenset({"pdf", "png", "jpg", "jpeg", "webp"})


@bp.get("/fichiers/<path:path>")
def attachment(path: str) -> Response:
    found = current_catalogue().attachment(path)
    if found is None or "." not in found.path:
        abort(404)
    extension = found.path.rsplit(".", 1)[1].lower()
    if extension not in ATTACHMENT_TYPES:
        abort(404)
    try:
        response = send_file(
            found.file,
            mimetype=ATTACHMENT_TYPES[extension],
            as_attachment=extension not in INLINE_TYPES,
            download_name=found.path.rsplit("/", 1)[-1],
            max_age=3600,
            conditional=True,
            etag=found.file.name[:32],
        )
    except OSError:
        abort(404)
    return response

"""Serving files from the content folder: attachments and resource sources.

All the path checks live in `servable_path`: a path is served only if every part is a
plain name (no `..`, no hidden `.`/`_` part), its extension is allowed, nothing on the way
is a symbolic link, and it stays inside the content folder. The MIME type comes from the
extension table (never guessed), documents are sent as downloads, and pushed HTML or SVG
can never be served: their extensions are not in the table.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Container
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory, url_for

from kb.model import ATTACHMENT_TYPES

from ..core.catalogue import current_catalogue

bp = Blueprint("files", __name__)

# Shown in the browser; everything else (office documents, CSV) is downloaded.
INLINE_TYPES = frozenset({"pdf", "png", "jpg", "jpeg", "webp"})
MAX_PATH_LENGTH = 500


def servable_path(root: Path, relative: str, extensions: Container[str]) -> str | None:
    """`relative` (POSIX, from the content root) if it may be served, else None."""
    if not relative or len(relative) > MAX_PATH_LENGTH:
        return None
    if any(c in relative for c in ("\\", "\x00")) or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if len(parts) < 2:  # files at the root (README...) belong to no centre
        return None
    for part in parts:
        if part in ("", ".", "..") or part.startswith((".", "_")):
            return None
    name = parts[-1]
    if "." not in name or name.rsplit(".", 1)[1].lower() not in extensions:
        return None
    try:
        base = root.resolve(strict=True)
        current = base
        for part in parts:
            current = current / part
            mode = os.lstat(current).st_mode
            if stat.S_ISLNK(mode):
                return None
        if not stat.S_ISREG(mode):
            return None
        if base not in current.resolve(strict=True).parents:
            return None
    except (OSError, RuntimeError, ValueError):
        return None
    return relative


def send_content_file(
    relative: str, mimetype: str, as_attachment: bool, download_name: str | None = None
) -> Response:
    root = current_catalogue().content_root.resolve()
    response = send_from_directory(
        root,
        relative,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name or relative.rsplit("/", 1)[-1],
        max_age=3600,
    )
    return response


def attachment_url(relative: str) -> str:
    return url_for("files.attachment", path=relative)


@bp.get("/fichiers/<path:path>")
def attachment(path: str) -> Response:
    checked = servable_path(current_catalogue().content_root, path, ATTACHMENT_TYPES)
    if checked is None:
        abort(404)
    extension = checked.rsplit(".", 1)[1].lower()
    return send_content_file(
        checked, ATTACHMENT_TYPES[extension], as_attachment=extension not in INLINE_TYPES
    )

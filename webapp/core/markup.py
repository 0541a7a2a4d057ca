"""The only two kinds of HTML that the templates receive as safe markup.

1. Bodies (resources, centre cards), rendered and sanitised by `kb.render.render_markdown`;
   their relative links are pointed at the files and resources they name.
2. Search extracts from the index: escaped text with <mark> only. This is checked again
   here, and anything else is escaped whole.

Every other string reaches the page through Jinja's autoescaping.
"""

from __future__ import annotations

import posixpath
import re

from markupsafe import Markup, escape

from kb.loader import is_resource_file, resolve_relative
from kb.model import ATTACHMENT_TYPES, resource_url
from kb.render import Rendered, render_markdown

from ..pages.files import attachment_url

_EXTRACT = re.compile(r"(?:[^<>]|</?mark>)*")


def link_resolver(folder: str):
    """Map a relative link of a file in `folder` to the page or file it names."""

    def resolve(url: str) -> str | None:
        path = resolve_relative(folder, url)
        if path is None:
            return None
        name = posixpath.basename(path)
        if is_resource_file(path):
            return resource_url(f"{path.split('/')[0]}/{name[: -len('.md')]}")
        if "." in name and name.rsplit(".", 1)[1].lower() in ATTACHMENT_TYPES:
            return attachment_url(path)
        return None

    return resolve


def render_body(text: str, folder: str) -> tuple[Markup, Rendered]:
    rendered = render_markdown(text, link_resolver(folder))
    return Markup(rendered.html), rendered


def extract_markup(extract: str) -> Markup:
    """A search extract as markup, provided it is escaped text and <mark> tags only."""
    if _EXTRACT.fullmatch(extract):
        return Markup(extract)
    return escape(extract)

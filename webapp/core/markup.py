"""The only two kinds of HTML that the templates receive as safe markup.

1. Bodies (resources, centre cards), rendered and sanitised by `kb.render.render_markdown`
   when they are indexed (kb.pages); their relative links point at the files and
   resources they name. `render_body` renders one the same way (tests, previews).
2. Search extracts from the index: escaped text with <mark> only. This is checked again
   here, and anything else is escaped whole.

Every other string reaches the page through Jinja's autoescaping.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from kb.pages import link_resolver
from kb.render import Rendered, render_markdown

_EXTRACT = re.compile(r"(?:[^<>]|</?mark>)*")


def render_body(text: str, folder: str) -> tuple[Markup, Rendered]:
    rendered = render_markdown(text, link_resolver(folder))
    return Markup(rendered.html), rendered


def extract_markup(extract: str) -> Markup:
    """A search extract as markup, provided it is escaped text and <mark> tags only."""
    if _EXTRACT.fullmatch(extract):
        return Markup(extract)
    return escape(extract)

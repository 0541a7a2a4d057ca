"""Checks on rendered HTML, shared by the test suite and `scripts/check_xss_corpus.py`.

The HTML is parsed (not searched with regular expressions) so that what is checked is what
a browser would build: elements, attribute names and attribute values after entity decoding.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that can run code, load active content, restyle the page or submit data.
FORBIDDEN_ELEMENTS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "svg",
        "math",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "object",
        "embed",
        "applet",
        "meta",
        "link",
        "base",
        "template",
        "noscript",
    }
)
FORBIDDEN_SCHEMES = ("javascript:", "vbscript:", "data:")
# Attributes whose value a browser may load or navigate to.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "srcset",
        "action",
        "formaction",
        "xlink:href",
        "poster",
        "background",
        "data",
        "lowsrc",
        "dynsrc",
        "cite",
        "longdesc",
        "usemap",
        "codebase",
        "classid",
        "archive",
        "manifest",
        "ping",
        "icon",
        "srcdoc",
    }
)
# What browsers ignore inside a URL scheme: spaces and C0/C1 control characters.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def url_scheme_is_forbidden(value: str) -> bool:
    """True for `javascript:`, `vbscript:` or `data:` URLs, however they are disguised.

    `value` is an attribute value as a browser sees it (entities already decoded).
    """
    normalised = _IGNORED_IN_SCHEME.sub("", value).lower()
    return normalised.startswith(FORBIDDEN_SCHEMES)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, [(name, value or "") for name, value in attrs]))

    handle_startendtag = handle_starttag


def parse_elements(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every start tag of `html`: (element name, [(attribute, decoded value), ...])."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def dangers(html: str) -> list[str]:
    """What is dangerous in `html`, described in a few words; an empty list when it is safe."""
    try:
        elements = parse_elements(html)
    except AssertionError as exc:  # html.parser gives up on some malformed declarations
        return [f"HTML illisible par le vérificateur ({exc})"]
    found = []
    for tag, attrs in elements:
        if tag in FORBIDDEN_ELEMENTS:
            found.append(f"élément <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"attribut {name} sur <{tag}>")
            elif name == "style":
                found.append(f"attribut style sur <{tag}>")
            elif name in URL_ATTRIBUTES and url_scheme_is_forbidden(value):
                found.append(f"adresse dangereuse {name}={value!r} sur <{tag}>")
    return found

"""Markdown -> safe HTML and plain text, one renderer for the whole project.

Defence in depth: markdown-it-py runs with raw HTML disabled (any `<tag>` in the source is
shown as text) and its link validator (no javascript:/vbscript:/file:/data:), then nh3
(the Rust sanitiser ammonia) cleans the result with a strict allowlist. Heading ids get a
prefix so that content can never clobber DOM globals (`id="location"`), and headings are
demoted one level so that the page keeps a single <h1>.

Thread safety: `render_markdown` is a pure function of its arguments. Nothing mutable is
shared between threads: each thread parses with its own MarkdownIt instance, and the
sanitiser is an immutable nh3 configuration (ammonia's `clean` takes it by shared reference
and keeps its state per call). Both steps run in time linear in the input.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .vocabulary import fold

HEADING_ID_PREFIX = "sec-"

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "pre",
        "code",
        "em",
        "strong",
        "s",
        "del",
        "a",
        "img",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})

# Resolves a relative URL found in a body (e.g. `bilan.csv`) to the URL to publish, or None
# to leave it as written.
LinkResolver = Callable[[str], str | None]


@dataclass(frozen=True)
class BodyLink:
    url: str
    line: int  # 0-based line within the Markdown text
    is_image: bool


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    headings: tuple[tuple[str, str], ...] = field(default=())  # (id, text)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return md.enable(["table", "strikethrough"])


class _PerThread(threading.local):
    """One MarkdownIt per thread: its rule caches are filled lazily, so it is not shared."""

    def __init__(self) -> None:
        self.md = _markdown()
        # Blocks only (paragraphs, lists, tables...), their inline content left unparsed:
        # cheap, for measuring a body before paying for the inline parse (kb.limits).
        self.blocks = _markdown().disable("inline")


_PER_THREAD = _PerThread()


def _md() -> MarkdownIt:
    return _PER_THREAD.md


def is_relative_url(url: str) -> bool:
    """A link to a file beside the resource: no scheme, no host, not absolute, not `#...`."""
    if not url or url.startswith(("#", "/", "\\")):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def _links(tokens: list[Token]) -> list[BodyLink]:
    links = []
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        line = block.map[0] if block.map else 0
        for child in block.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1  # a paragraph spans several lines: point at the link's own line
            elif child.type == "link_open":
                links.append(BodyLink(str(child.attrGet("href") or ""), line, False))
            elif child.type == "image":
                links.append(BodyLink(str(child.attrGet("src") or ""), line, True))
    return links


def block_tokens(markdown_text: str) -> list[Token]:
    """The block structure of a Markdown text; `inline` tokens keep their raw `content`."""
    return _PER_THREAD.blocks.parse(_without_controls(markdown_text))


# Invisible control characters (C0 but tab and newlines, DEL, C1). The validator refuses
# them (kb.schema.FORBIDDEN_CHARACTERS); the renderer drops them whatever it is given.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _without_controls(text: str) -> str:
    return _CONTROLS.sub("", text)


def body_links(markdown_text: str) -> list[BodyLink]:
    """Every link and image URL of a Markdown text, with its line."""
    return _links(_md().parse(_without_controls(markdown_text)))


def read_body(markdown_text: str) -> tuple[list[BodyLink], str, tuple[str, ...]]:
    """Links, plain text and section titles (`##` headings) of a body from a single parse
    (the loader needs all three)."""
    tokens = _md().parse(_without_controls(markdown_text))
    return _links(tokens), _plain_text(tokens), _section_titles(tokens)


def _section_titles(tokens: list[Token]) -> tuple[str, ...]:
    return tuple(
        " ".join(_inline_text(tokens[index + 1]).split())
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.tag == "h2" and index + 1 < len(tokens)
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:60] or "section"


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or () if c.type in ("text", "code_inline"))


def _rewrite(tokens: list[Token], resolve: LinkResolver | None) -> list[tuple[str, str]]:
    headings: list[tuple[str, str]] = []
    used: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 1, 6)
            token.tag = f"h{level}"
            if token.type == "heading_open":
                title = _inline_text(tokens[index + 1])
                anchor = base = HEADING_ID_PREFIX + _slug(title)
                counter = 2
                while anchor in used:
                    anchor, counter = f"{base}-{counter}", counter + 1
                used.add(anchor)
                token.attrSet("id", anchor)
                headings.append((anchor, title))
        elif token.type in ("th_open", "td_open"):
            style = str(token.attrGet("style") or "")
            token.attrs.pop("style", None)
            match = re.search(r"text-align:(left|center|right)", style)
            if match:
                token.attrSet("class", f"align-{match.group(1)}")
        elif token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children, resolve)
    return headings


def _is_external(url: str) -> bool:
    """http(s) links, including protocol-relative ones (`//host`, which browsers also read
    from `\\\\host`)."""
    parts = urlsplit(url.replace("\\", "/"))
    return parts.scheme in ("http", "https") or (not parts.scheme and bool(parts.netloc))


def _rewrite_inline(children: list[Token], resolve: LinkResolver | None) -> list[Token]:
    result: list[Token] = []
    for child in children:
        if child.type == "link_open":
            href = str(child.attrGet("href") or "")
            if is_relative_url(href) and resolve:
                child.attrSet("href", resolve(href) or href)
            elif _is_external(href):
                child.attrSet("rel", "noopener nofollow")
            result.append(child)
        elif child.type == "image":
            src = str(child.attrGet("src") or "")
            if is_relative_url(src):
                if resolve:
                    child.attrSet("src", resolve(src) or src)
                result.append(child)
            else:
                # Remote images would leak readers' visits and are blocked by the CSP:
                # show them as a link instead.
                link = Token("link_open", "a", 1, attrs={"href": src, "rel": "noopener nofollow"})
                label = Token("text", "", 0, content=f"Image : {child.content or src}")
                result += [link, label, Token("link_close", "a", -1)]
        else:
            result.append(child)
    return result


HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})


# Spaces and control characters inside a URL: markdown-it never writes them (it
# percent-encodes), and some browsers have ignored them in schemes (`java\x01script:`).
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    """What the per-tag allowlist below cannot say by itself: id, start and URL values."""
    if name in ("href", "src"):
        return None if _URL_NOISE.search(value) else value
    if tag in HEADING_TAGS and name == "id":
        return value if value.startswith(HEADING_ID_PREFIX) else None
    if tag == "ol" and name == "start":
        return value if value.isdigit() else None
    return value


# Immutable once built, and safe to share between threads (see the module docstring).
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},  # dropped with their content
    attributes={
        "a": {"href", "title"},
        "img": {"src", "alt", "title"},
        "ol": {"start"},
        **{tag: {"id"} for tag in HEADING_TAGS},
    },
    # Only these exact values: anything else drops the attribute.
    tag_attribute_values={
        "a": {"rel": {"noopener nofollow"}},
        "th": {"class": set(ALIGN_CLASSES)},
        "td": {"class": set(ALIGN_CLASSES)},
    },
    attribute_filter=_filter_attribute,
    url_schemes=set(ALLOWED_PROTOCOLS),
    link_rel=None,  # rel is set by the renderer on external links only
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Clean HTML with the project's allowlist (also usable on its own)."""
    return _CLEANER.clean(html)


def plain_text(markdown_text: str) -> str:
    """The readable text of a Markdown body (what the index stores), without markup."""
    return _plain_text(_md().parse(_without_controls(markdown_text)))


def _plain_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type == "image":
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
            parts.append("\n")
        elif token.type in ("fence", "code_block"):
            parts.append(token.content + "\n")
    return re.sub(r"[ \t]+", " ", "".join(parts)).strip()


def render_markdown(markdown_text: str, resolve_link: LinkResolver | None = None) -> Rendered:
    """Render a resource body to sanitised HTML, its plain text and its headings."""
    md = _md()
    env: dict = {}
    tokens = md.parse(_without_controls(markdown_text), env)
    text = _plain_text(tokens)  # before _rewrite, which turns remote images into links
    headings = _rewrite(tokens, resolve_link)
    html = md.renderer.render(tokens, md.options, env)
    return Rendered(sanitize_html(html), text, tuple(headings))

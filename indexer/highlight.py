"""Highlighted extracts: the passage of a text that best matches the query, with <mark>.

Whoosh's highlighter re-analyses whole stored texts and was the slowest part of a result
page. Here words are cut and matched with the same tokenizer and analysis as the index
(through cached stems, with the same Unicode normalisation: `l’insertion` is marked for
`insertion`), and the best window is chosen by the number of distinct query terms it holds.
"""

from __future__ import annotations

import html

from .analysis import analyse_word, word_spans

_MAX_MATCHES = 400


def excerpt(text: str, query_terms: set[str], size: int = 240) -> str | None:
    """HTML-escaped extract of `text` around the query terms, or None if none occurs."""
    if not text or not query_terms:
        return None
    matches: list[tuple[int, int, str]] = []
    for start, end, word in word_spans(text):
        term = analyse_word(word)
        if term in query_terms:
            matches.append((start, end, term))
            if len(matches) >= _MAX_MATCHES:
                break
    if not matches:
        return None
    best_start, best_score = 0, -1
    for index, (start, _, _) in enumerate(matches):
        window_end = start + size
        found = {term for s, e, term in matches[index:] if e <= window_end}
        if len(found) > best_score:
            best_start, best_score = start, len(found)
    start = max(0, best_start - size // 5)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < best_start else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    parts = ["…" if start else ""]
    cursor = start
    for s, e, _ in matches:
        if s < start or e > end:
            continue
        parts.append(html.escape(text[cursor:s], quote=False))
        parts.append(f"<mark>{html.escape(text[s:e], quote=False)}</mark>")
        cursor = e
    parts.append(html.escape(text[cursor:end], quote=False))
    parts.append("…" if end < len(text) else "")
    return " ".join("".join(parts).split())


def plain_extract(text: str, size: int = 240) -> str:
    """The beginning of a text, escaped, cut at a word boundary."""
    if len(text) <= size:
        return html.escape(text, quote=False)
    cut = text.rfind(" ", 0, size)
    return html.escape(text[: cut if cut > 0 else size], quote=False) + "…"

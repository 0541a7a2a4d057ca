"""From what a user typed to an engine query. Never raises.

Only two syntaxes are exposed: words, and "phrases in double quotes" (which must match).
Everything else (wildcards, `field:`, ranges, AND/OR/NOT operators) is plain text, so the
Whoosh query parser, which raises on inputs like `NOT OR foobar`, is never used.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from whoosh import query as wq

from .analysis import terms, words
from .documents import TEXT_FIELDS
from .glossary import Expansion, glossary

MAX_QUERY_LENGTH = 300
MAX_TERMS = 32
COORDINATION = 0.9  # documents that match more of the words rank higher


@dataclass(frozen=True)
class UserQuery:
    text: str  # cleaned, length-capped
    words: tuple[str, ...]  # bare words as typed
    phrases: tuple[tuple[str, ...], ...]  # quoted phrases, as typed words
    expansions: tuple[Expansion, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.term_list and not any(self.phrase_terms)

    @property
    def term_list(self) -> list[str]:
        found: list[str] = []
        for word in self.words:
            for term in terms(word):
                if term not in found:
                    found.append(term)
        return found[:MAX_TERMS]

    @property
    def phrase_terms(self) -> list[tuple[str, ...]]:
        return [tuple(terms(" ".join(p))) for p in self.phrases]

    def highlight_terms(self) -> set[str]:
        found = set(self.term_list)
        for phrase in self.phrase_terms:
            found.update(phrase)
        for expansion in self.expansions:
            found.update(expansion.terms)
        return found


def clean(text: str) -> str:
    """Cap the length, drop control and format characters, normalise to NFC."""
    text = unicodedata.normalize("NFC", str(text or ""))[:MAX_QUERY_LENGTH]
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    return " ".join(text.split())


def parse(text: str) -> UserQuery:
    text = clean(text)
    phrases = tuple(tuple(words(p)) for p in re.findall(r'"([^"]*)"', text))
    rest = re.sub(r'"[^"]*"', " ", text).replace('"', " ")
    phrases = tuple(p for p in phrases if p)
    expansions = tuple(glossary().expand(text)) if text else ()
    return UserQuery(text, tuple(words(rest)), phrases, expansions)


def _any_field(term: str, boost: float = 1.0) -> wq.Query:
    return wq.Or([wq.Term(f, term, boost=w * boost) for f, w in TEXT_FIELDS.items()])


def _phrase_any_field(phrase: tuple[str, ...], boost: float = 1.0) -> wq.Query:
    if len(phrase) == 1:
        return _any_field(phrase[0], boost)
    return wq.Or([wq.Phrase(f, list(phrase), boost=w * boost) for f, w in TEXT_FIELDS.items()])


def to_engine_query(user_query: UserQuery) -> wq.Query | None:
    """The Whoosh query for a user query, or None when there is nothing to search."""
    optional: list[wq.Query] = [_any_field(t) for t in user_query.term_list]
    for expansion in user_query.expansions:
        optional.append(_phrase_any_field(expansion.terms, expansion.boost))
        if expansion.dispositif:
            optional.append(wq.Term("dispositifs", expansion.dispositif, boost=expansion.boost))
    required = [_phrase_any_field(p) for p in user_query.phrase_terms if p]
    if not optional and not required:
        return None
    scored = wq.Or(optional, scale=COORDINATION) if optional else None
    if required:
        must = wq.And(required) if len(required) > 1 else required[0]
        return wq.AndMaybe(must, scored) if scored else must
    return scored

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

from . import concepts
from .analysis import normalise, terms, words
from .concepts import Concept
from .documents import TEXT_FIELDS
from .glossary import Expansion, glossary
from .scoring import Clause

MAX_QUERY_LENGTH = 300
MAX_TERMS = 32


@dataclass(frozen=True)
class UserQuery:
    text: str  # cleaned, length-capped
    words: tuple[str, ...]  # bare words as typed
    phrases: tuple[tuple[str, ...], ...]  # quoted phrases, as typed words
    expansions: tuple[Expansion, ...] = field(default=())
    # Words put in place of a typo: trusted only where resources are described (see
    # `concepts.build`).
    corrections: frozenset[str] = frozenset()

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
    """Cap the length, drop control and format characters, normalise as the analysis does
    (straight apostrophes, `«»` and curly quotes as `"`, ordinary spaces, NFKC)."""
    text = normalise(str(text or ""))[:MAX_QUERY_LENGTH]
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    return " ".join(text.split())


def parse(text: str, corrections: frozenset[str] = frozenset()) -> UserQuery:
    text = clean(text)
    phrases = tuple(tuple(words(p)) for p in re.findall(r'"([^"]*)"', text))
    rest = re.sub(r'"[^"]*"', " ", text).replace('"', " ")
    phrases = tuple(p for p in phrases if p)
    expansions = tuple(glossary().expand(text)) if text else ()
    return UserQuery(text, tuple(words(rest)), phrases, expansions, corrections)


@dataclass(frozen=True)
class QueryPlan:
    """What to compute for a query: its concepts (each a set of scored clauses, any of which
    answers it; a quoted phrase must also match as a phrase)."""

    concepts: tuple[Concept, ...]

    @property
    def clauses(self) -> tuple[Clause, ...]:
        """Every scored clause of the query (a clause shared by concepts counts once)."""
        return tuple(dict.fromkeys(c for concept in self.concepts for c in concept.clauses))

    @property
    def phrases(self) -> tuple[tuple[str, ...], ...]:
        return tuple(c.phrase for c in self.concepts if c.is_phrase)


def plan(user_query: UserQuery) -> QueryPlan | None:
    """The concepts of a user query, or None when there is nothing to search.

    Each word is looked for in the title, the description (summary, keywords, vocabulary
    labels) and the text, with the weights of `TEXT_FIELDS`; a dispositif or a thesaurus
    class named in the query answers the words it stands for, with its own weight.
    """
    found = concepts.build(
        user_query.words, user_query.phrases, user_query.expansions, user_query.corrections
    )
    return QueryPlan(tuple(found)) if found else None


def phrase_query(phrase: tuple[str, ...]) -> wq.Query:
    """The engine query matching a phrase in the title or the text."""
    if len(phrase) == 1:
        return wq.Or([wq.Term(field, phrase[0]) for field in TEXT_FIELDS])
    return wq.Or([wq.Phrase(field, list(phrase)) for field in TEXT_FIELDS])

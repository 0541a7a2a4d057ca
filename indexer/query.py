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

from .analysis import normalise, terms, words
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


def parse(text: str) -> UserQuery:
    text = clean(text)
    phrases = tuple(tuple(words(p)) for p in re.findall(r'"([^"]*)"', text))
    rest = re.sub(r'"[^"]*"', " ", text).replace('"', " ")
    phrases = tuple(p for p in phrases if p)
    expansions = tuple(glossary().expand(text)) if text else ()
    return UserQuery(text, tuple(words(rest)), phrases, expansions)


@dataclass(frozen=True)
class QueryPlan:
    """What to compute for a query: scored terms, and phrases that must match."""

    clauses: tuple[Clause, ...]
    phrases: tuple[tuple[str, ...], ...]


def plan(user_query: UserQuery) -> QueryPlan | None:
    """Scored clauses for a user query, or None when there is nothing to search.

    Each word is looked for in the title (weight 3) and in the rest of the text; a
    dispositif or a thesaurus group named in the query adds its concept with its weight.
    Quoted phrases must match; their words are scored like the others.
    """
    clauses: list[Clause] = []
    phrase_terms = [p for p in user_query.phrase_terms if p]
    words = list(user_query.term_list)
    for phrase in phrase_terms:
        words += [t for t in phrase if t not in words]
    for term in words[:MAX_TERMS]:
        clauses += [Clause(field, term, weight) for field, weight in TEXT_FIELDS.items()]
    for expansion in user_query.expansions:
        if expansion.dispositif:
            clauses.append(Clause("glossaire", expansion.dispositif, expansion.boost))
        elif expansion.concept:
            clauses.append(Clause("concepts", expansion.concept, expansion.boost))
    if not clauses:
        return None
    return QueryPlan(tuple(clauses), tuple(phrase_terms))


def phrase_query(phrase: tuple[str, ...]) -> wq.Query:
    """The engine query matching a phrase in the title or the text."""
    if len(phrase) == 1:
        return wq.Or([wq.Term(field, phrase[0]) for field in TEXT_FIELDS])
    return wq.Or([wq.Phrase(field, list(phrase)) for field in TEXT_FIELDS])

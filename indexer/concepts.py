"""The concepts of a query: what a resource must contain to answer it.

A concept is one word of the query together with everything that stands for it: its
analysed term (which already joins accents, case, plurals, elisions and word families), the
dispositif it names or belongs to the name of (`PRE`, `réussite éducative`), and the
thesaurus classes of the expressions it is part of (`potagers` in « potagers collectifs »
is answered by a resource about « jardins partagés »). A quoted phrase is one concept.
Typo corrections are applied before (see `SearchIndex.search`), so a corrected word is a
concept like the others.

By default a resource must match every concept; those that match only some are the
approximate results, shown apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import analyse_word, terms
from .documents import TEXT_FIELDS
from .glossary import Expansion
from .scoring import Clause

MAX_CONCEPTS = 32

# Question words people put in front of what they look for (« comment monter sa boîte »):
# they carry no subject, and requiring them would make every such query fail.
QUERY_FILLERS = frozenset(
    terms("comment pourquoi combien quoi quand lorsque exemple exemples idée idées")
)


@dataclass(frozen=True)
class Concept:
    """One thing the query asks for, and the clauses any of which answers it."""

    label: str  # as typed: `potagers`, or `"sécurité du quotidien"`
    terms: tuple[str, ...]  # its own analysed terms (a phrase has several)
    clauses: tuple[Clause, ...]
    phrase: tuple[str, ...] = ()  # a quoted phrase: its terms must also follow each other
    expansions: tuple[Expansion, ...] = ()  # what else answers it (dispositif, thesaurus)

    @property
    def is_phrase(self) -> bool:
        return len(self.phrase) > 1


# Where a word put in place of a typo must be found: the spelling lexicon that corrections
# come from is made of titles, summaries and keywords, and a correction found only in some
# body (`permis de chasse` -> `classe`) answers a question nobody asked.
DESCRIPTIVE_FIELDS = ("titre", "descriptif")


def _term_clauses(term: str, fields=tuple(TEXT_FIELDS)) -> list[Clause]:
    return [Clause(field, term, TEXT_FIELDS[field]) for field in fields]


def _expansion_clause(expansion: Expansion) -> Clause:
    if expansion.dispositif:
        return Clause("glossaire", expansion.dispositif, expansion.boost)
    return Clause("concepts", str(expansion.concept), expansion.boost)


def build(
    words: tuple[str, ...],
    phrases: tuple[tuple[str, ...], ...],
    expansions: tuple[Expansion, ...],
    corrections: frozenset[str] = frozenset(),
) -> list[Concept]:
    """The concepts of a parsed query, in the order typed: quoted phrases first, then words
    (one concept per distinct term; stop words and question words are not concepts)."""
    concepts: list[Concept] = []
    seen: set[str] = set()
    for phrase in phrases:
        phrase_terms = tuple(t for w in phrase if (t := analyse_word(w)) is not None)
        key = " ".join(phrase_terms)
        if not phrase_terms or key in seen:
            continue
        seen.add(key)
        clauses = [c for t in dict.fromkeys(phrase_terms) for c in _term_clauses(t)]
        label = '"' + " ".join(phrase) + '"' if len(phrase_terms) > 1 else phrase[0]
        concepts.append(Concept(label, phrase_terms, tuple(clauses), phrase_terms))
    fillers_only = all(analyse_word(w) in QUERY_FILLERS for w in words if analyse_word(w))
    for word in words:
        term = analyse_word(word)
        if term is None or term in seen or (term in QUERY_FILLERS and not fillers_only):
            continue
        seen.add(term)
        related = tuple(e for e in expansions if term in e.covers)
        fields = DESCRIPTIVE_FIELDS if word in corrections else tuple(TEXT_FIELDS)
        clauses = _term_clauses(term, fields) + [_expansion_clause(e) for e in related]
        concepts.append(Concept(word, (term,), tuple(clauses), (term,), related))
    return concepts[:MAX_CONCEPTS]

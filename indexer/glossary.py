"""Query-time expansions: the dispositifs' acronyms and names, and the thesaurus.

Both work through concepts recorded at indexing time: a text that mentions a dispositif
by its acronym or by one of its names carries the dispositif's id in the `glossaire` field;
a text that contains an expression of a thesaurus group carries the group in `concepts`.
At query time an acronym, a name or an expression becomes its concept, with its weight.
(Phrase queries for every equivalent expression made broad queries ten times slower.)
Editing the vocabularies or the thesaurus changes their fingerprint, and the next
`kb index` rebuilds the index.

`PRE` also finds "programme de réussite éducative" and the reverse; thesaurus groups
(décrochage scolaire / rupture scolaire / déscolarisation) expand each other with a lower
weight than the user's own words. Matching works on analysed terms, so accents, case,
plurals and elisions do not matter, except for acronyms: an acronym whose lower-case form
is an ordinary word (`pré`) is expanded only when typed in capitals or next to a word of
its own name or definition.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from kb.vocabulary import Vocabularies, load_vocabularies

from .analysis import fold, terms, words

GLOSSARY_BOOST = 0.8
THESAURUS_BOOST = 1.0
_ACRONYM = re.compile(r"^[A-Z]{2,8}$")


@dataclass(frozen=True)
class Expansion:
    """Something more to look for: a dispositif (every text that mentions it, in any form,
    carries it in the index) or a thesaurus group (likewise); `terms` are highlighted."""

    terms: tuple[str, ...]
    boost: float
    dispositif: str | None = None
    source: str = ""  # the expression that triggered it, for explanations
    concept: str | None = None  # a thesaurus group, matched through the `concepts` field
    # The analysed query terms it stands for: a resource carrying the dispositif or the
    # thesaurus class answers these words of the query.
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Dispositif:
    id: str
    acronyms: frozenset[str]  # upper-case
    names: tuple[tuple[str, ...], ...]  # analysed term sequences
    context: frozenset[str]  # analysed terms of its name and definition
    ambiguous: bool


def thesaurus_concept(number: int) -> str:
    return f"t{number}"


def _contains(sequence: tuple[str, ...], part: tuple[str, ...]) -> bool:
    size = len(part)
    return size > 0 and any(sequence[i : i + size] == part for i in range(len(sequence) - size + 1))


class Glossary:
    def __init__(self, vocabularies: Vocabularies) -> None:
        self.dispositifs: list[_Dispositif] = []
        for term in vocabularies.dispositifs:
            acronyms = {term.get("sigle")} | {
                v for v in term.get("variantes") or () if _ACRONYM.match(v)
            }
            acronyms.discard(None)
            names = [term.libelle, *(term.get("autres_noms") or ())]
            names += [v for v in term.get("variantes") or () if not _ACRONYM.match(v)]
            analysed = tuple(t for t in (tuple(terms(n)) for n in names) if t)
            context = set(terms(term.libelle + " " + str(term.get("definition") or "")))
            self.dispositifs.append(
                _Dispositif(
                    term.id,
                    frozenset(a.upper() for a in acronyms),
                    analysed,
                    frozenset(context),
                    bool(term.get("ambigu")),
                )
            )
        self.thesaurus = [
            tuple(t for t in (tuple(terms(expr)) for expr in group) if t)
            for group in vocabularies.thesaurus
        ]

        self._expressions: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for number, group in enumerate(self.thesaurus):
            for expr in group:
                self._expressions.setdefault(expr[0], []).append((expr, thesaurus_concept(number)))
        self._by_first_term: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._by_acronym_term: dict[str, str] = {}
        for dispositif in self.dispositifs:
            for name in dispositif.names:
                self._by_first_term.setdefault(name[0], []).append((name, dispositif.id))
            for acronym in dispositif.acronyms:
                for term in terms(acronym):
                    self._by_acronym_term[term] = dispositif.id

    def detect(self, text_terms: list[str]) -> set[str]:
        """Dispositifs a text mentions, by acronym or by name (its analysed terms)."""
        found = {self._by_acronym_term[t] for t in set(text_terms) if t in self._by_acronym_term}
        for index, term in enumerate(text_terms):
            for name, dispositif_id in self._by_first_term.get(term, ()):
                if (
                    dispositif_id not in found
                    and tuple(text_terms[index : index + len(name)]) == name
                ):
                    found.add(dispositif_id)
        return found

    def _dispositif_expansion(
        self, dispositif: _Dispositif, source: str, covers: tuple[str, ...]
    ) -> Expansion:
        # Only the acronyms are highlighted: the words of the full names ("nouveau",
        # "programme"...) would light up everywhere.
        highlight = {t for acronym in dispositif.acronyms for t in terms(acronym)}
        return Expansion(
            tuple(sorted(highlight)), GLOSSARY_BOOST, dispositif.id, source, covers=covers
        )

    def expand(self, query: str) -> list[Expansion]:
        """Expansions for a query. A dispositif named in the query (by acronym or name)
        becomes its concept, which every text mentioning it in any form carries in the
        index; thesaurus expressions become the other expressions of their group."""
        typed = words(query)
        query_terms = tuple(terms(query))
        term_set = set(query_terms)
        expansions: list[Expansion] = []
        for dispositif in self.dispositifs:
            for word in typed:
                if fold(word).upper() not in dispositif.acronyms:
                    continue
                has_context = bool((term_set - set(terms(word))) & dispositif.context)
                if dispositif.ambiguous and not word.isupper() and not has_context:
                    continue
                expansions.append(self._dispositif_expansion(dispositif, word, tuple(terms(word))))
                break
            else:
                for name in dispositif.names:
                    if _contains(query_terms, name):
                        expansions.append(
                            self._dispositif_expansion(dispositif, " ".join(name), name)
                        )
                        break
        for number, group in enumerate(self.thesaurus):
            matched = [expr for expr in group if _contains(query_terms, expr)]
            if matched:
                expansions.append(
                    Expansion(
                        (),  # equivalent expressions are found, not highlighted word by word
                        THESAURUS_BOOST,
                        None,
                        " ".join(matched[0]),
                        concept=thesaurus_concept(number),
                        covers=tuple(dict.fromkeys(t for expr in matched for t in expr)),
                    )
                )
        return _unique(expansions)

    def concepts(self, text_terms: list[str]) -> set[str]:
        """Thesaurus groups that a text contains an expression of (one pass over the text)."""
        found: set[str] = set()
        for index, term in enumerate(text_terms):
            for expr, concept in self._expressions.get(term, ()):
                if concept not in found and tuple(text_terms[index : index + len(expr)]) == expr:
                    found.add(concept)
        return found


def _unique(expansions: list[Expansion]) -> list[Expansion]:
    seen: set = set()
    result = []
    for expansion in expansions:
        key = expansion.dispositif or expansion.concept or expansion.terms
        if key not in seen:
            seen.add(key)
            result.append(expansion)
    return result


@functools.cache
def glossary() -> Glossary:
    return Glossary(load_vocabularies())

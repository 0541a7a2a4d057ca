"""Query-time expansions: the dispositifs' acronyms and names, and the thesaurus.

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
THESAURUS_BOOST = 0.5
_ACRONYM = re.compile(r"^[A-Z]{2,8}$")


@dataclass(frozen=True)
class Expansion:
    """Extra terms to look for: a phrase of analysed terms (or a single term)."""

    terms: tuple[str, ...]
    boost: float
    dispositif: str | None = None  # also match resources tagged with this dispositif
    source: str = ""  # the expression that triggered it, for explanations


@dataclass(frozen=True)
class _Dispositif:
    id: str
    acronyms: frozenset[str]  # upper-case
    names: tuple[tuple[str, ...], ...]  # analysed term sequences
    context: frozenset[str]  # analysed terms of its name and definition
    ambiguous: bool


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

    def expand(self, query: str) -> list[Expansion]:
        typed = words(query)
        query_terms = tuple(terms(query))
        term_set = set(query_terms)
        expansions: list[Expansion] = []
        for dispositif in self.dispositifs:
            for word in typed:
                upper = fold(word).upper()
                if upper not in dispositif.acronyms:
                    continue
                in_capitals = word.isupper()
                own_terms = set(terms(word))
                has_context = bool((term_set - own_terms) & dispositif.context)
                if dispositif.ambiguous and not in_capitals and not has_context:
                    continue
                for name in dispositif.names:
                    expansions.append(Expansion(name, GLOSSARY_BOOST, dispositif.id, word))
                for acronym in sorted(dispositif.acronyms - {upper}):
                    expansions.append(
                        Expansion(tuple(terms(acronym)), GLOSSARY_BOOST, dispositif.id, word)
                    )
                break
            else:
                for name in dispositif.names:
                    if _contains(query_terms, name):
                        for acronym in sorted(dispositif.acronyms):
                            expansions.append(
                                Expansion(
                                    tuple(terms(acronym)),
                                    GLOSSARY_BOOST,
                                    dispositif.id,
                                    " ".join(name),
                                )
                            )
                        expansions.extend(
                            Expansion(other, GLOSSARY_BOOST, dispositif.id, " ".join(name))
                            for other in dispositif.names
                            if other != name
                        )
                        break
        for group in self.thesaurus:
            matched = [expr for expr in group if _contains(query_terms, expr)]
            if not matched:
                continue
            for expr in group:
                if expr not in matched and not any(_contains(expr, m) for m in matched):
                    expansions.append(Expansion(expr, THESAURUS_BOOST, None, " ".join(matched[0])))
        return _unique(expansions)


def _unique(expansions: list[Expansion]) -> list[Expansion]:
    seen: set[tuple[str, ...]] = set()
    result = []
    for expansion in expansions:
        if expansion.terms not in seen:
            seen.add(expansion.terms)
            result.append(expansion)
    return result


@functools.cache
def glossary() -> Glossary:
    return Glossary(load_vocabularies())

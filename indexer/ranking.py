"""Which resources answer a query, in which order, and why.

1. Every concept of the query (see `concepts.py`) is scored over the whole index: BM25F over
   the title, the description and the text, with the fields' weights, plus the weight of
   the dispositif or thesaurus class that stands for it. A resource answers a concept when
   any of its clauses matches (and, for a quoted phrase, when the phrase is there).
2. Full matches answer every concept; partial ones (`approchants`) are kept apart.
3. Relevance is the sum of the concepts' scores; among the best candidates of a query of
   several words, a proximity bonus rewards resources whose title or description holds the
   words next to each other, in the order typed, or all of them in the title.
4. The date breaks ties, and only ties: a newer resource never passes a more relevant one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analysis import terms
from .concepts import Concept
from .scoring import Clause, Scorer

# The best full matches that the proximity bonus may reorder (it reads their description).
RERANKED = 30
# Up to +30 % when every pair of consecutive words of the query is next to each other (in
# order, at most one word apart) in the title or the description; +20 % when the title
# holds every concept.
PAIR_BONUS = 0.3
TITLE_BONUS = 0.2
# Approximate results are shown when the full matches are fewer than this.
APPROXIMATE_BELOW = 3
MAX_APPROXIMATE = 5


@dataclass
class Evaluation:
    """Per-resource scores and matches of a query's concepts (arrays over the index)."""

    concepts: tuple[Concept, ...]
    scores: np.ndarray  # sum of the concepts' scores
    matches: list[np.ndarray]  # per concept: which resources answer it

    @property
    def counts(self) -> np.ndarray:
        """How many concepts each resource answers."""
        return np.sum(self.matches, axis=0) if self.matches else np.zeros(self.scores.size)

    @property
    def full(self) -> np.ndarray:
        found = np.ones(self.scores.size, bool)
        for mask in self.matches:
            found &= mask
        return found

    def missing(self, docnum: int) -> list[str]:
        """The concepts (as typed) that a resource does not answer."""
        return [
            c.label for c, mask in zip(self.concepts, self.matches, strict=True) if not mask[docnum]
        ]


def evaluate(scorer: Scorer, concepts: tuple[Concept, ...], phrase_mask) -> Evaluation:
    """Score every concept; `phrase_mask(concept)` gives where a quoted phrase occurs."""
    total = np.zeros(scorer.size, np.float64)
    matches = []
    for concept in concepts:
        scores = scorer.scores(list(concept.clauses))
        total += scores
        mask = scores > 0
        if concept.is_phrase:
            mask &= phrase_mask(concept)
        matches.append(mask)
    return Evaluation(concepts, total, matches)


def proximity_bonus(concepts: tuple[Concept, ...], title: str, description: str) -> float:
    """The relative bonus of a resource for a query of several words (0 for one word)."""
    words = [c for c in concepts if not c.is_phrase]
    if len(concepts) < 2:
        return 0.0
    title_terms = terms(title)
    bonus = 0.0
    if all(set(c.terms) <= set(title_terms) for c in concepts):
        bonus += TITLE_BONUS
    if len(words) >= 2:
        sequence = title_terms + [""] + terms(description)
        positions: dict[str, list[int]] = {}
        for index, term in enumerate(sequence):
            positions.setdefault(term, []).append(index)
        pairs = list(zip(words, words[1:], strict=False))
        near = sum(
            any(
                0 < b - a <= 2
                for a in positions.get(first.terms[0], ())
                for b in positions.get(second.terms[0], ())
            )
            for first, second in pairs
        )
        bonus += PAIR_BONUS * near / len(pairs)
    return bonus


def order(
    candidates: np.ndarray, relevance: np.ndarray, days: np.ndarray, wanted: int
) -> np.ndarray:
    """Indices into `candidates` of the `wanted` best: by relevance, then newest first."""
    if candidates.size > wanted:
        top = np.argpartition(-relevance, wanted - 1)[:wanted]
    else:
        top = np.arange(candidates.size)
    return top[np.lexsort((-days[top], -relevance[top]))]


def explain_clause(scorer: Scorer, clause: Clause, docnum: int) -> float:
    return float(scorer.scores([clause])[docnum])


def explain(
    scorer: Scorer,
    evaluation: Evaluation,
    docnum: int,
    bonus: float,
    thesaurus_labels: tuple[tuple[str, ...], ...],
    dispositif_label,
) -> dict:
    """Why a resource ranks where it does, clause by clause (for `kb search --explain`)."""
    concepts = []
    for concept, mask in zip(evaluation.concepts, evaluation.matches, strict=True):
        details = []
        for clause in concept.clauses:
            value = explain_clause(scorer, clause, docnum)
            if not value:
                continue
            if clause.field == "concepts":
                number = int(clause.text[1:])
                source = f"thésaurus « {thesaurus_labels[number][0]} »"
            elif clause.field == "glossaire":
                source = f"dispositif « {dispositif_label(clause.text)} »"
            else:
                source = f"{clause.field} ({clause.text})"
            details.append({"source": source, "poids": clause.boost, "score": round(value, 4)})
        concepts.append(
            {
                "mot": concept.label,
                "trouve": bool(mask[docnum]),
                "score": round(sum(d["score"] for d in details), 4),
                "detail": details,
            }
        )
    base = float(evaluation.scores[docnum])
    return {
        "pertinence": round(base, 4),
        "bonus_proximite": round(bonus, 4),
        "score": round(base * (1 + bonus), 4),
        "concepts": concepts,
    }

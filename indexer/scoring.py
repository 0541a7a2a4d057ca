"""Whoosh's BM25F scores, computed for all matching documents at once.

Whoosh scores one posting at a time in Python (about 5 µs per posting and per query term):
a two-word query matching most of a 10,000-document corpus took 80 ms to rank, before
facets. Here each term's postings (document numbers and term frequencies) are read once
per index version, block by block, and kept as arrays; a query's scores are then a few
vectorised operations. The formula, parameters, idf and field lengths are Whoosh's own
(`whoosh.scoring.BM25F`), so the ranking is the same as `searcher.search()` would give;
tests/test_search.py checks it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

K1 = 1.2  # whoosh.scoring.BM25F defaults
B = 0.75
CACHED_TERMS = 4096
CACHED_PHRASES = 256


@dataclass(frozen=True)
class Clause:
    """One term to score: its field, its (analysed) text and its weight in the query."""

    field: str
    text: str
    boost: float = 1.0


def _leaf_postings(matcher) -> tuple[list[int], list[float]]:
    """All (docnum, weight) of one segment's posting list, read block by block."""
    ids: list[int] = []
    weights: list[float] = []
    block_reader = all(hasattr(matcher, a) for a in ("_read_ids", "_read_weights", "_next_block"))
    if block_reader:  # whoosh.codec.whoosh3.W3LeafMatcher (Whoosh is pinned to 2.7.4)
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids)
            weights.extend(matcher._weights)
            matcher._next_block()
        return ids, weights
    while matcher.is_active():  # any other matcher: the public, slower way
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def term_docnums(reader, field: str, text: str) -> np.ndarray:
    """Document numbers of a term, over all segments."""
    ids: list[int] = []
    for leaf, offset in reader.leaf_readers():
        if (field, text) in leaf:
            leaf_ids, _ = _leaf_postings(leaf.postings(field, text))
            ids.extend(i + offset for i in leaf_ids)
    return np.fromiter(ids, np.int64, len(ids))


class Scorer:
    """Per index version: cached postings and field lengths, and the BM25F computation."""

    def __init__(self, searcher, size: int) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = size
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lengths: dict[str, np.ndarray] = {}
        self._phrases: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        key = (field, text)
        with self._lock:
            cached = self._postings.get(key)
            if cached is not None:
                self._postings.move_to_end(key)
                return cached
        ids: list[int] = []
        weights: list[float] = []
        for leaf, offset in self.reader.leaf_readers():
            if (field, text) not in leaf:
                continue
            leaf_ids, leaf_weights = _leaf_postings(leaf.postings(field, text))
            ids.extend(i + offset for i in leaf_ids)
            weights.extend(leaf_weights)
        result = (
            np.fromiter(ids, np.int64, len(ids)),
            np.fromiter(weights, np.float64, len(weights)),
        )
        with self._lock:
            self._postings[key] = result
            if len(self._postings) > CACHED_TERMS:
                self._postings.popitem(last=False)
        return result

    def lengths(self, field: str) -> np.ndarray:
        with self._lock:
            cached = self._lengths.get(field)
        if cached is None:
            length = self.reader.doc_field_length
            cached = np.fromiter(
                (length(d, field, 1) for d in range(self.size)), np.float64, self.size
            )
            with self._lock:
                self._lengths[field] = cached
        return cached

    def scores(self, clauses: list[Clause]) -> np.ndarray:
        """Sum over clauses of boost × BM25F (Whoosh's formula); 0 where nothing matches."""
        scores = np.zeros(self.size, np.float64)
        schema = self.searcher.schema
        for clause in clauses:
            ids, weights = self.postings(clause.field, clause.text)
            if not ids.size:
                continue
            if schema[clause.field].scorable:
                idf = self.searcher.idf(clause.field, clause.text)
                average = self.searcher.avg_field_length(clause.field) or 1
                lengths = self.lengths(clause.field)[ids]
                values = (
                    idf * (weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / average))
                )
            else:  # Whoosh scores a non-scorable field by the term's weight alone
                values = weights
            scores[ids] += values * clause.boost
        return scores

    def phrase_mask(self, phrase: tuple[str, ...], engine_query) -> np.ndarray:
        """Documents matching a phrase (Whoosh checks positions), cached per index version."""
        key = ("phrase", " ".join(phrase))
        with self._lock:
            cached = self._phrases.get(key)
        if cached is not None:
            return cached
        mask = np.zeros(self.size, bool)
        ids = np.fromiter(engine_query.docs(self.searcher), np.int64)
        if ids.size:
            mask[ids] = True
        with self._lock:
            self._phrases[key] = mask
            if len(self._phrases) > CACHED_PHRASES:
                self._phrases.popitem(last=False)
        return mask


def to_bitmap(mask: np.ndarray) -> int:
    """A boolean array as a Python int bitmap (bit i = document i)."""
    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def from_bitmap(bits: int, size: int) -> np.ndarray:
    data = bits.to_bytes((size + 7) // 8, "little")
    return np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[:size].astype(bool)

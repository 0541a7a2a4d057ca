"""Whoosh's BM25F scores, computed for all matching documents at once.

Whoosh scores one posting at a time in Python (about 5 µs per posting and per query term):
a two-word query matching most of a 10,000-document corpus took 80 ms to rank, before
facets. Here each term's postings (document numbers and term frequencies) are read per
segment into arrays (`engine.read_postings`), kept across index versions
(`segment_cache.POSTINGS`), masked by the version's deletions and placed at the segment's
offset; a query's scores are then a few vectorised operations. The formula, parameters,
idf and field lengths are Whoosh's own (`whoosh.scoring.BM25F`), so the ranking is the
same as `searcher.search()` would give; tests/test_search.py and tests/test_engine.py
check it, on several segments with deletions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import engine, segment_cache

K1 = 1.2  # whoosh.scoring.BM25F defaults
B = 0.75
CACHED_PHRASES = 256


@dataclass(frozen=True)
class Clause:
    """One term to score: its field, its (analysed) text and its weight in the query."""

    field: str
    text: str
    boost: float = 1.0


def segment_postings(segment: engine.Segment, field: str, text: str) -> engine.Postings:
    """A term's postings in one segment (deleted documents included), cached."""
    return segment_cache.POSTINGS.get(
        (segment.key, field, text),
        lambda: engine.read_postings(segment.leaf, field, text),
        lambda postings: postings.nbytes + 100,
    )


def segment_lengths(segment: engine.Segment, field: str) -> np.ndarray:
    return segment_cache.STRUCTURE.get(
        (segment.key, "lengths", field),
        lambda: engine.field_lengths(segment.leaf, field),
        lambda lengths: lengths.nbytes,
    )


class Scorer:
    """Per index version: its segments, field lengths, and the BM25F computation."""

    def __init__(self, searcher, segments: list[engine.Segment], size: int) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.segments = segments
        self.size = size
        self._live = {s.key: s.live for s in segments if s.deleted.size}
        self._lengths: dict[str, np.ndarray] = {}
        self._phrases: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers (live documents only) and weights of a term in this version."""
        all_ids: list[np.ndarray] = []
        all_weights: list[np.ndarray] = []
        for segment in self.segments:
            found = segment_postings(segment, field, text)
            if not found.ids.size:
                continue
            ids, weights = found.ids, found.weights
            live = self._live.get(segment.key)
            if live is not None:
                keep = live[ids]
                ids, weights = ids[keep], weights[keep]
            all_ids.append(ids.astype(np.int64) + segment.offset)
            all_weights.append(weights)
        if not all_ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        if len(all_ids) == 1:
            return all_ids[0], all_weights[0].astype(np.float64)
        return np.concatenate(all_ids), np.concatenate(all_weights).astype(np.float64)

    def lengths(self, field: str) -> np.ndarray:
        with self._lock:
            cached = self._lengths.get(field)
        if cached is None:
            parts = [segment_lengths(s, field) for s in self.segments]
            cached = (np.concatenate(parts) if parts else np.zeros(0)).astype(np.float64)
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

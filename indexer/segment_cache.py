"""What is read from a Whoosh segment once, for every index version that contains it.

A publication adds a small segment (and records deletions in the table of contents); the
large segments it leaves untouched keep their identity (`engine.Segment.key`). Their facet
bitmaps, dates, field lengths and term postings are therefore kept here, process-wide, and
a new index version only computes what its new segments hold and its deletion masks.

Two memory budgets, each a least-recently-used cache bounded in bytes and safe to share
between threads:
- `STRUCTURE`: facets, dates and field lengths, a few MB per 100,000 documents, needed by
  every version (the budget keeps those of the segments of several versions);
- `POSTINGS`: term postings, which can be long (a word present in every document of a
  100,000-document segment takes 800 KB).

The environment variables `KB_CACHE_STRUCTURE_MIO` and `KB_CACHE_POSTINGS_MIO` change the
budgets (in MiB, per process; see docs/performance.md).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SegmentCache(Generic[T]):
    """A least-recently-used mapping bounded by the total size of its values."""

    def __init__(self, name: str, budget: int) -> None:
        self.name = name
        self.budget = budget
        self._entries: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T], size: Callable[[T], int]) -> T:
        """The cached value of `key`, computed (outside the lock) when absent."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
            self.misses += 1
        value = compute()
        nbytes = max(1, int(size(value)))
        with self._lock:
            if key not in self._entries and nbytes <= self.budget:
                self._entries[key] = (value, nbytes)
                self._used += nbytes
                while self._used > self.budget:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._used -= dropped
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    @property
    def used(self) -> int:
        return self._used

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used = 0
            self.hits = self.misses = 0


def _budget(variable: str, default_mib: int) -> int:
    try:
        value = int(os.environ.get(variable, default_mib))
    except ValueError:
        value = default_mib
    return max(0, value) * 2**20


STRUCTURE: SegmentCache = SegmentCache("structure", _budget("KB_CACHE_STRUCTURE_MIO", 128))
POSTINGS: SegmentCache = SegmentCache("postings", _budget("KB_CACHE_POSTINGS_MIO", 256))

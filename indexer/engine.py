"""Everything that depends on Whoosh's internals, in one place (Whoosh 2.7.4, codec W3).

The rest of the project uses Whoosh's public API (schema, writer, searcher, reader, query)
and the functions of this module. Here, and only here, the code relies on how Whoosh lays
out and reads its files, because the public way is too slow for 100,000 documents:

- **Postings read block by block** (`read_postings`). Whoosh's public matcher yields one
  posting per Python call (about 5 µs each). The W3 postings of a term are one extent of
  the `.pst` file, given by the term's `W3TermInfo.extent()`: a 4-byte magic, then blocks
  made of a signed big-endian length (negative for the last block), a pickled info tuple
  and a pickled `(id deltas, weights, values)` tuple. They are parsed here in one read of
  the segment's postings file (private: `SegmentReader._terms._postfile`). Whoosh's
  matcher would hide deleted documents; this reading does not, and callers mask them
  (see `Segment.live`).
  Any other matcher (another codec, inlined postings) is read through the public matcher
  API: slower, counted in `READ_PATHS["matcher"]` and logged once, never silent.
- **Field lengths read as one byte string per segment** (`field_length_bytes`, and the
  `Codec` the index is written with, whose per-document reader serves
  `doc_field_length` from that string). Private names used: `W3PerDocReader._cached_reader`,
  `._doccount`, `whoosh.codec.whoosh3._lenfield`, and the fixed-size column reader's
  `_dbfile`, `_basepos`, `_count`.
- **Segment identity** (`segments`). A segment's files never change once written; merges
  write new segments under new random ids, and deletions live in the table of contents
  (TOC), not in the segment's files. So `segment_id()` plus its document count identify
  the content of a segment across commits and across index versions whose folders
  hard-link the same files: per-segment data computed once can be reused by every later
  version, with only the deletion set differing.
- **Files opened at once** (`open_searcher`). Whoosh opens the stored-fields file on first
  use; an old index version whose folder is removed while a request still reads it would
  then fail. Opening it with the searcher keeps the descriptor alive (Unix semantics).

tests/test_engine.py checks each of these against Whoosh's public results, so an upgrade
that changes them fails there first.
"""

from __future__ import annotations

import io
import logging
import pickle
import threading
import zlib
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from struct import Struct

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3PerDocReader,
    W3TermInfo,
    _lenfield,
)
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

log = logging.getLogger(__name__)

# --- the codec the index is written with ------------------------------------------------------


class Codec(W3Codec):
    """Whoosh's own codec, except that field lengths are read into memory once per segment.

    Whoosh reads a document's field length from disk for every posting it writes, and for
    every document it scores: a sixth of the indexing time. Uncompressed posting blocks
    save zlib's share too, for a somewhat larger index.
    """

    def __init__(self) -> None:
        super().__init__(compression=0)

    def per_document_reader(self, storage, segment):
        return _InMemoryLengths(storage, segment)


BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], np.uint32)
BYTE_TO_LENGTH[0] = 0  # Whoosh answers None for a document without the field
_BYTE_TO_LENGTH_LIST = [int(v) for v in BYTE_TO_LENGTH]


def _column_bytes(column_reader, doc_count: int) -> bytes:
    """All the bytes of a one-byte-per-document column (`NumericColumn("B")`), at once.
    Whoosh writes nothing for trailing documents at the default value (0)."""
    count = min(column_reader._count, doc_count)
    data = column_reader._dbfile.get(column_reader._basepos, count) if count else b""
    return bytes(data) + bytes(doc_count - len(data))


class _InMemoryLengths(W3PerDocReader):
    def _length_bytes(self, fieldname: str) -> bytes | None:
        cache = self.__dict__.setdefault("_length_cache", {})
        if fieldname not in cache:
            column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            cache[fieldname] = None if column is None else _column_bytes(column, self._doccount)
        return cache[fieldname]

    def doc_field_length(self, docnum, fieldname, default=0):
        lengths = self._length_bytes(fieldname)
        if lengths is None:
            return default
        if docnum > self._doccount:
            raise IndexError(f"docnum {docnum} of {self._doccount}")
        byte = lengths[docnum]
        return _BYTE_TO_LENGTH_LIST[byte] if byte else None


def field_length_bytes(leaf, field: str) -> bytes | None:
    """One byte per document of the segment: Whoosh's encoded length of `field`."""
    perdoc = leaf._perdoc
    if isinstance(perdoc, _InMemoryLengths):
        return perdoc._length_bytes(field)
    column = perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    return None if column is None else _column_bytes(column, leaf.doc_count_all())


def field_lengths(leaf, field: str) -> np.ndarray:
    """Length of `field` in each document of the segment, as Whoosh's `doc_field_length`
    gives it (0 where the document has no such field)."""
    data = field_length_bytes(leaf, field)
    if data is None:
        return np.zeros(leaf.doc_count_all(), np.uint32)
    return BYTE_TO_LENGTH[np.frombuffer(data, np.uint8)]


# --- opening an index version -----------------------------------------------------------------


def open_searcher(generation: Path):
    """Open an index folder: its index object and a BM25F searcher whose files are all open."""
    ix = whoosh_index.open_dir(generation)
    searcher = ix.searcher(weighting=BM25F())
    for leaf, _ in searcher.reader().leaf_readers():
        if leaf.doc_count_all():
            leaf.stored_fields(0)  # opens the stored-fields file now (see the module doc)
    return ix, searcher


# --- segments ---------------------------------------------------------------------------------

SegmentKey = tuple[str, int]


@dataclass(frozen=True)
class Segment:
    """One segment of an opened index version, placed at `offset` in its document numbers."""

    leaf: object  # whoosh.reading.SegmentReader
    offset: int
    size: int  # documents, deleted ones included
    key: SegmentKey  # identity of the segment's (immutable) files
    deleted: np.ndarray  # sorted local numbers of the deleted documents

    @property
    def live(self) -> np.ndarray:
        """Boolean mask of the segment's documents that are not deleted."""
        mask = np.ones(self.size, bool)
        mask[self.deleted] = False
        return mask


def segments(reader) -> list[Segment]:
    """The segments of a reader, in document-number order."""
    found = []
    for leaf, offset in reader.leaf_readers():
        size = leaf.doc_count_all()
        if hasattr(leaf, "segment"):
            segment = leaf.segment()
            key = (segment.segment_id(), size)
            deleted = sorted(segment.deleted_docs())
        else:  # an empty index: Whoosh's EmptyReader
            key, deleted = ("", 0), []
        found.append(Segment(leaf, offset, size, key, np.array(deleted, np.int64)))
    return found


# --- postings ---------------------------------------------------------------------------------

READ_PATHS: Counter[str] = Counter()  # "blocks" (fast) or "matcher" (public, slower)
_paths_lock = threading.Lock()
_warned: set[str] = set()
_INT = Struct("!i")


@dataclass(frozen=True)
class Postings:
    """A term's postings in one segment, deleted documents included."""

    ids: np.ndarray  # int32, local document numbers, increasing
    weights: np.ndarray  # float32, Whoosh's weight (term frequency for TEXT fields)

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.weights.nbytes


EMPTY = Postings(np.zeros(0, np.int32), np.zeros(0, np.float32))


def _count(path: str, detail: str = "") -> None:
    with _paths_lock:
        READ_PATHS[path] += 1
        first = path == "matcher" and detail not in _warned
        if first:
            _warned.add(detail)
    if first:
        log.warning(
            "lecture lente des listes de documents (%s) : le format n'est pas celui attendu "
            "(Whoosh 2.7.4, codec W3)",
            detail,
        )


def read_postings(leaf, field: str, text: str) -> Postings:
    """All postings of `field:text` in one segment (deleted documents included)."""
    try:
        info = leaf.term_info(field, text)
    except TermNotFound:
        return EMPTY
    terms = getattr(leaf, "_terms", None)
    postfile = getattr(terms, "_postfile", None)
    if isinstance(info, W3TermInfo) and not info.is_inlined() and postfile is not None:
        _count("blocks")
        offset, length = info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps struct.unpack's tuple
            (length,) = length
        return _read_blocks(postfile.get(offset, length))
    matcher = leaf.postings(field, text)
    if isinstance(matcher, FilterMatcher):  # hides deleted documents: callers mask them
        matcher = matcher.child
        matcher.reset()
    _count("matcher", type(matcher).__name__)
    return read_postings_with_matcher(matcher)


def read_postings_with_matcher(matcher) -> Postings:
    """The public way: one Python call per posting."""
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return Postings(np.array(ids, np.int32), np.array(weights, np.float32))


# Whoosh pickles a block's positions as byte strings with protocol 2, i.e. one call of
# `_codecs.encode` each: unpickling them took nine tenths of the reading. Only the ids and
# weights are needed. They come first, and the values tuple starts with this sequence,
# which cannot occur earlier: the ids and weights are opcodes K, M, J, G, N, t, q and ( with
# at most 8 argument bytes each, and no 9 bytes of it are such opcodes.
_VALUES_START = b"(c_codecs\nencode\n"
_CLOSE_WITHOUT_VALUES = b"N\x87."  # None, TUPLE3, STOP


def _ids_and_weights(block: bytes, count: int, max_id: int) -> tuple[tuple, object]:
    cut = block.find(_VALUES_START)
    if cut > 0:
        ids, weights, _ = pickle.loads(block[:cut] + _CLOSE_WITHOUT_VALUES)
        if len(ids) == count and sum(ids) == max_id:
            return ids, weights
    ids, weights, _ = pickle.loads(block)  # not the layout expected: the slow, sure way
    return ids, weights


def _read_blocks(data: bytes) -> Postings:
    """Parse a W3 postings extent (see the module doc)."""
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError("listes de documents illisibles : en-tête de bloc inattendu")
    stream = io.BytesIO(data)
    position = 4
    deltas: list[tuple[int, ...]] = []
    weights: list = []
    counts: list[int] = []
    last_ids: list[int] = []
    while True:
        (length,) = _INT.unpack_from(data, position)
        last = length < 0
        end = position + 4 + abs(length)
        stream.seek(position + 4)
        count, max_id, _, compression, _, _ = pickle.load(stream)
        block = data[stream.tell() : end]
        if compression:
            block = zlib.decompress(block)
        block_ids, block_weights = _ids_and_weights(block, count, max_id)
        deltas.append(block_ids)
        weights.append(block_weights)
        counts.append(count)
        last_ids.append(max_id)
        position = end
        if last:
            break
    total = sum(counts)
    ids = np.fromiter(chain.from_iterable(deltas), np.int64, total)
    # Each block's ids are delta-encoded from 0: make its first delta relative to the
    # previous block's last id, so that one cumulative sum decodes every block.
    starts = np.cumsum([0, *counts[:-1]])
    ids[starts[1:]] -= np.array(last_ids[:-1], np.int64)
    ids = np.cumsum(ids).astype(np.int32)
    out = np.empty(total, np.float32)
    for start, count, value in zip(starts, counts, weights, strict=True):
        # None: every weight is 1; a float: all the same; else one weight per posting.
        out[start : start + count] = 1.0 if value is None else value
    return Postings(ids, out)

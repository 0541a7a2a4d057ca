"""Whoosh internals (indexer/engine.py), per-segment caches and index versions under threads.

The index of these tests has several segments with deletions: the normal state of an index
after publications.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from whoosh import fields
from whoosh import query as wq
from whoosh.codec.memory import MemoryCodec

from indexer import engine, query, segment_cache
from indexer import facets as facets_module
from indexer.build import Indexer
from indexer.facets import FacetBitmaps, _segment_facets
from indexer.search import SearchIndex, SearchRequest
from indexer.store import IndexFolder

CORPUS = Path(__file__).parent / "fixtures" / "recherche"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def build_with_deletions(content: Path, folder: Path) -> Indexer:
    """Three commits: centre-a, then centre-b, then an edit and a removal in centre-a."""
    later = sorted(content.glob("centre-b/*.md"))
    held_back = {path: path.read_bytes() for path in later}
    for path in later:
        path.unlink()
    indexer = Indexer(content, folder)
    assert indexer.update().ok
    for path, data in held_back.items():
        path.write_bytes(data)
    assert indexer.update([p.relative_to(content).as_posix() for p in later]).ok
    edit(content / "centre-a" / "renouvellement-npnru.md", "relogement", "relogement relogement")
    (content / "centre-a" / "commerce-2016.md").unlink()
    report = indexer.update(["centre-a/renouvellement-npnru.md", "centre-a/commerce-2016.md"])
    assert report.ok and report.deleted == ["centre-a/commerce-2016"]
    return indexer


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    content = tmp_path_factory.mktemp("contenu") / "recherche"
    shutil.copytree(CORPUS, content)
    folder = tmp_path_factory.mktemp("index")
    build_with_deletions(content, folder)
    index = SearchIndex(folder)
    yield index
    index.close()


def test_the_index_has_several_segments_with_deletions(built):
    with built.reading() as snap:
        assert len(snap.segments) > 1
        assert any(segment.deleted.size for segment in snap.segments)
        assert snap.searcher.doc_count() < snap.searcher.doc_count_all()


def public_postings(leaf, field: str, text: str) -> list[tuple[int, float]]:
    """Whoosh's own answer, deleted documents left out."""
    matcher = leaf.postings(field, text)
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight()))
        matcher.next()
    return found


def test_block_reading_equals_whoosh_on_every_term(built):
    before = engine.READ_PATHS.copy()
    checked = 0
    with built.reading() as snap, snap.lock:
        for segment in snap.segments:
            live = segment.live
            for field in ("titre", "texte", "piliers", "thematiques", "centre", "annee", "orth"):
                for raw in segment.leaf.lexicon(field):
                    text = raw.decode("utf-8")
                    postings = engine.read_postings(segment.leaf, field, text)
                    keep = live[postings.ids]
                    mine = list(
                        zip(
                            postings.ids[keep].tolist(),
                            postings.weights[keep].tolist(),
                            strict=True,
                        )
                    )
                    assert mine == public_postings(segment.leaf, field, text), (field, text)
                    checked += 1
    assert checked > 300
    assert engine.READ_PATHS["blocks"] - before["blocks"] == checked
    assert engine.READ_PATHS["matcher"] == before["matcher"]


def test_lengths_equal_whoosh(built):
    with built.reading() as snap, snap.lock:
        for segment in snap.segments:
            for field in query.TEXT_FIELDS:
                lengths = engine.field_lengths(segment.leaf, field)
                expected = [
                    segment.leaf.doc_field_length(d, field, 0) or 0 for d in range(segment.size)
                ]
                assert lengths.tolist() == expected


@pytest.mark.parametrize(
    "text", ["relogement des ménages quartier", "PRE parcours", "tranquillité publique", "commerce"]
)
def test_scores_equal_whoosh_bm25f_through_the_block_path(built, text):
    segment_cache.POSTINGS.clear()  # read postings now, to see which path reads them
    before = engine.READ_PATHS.copy()
    with built.reading() as snap, snap.lock:
        plan = query.plan(query.parse(text))
        mine = snap.scorer.scores(list(plan.clauses))
        engine_query = wq.Or([wq.Term(c.field, c.text, boost=c.boost) for c in plan.clauses])
        results = snap.searcher.search(engine_query, limit=None)
        matched = {int(d) for d in (mine > 0).nonzero()[0]}
        assert not matched - {int(d) for d in snap.live_mask.nonzero()[0]}  # no deleted doc
        assert {hit.docnum for hit in results} == matched
        for hit in results:
            assert mine[hit.docnum] == pytest.approx(hit.score, rel=1e-9)
    assert engine.READ_PATHS["blocks"] > before["blocks"]
    assert engine.READ_PATHS["matcher"] == before["matcher"]


def test_public_path_is_counted_and_logged(caplog):
    """Postings the block reader does not know (here: Whoosh's in-memory codec) are read
    the public way, visibly."""
    schema = fields.Schema(texte=fields.TEXT(), etiquette=fields.KEYWORD())
    codec = MemoryCodec()
    writer = codec.writer(schema)
    writer.add_document(texte="alpha beta beta", etiquette="x")
    writer.add_document(texte="beta gamma", etiquette="y")
    writer.commit()
    before = engine.READ_PATHS.copy()
    with caplog.at_level(logging.WARNING, logger="indexer.engine"):
        postings = engine.read_postings(codec.reader(schema), "texte", "beta")
    assert postings.ids.tolist() == [0, 1]
    assert postings.weights.tolist() == [2.0, 1.0]
    assert engine.READ_PATHS["matcher"] == before["matcher"] + 1
    assert engine.READ_PATHS["blocks"] == before["blocks"]
    assert "lecture lente" in caplog.text


def test_facets_from_cached_segments_equal_a_fresh_reading(built):
    with built.reading() as snap, snap.lock:
        expected: dict[str, dict[str, set[int]]] = {}
        for segment in snap.segments:
            live = segment.live
            for key, group in _segment_facets(segment).items():
                for value, bits in group.items():
                    docs = {
                        segment.offset + d for d in range(segment.size) if bits >> d & 1 and live[d]
                    }
                    if docs:
                        expected.setdefault(key, {}).setdefault(value, set()).update(docs)
        rebuilt = FacetBitmaps.from_segments(snap.segments, snap.live_mask)
        for key, group in snap.facets.values.items():
            assert {
                value: {d for d in range(snap.facets.size) if bits >> d & 1}
                for value, bits in group.items()
            } == expected.get(key, {})
            assert group == rebuilt.values[key]
        assert "centre-a/commerce-2016" not in {h.id for h in built.search(SearchRequest()).hits}


def test_a_new_version_reads_only_its_new_segments(tmp_path, monkeypatch):
    content = tmp_path / "recherche"
    shutil.copytree(CORPUS, content)
    indexer = build_with_deletions(content, tmp_path / "index")
    index = SearchIndex(tmp_path / "index")
    computed: list = []
    original = facets_module._segment_facets

    def recording(segment):
        computed.append(segment.key)
        return original(segment)

    try:
        with index.reading() as first:
            old_keys = {s.key for s in first.segments}
        monkeypatch.setattr(facets_module, "_segment_facets", recording)
        edit(content / "centre-b" / "prairie.md", "prairie", "prairie fleurie")
        assert indexer.update(["centre-b/prairie.md"]).ok
        with index.reading() as second:
            assert second is not first
            new_keys = {s.key for s in second.segments} - old_keys
            assert new_keys and len(new_keys) < len(second.segments)
            assert set(computed) <= new_keys  # the other segments' facets were reused
            assert any(s.deleted.size for s in second.segments if s.key in old_keys)
        hits = index.search(SearchRequest(q="prairie fleurie")).hits
        assert hits and hits[0].id == "centre-b/prairie"
    finally:
        index.close()


# --- index versions under threads (issue 9, item 3) -------------------------------------------

STABLE = "centre-b/securite-quotidien"  # never edited below: must always be found


def test_readers_never_see_a_closed_or_empty_version(tmp_path, caplog):
    """Threads search, read resources, labels and centres while updates and rebuilds open
    new versions: no error, no false empty result."""
    content = tmp_path / "recherche"
    shutil.copytree(CORPUS, content)
    indexer = Indexer(content, tmp_path / "index")
    assert indexer.rebuild().ok
    index = SearchIndex(tmp_path / "index")
    errors: list[BaseException] = []
    empties: list[str] = []
    counts = {"reads": 0}
    stop = threading.Event()

    def reader(kind: int) -> None:
        try:
            while not stop.is_set():
                if kind == 0:
                    # Many hits per page: a long window of reads on one version.
                    result = index.search(
                        SearchRequest(q="sécurité quotidien quartier", per_page=100)
                    )
                    if STABLE not in {hit.id for hit in result.hits}:
                        empties.append(f"search: {result.total}")
                elif kind == 1:
                    if index.get(STABLE) is None:
                        empties.append("get")
                    if not index.more_like_this("centre-a/renouvellement-npnru"):
                        empties.append("more_like_this")
                elif kind == 2:
                    if index.label("centre", "centre-a") == "centre-a" or not index.centres():
                        empties.append("label")
                else:
                    result = index.search(SearchRequest(per_page=100))
                    if result.total < 10 or len(result.facets["centre"]) != 2:
                        empties.append("facets")
                counts["reads"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # Labels and centres come from threads that do not search: what reopened the index
    # under a running search before.
    threads = [threading.Thread(target=reader, args=(k,)) for k in (0, 0, 1, 3, 2, 2, 2, 2)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave threads finely
    with caplog.at_level(logging.WARNING):
        for thread in threads:
            thread.start()
        try:
            page = content / "centre-a" / "renouvellement-npnru.md"
            for round_ in range(16):
                edit(page, "relogement", f"relogement version{round_}")
                if round_ % 4 == 3:
                    assert indexer.rebuild().ok
                else:
                    assert indexer.update(["centre-a/renouvellement-npnru.md"]).ok
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
            sys.setswitchinterval(switch_interval)
            index.close()
    assert not errors, errors[:3]
    assert not empties, empties[:5]
    assert counts["reads"] > 50
    assert "échec de la requête" not in caplog.text


def test_old_version_stays_readable_until_its_last_reader_is_done(tmp_path):
    content = tmp_path / "recherche"
    shutil.copytree(CORPUS, content)
    indexer = Indexer(content, tmp_path / "index")
    assert indexer.rebuild().ok
    index = SearchIndex(tmp_path / "index")
    try:
        with index.reading() as old:
            assert indexer.rebuild().ok  # a new version, the old folder is kept as previous
            assert indexer.rebuild().ok  # and now removed from the disk
            with index.reading() as new:
                assert new is not old
            # The old version is replaced, not closed: its reader still answers.
            with old.lock:
                assert old.searcher.document(id=STABLE) is not None
                assert old.searcher.stored_fields(0)
            assert not old.searcher.is_closed
        assert old.searcher.is_closed  # closed once its last reader is done
        assert IndexFolder(tmp_path / "index").current_name() == new.generation.name
    finally:
        index.close()


def test_segment_cache_is_bounded():
    cache = segment_cache.SegmentCache("essai", budget=1000)
    for key in range(20):
        cache.get(key, lambda k=key: np.zeros(100, np.uint8), lambda a: a.nbytes)
    assert cache.used <= 1000
    assert 19 in cache and 0 not in cache
    value = cache.get("trop-grand", lambda: np.zeros(5000, np.uint8), lambda a: a.nbytes)
    assert value.size == 5000 and "trop-grand" not in cache

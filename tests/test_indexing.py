"""Incremental, atomic, crash-safe indexing (indexer/build.py, indexer/store.py, kb index)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer import build
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from indexer.store import IndexFolder, IndexLocked
from kb.loader import load_tree

CORPUS = Path(__file__).parent / "fixtures" / "recherche"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "contenu"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def indexed_ids(index_dir: Path) -> set[str]:
    search = SearchIndex(index_dir)
    try:
        result = search.search(SearchRequest(per_page=100, with_suggestion=False))
        assert result.total <= 100
        return {hit.id for hit in result.hits}
    finally:
        search.close()


def published_ids(content: Path) -> set[str]:
    return {r.id for r in load_tree(content).published}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


NEW_RESOURCE = """---
titre: "Un atelier vélo solidaire"
type: fiche-pratique
date: 2025-02-03
piliers: [cadre-de-vie]
resume: "Réparer les vélos avec les habitants."
---

## Contexte

Un atelier de réparation de bicyclettes ouvre au pied des immeubles.
"""


def test_first_update_builds_everything(content, index_dir):
    report = Indexer(content, index_dir).update()
    assert report.rebuilt and report.ok
    assert set(report.added) == published_ids(content)
    assert indexed_ids(index_dir) == published_ids(content)


def test_nothing_changed_reads_nothing(content, index_dir, monkeypatch):
    indexer = Indexer(content, index_dir)
    indexer.update()
    reads = []
    original = indexer.source.read
    monkeypatch.setattr(indexer.source, "read", lambda p: reads.append(p) or original(p))
    report = indexer.update()
    assert report.unchanged == 14 and not (report.added or report.updated or report.deleted)
    assert [p for p in reads if not p.endswith("_centre.md")] == []


def test_touched_but_identical_file_is_not_reindexed(content, index_dir):
    # git checkouts reset modification times: the content hash decides.
    indexer = Indexer(content, index_dir)
    indexer.update()
    path = content / "centre-b" / "prairie.md"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    report = indexer.update()
    assert report.updated == [] and report.unchanged == 14


def test_add_update_delete_and_draft(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    (content / "centre-a" / "atelier-velo.md").write_text(NEW_RESOURCE, encoding="utf-8")
    edit(content / "centre-b" / "prairie.md", "Un jardin fleuri", "Un verger fleuri")
    (content / "centre-a" / "commerce-2016.md").unlink()
    edit(
        content / "centre-b" / "emploi-2024.md",
        "type: compte-rendu",
        "type: compte-rendu\nstatut: brouillon",
    )
    report = indexer.update()
    assert report.added == ["centre-a/atelier-velo"]
    assert report.updated == ["centre-b/prairie"]
    assert sorted(report.deleted) == ["centre-a/commerce-2016", "centre-b/emploi-2024"]
    search = SearchIndex(index_dir)
    assert [h.id for h in search.search(SearchRequest(q="bicyclette")).hits] == [
        "centre-a/atelier-velo"
    ]
    assert [h.id for h in search.search(SearchRequest(q="verger")).hits] == ["centre-b/prairie"]
    assert search.search(SearchRequest(q='"six cellules vides"')).total == 0
    assert indexed_ids(index_dir) == published_ids(content)


def test_explicit_paths_only_look_at_those_files(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    (content / "centre-a" / "atelier-velo.md").write_text(NEW_RESOURCE, encoding="utf-8")
    edit(content / "centre-b" / "prairie.md", "Un jardin fleuri", "Un verger fleuri")
    report = indexer.update(["centre-a/atelier-velo.md"])
    assert report.added == ["centre-a/atelier-velo"] and report.updated == []
    report = indexer.update(["centre-b/prairie.md", "centre-a/disparu.md"])
    assert report.updated == ["centre-b/prairie"] and report.deleted == []


def test_moved_file_keeps_its_id(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    (content / "centre-b" / "archives").mkdir()
    (content / "centre-b" / "prairie.md").rename(content / "centre-b" / "archives" / "prairie.md")
    report = indexer.update()
    assert report.ok
    assert indexed_ids(index_dir) == published_ids(content)
    assert SearchIndex(index_dir).get("centre-b/prairie")["path"] == "centre-b/archives/prairie.md"


def test_invalid_file_is_reported_skipped_and_keeps_last_good_version(content, index_dir, run_kb):
    Indexer(content, index_dir).update()
    edit(content / "centre-b" / "prairie.md", "date: 2018-06-15", "date: 2018-13-45")
    (content / "centre-a" / "atelier-velo.md").write_text(NEW_RESOURCE, encoding="utf-8")
    result = run_kb("index", "--content", content, "--index", index_dir)
    assert result.code == 1
    assert "centre-b/prairie.md:4: erreur :" in result.err
    assert "1 ajoutée" in result.out and "1 fichier en erreur" in result.out
    ids = indexed_ids(index_dir)
    assert "centre-b/prairie" in ids and "centre-a/atelier-velo" in ids
    # Still reported on the next run, until it is fixed.
    again = run_kb("index", "--content", content, "--index", index_dir)
    assert again.code == 1 and "centre-b/prairie.md:4" in again.err
    edit(content / "centre-b" / "prairie.md", "date: 2018-13-45", "date: 2018-06-16")
    fixed = run_kb("index", "--content", content, "--index", index_dir)
    assert fixed.code == 0 and "1 mise à jour" in fixed.out


def test_duplicate_id_in_an_update_is_refused(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    (content / "centre-b" / "doublons").mkdir()
    shutil.copy(
        content / "centre-b" / "prairie.md", content / "centre-b" / "doublons" / "prairie.md"
    )
    report = indexer.update()
    assert not report.ok
    assert any(
        "en double" in p.message and p.path == "centre-b/doublons/prairie.md"
        for p in report.problems
    )
    assert indexed_ids(index_dir) == published_ids(CORPUS)


def test_centre_card_change_reindexes_its_resources(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    edit(content / "centre-b" / "_centre.md", 'region: "76"', 'region: "44"')
    report = indexer.update()
    assert "centre-b/prairie" in report.updated
    search = SearchIndex(index_dir)
    in_44 = {
        h.id for h in search.search(SearchRequest(filters={"region": ("44",)}, per_page=50)).hits
    }
    assert "centre-b/prairie" in in_44  # no territory of its own: the centre's region
    assert search.label("centre", "centre-b") == "Centre B (test)"


def test_removed_centre_card_unpublishes_its_resources(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    (content / "centre-b" / "_centre.md").unlink()
    report = indexer.update()
    assert not report.ok
    assert not any(i.startswith("centre-b/") for i in indexed_ids(index_dir))


def test_rebuild_switches_generation_atomically(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    reader = SearchIndex(index_dir)
    before = reader.stats()["version"]
    report = indexer.rebuild()
    assert report.rebuilt and report.generation != before.split(".")[0]
    assert reader.stats()["version"] != before  # picked up without restart
    assert reader.search(SearchRequest(q="pré")).total == 1
    generations = sorted(p.name for p in index_dir.glob("gen-*"))
    assert len(generations) <= 2  # the live one, and the previous one for slow readers


def test_changed_vocabularies_force_a_rebuild(content, index_dir, monkeypatch):
    Indexer(content, index_dir).update()
    monkeypatch.setattr(build, "INDEX_FORMAT", build.INDEX_FORMAT + 1)
    report = Indexer(content, index_dir).update()
    assert report.rebuilt and "modifiés" in report.reason


def test_long_running_reader_sees_new_documents(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    reader = SearchIndex(index_dir)
    assert reader.search(SearchRequest(q="bicyclette")).total == 0
    (content / "centre-a" / "atelier-velo.md").write_text(NEW_RESOURCE, encoding="utf-8")
    indexer.update(["centre-a/atelier-velo.md"])
    assert reader.search(SearchRequest(q="bicyclette")).total == 1


def test_second_writer_waits_then_gets_a_clear_message(content, index_dir):
    folder = IndexFolder(index_dir)
    with folder.writer_lock():
        with pytest.raises(IndexLocked, match="en cours de mise à jour"):
            Indexer(content, index_dir, lock_timeout=0.2).update()


def test_kb_index_reports_lock_in_french(content, index_dir, run_kb):
    run_kb("index", "--content", content, "--index", index_dir)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from indexer.store import IndexFolder\n"
            f"with IndexFolder({str(index_dir)!r}).writer_lock():\n"
            "    print('ok', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kb.cli",
                "index",
                "--content",
                str(content),
                "--index",
                str(index_dir),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "KB_LOCK_TIMEOUT": "0.5"},
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert "erreur : l'index" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 30  # the wait is bounded (0.5 s), not the lock holder


def test_kb_search_builds_the_index_first(content, index_dir, run_kb):
    result = run_kb("search", "securite", "--content", content, "--index", index_dir, "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["resultats"][0]["id"] == "centre-b/securite-quotidien"
    assert "Index construit" in result.err


def test_kb_search_text_listing_and_filters(content, index_dir, run_kb):
    run_kb("index", "--content", content, "--index", index_dir)
    result = run_kb(
        "search",
        "emploi",
        "--index",
        index_dir,
        "--filter",
        "centre=centre-b",
        "--sort",
        "date",
        "--limit",
        "1",
    )
    assert result.code == 0
    assert (
        "2 résultats" in result.out and "1. Un forum de l'emploi au cœur du quartier" in result.out
    )
    assert "*emploi*" in result.out
    bad = run_kb("search", "x", "--index", index_dir, "--filter", "pilier=x")
    assert bad.code == 2 and "filtre invalide" in bad.err


# --- kill -9 at any moment ---------------------------------------------------------------------


def _index_process(content: Path, index_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb.cli",
            "index",
            "--content",
            str(content),
            "--index",
            str(index_dir),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        start_new_session=True,
    )


def _assert_index_answers(index_dir: Path) -> None:
    if not IndexFolder(index_dir).exists():
        return  # killed before the first version was switched in: nothing to read yet
    reader = SearchIndex(index_dir)
    try:
        result = reader.search(SearchRequest(q="quartier habitants", per_page=5))
        stats = reader.stats()
        assert result.total <= stats["ressources"]
        everything = reader.search(SearchRequest(per_page=1, with_suggestion=False))
        assert everything.total == stats["ressources"]
    finally:
        reader.close()


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_a_working_index(tmp_path):
    from bench.corpus import CorpusGenerator

    content = CorpusGenerator(seed=7).write(tmp_path / "corpus", 400, centres=4)
    index_dir = tmp_path / "index"
    delays = [0.2, 0.6, 1.0, 1.6, 2.4, 3.5]
    for round_number, delay in enumerate(delays):
        if round_number % 2:  # every other round: many changed files, incremental update
            for path in sorted(content.rglob("res-*.md"))[round_number::3]:
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(f"\nModification {round_number}.\n")
            process = _index_process(content, index_dir)
        else:
            process = _index_process(content, index_dir, "--rebuild")
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        _assert_index_answers(index_dir)
    final = _index_process(content, index_dir)
    assert final.wait(timeout=300) == 0
    reader = SearchIndex(index_dir)
    ids = {
        hit.id
        for page in range(1, 5)
        for hit in reader.search(SearchRequest(per_page=100, page=page)).hits
    }
    assert ids == published_ids(content)
    # Every file's latest version is what the index holds.
    assert reader.search(SearchRequest(q='"Modification 5"')).total == len(
        sorted(content.rglob("res-*.md"))[5::3]
    )


def test_unreadable_index_is_rebuilt(content, index_dir):
    indexer = Indexer(content, index_dir)
    indexer.update()
    for toc in IndexFolder(index_dir).current().glob("_MAIN_*.toc"):
        toc.write_bytes(b"not a table of contents")
    report = indexer.update()
    assert report.rebuilt and "ne peut plus être lu" in report.reason
    assert indexed_ids(index_dir) == published_ids(content)


def test_rebuild_reports_changes_against_the_previous_version(content, index_dir):
    indexer = Indexer(content, index_dir)
    first = indexer.rebuild()
    assert len(first.added) == 13 and not first.updated and not first.deleted
    edit(content / "centre-b" / "prairie.md", "Un jardin fleuri", "Un verger fleuri")
    (content / "centre-a" / "commerce-2016.md").unlink()
    second = indexer.rebuild()
    assert second.added == [] and second.updated == ["centre-b/prairie"]
    assert second.deleted == ["centre-a/commerce-2016"] and second.unchanged == 11

"""Index versions: a publication is a new version switched in whole, whatever happens.

The live version's search index, registry, centres, pages and attachments must always
agree, also when the writer is killed at any line; rebuild workers die with their parent;
a lock left by dead workers is taken back.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from indexer import statedb
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from indexer.store import IndexFolder, IndexLocked, Registry, StateStore
from kb.loader import load_tree

CORPUS = Path(__file__).parent / "fixtures" / "recherche"
ROOT = Path(__file__).resolve().parent.parent


def online_ids(index_dir: Path) -> set[str]:
    reader = SearchIndex(index_dir)
    try:
        result = reader.search(SearchRequest(per_page=100, with_suggestion=False, deep=True))
        return {hit.id for hit in result.hits}
    finally:
        reader.close()


def assert_consistent(index_dir: Path) -> set[str]:
    """Search, registry (what OAI-PMH and 410 pages read) and pages of the live version
    agree; returns the ids online."""
    reader = SearchIndex(index_dir)
    try:
        result = reader.search(SearchRequest(per_page=100, with_suggestion=False, deep=True))
        searched = {hit.id for hit in result.hits}
        registered = {e["id"] for e in reader.changes() if not e["retiree"]}
        assert searched == registered
        for resource_id in searched:
            page = reader.page(resource_id)
            assert page is not None and page["ressource"]["id"] == resource_id
        return searched
    finally:
        reader.close()


def test_each_change_is_a_new_version_sharing_the_previous_files(tmp_path):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    indexer = Indexer(content, index)
    indexer.update()
    folder = IndexFolder(index)
    first = folder.current()
    segment = next(first.glob("*.pst"))
    path = content / "centre-b" / "prairie.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nUn verger.\n", encoding="utf-8")
    indexer.update(["centre-b/prairie.md"])
    second = folder.current()
    assert second != first
    # Whoosh's files are shared, not copied.
    assert (second / segment.name).stat().st_ino == segment.stat().st_ino
    # Nothing changed: no new version.
    indexer.update(["centre-b/prairie.md"])
    assert folder.current() == second
    assert assert_consistent(index) == {r.id for r in load_tree(content).published}


def test_only_attachments_of_published_resources_are_kept(tmp_path):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    (content / "centre-a" / "annexe.pdf").write_bytes(b"%PDF-1.4 annexe")
    (content / "centre-a" / "secret.pdf").write_bytes(b"%PDF-1.4 secret")
    (content / "centre-a" / "brouillon.md").write_text(
        (content / "centre-a" / "commerce-2016.md")
        .read_text(encoding="utf-8")
        .replace("\ntype:", "\nstatut: brouillon\ntype:", 1)
        + "\n[Secret](secret.pdf)\n",
        encoding="utf-8",
    )
    sheet = content / "centre-a" / "commerce-2016.md"
    sheet.write_text(sheet.read_text(encoding="utf-8") + "\n[Annexe](annexe.pdf)\n")
    index = tmp_path / "index"
    Indexer(content, index).update()
    reader = SearchIndex(index)
    found = reader.piece("centre-a/annexe.pdf")
    assert found is not None and found[1].read_bytes() == b"%PDF-1.4 annexe"
    assert reader.piece("centre-a/secret.pdf") is None  # a draft's attachment
    assert reader.piece("centre-a/commerce-2016.md") is None
    reader.close()


def test_a_publication_leaves_the_collection_of_objects_for_after_its_answer(tmp_path, monkeypatch):
    """Collecting unused objects walks the whole object store (a second at 100,000
    resources): a publication flags it and runs it once the pusher has its answer."""
    from indexer import build

    monkeypatch.setattr(build, "COLLECT_EVERY", 1)
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    Indexer(content, index).update()
    folder = IndexFolder(index)
    stale = folder.objects.put(b"une page que plus aucune version ne nomme")
    old = time.time() - 7200
    os.utime(folder.objects.path(stale), (old, old))
    _edit(content, "verger")
    report = Indexer(content, index, defer_collection=True).update(["centre-b/prairie.md"])
    assert report.collection_due
    assert folder.objects.get(stale) is not None  # not walked while the pusher waits
    folder.collect_objects()
    assert folder.objects.get(stale) is None
    assert assert_consistent(index) == {r.id for r in load_tree(content).published}
    _edit(content, "potager")  # without deferring, the update collects by itself
    stale = folder.objects.put(b"une autre page sans version")
    os.utime(folder.objects.path(stale), (old, old))
    assert not Indexer(content, index).update(["centre-b/prairie.md"]).collection_due
    assert folder.objects.get(stale) is None


# --- the state shared by the versions (indexer/statedb.py) -----------------------------------


def _rows(index: Path, table: str, where: str = "1") -> int:
    db = sqlite3.connect(index / statedb.STATE)
    try:
        return db.execute(f"SELECT count(*) FROM {table}_v WHERE {where}").fetchone()[0]
    finally:
        db.close()


def _edit(content: Path, word: str) -> None:
    path = content / "centre-b" / "prairie.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\nUn {word}.\n", encoding="utf-8")


def test_a_publication_writes_the_rows_it_changes_not_a_copy_of_the_state(tmp_path):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    indexer = Indexer(content, index)
    indexer.update()
    files = _rows(index, "fichiers")
    for word in ("verger", "potager", "rucher", "poulailler", "compost"):
        _edit(content, word)
        indexer.update(["centre-b/prairie.md"])
    folder = IndexFolder(index)
    assert not any((g / statedb.STATE).exists() for g in folder.kept_generations())
    # Each publication added one row for the file it changed; the rows no kept version
    # sees any more are gone.
    kept = len(folder.kept_generations())
    assert _rows(index, "fichiers") <= files + kept
    assert _rows(index, "fichiers", "v_fin IS NULL") == files
    assert assert_consistent(index) == {r.id for r in load_tree(content).published}


def test_a_version_keeps_reading_its_own_state_while_the_next_one_is_written(tmp_path):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    indexer = Indexer(content, index)
    indexer.update()
    old = IndexFolder(index).current()
    (content / "centre-a" / "commerce-2016.md").unlink()
    indexer.update(["centre-a/commerce-2016.md"])
    new = IndexFolder(index).current()
    assert new != old
    # The old version's state is unchanged; the new one has the removal.
    old_state = StateStore(old, read_only=True)
    new_state = StateStore(new, read_only=True)
    try:
        assert "centre-a/commerce-2016.md" in old_state.paths()
        assert "centre-a/commerce-2016.md" not in new_state.paths()
    finally:
        old_state.close()
        new_state.close()
    old_registry = Registry(old, read_only=True)
    try:
        assert old_registry.lookup("centre-a/commerce-2016")["retiree"] is None
    finally:
        old_registry.close()
    assert "centre-a/commerce-2016" not in assert_consistent(index)


def test_rows_of_a_version_that_never_went_online_are_removed(tmp_path):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    Indexer(content, index).update()
    folder = IndexFolder(index)
    online = folder.current()
    before = assert_consistent(index)
    # A writer that died after writing its rows, before the switch.
    with folder.writer_lock():
        unfinished = folder.clone(online)
        state = StateStore(unfinished)
        state.apply([], ["centre-a/commerce-2016.md", "centre-b/prairie.md"])
        state.close()
        registry = Registry(unfinished)
        registry.removed(["centre-a/commerce-2016"])
        registry.close()
    number = statedb.generation_number(unfinished)
    assert _rows(index, "fichiers", f"v_fin = {number}") == 2
    assert assert_consistent(index) == before  # nobody reads them
    # The next writer removes them and starts from the version online.
    _edit(content, "verger")
    Indexer(content, index).update(["centre-b/prairie.md"])
    assert _rows(index, "fichiers", f"v_debut = {number} AND path != 'centre-b/prairie.md'") == 0
    assert "centre-a/commerce-2016" in assert_consistent(index)
    assert SearchIndex(index).search(SearchRequest(q="verger")).total == 1


def test_an_index_whose_versions_kept_their_own_state_goes_on(tmp_path):
    """Indexes written before the shared state: the live version has its own etat.sqlite;
    the next publication takes its rows (registry dates included) and goes on."""
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    Indexer(content, index).update()
    folder = IndexFolder(index)
    current = folder.current()
    first = Registry(current, read_only=True).lookup("centre-b/prairie")["premiere"]
    # Make it an index of the former layout: the version's state in a file of its own.
    shared = sqlite3.connect(index / statedb.STATE)
    own = sqlite3.connect(current / statedb.STATE)
    for name, table in statedb.TABLES.items():
        columns = ", ".join(table.columns)
        own.execute(f"CREATE TABLE {name} ({columns}, PRIMARY KEY ({', '.join(table.key)}))")
        names = ", ".join(table.names)
        rows = shared.execute(f"SELECT {names} FROM {name}_v WHERE v_fin IS NULL").fetchall()
        own.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(table.names))})", rows)
    own.commit()
    own.close()
    shared.close()
    for leftover in index.glob(statedb.STATE + "*"):
        leftover.unlink()
    assert not statedb.is_shared(current)
    before = assert_consistent(index)
    # Nothing to publish: no new version, but the state is taken over once and for all.
    Indexer(content, index).update(["centre-b/prairie.md"])
    assert folder.current() == current
    assert _rows(index, "fichiers") > 0
    _edit(content, "verger")
    Indexer(content, index).update(["centre-b/prairie.md"])
    assert folder.current() != current and statedb.is_shared(folder.current())
    assert assert_consistent(index) == before
    assert (
        Registry(folder.current(), read_only=True).lookup("centre-b/prairie")["premiere"] == first
    )


# --- kill -9 at any line of an update --------------------------------------------------------

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from indexer.build import Indexer

    content, index, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
    paths = sys.argv[4:]
    count = 0
    watched = ("indexer/build.py", "indexer/store.py", "indexer/statedb.py")

    def line(frame, event, arg):
        global count
        if event == "line":
            count += 1
            if count == target:
                os.kill(os.getpid(), signal.SIGKILL)
        return line

    def call(frame, event, arg):
        return line if frame.f_code.co_filename.endswith(watched) else None

    sys.settrace(call)
    Indexer(content, index).update(paths)
    sys.settrace(None)
    print(count)
    """
)

CHANGED = [
    "centre-b/prairie.md",
    "centre-a/commerce-2016.md",
    "centre-a/nouvelle.md",
    "centre-b/_centre.md",
]


def _prepare_change(content: Path) -> None:
    prairie = content / "centre-b" / "prairie.md"
    prairie.write_text(
        prairie.read_text(encoding="utf-8").replace("Un jardin fleuri", "Un verger fleuri"),
        encoding="utf-8",
    )
    nouvelle = (content / "centre-b" / "prairie.md").read_text(encoding="utf-8")
    (content / "centre-a" / "nouvelle.md").write_text(
        nouvelle.replace("Un verger fleuri", "Une ressourcerie toute neuve"), encoding="utf-8"
    )
    (content / "centre-a" / "commerce-2016.md").unlink()
    card = content / "centre-b" / "_centre.md"
    card.write_text(card.read_text(encoding="utf-8").replace("nom:", "nom: Nouveau", 1))


def _kill_at(content: Path, index: Path, target: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(content), str(index), str(target), *CHANGED],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.slow
def test_kill_9_at_any_line_of_an_update_keeps_the_version_whole(tmp_path):
    base_content = tmp_path / "base-contenu"
    shutil.copytree(CORPUS, base_content)
    base_index = tmp_path / "base-index"
    Indexer(base_content, base_index).update()
    before = assert_consistent(base_index)
    _prepare_change(base_content)
    expected = {r.id for r in load_tree(base_content).published}
    assert expected != before

    # How many lines of indexer/build.py, store.py and statedb.py one update runs.
    probe_index = tmp_path / "sonde"
    shutil.copytree(base_index, probe_index)
    probe = _kill_at(base_content, probe_index, 0)
    assert probe.returncode == 0, probe.stderr
    total = int(probe.stdout.strip())
    assert total > 200

    targets = sorted({1 + (total - 1) * k // 39 for k in range(40)})
    for target in targets:
        index = tmp_path / f"index-{target}"
        shutil.copytree(base_index, index)
        killed = _kill_at(base_content, index, target)
        assert killed.returncode == -signal.SIGKILL, (target, killed.stderr)
        # Whatever the line, the live version is the old one or the new one, whole.
        assert assert_consistent(index) in (before, expected), target
        # And the next run brings it to the new one.
        Indexer(base_content, index, lock_timeout=5).update(CHANGED)
        assert assert_consistent(index) == expected, target
        reader = SearchIndex(index)
        assert reader.search(SearchRequest(q="verger")).total == 1
        assert reader.centres()["centre-b"]["nom"].startswith("Nouveau")
        reader.close()
        shutil.rmtree(index)


# --- rebuild workers and the lock ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_rebuild_workers_die_with_their_parent(tmp_path):
    from bench.corpus import CorpusGenerator

    content = CorpusGenerator(seed=3).write(tmp_path / "corpus", 300, centres=3)
    index = tmp_path / "index"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb.cli",
            "index",
            "--rebuild",
            "--content",
            str(content),
            "--index",
            str(index),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not workers:
        workers = _children(process.pid)
        time.sleep(0.02)
    assert workers, "the rebuild started no worker"
    os.kill(process.pid, signal.SIGKILL)  # the parent only, as the OOM killer would
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers)
    # The lock is free: the next run does not wait for it (IndexLocked after 5 s).
    Indexer(content, index, lock_timeout=5).update()
    assert online_ids(index)


ORPHAN = textwrap.dedent(
    """
    import os, sys, time
    from indexer.store import IndexFolder

    folder = IndexFolder(sys.argv[1])
    with folder.writer_lock():
        if os.fork() == 0:  # a worker that outlives its parent, holding the lock
            print(os.getpid(), flush=True)
            time.sleep(60)
            os._exit(0)
        time.sleep(0.5)
        os._exit(0)  # the parent dies without releasing anything
    """
)


def test_a_lock_held_by_a_live_writer_is_waited_for(tmp_path):
    index = tmp_path / "index"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom indexer.store import IndexFolder\n"
            "with IndexFolder(sys.argv[1]).writer_lock():\n    print('ok', flush=True)\n"
            "    time.sleep(30)",
            str(index),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(IndexLocked):
            with IndexFolder(index).writer_lock(timeout=0.5):
                pass
        assert holder.poll() is None  # never stopped: its owner is alive
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_by_orphaned_workers_is_taken_back(tmp_path, caplog):
    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    Indexer(content, index).update()
    holder = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, str(index)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    orphan = int(holder.stdout.readline())
    holder.wait()
    try:
        assert _alive(orphan)
        # The owner is dead: the next writer stops the orphan and goes on.
        prairie = content / "centre-b" / "prairie.md"
        prairie.write_text(prairie.read_text(encoding="utf-8") + "\nUn verger.\n")
        with caplog.at_level("WARNING"):
            Indexer(content, index, lock_timeout=10).update(["centre-b/prairie.md"])
        assert "périmé" in caplog.text and str(orphan) in caplog.text
        assert not _alive(orphan)
    finally:
        if _alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_a_deleted_resource_never_leads_to_another_centres_page(tmp_path):
    from webapp import create_app

    content = tmp_path / "contenu"
    shutil.copytree(CORPUS, content)
    index = tmp_path / "index"
    indexer = Indexer(content, index)
    indexer.update()
    client = create_app({"KB_CONTENT": content, "KB_INDEX": index}).test_client()
    assert client.get("/ressources/centre-b/prairie").status_code == 200
    # Another centre claims the address as an alias, then centre-b deletes its sheet.
    squatter = content / "centre-a" / "commerce-2016.md"
    squatter.write_text(
        squatter.read_text(encoding="utf-8").replace(
            "\ntype:", "\nalias: [centre-b/prairie]\ntype:", 1
        ),
        encoding="utf-8",
    )
    (content / "centre-b" / "prairie.md").unlink()
    indexer.update(["centre-a/commerce-2016.md", "centre-b/prairie.md"])
    response = client.get("/ressources/centre-b/prairie")
    assert response.status_code == 410
    # Within a centre, a renamed sheet's former address still leads to it.
    renamed = content / "centre-a" / "commerce-renomme.md"
    renamed.write_text(
        squatter.read_text(encoding="utf-8").replace(
            "alias: [centre-b/prairie]", "alias: [centre-b/prairie, commerce-2016]"
        ),
        encoding="utf-8",
    )
    squatter.unlink()
    indexer.update(["centre-a/commerce-2016.md", "centre-a/commerce-renomme.md"])
    moved = client.get("/ressources/centre-a/commerce-2016")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith("/ressources/centre-a/commerce-renomme")
    assert client.get("/ressources/centre-b/prairie").status_code == 410


def test_a_process_running_threads_rebuilds_without_forking(tmp_path, monkeypatch):
    """Forking a process that runs threads (the web app, the webhook) can deadlock the
    child: there, a rebuild runs in one process."""
    import multiprocessing
    import threading

    from bench.corpus import CorpusGenerator
    from indexer import build

    content = CorpusGenerator(seed=5).write(tmp_path / "corpus", 250, centres=2)
    forks = []
    real_get_context = multiprocessing.get_context
    monkeypatch.setattr(
        "kb.loader.multiprocessing.get_context",
        lambda *a: forks.append(a) or real_get_context(*a),
    )
    monkeypatch.setattr(build, "WORKERS", 2)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        report = Indexer(content, tmp_path / "index").rebuild()
    finally:
        release.set()
        other.join()
    assert not forks
    assert len(report.added) == 250
    # When forking is safe, the same rebuild uses worker processes: the switch is what
    # kept them away (other tests may leave threads in this process, so it is forced).
    monkeypatch.setattr(build, "parallel_allowed", lambda: True)
    Indexer(content, tmp_path / "index2").rebuild()
    assert forks

"""The publication queue: every request to publish (git hook, webhook, `kb sync`) is
written to disk first, then worked by one publisher at a time.

    <index>/file-publication.sqlite    the requests and what became of them

A request is done only once its publication succeeded (or was refused for a reason the
pusher must fix); one that fails (lock, network, crash, kill -9) stays waiting and is
taken again by the next worker: the next push, webhook, `kb sync`, or the cron line
`kb publication traiter`. Requests for the same branch of the same repository are merged:
publishing the newest commit publishes the older ones too. A webhook redelivered for a
commit already online is recognised by its commit, not by a delivery id that anyone could
change. A request for a `[[sources]]` repository names its source (`nom_source`, with the
centres it provides): it is worked on its own, and one source that fails or is refused
never holds back the requests of the others.

The worker is a separate process (never a thread of a web worker, which gunicorn may
restart at any time): the webhook starts `kb publication traiter` in its own session and
answers 202 at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.store import exclusive_lock, now_iso

from .results import FAILED, PUBLISHED, REFUSED, UNCHANGED, PublishResult
from .sources import MAIN, Source

if TYPE_CHECKING:  # the publisher loads the indexer: those who only queue never need it
    from .publisher import Publisher

QUEUE_FILE = "file-publication.sqlite"
WORKER_LOCK = "file-publication.verrou"
WAITING, RUNNING, DONE, REFUSED_STATE, ABANDONED = (
    "attente",
    "en_cours",
    "faite",
    "refusee",
    "abandonnee",
)
MAX_ATTEMPTS = 5
FINAL = (DONE, REFUSED_STATE, ABANDONED)
MAX_LINES = 500  # result lines kept with a request (the log file has them all)
MAX_LINE_LENGTH = 2000
WAIT_POLL = 0.02  # seconds between two looks at a request being worked


@dataclass(frozen=True)
class Request:
    id: int
    source: str  # who asked: post-receive, webhook, kb sync
    remote: str
    branch: str
    commit: str | None  # None: the tip of the branch when it is worked
    validate: bool
    state: str
    attempts: int
    message: str
    received: str
    finished: str | None
    target: str = MAIN  # the `[[sources]]` name; MAIN: the main repository
    centres: tuple[str, ...] = ()  # the centres of that source, when it was asked
    # What its publication printed (errors, warnings), for a process that waited for it.
    lines: tuple[str, ...] = ()

    @property
    def key(self) -> tuple:
        """Requests with the same key are covered by the newest one."""
        return (self.target, self.remote, self.branch, self.validate)

    def as_source(self, configured: list[Source]) -> Source:
        """The source to publish: the configured one, else as the request recorded it
        (a harvest publishes a source of its own, not in kb.toml)."""
        for source in configured:
            if source.nom == self.target:
                return source
        return Source(self.target, self.remote, self.branch, self.centres)


_COLUMNS = (
    "id, source, depot, branche, commit_, verifier, etat, tentatives, message, recue, fin, "
    "nom_source, centres, lignes"
)


class PublicationQueue:
    def __init__(self, index: Path | str) -> None:
        self.index = Path(index)
        self.index.mkdir(parents=True, exist_ok=True)
        self.path = self.index / QUEUE_FILE
        self._ready = False  # the schema was checked by this object (once is enough)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        fresh = not self._ready or not self.path.exists()  # (the index folder was reset)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            if fresh:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS demandes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    "source TEXT, depot TEXT, branche TEXT, commit_ TEXT, verifier INTEGER, "
                    "etat TEXT, tentatives INTEGER DEFAULT 0, message TEXT DEFAULT '', "
                    "recue TEXT, fin TEXT, nom_source TEXT DEFAULT '', centres TEXT DEFAULT '', "
                    "lignes TEXT DEFAULT '')"
                )
                db.execute("CREATE INDEX IF NOT EXISTS demandes_etat ON demandes(etat, id)")
                _add_columns(db)
                self._ready = True
            yield db
        finally:
            db.close()

    def add(
        self,
        source: str,
        remote: str,
        branch: str,
        commit: str | None = None,
        validate: bool = True,
        target: Source | None = None,
    ) -> Request:
        """Record a request (or return the untried waiting one that already asks the same).
        `target`: the `[[sources]]` repository to publish (None: the main one)."""
        name = target.nom if target else MAIN
        centres = json.dumps(list(target.centres) if target else [])
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                f"SELECT {_COLUMNS} FROM demandes WHERE etat IN (?, ?) AND depot=? AND "
                "branche=? AND commit_ IS ? AND verifier=? AND nom_source=? "
                "ORDER BY id DESC LIMIT 1",
                (WAITING, RUNNING, remote, branch, commit, int(validate), name),
            ).fetchone()
            # The same request already waiting is returned, unless it failed: a new one then
            # says "try it now" (the service only looks at untried requests between its
            # rounds); both are worked together and end together.
            if row is not None and row[6] == WAITING and not row[7]:
                db.execute("COMMIT")
                return Request(*_decode(row))
            cursor = db.execute(
                "INSERT INTO demandes (source, depot, branche, commit_, verifier, etat, recue, "
                "nom_source, centres) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (source, remote, branch, commit, int(validate), WAITING, now_iso(), name, centres),
            )
            request_id = cursor.lastrowid
            db.execute("COMMIT")
        found = self.get(request_id)
        assert found is not None
        return found

    def get(self, request_id: int) -> Request | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM demandes WHERE id=?", (request_id,))
            found = row.fetchone()
        return None if found is None else Request(*_decode(found))

    def pending(self) -> list[Request]:
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM demandes WHERE etat IN (?, ?) ORDER BY id",
                (WAITING, RUNNING),
            ).fetchall()
        return [Request(*_decode(r)) for r in rows]

    def recent(self, limit: int = 20) -> list[Request]:
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM demandes ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Request(*_decode(r)) for r in rows]

    def has_new(self) -> bool:
        """Whether a request waits that no worker has tried yet (cheap enough to ask
        every few milliseconds: one indexed query, no schema work)."""
        if not self.path.exists():
            return False
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            row = db.execute(
                "SELECT 1 FROM demandes WHERE etat=? AND tentatives=0 LIMIT 1", (WAITING,)
            ).fetchone()
        except sqlite3.OperationalError:  # no table yet (created by the first request)
            return False
        finally:
            db.close()
        return row is not None

    def _set(
        self,
        ids: list[int],
        state: str,
        message: str,
        attempt: bool = False,
        lines: list[str] | None = None,
    ) -> None:
        stored = json.dumps(_capped(lines or []), ensure_ascii=False)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            for request_id in ids:
                db.execute(
                    "UPDATE demandes SET etat=?, message=?, fin=?, "
                    "tentatives=tentatives+?, lignes=? WHERE id=?",
                    (
                        state,
                        message[:2000],
                        now_iso() if state in FINAL else None,
                        int(attempt),
                        stored,
                        request_id,
                    ),
                )
            db.execute("COMMIT")

    # --- the worker

    def work(
        self,
        publisher: Publisher,
        wait: float = 0.0,
        stop: Callable[[], bool] | None = None,
    ) -> list[tuple[Request, PublishResult]]:
        """Publish what is waiting, until nothing is; one worker at a time (another one
        already at work takes what was added: this returns at once, or after `wait`
        seconds when told to wait for it). `stop`: asked before each publication; when it
        says so, the rest is left waiting (for the next worker)."""
        done: list[tuple[Request, PublishResult]] = []
        while True:
            try:
                with exclusive_lock(self.index / WORKER_LOCK, wait, _Busy()):
                    done += self._work_locked(publisher, stop)
            except _Busy:
                return done
            if stop is not None and stop():
                return done
            # Added between our last look and the release of the lock: look again (a request
            # that failed waits for the next run, not for a tight loop).
            if not self.has_new():
                return done

    def _work_locked(
        self, publisher: Publisher, stop: Callable[[], bool] | None
    ) -> list[tuple[Request, PublishResult]]:
        done = []
        tried: set[tuple] = set()  # a group that failed is not tried again in this run
        # Holding the lock, nothing else is running: a request left running was killed.
        with self._db() as db:
            db.execute("UPDATE demandes SET etat=? WHERE etat=?", (WAITING, RUNNING))
        while True:
            if stop is not None and stop():
                return done
            waiting = [r for r in self.pending() if r.state == WAITING and r.key not in tried]
            if not waiting:
                return done
            key = waiting[0].key
            # The newest request for the same branch of the same repository covers the
            # older ones (a branch only moves forward); a request that must be validated
            # is never covered by one that need not be.
            group = [r for r in waiting if r.key == key]
            newest = group[-1]
            ids = [r.id for r in group]
            self._set(ids, RUNNING, "publication en cours")
            publisher.defer_deploy = True
            if newest.target != MAIN:
                result = publisher.publish_source(
                    newest.as_source(publisher.sources), requested_by=newest.source
                )
            else:
                result = publisher.publish(
                    newest.remote,
                    newest.branch,
                    validate=newest.validate,
                    source=newest.source,
                    commit=newest.commit,
                )
            message, lines = result.summary(), result.lines
            if result.outcome in (PUBLISHED, UNCHANGED):
                self._set(ids, DONE, message, attempt=True, lines=lines)
                # The pusher waiting for this request is answered; then the deployed folder
                # (for operators, not read by the site) follows, and any collection due.
                publisher.finish_pending()
            elif result.outcome == REFUSED:
                self._set(ids, REFUSED_STATE, message, attempt=True, lines=lines)
            else:
                assert result.outcome == FAILED
                tried.add(key)
                retry = [r.id for r in group if r.attempts + 1 < MAX_ATTEMPTS]
                given_up = [r.id for r in group if r.attempts + 1 >= MAX_ATTEMPTS]
                self._set(retry, WAITING, message, attempt=True, lines=lines)
                self._set(given_up, ABANDONED, message, attempt=True, lines=lines)
            done.append((newest, result))

    def wait_for(
        self, request_id: int, timeout: float, alive: Callable[[], bool] | None = None
    ) -> Request | None:
        """Wait until a request is done (another worker may be working it). `alive`:
        whether the worker counted on is still there; when it is not, the request is
        returned as it is, unfinished (the caller then works the queue itself)."""
        deadline = time.monotonic() + timeout
        while True:
            request = self.get(request_id)
            if request is None or request.state in FINAL or time.monotonic() >= deadline:
                return request
            if request.state == WAITING and request.attempts and not self._worker_busy():
                return request  # failed and waiting for a retry
            if alive is not None and not alive():
                # Looked at again: it may have been finished just before the worker left.
                return self.get(request_id)
            time.sleep(WAIT_POLL)

    def _worker_busy(self) -> bool:
        try:
            with exclusive_lock(self.index / WORKER_LOCK, 0, _Busy()):
                return False
        except _Busy:
            return True


class _Busy(Exception):
    pass


def _add_columns(db: sqlite3.Connection) -> None:
    """Queues written before `[[sources]]` get the source's columns, and those written
    before the service the result lines (once, by whichever process gets there first)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(demandes)")}
    for name in ("nom_source", "centres", "lignes"):
        if name not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # added meanwhile by another
                db.execute(f"ALTER TABLE demandes ADD COLUMN {name} TEXT DEFAULT ''")


def _decode(row: tuple) -> tuple:
    values = list(row)
    values[5] = bool(values[5])
    values[8] = values[8] or ""
    values[11] = values[11] or MAIN
    try:
        centres = json.loads(values[12] or "[]")
    except ValueError:
        centres = []
    values[12] = tuple(c for c in centres if isinstance(c, str))
    try:
        lines = json.loads(values[13] or "[]")
    except ValueError:
        lines = []
    values[13] = (
        tuple(line for line in lines if isinstance(line, str)) if isinstance(lines, list) else ()
    )
    return tuple(values)


def _capped(lines: list[str]) -> list[str]:
    """At most MAX_LINES lines of at most MAX_LINE_LENGTH characters; the last one says
    how many were left out (all of them are in the publication log)."""
    kept = [line[:MAX_LINE_LENGTH] for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        kept[-1] = (
            f"… et {len(lines) - MAX_LINES + 1} autres lignes : voir le journal de publication "
            "du serveur"
        )
    return kept


def start_worker(config_file: Path | None, index: Path, content: Path) -> None:
    """Start `kb publication traiter` in its own session: it outlives the web worker that
    started it, and exits when the queue is empty. Nothing is started when the publication
    service runs (publishing/service.py): it takes the request within milliseconds."""
    from .service import is_running, wake

    if is_running(index):
        wake(index)
        return
    command = [
        sys.executable,
        "-m",
        "kb.cli",
        "publication",
        "traiter",
        "--index",
        str(Path(index).absolute()),
        "--content",
        str(Path(content).absolute()),
    ]
    if config_file is not None:
        command += ["--config", str(Path(config_file).absolute())]
    subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env={**os.environ},
    )

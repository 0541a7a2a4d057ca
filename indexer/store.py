"""The index folder: generations, the pointer to the live one, the writer lock, state.

    <index>/
      ACTUEL              name of the live generation (replaced atomically)
      verrou              writer lock (flock: released if the process dies)
      registre.sqlite     every id ever published, kept across rebuilds (for 410 pages)
      gen-000007/         a Whoosh index + etat.sqlite (files indexed, hashes) + infos.json

Readers only open the generation named in ACTUEL. A rebuild writes a new generation and
then replaces ACTUEL; an interrupted rebuild leaves an unused folder that the next run
removes. Incremental updates commit into the live generation (Whoosh commits atomically:
the table of contents is written under a temporary name and renamed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POINTER = "ACTUEL"
LOCK = "verrou"
REGISTRY = "registre.sqlite"
STATE = "etat.sqlite"
INFO = "infos.json"
PREFIX = "gen-"


class IndexLocked(Exception):
    """Another process holds the writer lock."""


class IndexMissing(Exception):
    """There is no usable index in the folder."""


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


class IndexFolder:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # --- generations

    def current_name(self) -> str | None:
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if name.startswith(PREFIX) and (self.root / name).is_dir():
            return name
        return None

    def current(self) -> Path:
        name = self.current_name()
        if name is None:
            raise IndexMissing(f"aucun index dans {self.root} : lancez « kb index »")
        return self.root / name

    def exists(self) -> bool:
        return self.current_name() is not None

    def pointer_stamp(self) -> tuple[int, int] | None:
        """Changes whenever ACTUEL is replaced (cheap to poll)."""
        try:
            stat = (self.root / POINTER).stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns)

    def new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [
            int(p.name[len(PREFIX) :])
            for p in self.root.glob(f"{PREFIX}*")
            if p.name[len(PREFIX) :].isdigit()
        ]
        path = self.root / f"{PREFIX}{max(numbers, default=0) + 1:06d}"
        path.mkdir()
        return path

    def switch_to(self, generation: Path) -> None:
        write_atomically(self.root / POINTER, generation.name + "\n")

    def remove_stale(self, keep_previous: int = 1) -> None:
        """Delete unfinished generations and all but the newest old ones."""
        current = self.current_name()
        if current is None:
            return
        older = sorted(p for p in self.root.glob(f"{PREFIX}*") if p.name != current)
        newer_than_current = [p for p in older if p.name > current]  # interrupted rebuilds
        kept_old = [p for p in older if p.name < current][-keep_previous:] if keep_previous else []
        for path in older:
            if path in newer_than_current or path not in kept_old:
                shutil.rmtree(path, ignore_errors=True)

    # --- lock

    @contextlib.contextmanager
    def writer_lock(self, timeout: float = 30.0) -> Iterator[None]:
        message = (
            f"l'index {self.root} est en cours de mise à jour par un autre processus "
            f"(attente de {timeout:.0f} s dépassée) : réessayez dans un instant"
        )
        with exclusive_lock(self.root / LOCK, timeout, IndexLocked(message)):
            yield

    # --- information about a generation

    @staticmethod
    def read_info(generation: Path) -> dict:
        try:
            return json.loads((generation / INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    @staticmethod
    def write_info(generation: Path, info: dict) -> None:
        write_atomically(generation / INFO, json.dumps(info, ensure_ascii=False, indent=1))


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float, timed_out: Exception) -> Iterator[None]:
    """Hold an flock on `path`, waiting up to `timeout` seconds, else raise `timed_out`.
    The kernel releases it if the process dies, even with kill -9."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise timed_out from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# --- per-generation state: what each file was when it was indexed ---------------------------


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    mtime_ns: int
    hash: str
    id: str | None  # None when the file was invalid or is not a resource
    indexed: bool  # True when a version of this file is in the index


class StateStore:
    def __init__(self, generation: Path) -> None:
        self.db = sqlite3.connect(generation / STATE, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS fichiers (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, hash TEXT, id TEXT, indexed INTEGER, valide INTEGER)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS fichiers_id ON fichiers(id)")

    def close(self) -> None:
        self.db.close()

    def get(self, path: str) -> tuple[FileState, bool] | None:
        row = self.db.execute(
            "SELECT path, size, mtime_ns, hash, id, indexed, valide FROM fichiers WHERE path=?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        return FileState(*row[:4], row[4], bool(row[5])), bool(row[6])

    def indexed_hashes(self) -> dict[str, str]:
        """id -> content hash of every file whose version is in the index."""
        rows = self.db.execute("SELECT id, hash FROM fichiers WHERE indexed=1 AND id IS NOT NULL")
        return dict(rows.fetchall())

    def paths(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT path FROM fichiers")}

    def invalid_paths(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT path FROM fichiers WHERE valide=0")}

    def paths_for_id(self, resource_id: str) -> list[str]:
        return [
            r[0] for r in self.db.execute("SELECT path FROM fichiers WHERE id=?", (resource_id,))
        ]

    def paths_under(self, prefix: str) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT path FROM fichiers WHERE substr(path, 1, ?) = ?", (len(prefix), prefix)
            )
        ]

    def apply(self, upserts: list[tuple[FileState, bool]], deletions: list[str]) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO fichiers VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (s.path, s.size, s.mtime_ns, s.hash, s.id, int(s.indexed), int(valid))
                    for s, valid in upserts
                ],
            )
            self.db.executemany("DELETE FROM fichiers WHERE path=?", [(p,) for p in deletions])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


# --- the registry of every id ever published -------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """What the registry keeps of a published resource.

    `empreinte` fingerprints everything its public description is made of (file, centre,
    vocabularies): when it changes, the record's `modifiee` time moves (OAI-PMH datestamps).
    """

    id: str
    titre: str
    date: str
    empreinte: str = ""
    piliers: tuple[str, ...] = ()


REGISTRY_COLUMNS = (
    "id",
    "titre",
    "date",
    "premiere",  # first published
    "derniere",  # last seen published (every indexing run)
    "retiree",  # when it left the index (NULL while online)
    "modifiee",  # when its description last changed in the index
    "empreinte",
    "piliers",  # comma-separated, for OAI-PMH sets
)


class Registry:
    """Survives rebuilds, so that a removed resource can answer 410 Gone with its title,
    and harvesters can be told what changed, and what was deleted, since a given time."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(root / REGISTRY, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS publications (id TEXT PRIMARY KEY, titre TEXT, "
            "date TEXT, premiere TEXT, derniere TEXT, retiree TEXT)"
        )
        # Registries written before harvesting existed lack the last three columns.
        present = {row[1] for row in self.db.execute("PRAGMA table_info(publications)")}
        for column in ("modifiee", "empreinte", "piliers"):
            if column not in present:
                self.db.execute(f"ALTER TABLE publications ADD COLUMN {column} TEXT")

    def close(self) -> None:
        self.db.close()

    def published(self, entries: list[Publication]) -> None:
        """Record these resources as online now; `modifiee` moves only for a resource that
        is new, back online, or whose fingerprint changed."""
        stamp = now_iso()
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO publications VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?) ON CONFLICT(id) "
            "DO UPDATE SET titre=excluded.titre, date=excluded.date, "
            "derniere=excluded.derniere, retiree=NULL, "
            "modifiee=CASE WHEN retiree IS NOT NULL OR modifiee IS NULL "
            "OR empreinte IS NOT excluded.empreinte THEN excluded.modifiee ELSE modifiee END, "
            "empreinte=excluded.empreinte, piliers=excluded.piliers",
            [
                (e.id, e.titre, e.date, stamp, stamp, stamp, e.empreinte, ",".join(e.piliers))
                for e in entries
            ],
        )
        self.db.execute("COMMIT")

    def removed(self, ids: list[str]) -> None:
        stamp = now_iso()
        self.db.execute("BEGIN")
        self.db.executemany(
            "UPDATE publications SET retiree=? WHERE id=? AND retiree IS NULL",
            [(stamp, i) for i in ids],
        )
        self.db.execute("COMMIT")

    def sync(self, online: dict[str, Publication]) -> None:
        """After a rebuild: everything online is published, everything else is removed."""
        self.published(list(online.values()))
        known = {r[0] for r in self.db.execute("SELECT id FROM publications WHERE retiree IS NULL")}
        self.removed(sorted(known - set(online)))

    def lookup(self, resource_id: str) -> dict | None:
        row = self.db.execute(
            f"SELECT {', '.join(REGISTRY_COLUMNS)} FROM publications WHERE id=?",
            (resource_id,),
        ).fetchone()
        return None if row is None else _entry(row)

    # --- what changed when (OAI-PMH)

    def changes(
        self,
        since: str | None = None,
        until: str | None = None,
        centre: str | None = None,
        pilier: str | None = None,
        after: str = "",
        limit: int | None = None,
    ) -> list[dict]:
        """Entries, online or removed, whose `datestamp` (last change, or removal) lies in
        [since, until], in id order from after `after`. Times are `now_iso()` strings."""
        where, values = _change_filter(since, until, centre, pilier)
        where.append("id > ?")
        values.append(after)
        sql = (
            f"SELECT {', '.join(REGISTRY_COLUMNS)} FROM publications "
            f"WHERE {' AND '.join(where)} ORDER BY id"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_entry(row) for row in self.db.execute(sql, values)]

    def count_changes(
        self,
        since: str | None = None,
        until: str | None = None,
        centre: str | None = None,
        pilier: str | None = None,
    ) -> int:
        where, values = _change_filter(since, until, centre, pilier)
        sql = f"SELECT count(*) FROM publications WHERE {' AND '.join(where) or '1'}"
        return self.db.execute(sql, values).fetchone()[0]

    def earliest(self) -> str | None:
        """The oldest datestamp in the registry."""
        return self.db.execute(f"SELECT min({_DATESTAMP}) FROM publications").fetchone()[0]


_DATESTAMP = "COALESCE(retiree, modifiee, derniere, premiere)"


def _change_filter(since, until, centre, pilier) -> tuple[list[str], list]:
    where: list[str] = []
    values: list = []
    if since:
        where.append(f"{_DATESTAMP} >= ?")
        values.append(since)
    if until:
        where.append(f"{_DATESTAMP} <= ?")
        values.append(until)
    if centre:
        where.append("substr(id, 1, ?) = ?")
        values += [len(centre) + 1, centre + "/"]
    if pilier:
        where.append("instr(',' || COALESCE(piliers, '') || ',', ?) > 0")
        values.append(f",{pilier},")
    return where, values


def _entry(row: tuple) -> dict:
    entry = dict(zip(REGISTRY_COLUMNS, row, strict=True))
    entry["piliers"] = [p for p in (entry["piliers"] or "").split(",") if p]
    entry["datestamp"] = entry["retiree"] or entry["modifiee"] or entry["derniere"]
    return entry


def published_ids(root: Path | str) -> list[str]:
    """Ids online according to the registry of an index folder (read only; [] when there
    is no registry yet). What `kb check` compares the content with."""
    path = Path(root) / REGISTRY
    if not path.is_file():
        return []
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("SELECT id FROM publications WHERE retiree IS NULL ORDER BY id")
            return [row[0] for row in rows]
        finally:
            db.close()
    except sqlite3.Error:
        return []

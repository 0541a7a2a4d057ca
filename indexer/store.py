"""The index folder: versions, the pointer to the live one, the writer lock, shared objects.

    <index>/
      ACTUEL              name of the live version (replaced atomically)
      verrou              writer lock (flock: released if the process dies)
      objets/ab/abcd…     content-addressed, immutable: rendered pages, attachments
      etat.sqlite         the state of every kept version (indexer/statedb.py): files
                          indexed (path, hashes, page), attachments, near-duplicates, and
                          the registry of every id ever published (for 410 pages,
                          first-publication dates and harvesters)
      gen-000007/         one published version:
        (Whoosh files)      the search index
        centres.json        the centre cards (name, region, site, rendered presentation)
        infos.json          when, from which commit, with which vocabularies

Every change, even one file, writes a NEW version: Whoosh's segment files are immutable
(deletions live in the pickled table of contents), so the previous version's files are
hard-linked into the new folder, the change is written there and into the state as the
new version's rows (which no reader of the live version sees), then ACTUEL is replaced.
Readers therefore see either the old version or the new one, whole: index, registry,
centres, pages and attachments change together, and a process killed at any line leaves
the live version untouched (the next run removes the unfinished folder and its rows).
Objects are written before the version that names them and removed only when no kept
version names them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import statedb
from .statedb import STATE

log = logging.getLogger(__name__)

POINTER = "ACTUEL"
LOCK = "verrou"
REGISTRY = "registre.sqlite"
INFO = "infos.json"
PREFIX = "gen-"


class IndexLocked(Exception):
    """Another process holds the writer lock."""


class IndexMissing(Exception):
    """There is no usable index in the folder."""


OBJECTS = "objets"
LEGACY_REGISTRY = REGISTRY  # before versions held their registry, it lived at the root
# A version replaced less than this long ago is kept: a request that opened it just before
# the switch finishes with it (readers look at ACTUEL on every request).
GRACE_SECONDS = 120
KEEP_PREVIOUS = 2
# Files of a version that are its own (copied or rewritten), not Whoosh's immutable files.
OWN_FILES = (STATE, INFO, "centres.json")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _sync_files(folder: Path) -> None:
    """Flush a new version's files to disk before the pointer names it (Whoosh does not).
    Files hard-linked from the previous version were flushed when they were written."""
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if path.stat().st_nlink > 1:
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


class IndexFolder:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).absolute()

    # --- versions

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
        """The folder of the next version, its state ready to be written (the writer lock
        held)."""
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [
            int(p.name[len(PREFIX) :])
            for p in self.root.glob(f"{PREFIX}*")
            if p.name[len(PREFIX) :].isdigit()
        ]
        number = max(numbers, default=0) + 1
        path = self.root / f"{PREFIX}{number:06d}"
        current = self.current_name()
        online = statedb.generation_number(Path(current)) if current else None
        statedb.begin(self.root, number, online, self.root / current if current else None)
        path.mkdir()
        return path

    def clone(self, previous: Path) -> Path:
        """A new version holding the same index as `previous`: Whoosh's files hard-linked
        (they are never modified in place); its state starts as the previous one's."""
        generation = self.new_generation()
        for path in previous.iterdir():
            name = path.name
            if name in OWN_FILES or name.startswith((STATE, ".")) or "LOCK" in name.upper():
                continue
            if path.is_file():
                try:
                    os.link(path, generation / name)
                except OSError:  # another file system, or links not allowed: copy
                    shutil.copy2(path, generation / name)
        for name in (INFO, "centres.json"):
            if (previous / name).is_file():
                shutil.copy2(previous / name, generation / name)
        return generation

    def switch_to(self, generation: Path) -> None:
        _sync_files(generation)
        info = self.read_info(generation)
        info["en_ligne_le"] = now_iso()
        self.write_info(generation, info)
        write_atomically(self.root / POINTER, generation.name + "\n")

    def remove_stale(self) -> None:
        """Delete unfinished versions, and old ones no reader can still be using."""
        current = self.current_name()
        if current is None:
            return
        names = sorted(p.name for p in self.root.glob(f"{PREFIX}*") if p.is_dir())
        older = [n for n in names if n < current]
        now = time.time()
        for name in names:
            if name > current:  # an interrupted run
                shutil.rmtree(self.root / name, ignore_errors=True)
        online = statedb.generation_number(Path(current))
        statedb.repair(self.root, online)  # and the rows it wrote
        kept = []
        for position, name in enumerate(older):
            if position >= len(older) - KEEP_PREVIOUS:
                kept.append(name)
                continue
            successor = older[position + 1] if position + 1 < len(older) else current
            replaced = _parse_time(self.read_info(self.root / successor).get("en_ligne_le"))
            if replaced is not None and now - replaced < GRACE_SECONDS:
                kept.append(name)
                continue
            shutil.rmtree(self.root / name, ignore_errors=True)
        oldest = statedb.generation_number(Path(min(kept, default=current)))
        if oldest is not None:
            statedb.collect(self.root, oldest)

    def collect_objects(self) -> None:
        """Remove objects that no kept version names any more (the writer lock held)."""
        keep: set[str] = set()
        for generation in self.kept_generations():
            if not statedb.has_state(generation):
                continue
            state = StateStore(generation, read_only=True)
            try:
                keep |= state.referenced_objects()
            finally:
                state.close()
        self.objects.collect(keep)

    def kept_generations(self) -> list[Path]:
        return sorted(p for p in self.root.glob(f"{PREFIX}*") if p.is_dir())

    @property
    def objects(self) -> ObjectStore:
        return ObjectStore(self.root / OBJECTS)

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
            data = json.loads((generation / INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def write_info(generation: Path, info: dict) -> None:
        write_atomically(generation / INFO, json.dumps(info, ensure_ascii=False, indent=1))


def _parse_time(value: object) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


# --- content-addressed objects: rendered pages and attachments ---------------------------------


class ObjectStore:
    """Immutable files named by the SHA-256 of their bytes, shared by all versions."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.durable = True  # each new object flushed to disk before it is named

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Write objects without flushing each one, then flush them all at once (one
        `sync` instead of one `fsync` per page: a rebuild writes one object per resource).
        Worker processes forked inside the block inherit the mode. Nothing may name the
        objects before the block ends: a version is switched to after it."""
        self.durable = False
        try:
            yield
        finally:
            self.durable = True
        os.sync()

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{digest}.{os.getpid()}.{time.monotonic_ns()}.tmp")
            with open(temporary, "wb") as handle:
                handle.write(data)
                if self.durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temporary, target)
        return digest

    def put_json(self, value: object) -> str:
        return self.put(json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8"))

    def get(self, digest: str) -> bytes | None:
        if not _is_digest(digest):
            return None
        try:
            return self.path(digest).read_bytes()
        except OSError:
            return None

    def get_json(self, digest: str) -> object | None:
        data = self.get(digest)
        return None if data is None else json.loads(data)

    def collect(self, keep: set[str], older_than: float = 3600.0) -> int:
        """Remove objects not in `keep` (and not written in the last `older_than` seconds,
        in case a writer outside the lock is adding them). Returns how many were removed."""
        removed = 0
        now = time.time()
        if not self.root.is_dir():
            return 0
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                name = path.name
                if name in keep:
                    continue
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > older_than:
                        path.unlink()
                        removed += 1
        return removed


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


# --- the writer lock, and what a killed writer may leave behind --------------------------------

_HELD_LOCKS: set[int] = set()  # descriptors of locks this process holds (closed in children)


def close_inherited_locks() -> None:
    """In a freshly forked worker: the lock belongs to the parent, not to us."""
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float, timed_out: Exception) -> Iterator[None]:
    """Hold an flock on `path`, waiting up to `timeout` seconds, else raise `timed_out`.

    The kernel releases it when every process holding the file dies, even with kill -9.
    Forked workers inherit it: if they outlive their parent (they should not: see
    `indexer.workers`), the lock stays held; a waiter that times out then looks for such
    orphans, stops them and takes the lock, saying so in the log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        recovered = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if not recovered and _owner_is_dead(path):
                    recovered = True
                    time.sleep(0.2)  # a new owner writes its pid right after taking the lock
                    if _owner_is_dead(path) and stop_orphans(path):
                        continue
                if time.monotonic() >= deadline:
                    raise timed_out from None
                time.sleep(0.05)
        _HELD_LOCKS.add(handle.fileno())
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            _HELD_LOCKS.discard(handle.fileno())
            fcntl.flock(handle, fcntl.LOCK_UN)


def _owner_is_dead(path: Path) -> bool:
    """Whether the process that took the lock (its pid is written in the file) is gone."""
    try:
        pid = int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lock_holders(path: Path) -> list[int]:
    """Processes, other than this one, holding the flock on `path`: those with a descriptor
    on it whose /proc fdinfo shows the lock (a process merely waiting for it has none)."""
    try:
        target = path.stat()
    except OSError:
        return []
    holders = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    stat = fd.stat()
                    if (stat.st_dev, stat.st_ino) != (target.st_dev, target.st_ino):
                        continue
                    info = (entry / "fdinfo" / fd.name).read_text()
                    if any(
                        line.startswith("lock:") and "FLOCK" in line for line in info.splitlines()
                    ):
                        holders.append(int(entry.name))
                        break
    return holders


def stop_orphans(path: Path) -> list[int]:
    """Stop the processes still holding a lock whose owner died: workers of an interrupted
    `kb index` that outlived it. Returns their pids (logged in French)."""
    pids = lock_holders(path)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if pids:
        log.warning(
            "verrou %s périmé : le processus qui l'avait pris est mort ; processus orphelins "
            "arrêtés : %s",
            path,
            ", ".join(map(str, pids)),
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.02)
    return pids


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# --- per-version state: what each file was when it was indexed, attachments ------------------


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    mtime_ns: int
    hash: str
    id: str | None  # None when the file was invalid or is not a resource
    indexed: bool  # True when a version of this file is in the index
    page: str = ""  # object holding the rendered page of what is indexed


@dataclass(frozen=True)
class Piece:
    """An attachment of a published resource, as the site serves it."""

    path: str
    digest: str  # object holding its bytes
    size: int
    owner: str  # the resource id that links to it


class StateStore:
    """A version's files and attachments (indexer/statedb.py); `read_only` for a version
    online, writable for the one being written."""

    def __init__(self, generation: Path, read_only: bool = False) -> None:
        self.generation = generation
        self.db = statedb.connect(generation, writable=not read_only)

    def start_over(self) -> None:
        """A rebuild: no file, attachment nor signature carried from the previous version
        (the registry is)."""
        number = statedb.generation_number(self.generation)
        if number is not None and statedb.is_shared(self.generation):
            statedb.clear(self.db, number)

    def close(self) -> None:
        self.db.close()

    def get(self, path: str) -> tuple[FileState, bool] | None:
        row = self.db.execute(
            "SELECT path, size, mtime_ns, hash, id, indexed, valide, page FROM fichiers "
            "WHERE path=?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        return FileState(*row[:4], row[4], bool(row[5]), row[7] or ""), bool(row[6])

    def indexed_hashes(self) -> dict[str, str]:
        """id -> content hash of every file whose version is in the index."""
        rows = self.db.execute("SELECT id, hash FROM fichiers WHERE indexed=1 AND id IS NOT NULL")
        return dict(rows.fetchall())

    def referenced_objects(self) -> set[str]:
        pages = {r[0] for r in self.db.execute("SELECT page FROM fichiers WHERE page != ''")}
        return pages | {r[0] for r in self.db.execute("SELECT objet FROM pieces")}

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

    def apply(
        self,
        upserts: list[tuple[FileState, bool]],
        deletions: list[str],
        pieces: dict[str, list[Piece]] | None = None,
    ) -> None:
        """Record files, and replace the attachments of the resources in `pieces`."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO fichiers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (s.path, s.size, s.mtime_ns, s.hash, s.id, int(s.indexed), int(valid), s.page)
                    for s, valid in upserts
                ],
            )
            self.db.executemany("DELETE FROM fichiers WHERE path=?", [(p,) for p in deletions])
            for owner, owned in (pieces or {}).items():
                self.db.execute("DELETE FROM pieces WHERE ressource=?", (owner,))
                self.db.executemany(
                    "INSERT OR REPLACE INTO pieces VALUES (?, ?, ?, ?)",
                    [(p.path, p.digest, p.size, p.owner) for p in owned],
                )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


class VersionReader:
    """Read-only look-ups in one version's state, for the web app (thread-safe: one
    connection per call, opened read-only)."""

    def __init__(self, generation: Path) -> None:
        self.generation = generation

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = statedb.connect(self.generation)
        try:
            yield db
        finally:
            db.close()

    def piece(self, path: str) -> Piece | None:
        """An attachment that a published resource links to (None for any other file)."""
        with self._db() as db:
            row = db.execute(
                "SELECT path, objet, taille, ressource FROM pieces WHERE path=? LIMIT 1", (path,)
            ).fetchone()
        return None if row is None else Piece(*row)

    def duplicate_groups(self) -> list:
        """The version's groups of near-duplicates (indexer/duplicates.py)."""
        from .duplicates import read_groups

        try:
            with self._db() as db:
                return read_groups(db)
        except sqlite3.Error:
            return []


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

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        """The registry of a version (`folder`: its folder), in the state database. Every
        alias ever published is kept with the centre it belongs to: a former address stays
        its owner's, even after the resource that declared it is gone."""
        self.db = statedb.connect(folder, writable=not read_only)

    def close(self) -> None:
        self.db.close()

    def import_from(self, other: Path) -> None:
        """Copy the history of another registry database (a previous version's, or the
        single `registre.sqlite` of indexes written before versions held their own)."""
        if not other.is_file():
            return
        self.db.execute("ATTACH DATABASE ? AS autre", (str(other.absolute()),))
        try:
            tables = {r[0] for r in self.db.execute("SELECT name FROM autre.sqlite_master")}
            if "publications" in tables:
                columns = [
                    row[1] for row in self.db.execute("PRAGMA autre.table_info(publications)")
                ]
                names = ", ".join(c for c in REGISTRY_COLUMNS if c in columns)
                self.db.execute(
                    f"INSERT OR IGNORE INTO publications ({names}) "
                    f"SELECT {names} FROM autre.publications"
                )
            if "alias" in tables:
                self.db.execute("INSERT OR IGNORE INTO alias SELECT * FROM autre.alias")
        finally:
            self.db.execute("DETACH DATABASE autre")

    def dates(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """id -> (first publication, last change) for the ids the registry knows."""
        found: dict[str, tuple[str, str]] = {}
        wanted = list(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT id, premiere, COALESCE(modifiee, premiere) FROM publications "
                f"WHERE id IN ({marks})",
                chunk,
            ):
                found[row[0]] = (row[1], row[2])
        return found

    def record_aliases(self, owners: dict[str, tuple[str, str]]) -> None:
        """Aliases online now: alias -> (target id, centre). An alias keeps its first owner."""
        stamp = now_iso()
        self.db.execute("BEGIN")
        # New, or back to its own centre's resource (another centre's alias is left alone);
        # an alias already online as it is, untouched.
        self.db.executemany(
            "INSERT OR REPLACE INTO alias SELECT ?1, ?2, ?3, "
            "COALESCE((SELECT premiere FROM alias WHERE alias = ?1), ?4), NULL "
            "WHERE NOT EXISTS (SELECT 1 FROM alias WHERE alias = ?1 AND (centre IS NULL "
            "OR centre != ?3 OR (cible IS ?2 AND retire IS NULL)))",
            [(alias, target, centre, stamp) for alias, (target, centre) in owners.items()],
        )
        self.db.execute("COMMIT")

    def retire_aliases(self, targets: Iterable[str]) -> None:
        stamp = now_iso()
        self.db.execute("BEGIN")
        self.db.executemany(
            "UPDATE alias SET retire=? WHERE cible=? AND retire IS NULL",
            [(stamp, t) for t in targets],
        )
        self.db.execute("COMMIT")

    def alias_owner(self, alias: str) -> str | None:
        """The centre an alias was first published by (None: never published)."""
        row = self.db.execute("SELECT centre FROM alias WHERE alias=?", (alias,)).fetchone()
        return row[0] if row else None

    def owners(self) -> dict[str, str]:
        """Every id and alias ever published -> the centre it belongs to."""
        owners = {
            row[0]: row[0].partition("/")[0]
            for row in self.db.execute("SELECT id FROM publications")
        }
        owners.update(dict(self.db.execute("SELECT alias, centre FROM alias")))
        return owners

    def published(self, entries: list[Publication]) -> None:
        """Record these resources as online now; `modifiee` moves only for a resource that
        is new, back online, or whose fingerprint changed."""
        stamp = now_iso()
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT OR REPLACE INTO publications SELECT n.id, n.titre, n.date, "
            "COALESCE(o.premiere, n.stamp), n.stamp, NULL, "
            "CASE WHEN o.id IS NULL OR o.retiree IS NOT NULL OR o.modifiee IS NULL "
            "OR o.empreinte IS NOT n.empreinte THEN n.stamp ELSE o.modifiee END, "
            "n.empreinte, n.piliers FROM (SELECT ? AS id, ? AS titre, ? AS date, ? AS stamp, "
            "? AS empreinte, ? AS piliers) AS n LEFT JOIN publications AS o ON o.id = n.id",
            [(e.id, e.titre, e.date, stamp, e.empreinte, ",".join(e.piliers)) for e in entries],
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

    def last_changes_by_centre(self) -> dict[str, str]:
        """Centre -> the newest `modifiee` among its resources online."""
        rows = self.db.execute(
            "SELECT substr(id, 1, instr(id, '/') - 1), max(COALESCE(modifiee, premiere)) "
            "FROM publications WHERE retiree IS NULL GROUP BY 1"
        )
        return {centre: stamp for centre, stamp in rows if centre and stamp}

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
    """Ids online according to the registry of an index folder's live version (read only;
    [] when there is no index yet). What `kb check` compares the content with."""
    folder = IndexFolder(root)
    if not folder.exists():
        return []
    try:
        registry = Registry(folder.current(), read_only=True)
        try:
            rows = registry.db.execute(
                "SELECT id FROM publications WHERE retiree IS NULL ORDER BY id"
            )
            return [row[0] for row in rows]
        finally:
            registry.close()
    except sqlite3.Error:
        return []

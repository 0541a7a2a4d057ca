"""The state of the index versions: one SQLite database shared by every version.

    <index>/etat.sqlite

A version's state is what its files were when indexed (`fichiers`), the attachments it
serves (`pieces`), the registry of every id and alias ever published (`publications`,
`alias`) and its near-duplicates (`doublons_*`). Each table keeps the rows of all kept
versions: a row holds the number of the first version that has it (`v_debut`) and of the
first that no longer has it (`v_fin`, NULL while the row is current). A connection opened
for version G sees, under the usual table names, temporary views of the rows with
`v_debut <= G < v_fin`; for the version being written, triggers on these views turn each
INSERT, UPDATE and DELETE into « close the current row, add the new one ». The code that
reads and writes the state (indexer/store.py, indexer/duplicates.py, indexer/published.py)
therefore uses plain SQL on plain names, and never learns about versions.

Why: a publication used to copy the previous version's whole database (21 MB at 10,000
resources, 210 MB at 100,000) and flush it to disk. Now it writes only the rows that
change, and the cost of a one-file publication no longer grows with the corpus.

Atomicity is kept. The rows of the version being written are invisible to the versions
online (their `v_debut` is higher), and a closed row stays visible to them (their number
is below its `v_fin`). `meta.ecrite` is the highest version that may have written rows:
set before the first row of a version is written. If that version never went online (a
crash, a kill -9, nothing to publish), the next writer sees `ecrite` above the live
version and removes what it wrote (`repair`). Rows that no kept version can see any more
are deleted when old versions are (`collect`).

Versions written before this module keep their own `gen-NNNNNN/etat.sqlite` and are read
from it; the first writer after them copies the live one's rows into the shared database,
once (`_migrate`).
Standalone folders (not a `gen-NNNNNN` of an index) get a plain database of their own.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

STATE = "etat.sqlite"
GENERATION = re.compile(r"^gen-(\d{6,})$")


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]  # "name TYPE", in the order of the plain table
    key: tuple[str, ...]  # what identifies a row within one version
    indexes: tuple[tuple[str, ...], ...] = ()
    without_rowid: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.split()[0] for c in self.columns)


TABLES: dict[str, Table] = {
    "fichiers": Table(
        (
            "path TEXT",
            "size INTEGER",
            "mtime_ns INTEGER",
            "hash TEXT",
            "id TEXT",
            "indexed INTEGER",
            "valide INTEGER",
            "page TEXT",
        ),
        ("path",),
        (("id",),),
    ),
    "pieces": Table(
        ("path TEXT", "objet TEXT", "taille INTEGER", "ressource TEXT"),
        ("path", "ressource"),
        (("ressource",),),
    ),
    "publications": Table(
        (
            "id TEXT",
            "titre TEXT",
            "date TEXT",
            "premiere TEXT",
            "derniere TEXT",
            "retiree TEXT",
            "modifiee TEXT",
            "empreinte TEXT",
            "piliers TEXT",
        ),
        ("id",),
    ),
    "alias": Table(
        ("alias TEXT", "cible TEXT", "centre TEXT", "premiere TEXT", "retire TEXT"),
        ("alias",),
    ),
    "doublons_signatures": Table(
        (
            "id TEXT",
            "centre TEXT",
            "type TEXT",
            "titre TEXT",
            "mots_titre TEXT",
            "mots_resume TEXT",
            "lieux TEXT",
            "moissonnee INTEGER",
        ),
        ("id",),
    ),
    "doublons_cles": Table(("cle INTEGER", "id TEXT"), ("cle", "id"), (("id",),), True),
    "doublons_paires": Table(
        ("a TEXT", "b TEXT", "titre REAL", "resume REAL"), ("a", "b"), (("b",),)
    ),
    "doublons_groupes": Table(("id TEXT", "groupe TEXT", "centre TEXT"), ("id",)),
}
# What a rebuild starts again from nothing; the registry is kept across rebuilds.
REBUILT = ("fichiers", "pieces", "doublons_signatures", "doublons_cles", "doublons_paires")


def generation_number(folder: Path) -> int | None:
    """G for a folder `gen-G` (None for any other folder)."""
    match = GENERATION.match(folder.name)
    return int(match.group(1)) if match else None


def is_shared(generation: Path) -> bool:
    """Whether a version's state lives in the shared database (not in its own file)."""
    return generation_number(generation) is not None and not (generation / STATE).exists()


def has_state(generation: Path) -> bool:
    """Whether the state of a version can be read."""
    if not is_shared(generation):
        return (generation / STATE).is_file()
    number = generation_number(generation)
    try:
        db = _open(generation.parent / STATE, read_only=True)
    except sqlite3.Error:
        return False
    try:
        return _meta(db, "ecrite") >= (number or 0)
    except sqlite3.Error:
        return False
    finally:
        db.close()


def connect(generation: Path, writable: bool = False) -> sqlite3.Connection:
    """A connection to a version's state, its tables under their plain names.

    `writable` is for the version being written only (after `begin`): what it writes is
    seen by no other version until it goes online."""
    number = generation_number(generation)
    if number is None or (generation / STATE).exists():
        return _plain(generation, writable)
    if writable:
        generation.mkdir(parents=True, exist_ok=True)
    db = _open(generation.parent / STATE, read_only=not writable)
    try:
        if writable:
            _create_schema(db)
        _views(db, number, writable)
    except BaseException:
        db.close()
        raise
    return db


def tables(db: sqlite3.Connection) -> set[str]:
    """The state's tables a connection sees: its own, or a version's views of them."""
    return {
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "UNION SELECT name FROM sqlite_temp_master WHERE type = 'view'"
        )
    }


# --- the writer's side (always under the index's writer lock) ---------------------------------


def begin(root: Path, number: int, online: int | None, previous: Path | None) -> None:
    """Before version `number` writes its first row: undo what an unfinished version
    wrote, and take the rows of a previous version kept in a file of its own."""
    db = _open(root / STATE, read_only=False)
    try:
        _create_schema(db)
        _repair(db, online or 0)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('ecrite', ?)", (number,))
        db.execute("COMMIT")
        legacy = previous is not None and (previous / STATE).is_file()
        if legacy and online is not None and _meta(db, "reprise", -1) != online:
            # Taken as the live version's rows (which it never reads: it has its file), so
            # that they stay when this version is not put online (nothing to publish).
            _migrate(db, previous / STATE, online)
    finally:
        db.close()


def repair(root: Path, online: int | None) -> None:
    """Remove the rows of versions above `online` (never put online)."""
    if not (root / STATE).is_file():
        return
    db = _open(root / STATE, read_only=False)
    try:
        _create_schema(db)
        _repair(db, online or 0)
    finally:
        db.close()


def clear(db: sqlite3.Connection, number: int, tables: tuple[str, ...] = REBUILT) -> None:
    """A rebuild: version `number` starts these tables from nothing (the versions online
    keep their rows)."""
    db.execute("BEGIN")
    for name in tables:
        db.execute(f"DELETE FROM main.{name}_v WHERE v_debut = ?", (number,))
        db.execute(f"UPDATE main.{name}_v SET v_fin = ? WHERE v_fin IS NULL", (number,))
    db.execute("COMMIT")


def collect(root: Path, oldest_kept: int) -> None:
    """Delete the rows no kept version can see (closed at or before the oldest kept)."""
    if not (root / STATE).is_file():
        return
    db = _open(root / STATE, read_only=False)
    try:
        _create_schema(db)
        db.execute("BEGIN IMMEDIATE")
        for name in TABLES:
            db.execute(
                f"DELETE FROM main.{name}_v WHERE v_fin IS NOT NULL AND v_fin <= ?",
                (oldest_kept,),
            )
        db.execute("COMMIT")
    finally:
        db.close()


# --- inside ----------------------------------------------------------------------------------


def _open(path: Path, read_only: bool) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=ro",
            uri=True,
            timeout=30,
            isolation_level=None,
            check_same_thread=False,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    # Each commit reaches the disk: a version is switched online right after its rows are
    # written, and must find them there after a power cut.
    db.execute("PRAGMA synchronous=FULL")
    return db


def _plain(generation: Path, writable: bool) -> sqlite3.Connection:
    """A version written before the shared database, or a standalone folder."""
    path = generation / STATE
    if not writable:
        return _open(path, read_only=True)
    generation.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for name, table in TABLES.items():
        key = ", ".join(table.key)
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(table.columns)}, "
            f"PRIMARY KEY ({key})){' WITHOUT ROWID' if table.without_rowid else ''}"
        )
        for number, columns in enumerate(table.indexes):
            db.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_{number} ON {name}({', '.join(columns)})"
            )
    # Registries written before harvesting existed lack the last three columns.
    present = {row[1] for row in db.execute("PRAGMA table_info(publications)")}
    for column in ("modifiee", "empreinte", "piliers"):
        if column not in present:
            db.execute(f"ALTER TABLE publications ADD COLUMN {column} TEXT")
    return db


def _create_schema(db: sqlite3.Connection) -> None:
    if _meta(db, "schema", -1) == 1:
        return
    db.execute("BEGIN IMMEDIATE")
    db.execute("CREATE TABLE IF NOT EXISTS meta (cle TEXT PRIMARY KEY, valeur INTEGER)")
    for name, table in TABLES.items():
        key = ", ".join((*table.key, "v_debut"))
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {name}_v ({', '.join(table.columns)}, "
            f"v_debut INTEGER NOT NULL, v_fin INTEGER, PRIMARY KEY ({key}))"
            f"{' WITHOUT ROWID' if table.without_rowid else ''}"
        )
        for number, columns in enumerate(table.indexes):
            db.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_v_{number} ON {name}_v({', '.join(columns)})"
            )
        db.execute(
            f"CREATE INDEX IF NOT EXISTS {name}_v_fin ON {name}_v(v_fin) WHERE v_fin IS NOT NULL"
        )
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', 1)")
    db.execute("COMMIT")


def _meta(db: sqlite3.Connection, key: str, default: int = 0) -> int:
    try:
        row = db.execute("SELECT valeur FROM main.meta WHERE cle = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # no table yet
        return default
    return int(row[0]) if row else default


def _views(db: sqlite3.Connection, number: int, writable: bool) -> None:
    g = int(number)
    statements = []
    for name, table in TABLES.items():
        columns = ", ".join(table.names)
        statements.append(
            f"CREATE TEMP VIEW {name} AS SELECT {columns} FROM main.{name}_v "
            f"WHERE v_debut <= {g} AND (v_fin IS NULL OR v_fin > {g})"
        )
        if not writable:
            continue
        values = ", ".join(f"NEW.{c}" for c in table.names)

        def close(row: str, name: str = name, table: Table = table) -> str:
            match = " AND ".join(f"{k} IS {row}.{k}" for k in table.key)
            return (
                f"DELETE FROM {name}_v WHERE {match} AND v_debut = {g}; "
                f"UPDATE {name}_v SET v_fin = {g} WHERE {match} AND v_fin IS NULL;"
            )

        insert = f"INSERT INTO {name}_v ({columns}, v_debut) VALUES ({values}, {g});"
        statements += [
            f"CREATE TEMP TRIGGER {name}_insert INSTEAD OF INSERT ON {name} "
            f"BEGIN {close('NEW')} {insert} END",
            f"CREATE TEMP TRIGGER {name}_update INSTEAD OF UPDATE ON {name} "
            f"BEGIN {close('OLD')} {insert} END",
            f"CREATE TEMP TRIGGER {name}_delete INSTEAD OF DELETE ON {name} "
            f"BEGIN {close('OLD')} END",
        ]
    for statement in statements:
        db.execute(statement)


def _repair(db: sqlite3.Connection, online: int) -> None:
    if _meta(db, "ecrite") <= online:
        return
    db.execute("BEGIN IMMEDIATE")
    for name in TABLES:
        db.execute(f"DELETE FROM main.{name}_v WHERE v_debut > ?", (online,))
        db.execute(f"UPDATE main.{name}_v SET v_fin = NULL WHERE v_fin > ?", (online,))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('ecrite', ?)", (online,))
    db.execute("COMMIT")


def _migrate(db: sqlite3.Connection, old: Path, number: int) -> None:
    """Take the rows of version `number`, kept in a file of its own (once)."""
    db.execute("ATTACH DATABASE ? AS ancien", (str(old.absolute()),))
    try:
        present = {
            row[0]
            for row in db.execute("SELECT name FROM ancien.sqlite_master WHERE type = 'table'")
        }
        db.execute("BEGIN IMMEDIATE")
        for name, table in TABLES.items():
            db.execute(f"DELETE FROM main.{name}_v WHERE v_debut = ?", (number,))
            db.execute(f"UPDATE main.{name}_v SET v_fin = ? WHERE v_fin IS NULL", (number,))
            if name not in present:
                continue
            old_columns = {row[1] for row in db.execute(f"PRAGMA ancien.table_info({name})")}
            columns = ", ".join(c for c in table.names if c in old_columns)
            db.execute(
                f"INSERT OR IGNORE INTO main.{name}_v ({columns}, v_debut) "
                f"SELECT {columns}, ? FROM ancien.{name}",
                (number,),
            )
        db.execute("INSERT OR REPLACE INTO meta VALUES ('reprise', ?)", (number,))
        db.execute("COMMIT")
    finally:
        db.execute("DETACH DATABASE ancien")

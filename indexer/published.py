"""What is online, read from an index folder without writing anything: the published state
that a push is checked against (see kb.publication.PublishedState).

Everything lives in the live version (indexer/store.py):

    ids online -> the file of each               etat.sqlite, table fichiers
    every id ever published -> its centre        etat.sqlite, table publications (registry)
    every alias ever published -> its centre     etat.sqlite, table alias
    aliases online -> the id they lead to        table alias (retire IS NULL); versions
                                                 written before it: Whoosh's `alias` field
    the commit online                            infos.json of the version

Everything about where these live is in this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import EmptyIndexError

from kb.publication import PublishedState, centre_of

from .store import STATE, IndexFolder


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)) as db:
        yield db


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def published_state(index_root: Path | str) -> PublishedState:
    """The published state of an index folder; `known` is False when there is no index."""
    folder = IndexFolder(Path(index_root).resolve())
    if not folder.exists():
        return PublishedState(known=False)
    generation = folder.current()
    owners: dict[str, str] = {}
    online: dict[str, str] = {}
    invalid: set[str] = set()
    aliases: dict[str, str] | None = None
    with _read_only(generation / STATE) as db:
        tables = _tables(db)
        if "fichiers" in tables:
            rows = db.execute("SELECT path, id, indexed, valide FROM fichiers")
            for path, resource_id, indexed, valid in rows:
                if indexed and resource_id:
                    online[resource_id] = path
                if not valid:
                    invalid.add(path)
        if "publications" in tables:
            for (resource_id,) in db.execute("SELECT id FROM publications"):
                owners[resource_id] = centre_of(resource_id)
        if "alias" in tables:
            aliases = {}
            for alias, target, centre, removed in db.execute(
                "SELECT alias, cible, centre, retire FROM alias"
            ):
                owners[alias] = centre or centre_of(target)
                if removed is None:
                    aliases[alias] = target
    if aliases is None:  # a version written before the registry kept aliases
        aliases = _aliases(generation)
        for alias, target in aliases.items():
            owners.setdefault(alias, centre_of(target))
    commit = folder.read_info(generation).get("commit")
    return PublishedState(
        known=True,
        commit=commit if isinstance(commit, str) and commit else None,
        online=online,
        owners=owners,
        aliases=aliases,
        invalid_paths=frozenset(invalid),
    )


def _aliases(generation: Path) -> dict[str, str]:
    """alias -> id, from the word list of the `alias` field (no stored document is read but
    those that hold an alias)."""
    try:
        ix = whoosh_index.open_dir(str(generation))
    except (EmptyIndexError, OSError):
        return {}
    found: dict[str, str] = {}
    try:
        with ix.searcher() as searcher:
            if "alias" not in searcher.schema:
                return {}
            reader = searcher.reader()
            for term in list(reader.lexicon("alias")):
                alias = term.decode("utf-8") if isinstance(term, bytes) else str(term)
                for number in searcher.document_numbers(alias=alias):  # skips deleted ones
                    found[alias] = reader.stored_fields(number)["id"]
    finally:
        ix.close()
    return found

"""What is online, read from an index folder without writing anything: the published state
that a push is checked against (see kb.publication.PublishedState).

Everything is the live version's (indexer/store.py, its state in indexer/statedb.py):

    ids online -> the file of each               state, table fichiers
    every id ever published -> its centre        state, table publications (registry)
    every alias ever published -> its centre     state, table alias
    aliases online -> the id they lead to        table alias (retire IS NULL); versions
                                                 written before it: Whoosh's `alias` field
    the commit online                            infos.json of the version

Everything about where these live is in this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

from kb.publication import PublishedState, centre_of

from . import statedb
from .store import IndexFolder


class _Lookup(Mapping[str, str]):
    """A read-only mapping answered by the version's state, one query per key: checking a
    push looks up the few ids and aliases it declares, and never loads the 100,000 others.
    Iterating (rare: a centre card removed) reads them all."""

    def __init__(self, db: sqlite3.Connection, one: str, every: str) -> None:
        self._db, self._one, self._every = db, one, every

    def __getitem__(self, key: str) -> str:
        row = self._db.execute(self._one, (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __iter__(self) -> Iterator[str]:
        return iter([row[0] for row in self._db.execute(self._every)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def items(self):  # one query, not one per key
        return dict(self._db.execute(self._every).fetchall()).items()


def published_state(index_root: Path | str) -> PublishedState:
    """The published state of an index folder; `known` is False when there is no index.
    Its mappings read the live version's state when asked."""
    folder = IndexFolder(Path(index_root).resolve())
    if not folder.exists():
        return PublishedState(known=False)
    generation = folder.current()
    db = statedb.connect(generation)
    tables = statedb.tables(db)
    if "fichiers" in tables:
        online: Mapping[str, str] = _Lookup(
            db,
            "SELECT path FROM fichiers WHERE id = ? AND indexed = 1",
            "SELECT id, path FROM fichiers WHERE indexed = 1 AND id IS NOT NULL",
        )
        invalid = {row[0] for row in db.execute("SELECT path FROM fichiers WHERE valide = 0")}
    else:
        online, invalid = {}, set()
    if "alias" in tables:
        # An alias belongs to the centre that published it; an id, to its own centre.
        owner = "COALESCE(centre, substr(cible, 1, instr(cible || '/', '/') - 1))"
        owners: Mapping[str, str] = _Lookup(
            db,
            f"SELECT centre FROM (SELECT {owner} AS centre, 0 AS rang FROM alias WHERE alias = ?1 "
            "UNION ALL SELECT substr(id, 1, instr(id || '/', '/') - 1), 1 FROM publications "
            "WHERE id = ?1) ORDER BY rang LIMIT 1",
            "SELECT id, substr(id, 1, instr(id || '/', '/') - 1) FROM publications "
            f"WHERE id NOT IN (SELECT alias FROM alias) UNION ALL SELECT alias, {owner} FROM alias",
        )
        aliases: Mapping[str, str] = _Lookup(
            db,
            "SELECT cible FROM alias WHERE alias = ? AND retire IS NULL",
            "SELECT alias, cible FROM alias WHERE retire IS NULL",
        )
    else:  # a version written before the registry kept aliases: read them all, once
        known_ids = (
            [row[0] for row in db.execute("SELECT id FROM publications")]
            if "publications" in tables
            else []
        )
        aliases = _aliases(generation)
        owners = {i: centre_of(i) for i in known_ids}
        for alias, target in aliases.items():
            owners.setdefault(alias, centre_of(target))
    commit = folder.read_info(generation).get("commit")
    return PublishedState(  # the connection closes with the last mapping that uses it
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
    from whoosh import index as whoosh_index  # the push check needs no engine otherwise
    from whoosh.index import EmptyIndexError

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

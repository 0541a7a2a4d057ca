"""What is online, read from an index folder without writing anything: the published state
that a push is checked against (see kb.publication.PublishedState).

    ids online -> the file of each           the live version's state (etat.sqlite)
    every id ever published -> its centre    the registry (registre.sqlite)
    aliases online -> the id they lead to    the live Whoosh version (field `alias`)
    the commit online                        publication.json

Everything about where these live is in this module: when the registry or the record of
the commit online move, only `_Locations` changes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import EmptyIndexError

from kb.publication import PublishedState, centre_of

from .store import REGISTRY, STATE, IndexFolder

STATUS_FILE = "publication.json"  # written by the publisher: {"commit": ..., ...}


@dataclass(frozen=True)
class _Locations:
    registry: Path
    status: Path
    generation: Path | None  # the live version (None: no index yet)


def _locations(index_root: Path) -> _Locations:
    folder = IndexFolder(index_root)
    name = folder.current_name()
    return _Locations(
        registry=index_root / REGISTRY,
        status=index_root / STATUS_FILE,
        generation=index_root / name if name else None,
    )


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)) as db:
        yield db


def published_state(index_root: Path | str) -> PublishedState:
    """The published state of an index folder; `known` is False when there is no index."""
    where = _locations(Path(index_root).resolve())
    if where.generation is None and not where.registry.is_file():
        return PublishedState(known=False)
    owners: dict[str, str] = {}
    if where.registry.is_file():
        with _read_only(where.registry) as db:
            for (resource_id,) in db.execute("SELECT id FROM publications"):
                owners[resource_id] = centre_of(resource_id)
    online: dict[str, str] = {}
    invalid: set[str] = set()
    aliases: dict[str, str] = {}
    if where.generation is not None:
        with _read_only(where.generation / STATE) as db:
            rows = db.execute("SELECT path, id, indexed, valide FROM fichiers")
            for path, resource_id, indexed, valid in rows:
                if indexed and resource_id:
                    online[resource_id] = path
                if not valid:
                    invalid.add(path)
        aliases = _aliases(where.generation)
    for alias, target in aliases.items():
        owners.setdefault(alias, centre_of(target))
    return PublishedState(
        known=True,
        commit=_commit_online(where.status),
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


def _commit_online(status: Path) -> str | None:
    try:
        data = json.loads(status.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    commit = data.get("commit") if isinstance(data, dict) else None
    return commit if isinstance(commit, str) and commit else None

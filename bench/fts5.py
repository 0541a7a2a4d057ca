"""The reference: the same corpus in SQLite FTS5 (stdlib sqlite3), measured the same way.

FTS5 with `unicode61 remove_diacritics 2` folds accents but does no French stemming, no
elision, no glossary and no spelling suggestion: it is a speed reference, not a quality one.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from kb.loader import load_resource, load_tree
from kb.model import Resource
from kb.render import plain_text

FACETS = ("piliers", "thematiques", "dispositifs", "publics", "type", "centre", "region", "annee")


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def create(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(id UNINDEXED, titre, resume, corps, "
        "meta UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.execute("CREATE TABLE IF NOT EXISTS facettes (doc INTEGER, cle TEXT, valeur TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS facettes_doc ON facettes(doc)")


def _values(resource: Resource) -> list[tuple[str, str]]:
    pairs = [
        ("type", resource.type),
        ("centre", resource.centre),
        ("annee", str(resource.date.year)),
    ]
    pairs += [
        (k, v)
        for k in ("piliers", "thematiques", "dispositifs", "publics")
        for v in getattr(resource, k)
    ]
    if resource.territoire.region:
        pairs.append(("region", resource.territoire.region))
    return pairs


def add(db: sqlite3.Connection, resource: Resource) -> None:
    meta = json.dumps({"id": resource.id, "titre": resource.titre, "date": str(resource.date)})
    cursor = db.execute(
        "INSERT INTO docs (id, titre, resume, corps, meta) VALUES (?, ?, ?, ?, ?)",
        (resource.id, resource.titre, resource.resume, plain_text(resource.body), meta),
    )
    rowid = cursor.lastrowid
    db.executemany(
        "INSERT INTO facettes VALUES (?, ?, ?)", [(rowid, k, v) for k, v in _values(resource)]
    )


def build(content: Path, path: Path) -> int:
    db = connect(path)
    create(db)
    resources = [r for r in load_tree(content).resources.values() if r.is_published]
    db.execute("BEGIN")
    for resource in resources:
        add(db, resource)
    db.execute("COMMIT")
    db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    db.close()
    return len(resources)


def update_one(db: sqlite3.Connection, content: Path, relpath: str) -> None:
    resource, _ = load_resource(content, relpath)
    db.execute("BEGIN")
    rows = db.execute("SELECT rowid FROM docs WHERE id = ?", (resource.id,)).fetchall()
    for (rowid,) in rows:
        db.execute("DELETE FROM docs WHERE rowid = ?", (rowid,))
        db.execute("DELETE FROM facettes WHERE doc = ?", (rowid,))
    add(db, resource)
    db.execute("COMMIT")


def fts_query(text: str) -> str:
    """Words as prefix-free terms joined by OR (the user's words, quoted for safety)."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if len(w) > 1]
    return " OR ".join(f'"{w}"' for w in words) or '""'


def search(db: sqlite3.Connection, text: str, filters: dict[str, str] | None = None) -> dict:
    """Top 10 by bm25 with snippets, total, and counts for every facet: what a page needs."""
    match = fts_query(text)
    where, params = "docs MATCH ?", [match]
    for key, value in (filters or {}).items():
        where += " AND docs.rowid IN (SELECT doc FROM facettes WHERE cle = ? AND valeur = ?)"
        params += [key, value]
    hits = db.execute(
        f"SELECT id, snippet(docs, 3, '<mark>', '</mark>', '…', 24) FROM docs WHERE {where} "
        "ORDER BY bm25(docs, 0, 4.0, 2.0, 1.0) LIMIT 10",
        params,
    ).fetchall()
    total = db.execute(f"SELECT count(*) FROM docs WHERE {where}", params).fetchone()[0]
    facets = db.execute(
        f"SELECT cle, valeur, count(*) FROM facettes WHERE doc IN (SELECT rowid FROM docs "
        f"WHERE {where}) GROUP BY cle, valeur",
        params,
    ).fetchall()
    return {"total": total, "hits": hits, "facets": len(facets)}

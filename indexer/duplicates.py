"""Near-duplicate resources: the same practice published by two centres, or harvested as a
notice and also pushed as a sheet.

Two published resources are near-duplicates when all of these hold (docs/recherche.md,
« Doublons », says the same for documentalists):

1. they come from two different centres, or one of them was harvested (`kb moissonner`:
   a notice, or a resource of another instance) and the other was not;
2. their titles are alike: RapidFuzz's `token_sort_ratio` of their analysed words (the
   index's French analysis: no accents, no grammatical words, stems; sorted, then compared
   letter by letter, so that word order and a typo matter little) is at least `TITLE_MIN`;
3. their summaries are alike: the Indel similarity of their sequences of analysed words
   (1 - insertions and deletions of whole words needed / total words) is at least
   `SUMMARY_MIN`. Words, not letters: two unrelated summaries of the demo content share
   half their letters in sorted order, but at most a third of their words;
4. their territories agree: when both name a territory, at every level that both name
   (region, department, commune, intercommunality, priority district) they share at least
   one place. A resource without a territory agrees with any.

A group is a set of resources of which every two are near-duplicates (no chaining through
a third). False merges hide a resource from search results, misses only repeat one: the
thresholds are high.

Cost follows the change. Every resource gets candidate keys (MinHash of its title and
summary words, cut into bands: two resources whose word sets are alike share a band with
high probability), stored with its signature in the version's `etat.sqlite`. Indexing a
changed resource looks up the resources sharing one of its keys, and compares it with those
only; groups are then recomputed from the pairs, which are few. A rebuild computes the same
keys and the same comparisons, so it finds the same groups.

The MinHash is computed here with NumPy (universal hashing of the words' BLAKE2 hashes): a
library's implementation (datasketch) would import SciPy in every publication, a second of
start-up for a one-file change.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from kb import territories
from kb.model import Resource, resource_url
from kb.vocabulary import Vocabularies

from . import statedb
from .analysis import terms

TITLE_MIN = 0.85
SUMMARY_MIN = 0.60
LEVELS = ("region", "departement", "commune", "epci", "qpv")

# MinHash: BANDS bands of ROWS values each. Two resources whose title-and-summary word sets
# have a Jaccard similarity J share a band with probability 1 - (1 - J^ROWS)^BANDS:
# 0.998 for J = 0.6, 0.96 for J = 0.45, 0.03 for J = 0.05 (unrelated texts).
ROWS = 3
BANDS = 16
_PRIME = (1 << 61) - 1
_MAX32 = (1 << 32) - 1
_seeds = np.random.RandomState(20261203)  # fixed: the same keys in every process
_A = _seeds.randint(1, _MAX32, size=ROWS * BANDS, dtype=np.uint64)
_B = _seeds.randint(0, _MAX32, size=ROWS * BANDS, dtype=np.uint64)


def _word_hashes(words: Iterable[str]) -> np.ndarray:
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "big")
            for w in set(words)
        ],
        np.uint64,
    )


def band_keys(words: Iterable[str]) -> list[int]:
    """The candidate keys of a set of words (empty for no words)."""
    hashes = _word_hashes(words)
    if not hashes.size:
        return []
    # (a * h + b) mod p fits in 64 bits: a, b and h are below 2^32.
    permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) % np.uint64(_PRIME)
    minima = (permuted & np.uint64(_MAX32)).min(axis=0)
    keys = []
    for band in range(BANDS):
        chunk = minima[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True)
class Signature:
    """What the comparison of a resource needs."""

    id: str
    centre: str
    type: str
    titre: str  # as written (for the report)
    mots_titre: str  # analysed words, space-separated
    mots_resume: str
    lieux: dict[str, list[str]]  # level -> codes; empty when it names no territory
    harvested: bool = False  # written by the harvester (kb.model.Resource.is_harvested)

    @property
    def keys(self) -> list[int]:
        return band_keys(self.mots_titre.split() + self.mots_resume.split())


def signature(resource: Resource, vocabularies: Vocabularies) -> Signature:
    territoire = resource.territoire
    region = territoire.region
    if not region and territoire.departement:
        region = vocabularies.departements.terms[territoire.departement].get("region")
    codes = territories.current().facet_codes(territoire)
    places = {
        "region": [region] if region else [],
        "departement": [territoire.departement] if territoire.departement else [],
        **codes,
    }
    return Signature(
        resource.id,
        resource.centre,
        resource.type,
        resource.titre,
        " ".join(terms(resource.titre)),
        " ".join(terms(resource.resume)),
        {level: list(values) for level, values in places.items() if values},
        resource.is_harvested,
    )


def title_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return fuzz.token_sort_ratio(a, b) / 100


def summary_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return Indel.normalized_similarity(a.split(), b.split())


def places_agree(a: dict[str, list[str]], b: dict[str, list[str]]) -> bool:
    """Rule 4: at every level both name, a place in common (no territory: agrees)."""
    if not a or not b:
        return True
    for level in LEVELS:
        if a.get(level) and b.get(level) and not set(a[level]) & set(b[level]):
            return False
    return True


@dataclass(frozen=True)
class Comparison:
    titre: float
    resume: float
    lieux: bool

    @property
    def duplicates(self) -> bool:
        return self.titre >= TITLE_MIN and self.resume >= SUMMARY_MIN and self.lieux


def may_pair(a: Signature, b: Signature) -> bool:
    """Rule 1: two centres, or a harvested resource and a written one."""
    return a.id != b.id and (a.centre != b.centre or a.harvested != b.harvested)


def compare(a: Signature, b: Signature) -> Comparison:
    title = title_similarity(a.mots_titre, b.mots_titre)
    agree = places_agree(a.lieux, b.lieux)
    if title < TITLE_MIN:  # the summaries need not be compared
        return Comparison(title, 0.0, agree)
    return Comparison(title, summary_similarity(a.mots_resume, b.mots_resume), agree)


# --- storage in a version's state --------------------------------------------------------------

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS doublons_signatures (id TEXT PRIMARY KEY, centre TEXT, "
    "type TEXT, titre TEXT, mots_titre TEXT, mots_resume TEXT, lieux TEXT, moissonnee INTEGER)",
    "CREATE TABLE IF NOT EXISTS doublons_cles (cle INTEGER, id TEXT, PRIMARY KEY (cle, id)) "
    "WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS doublons_cles_id ON doublons_cles(id)",
    "CREATE TABLE IF NOT EXISTS doublons_paires (a TEXT, b TEXT, titre REAL, resume REAL, "
    "PRIMARY KEY (a, b))",
    "CREATE INDEX IF NOT EXISTS doublons_paires_b ON doublons_paires(b)",
    # Derived from the pairs: each member of a group and its group's first id.
    "CREATE TABLE IF NOT EXISTS doublons_groupes (id TEXT PRIMARY KEY, groupe TEXT, centre TEXT)",
)


def ensure_tables(db: sqlite3.Connection) -> None:
    """The tables, in a database of its own (an index's state has them: indexer/statedb.py)."""
    if "doublons_signatures" in statedb.tables(db):
        return
    for statement in SCHEMA:
        db.execute(statement)


def _row(sig: Signature) -> tuple:
    return (
        sig.id,
        sig.centre,
        sig.type,
        sig.titre,
        sig.mots_titre,
        sig.mots_resume,
        json.dumps(sig.lieux, sort_keys=True),
        int(sig.harvested),
    )


def _from_row(row: tuple) -> Signature:
    return Signature(*row[:6], json.loads(row[6]), bool(row[7]))


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def apply_changes(
    db: sqlite3.Connection, signatures: Iterable[Signature], removed: Iterable[str]
) -> None:
    """Bring the duplicate tables in line: `removed` ids left the index, `signatures` are
    the resources added or changed. Only these are compared (with their candidates), in
    one transaction of the (not yet online) version."""
    ensure_tables(db)
    fresh = {sig.id: sig for sig in signatures}
    gone = sorted(set(removed) | set(fresh))
    db.execute("BEGIN")
    try:
        for chunk in _chunks(gone):
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM doublons_signatures WHERE id IN ({marks})", chunk)
            db.execute(f"DELETE FROM doublons_cles WHERE id IN ({marks})", chunk)
            db.execute(f"DELETE FROM doublons_paires WHERE a IN ({marks})", chunk)
            db.execute(f"DELETE FROM doublons_paires WHERE b IN ({marks})", chunk)
        keys = {sig.id: sig.keys for sig in fresh.values()}
        db.executemany(
            "INSERT INTO doublons_signatures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(sig) for sig in fresh.values()],
        )
        db.executemany(
            "INSERT OR IGNORE INTO doublons_cles VALUES (?, ?)",
            [(key, sid) for sid, sig_keys in keys.items() for key in sig_keys],
        )
        pairs = []
        for sid in sorted(fresh):
            sig = fresh[sid]
            for other in _candidates(db, sid, keys[sid]):
                if other.id in fresh and other.id < sid:
                    continue  # this pair was compared from the other side
                if not may_pair(sig, other):
                    continue
                result = compare(sig, other)
                if result.duplicates:
                    a, b = sorted((sid, other.id))
                    pairs.append((a, b, round(result.titre, 4), round(result.resume, 4)))
        db.executemany("INSERT OR REPLACE INTO doublons_paires VALUES (?, ?, ?, ?)", pairs)
        _regroup(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _candidates(db: sqlite3.Connection, sid: str, keys: list[int]) -> list[Signature]:
    if not keys:
        return []
    marks = ",".join("?" * len(keys))
    rows = db.execute(
        "SELECT id, centre, type, titre, mots_titre, mots_resume, lieux, moissonnee FROM "
        f"doublons_signatures WHERE id IN (SELECT DISTINCT id FROM doublons_cles "
        f"WHERE cle IN ({marks})) AND id != ?",
        [*keys, sid],
    )
    return [_from_row(row) for row in rows]


def _regroup(db: sqlite3.Connection) -> None:
    """Groups from the pairs (few: recomputed whole). Every two members of a group must be a
    pair themselves: A like B and B like C does not put A with C (a resource without a
    territory, like two resources of different towns, must not bridge them). Pairs are
    taken from the most alike, in a fixed order: a rebuild forms the same groups."""
    pairs = db.execute(
        "SELECT a, b FROM doublons_paires ORDER BY titre + resume DESC, a, b"
    ).fetchall()
    linked = {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}
    group_of: dict[str, list[str]] = {}
    for a, b in pairs:
        first = group_of.setdefault(a, [a])
        second = group_of.setdefault(b, [b])
        if first is second:
            continue
        if all((x, y) in linked for x in first for y in second):
            first.extend(second)
            for member in second:
                group_of[member] = first
    groups = {id(members): sorted(members) for members in group_of.values() if len(members) > 1}
    centres = dict(
        db.execute(
            "SELECT id, centre FROM doublons_signatures WHERE id IN "
            "(SELECT a FROM doublons_paires UNION SELECT b FROM doublons_paires)"
        )
    )
    db.execute("DELETE FROM doublons_groupes")
    db.executemany(
        "INSERT INTO doublons_groupes VALUES (?, ?, ?)",
        [
            (member, members[0], centres.get(member, member.partition("/")[0]))
            for members in groups.values()
            for member in members
        ],
    )


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: str
    centre: str
    titre: str
    type: str

    @property
    def url(self) -> str:
        return resource_url(self.id)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    titre: float
    resume: float


@dataclass(frozen=True)
class Group:
    id: str  # its first member's id
    members: tuple[Member, ...]
    pairs: tuple[Pair, ...]

    @property
    def centres(self) -> list[str]:
        return sorted({m.centre for m in self.members})

    def as_json(self) -> dict:
        return {
            "groupe": self.id,
            "ressources": [
                {"id": m.id, "centre": m.centre, "titre": m.titre, "type": m.type, "url": m.url}
                for m in self.members
            ],
            "paires": [
                {"a": p.a, "b": p.b, "similarite_titre": p.titre, "similarite_resume": p.resume}
                for p in self.pairs
            ],
        }


def read_groups(db: sqlite3.Connection) -> list[Group]:
    """Every group of the version, by id; [] for a version written before duplicates."""
    if "doublons_groupes" not in statedb.tables(db):
        return []
    members: dict[str, list[Member]] = {}
    for gid, mid, centre, titre, kind in db.execute(
        "SELECT g.groupe, g.id, g.centre, s.titre, s.type FROM doublons_groupes g "
        "LEFT JOIN doublons_signatures s ON s.id = g.id ORDER BY g.groupe, g.id"
    ):
        members.setdefault(gid, []).append(Member(mid, centre, titre or mid, kind or ""))
    group_of = {m.id: gid for gid, ms in members.items() for m in ms}
    pairs: dict[str, list[Pair]] = {}
    for a, b, title, summary in db.execute("SELECT a, b, titre, resume FROM doublons_paires"):
        if a in group_of and group_of[a] == group_of.get(b):  # pairs within a group only
            pairs.setdefault(group_of[a], []).append(Pair(a, b, title, summary))
    return [
        Group(gid, tuple(ms), tuple(sorted(pairs.get(gid, []), key=lambda p: (p.a, p.b))))
        for gid, ms in sorted(members.items())
    ]

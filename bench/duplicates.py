"""Near-duplicate detection (indexer/duplicates.py): what it costs, and what it finds.

    python -m bench.duplicates [--resources 10000] [--planted 50] [--output docs/performance.md]

A synthetic corpus (bench.corpus) with `--planted` near-duplicates added: copies of
existing resources into another centre, their title and summary lightly edited (a word
dropped, a word added), as a centre relaying another's sheet would. Then:

- the duplicate step of a full rebuild: signatures and candidate keys of every resource,
  candidate look-ups and comparisons, groups (`duplicates.apply_changes` on an empty
  state database, as `kb index --rebuild` runs it);
- the duplicate step of a one-file publication: one changed resource against the whole
  version's tables (median of 15), and the whole `kb index FILE` around it (median of 5);
- how many candidates a resource is compared with (mean, 99th centile), against the
  corpus size an all-pairs pass would compare it with;
- what was found: planted pairs grouped (recall) and groups that were not planted.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import CorpusGenerator
from indexer import duplicates, statedb
from indexer.build import Indexer
from indexer.store import IndexFolder
from kb.loader import load_tree
from kb.vocabulary import load_vocabularies

ROOT = Path(__file__).resolve().parent.parent
MARK_BEGIN = "<!-- bench.duplicates: début -->"
MARK_END = "<!-- bench.duplicates: fin -->"


def plant(root: Path, count: int, seed: int = 7) -> set[frozenset[str]]:
    """Copy `count` resources into the next centre, lightly edited: the pairs expected."""
    rng = random.Random(seed)
    files = sorted(root.glob("centre-*/lot-*/res-*.md"))
    pairs = set()
    for path in rng.sample(files, count):
        text = path.read_text(encoding="utf-8")
        centre = path.parts[-3]
        target_centre = f"centre-{(int(centre.split('-')[1]) + 1) % 20:02d}"
        head, _, body = text.partition("\n---\n")
        lines = head.split("\n")
        for number, line in enumerate(lines):
            if line.startswith("titre:"):
                lines[number] = line.rstrip('"') + ' (relais)"'
            elif line.startswith("resume:"):
                words = line.rstrip('"').split(" ")
                lines[number] = " ".join(words[:-2]) + ' relayée."'
        slug = path.stem + "-relais"
        folder = root / target_centre / "relais"
        folder.mkdir(exist_ok=True)
        (folder / f"{slug}.md").write_text("\n".join(lines) + "\n---\n" + body, encoding="utf-8")
        pairs.add(frozenset({f"{centre}/{path.stem}", f"{target_centre}/{slug}"}))
    return pairs


def measure(resources: int, planted: int, work: Path) -> dict:
    content = work / "contenu"
    CorpusGenerator().write(content, resources)
    expected = plant(content, planted)
    index = work / "index"
    started = time.perf_counter()
    Indexer(content, index).rebuild()
    rebuild_seconds = time.perf_counter() - started

    tree = load_tree(content)
    vocabularies = load_vocabularies()
    started = time.perf_counter()
    signatures = [duplicates.signature(r, vocabularies) for r in tree.published]
    signing = time.perf_counter() - started
    fresh = sqlite3.connect(work / "vide.sqlite", isolation_level=None)
    started = time.perf_counter()
    duplicates.apply_changes(fresh, signatures, [])
    comparing = time.perf_counter() - started
    fresh.close()

    # A copy of the state, written as the next version would write it (indexer/statedb.py).
    current = IndexFolder(index).current()
    scratch = work / "copie"
    scratch.mkdir()
    with (
        sqlite3.connect(index / statedb.STATE) as source,
        sqlite3.connect(scratch / statedb.STATE) as target,
    ):
        source.backup(target)
    number = statedb.generation_number(current) + 1
    db = statedb.connect(scratch / f"gen-{number:06d}", writable=True)
    rng = random.Random(3)
    one = []
    candidates = []
    for sig in rng.sample(signatures, 200):
        candidates.append(len(duplicates._candidates(db, sig.id, sig.keys)))
    for sig in rng.sample(signatures, 15):
        started = time.perf_counter()
        duplicates.apply_changes(db, [sig], [])
        one.append(time.perf_counter() - started)
    groups = duplicates.read_groups(db)
    db.close()

    publications = []
    for path in rng.sample(sorted(content.glob("centre-*/lot-*/res-*.md")), 5):
        relative = path.relative_to(content).as_posix()
        path.write_text(
            path.read_text(encoding="utf-8").replace("## ", "## Modifié ", 1), encoding="utf-8"
        )
        started = time.perf_counter()
        Indexer(content, index).update([relative])
        publications.append(time.perf_counter() - started)

    found = {frozenset(m.id for m in g.members) for g in groups}
    by_id = {sig.id: sig for sig in signatures}
    missed_by_keys = 0
    for pair in expected - found:
        a, b = (by_id[i] for i in sorted(pair))
        if duplicates.compare(a, b).duplicates:  # the rule would group them: keys missed
            missed_by_keys += 1
    candidates.sort()
    return {
        "resources": len(signatures),
        "rebuild": rebuild_seconds,
        "signing": signing,
        "comparing": comparing,
        "one": statistics.median(one),
        "publication": statistics.median(publications),
        "candidates_mean": statistics.mean(candidates),
        "candidates_p99": candidates[int(len(candidates) * 0.99) - 1],
        "recall": len(found & expected) / len(expected) if expected else 1.0,
        "planted": len(expected),
        "unexpected": len(found - expected),
        "missed_by_keys": missed_by_keys,
    }


def table(row: dict) -> str:
    ms = 1000
    lines = [
        "| Mesure | Valeur |",
        "|---|---:|",
        f"| Ressources (dont quasi-doublons ajoutés) | {row['resources']} ({row['planted']}) |",
        f"| Reconstruction complète, pour mémoire | {row['rebuild']:.1f} s |",
        f"| Doublons dans la reconstruction : signatures et clés | {row['signing']:.2f} s |",
        f"| Doublons dans la reconstruction : candidats, comparaisons, groupes | "
        f"{row['comparing']:.2f} s |",
        f"| Doublons dans une publication d'un fichier (médiane) | {row['one'] * ms:.1f} ms |",
        f"| Publication d'un fichier, `kb index FICHIER` entier (médiane) | "
        f"{row['publication'] * ms:.0f} ms |",
        f"| Candidats comparés par ressource : moyenne, 99e centile | "
        f"{row['candidates_mean']:.1f}, {row['candidates_p99']} (sur {row['resources'] - 1}) |",
        f"| Quasi-doublons ajoutés retrouvés | {row['recall']:.0%} |".replace("%", " %"),
        f"| Quasi-doublons ajoutés manqués faute de clé commune (les autres : règle non "
        f"satisfaite, titre court trop modifié) | {row['missed_by_keys']} |",
        f"| Groupes trouvés en plus | {row['unexpected']} |",
    ]
    return "\n".join(lines)


def write_output(path: Path, text: str) -> None:
    doc = path.read_text(encoding="utf-8")
    start, end = doc.index(MARK_BEGIN) + len(MARK_BEGIN), doc.index(MARK_END)
    path.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mesure la détection des quasi-doublons.")
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--planted", type=int, default=50)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-doublons-") as work:
        row = measure(args.resources, args.planted, Path(work))
    text = table(row)
    print(text)
    if args.output:
        write_output(args.output, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

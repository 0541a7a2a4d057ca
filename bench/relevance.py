"""Relevance benchmark: graded queries over a content tree, nDCG@10 and recall@10 by kind.

    python -m bench.relevance                        # the demo base, bench/relevance.yaml
    python -m bench.relevance --content DIR --queries FILE
    python -m bench.relevance --detail               # each query's figures and results
    python -m bench.relevance --output docs/recherche.md   # rewrites the recorded table

Only the main results count (`resultats`: resources that answer every word of the query);
approximate results, shown apart, do not. For a query of kind `sans-reponse` (no resource
is relevant), both figures are 1 when there is no main result and 0 otherwise.

nDCG@10 uses the gain 2^grade - 1 and the discount log2(rank + 1), normalised by the best
possible order of the graded resources; recall@10 is the share of the resources graded 1
or more found in the first 10 results.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
QUERIES = Path(__file__).resolve().parent / "relevance.yaml"
NO_ANSWER = "sans-reponse"
KINDS = (
    "simple",
    "sans-accents",
    "fautes",
    "sigles",
    "elisions-pluriels",
    "paraphrases",
    "filtres",
    "expressions",
    NO_ANSWER,
)
DEPTH = 10
TABLE_START = "<!-- pertinence:debut -->"
TABLE_END = "<!-- pertinence:fin -->"


@dataclass(frozen=True)
class GradedQuery:
    kind: str
    q: str
    filters: dict[str, tuple[str, ...]]
    grades: dict[str, int]


@dataclass
class QueryScore:
    query: GradedQuery
    found: list[str]
    ndcg: float
    recall: float


@dataclass
class Report:
    scores: list[QueryScore] = field(default_factory=list)

    def by_kind(self) -> dict[str, tuple[int, float, float]]:
        """kind -> (number of queries, mean nDCG@10, mean recall@10), plus `ensemble`."""
        table: dict[str, tuple[int, float, float]] = {}
        groups = {kind: [s for s in self.scores if s.query.kind == kind] for kind in KINDS}
        groups["ensemble"] = list(self.scores)
        for kind, scores in groups.items():
            if scores:
                table[kind] = (
                    len(scores),
                    sum(s.ndcg for s in scores) / len(scores),
                    sum(s.recall for s in scores) / len(scores),
                )
        return table


def load_queries(path: Path) -> list[GradedQuery]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    queries = []
    for entry in data["requetes"]:
        filters = {
            key: tuple(value if isinstance(value, list) else [value])
            for key, value in (entry.get("filtres") or {}).items()
        }
        grades = {str(k): int(v) for k, v in (entry.get("pertinentes") or {}).items()}
        queries.append(GradedQuery(str(entry["type"]), str(entry["q"]), filters, grades))
    return queries


def ndcg(found: list[str], grades: dict[str, int], depth: int = DEPTH) -> float:
    if not grades:
        return 0.0 if found else 1.0
    gain = sum((2 ** grades.get(d, 0) - 1) / math.log2(r + 2) for r, d in enumerate(found[:depth]))
    ideal = sorted(grades.values(), reverse=True)[:depth]
    best = sum((2**g - 1) / math.log2(r + 2) for r, g in enumerate(ideal))
    return gain / best if best else 0.0


def recall(found: list[str], grades: dict[str, int], depth: int = DEPTH) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    if not relevant:
        return 0.0 if found else 1.0
    return len(relevant & set(found[:depth])) / len(relevant)


def evaluate(index, queries: list[GradedQuery]) -> Report:
    from indexer.search import SearchRequest

    report = Report()
    for graded in queries:
        # As people see them: a group of near-duplicates once. A group stands for the same
        # practice: it counts as its best-graded member.
        request = SearchRequest(
            q=graded.q, filters=graded.filters, per_page=DEPTH, with_facets=False, collapse=True
        )
        found = [
            max(
                [hit.id] + [other["id"] for other in hit.also],
                key=lambda i: graded.grades.get(i, 0),
            )
            for hit in index.search(request).hits
        ]
        report.scores.append(
            QueryScore(graded, found, ndcg(found, graded.grades), recall(found, graded.grades))
        )
    return report


def run(content: Path, queries_path: Path, index_dir: Path | None = None) -> Report:
    """Index `content` (in a temporary folder unless `index_dir` is given), then evaluate."""
    from indexer.build import Indexer
    from indexer.search import SearchIndex

    with tempfile.TemporaryDirectory(prefix="kb-pertinence-") as scratch:
        folder = index_dir or Path(scratch) / "index"
        report = Indexer(content, folder).update()
        if not report.ok:
            problems = "\n".join(p.format() for p in report.problems)
            raise SystemExit(f"erreur : le contenu ne s'indexe pas sans erreur :\n{problems}")
        index = SearchIndex(folder)
        try:
            return evaluate(index, load_queries(queries_path))
        finally:
            index.close()


def table(report: Report) -> str:
    lines = [
        "| Type de requête | Requêtes | nDCG@10 | Rappel@10 |",
        "|---|---:|---:|---:|",
    ]
    for kind, (count, mean_ndcg, mean_recall) in report.by_kind().items():
        lines.append(f"| {kind} | {count} | {mean_ndcg:.3f} | {mean_recall:.3f} |")
    return "\n".join(lines)


def recorded(markdown: str) -> dict[str, tuple[float, float]]:
    """The figures recorded in a Markdown page, by kind: (nDCG@10, recall@10)."""
    start, end = markdown.index(TABLE_START), markdown.index(TABLE_END)
    figures = {}
    for line in markdown[start:end].splitlines():
        match = re.match(r"\|\s*([\w-]+)\s*\|\s*\d+\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", line)
        if match:
            figures[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return figures


def write_table(report: Report, page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    page.write_text(text[:start] + "\n" + table(report) + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.relevance",
        description="Pertinence de la recherche : nDCG@10 et rappel@10 par type de requête.",
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content", help="dossier de contenu")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="requêtes notées (YAML)")
    parser.add_argument("--index", type=Path, help="dossier d'index à utiliser (sinon temporaire)")
    parser.add_argument("--detail", action="store_true", help="chiffres et résultats par requête")
    parser.add_argument("--json", action="store_true", help="sortie JSON")
    parser.add_argument("--output", type=Path, help="page Markdown dont réécrire le tableau")
    args = parser.parse_args(argv)
    report = run(args.content, args.queries, args.index)
    if args.json:
        data = {
            kind: {"requetes": n, "ndcg@10": round(a, 4), "rappel@10": round(b, 4)}
            for kind, (n, a, b) in report.by_kind().items()
        }
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if args.detail:
        for score in report.scores:
            print(f"{score.ndcg:.3f} {score.recall:.3f} [{score.query.kind}] {score.query.q!r}")
            for rank, found in enumerate(score.found, 1):
                print(f"    {rank}. {found} ({score.query.grades.get(found, 0)})")
            missed = [d for d in score.query.grades if d not in score.found]
            if missed:
                print("    manquantes : " + ", ".join(missed))
    print(table(report))
    if args.output:
        write_table(report, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

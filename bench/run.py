"""Index and search benchmark, with SQLite FTS5 on the same corpus as the reference.

    python -m bench.run                      # 1k and 10k resources
    python -m bench.run --sizes 1000 10000 100000
    python -m bench.run --output docs/performance.md   # also writes the results there

Each build runs in its own process (peak memory is that process's, workers included).
Latencies are medians and 95th percentiles over repeated rounds of a fixed query mix;
ratios compare with FTS5 measured in the same run, on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import fts5
from bench.corpus import CorpusGenerator

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"

# What people type (accents or not, acronyms, typos, phrases), with and without filters.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("décrochage scolaire", {}),
    ("decrochage college", {}),
    ("renouvellement urbain", {}),
    ("renouvelement urbain", {}),
    ("GUSP", {}),
    ("PRE", {}),
    ("relogement NPNRU", {}),
    ("insertion professionnelle des jeunes", {}),
    ("l'insertion", {}),
    ('"réussite éducative"', {}),
    ("jardins partagés", {}),
    ("securite tranquillite", {}),
    ("santé mentale", {}),
    ("médiation sociale", {"piliers": "cohesion-sociale"}),
    ("emploi", {"piliers": "developpement-economique", "region": "76"}),
    ("quartier", {}),
    ("participation des habitants", {"type": "fiche-pratique"}),
    ("numerique", {"annee": "2020"}),
    ("", {"piliers": "cadre-de-vie"}),
    ("parentalite", {}),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def corpus(size: int) -> Path:
    path = DATA / f"corpus-{size}"
    if not (path / ".complet").exists():
        shutil.rmtree(path, ignore_errors=True)
        CorpusGenerator(seed=size).write(path, size)
        (path / ".complet").write_text("ok")
    return path


def run_child(args: list[str]) -> tuple[dict, int]:
    """Run `python -m bench.run --child ...`; its JSON output and its peak RSS in bytes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.run", "--child", *args], stdout=subprocess.PIPE, cwd=ROOT
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.stdout.close()
    if status != 0:
        raise SystemExit(f"mesure en échec : {args}")
    return json.loads(output), usage.ru_maxrss * 1024


def child(kind: str, content: str, target: str) -> None:
    started = time.perf_counter()
    if kind == "whoosh":
        from indexer.build import Indexer

        report = Indexer(content, target).rebuild()
        count = len(report.added) + len(report.updated)
    else:
        count = fts5.build(Path(content), Path(target))
    print(json.dumps({"seconds": time.perf_counter() - started, "documents": count}))


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def touch_resource(content: Path, rng: random.Random) -> str:
    files = sorted(p for p in (content / "centre-00" / "lot-000").glob("*.md"))
    path = rng.choice(files)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\nAjout de mesure {rng.random()}.\n")
    return path.relative_to(content).as_posix()


def measure(
    size: int,
    rounds: int,
    scan: bool,
    page: bool = True,
    reference: bool = True,
    reuse: bool = False,
) -> dict:
    content = corpus(size)
    work = DATA / f"mesure-{size}"
    results: dict = {"taille": size}
    if not (reuse and (work / "index").is_dir()):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        whoosh_build, whoosh_rss = run_child(["whoosh", str(content), str(work / "index")])
        results["reconstruction"] = {"whoosh": whoosh_build["documents"] / whoosh_build["seconds"]}
        results["memoire"] = {"whoosh": whoosh_rss}
        if reference:
            fts_build, fts_rss = run_child(["fts5", str(content), str(work / "fts.sqlite")])
            results["reconstruction"]["fts5"] = fts_build["documents"] / fts_build["seconds"]
            results["memoire"]["fts5"] = fts_rss
    results["taille_index"] = {"whoosh": folder_size(work / "index")}
    if reference:
        results["taille_index"]["fts5"] = sum(p.stat().st_size for p in work.glob("fts.sqlite*"))

    from indexer.build import Indexer
    from indexer.search import SearchIndex, SearchRequest, normalise_filters

    rng = random.Random(size)
    indexer = Indexer(content, work / "index")
    publish = timed(lambda: indexer.update([touch_resource(content, rng)]), 7)
    results["publication_1_fichier"] = {"whoosh": statistics.median(publish)}
    if scan:
        rescan = timed(lambda: (touch_resource(content, rng), indexer.update()), 3)
        results["publication_1_fichier_parcours"] = {"whoosh": statistics.median(rescan)}
    db = fts5.connect(work / "fts.sqlite") if reference else None
    if db is not None:
        fts_publish = timed(lambda: fts5.update_one(db, content, touch_resource(content, rng)), 7)
        results["publication_1_fichier"]["fts5"] = statistics.median(fts_publish)

    index = SearchIndex(work / "index")
    started = time.perf_counter()
    index.search(SearchRequest(q="quartier"))
    results["ouverture_index"] = time.perf_counter() - started
    latencies, fts_latencies = [], []
    for _ in range(rounds):
        for text, filters in QUERIES:
            request = SearchRequest(q=text, filters=normalise_filters(filters))
            latencies += timed(lambda r=request: index.search(r), 1)
            if db is not None:
                fts_latencies += timed(
                    lambda t=text, f=filters: fts5.search(db, t or "quartier", f), 1
                )
    results["recherche"] = {"whoosh": (statistics.median(latencies), percentile(latencies, 0.95))}
    if fts_latencies:
        results["recherche"]["fts5"] = (
            statistics.median(fts_latencies),
            percentile(fts_latencies, 0.95),
        )
    results["page_recherche"] = page_times(content, work / "index", rounds) if page else None
    index.close()
    if db is not None:
        db.close()
    return results


def page_times(content: Path, index_dir: Path, rounds: int) -> tuple[float, float] | None:
    """Server time of /recherche through the WSGI app (facets, extracts, suggestion, HTML)."""
    try:
        from webapp import create_app
    except ImportError:
        return None
    from urllib.parse import urlencode

    app = create_app({"KB_CONTENT": str(content), "KB_INDEX": str(index_dir), "TESTING": True})
    client = app.test_client()
    client.get("/recherche?q=quartier")
    times = []
    for _ in range(rounds):
        for text, filters in QUERIES:
            url = "/recherche?" + urlencode({"q": text, **filters})
            times += timed(lambda u=url: client.get(u), 1)
    return statistics.median(times), percentile(times, 0.95)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cœurs ({cpu}), "
        f"{memory:.0f} Gio de mémoire, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _row(label: str, n: str, whoosh, fts, show, ratio_digits: int = 1) -> str:
    """A table row; a measure not taken in this run is shown as « – »."""
    if whoosh is None:
        return ""
    ratio = f"{whoosh / fts:.{ratio_digits}f}" if fts else "–"
    return f"| {label} | {n} | {show(whoosh)} | {show(fts) if fts else '–'} | {ratio} |"


def report(all_results: list[dict]) -> str:
    lines = [f"Machine : {machine()}.", f"Date : {time.strftime('%Y-%m-%d %H:%M')}.", ""]
    lines += [
        "| Mesure | Taille | Whoosh (ce projet) | FTS5 (référence) | Rapport |",
        "|---|---:|---:|---:|---:|",
    ]
    mib = lambda v: f"{v / 2**20:.0f} Mio"  # noqa: E731
    for r in all_results:
        n = f"{r['taille']:,}".replace(",", " ")
        rebuild, memory = r.get("reconstruction", {}), r.get("memoire", {})
        publish, search = r["publication_1_fichier"], r["recherche"]
        rows = [
            _row(
                "Reconstruction complète (documents/s)",
                n,
                rebuild.get("whoosh"),
                rebuild.get("fts5"),
                lambda v: f"{v:.0f}",
                2,
            ),
            _row(
                "Publication d'un fichier (médiane)", n, publish["whoosh"], publish.get("fts5"), ms
            ),
            _row(
                "Mise à jour par parcours du dossier (médiane)",
                n,
                r.get("publication_1_fichier_parcours", {}).get("whoosh"),
                None,
                ms,
            ),
            _row("Recherche p50", n, search["whoosh"][0], search.get("fts5", (None,))[0], ms),
            _row("Recherche p95", n, search["whoosh"][1], search.get("fts5", (None, None))[1], ms),
        ]
        if r.get("page_recherche"):
            p50, p95 = r["page_recherche"]
            rows.append(
                f"| Page /recherche p50 / p95 (WSGI) | {n} | {ms(p50)} / {ms(p95)} | – | – |"
            )
        size = r["taille_index"]
        rows.append(_row("Taille de l'index", n, size["whoosh"], size.get("fts5"), mib))
        rows.append(
            _row(
                "Mémoire de pointe (reconstruction)",
                n,
                memory.get("whoosh"),
                memory.get("fts5"),
                mib,
            )
        )
        rows.append(
            f"| Ouverture de l'index (1re recherche) | {n} | {ms(r['ouverture_index'])} | – | – |"
        )
        lines += [row for row in rows if row]
    return "\n".join(lines)


MARK_BEGIN, MARK_END = "<!-- resultats-bench:debut -->", "<!-- resultats-bench:fin -->"


def write_into(path: Path, text: str) -> None:
    document = path.read_text(encoding="utf-8")
    before, _, rest = document.partition(MARK_BEGIN)
    _, _, after = rest.partition(MARK_END)
    path.write_text(f"{before}{MARK_BEGIN}\n{text}\n{MARK_END}{after}", encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description="Mesures de l'index et de la recherche.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5, help="tours de la série de requêtes")
    parser.add_argument(
        "--no-scan",
        action="store_true",
        help="ne pas mesurer la mise à jour par parcours complet du dossier",
    )
    parser.add_argument(
        "--no-page",
        action="store_true",
        help="ne pas mesurer la page /recherche à travers l'application web",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="ne pas mesurer FTS5 (sa recherche avec facettes prend des minutes "
        "à 100 000 ressources)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="réutiliser l'index d'une exécution précédente (pas de reconstruction)",
    )
    parser.add_argument("--output", type=Path, help="fichier Markdown où écrire les résultats")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    results = []
    for size in args.sizes:
        print(f"… {size} ressources", file=sys.stderr)
        results.append(
            measure(
                size,
                args.rounds,
                not args.no_scan,
                not args.no_page,
                not args.no_reference,
                args.reuse,
            )
        )
    text = report(results)
    print(text)
    if args.output:
        write_into(args.output, text)


if __name__ == "__main__":
    main()

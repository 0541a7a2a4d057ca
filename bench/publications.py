"""Search after publications: the first page after each one-file publication, and the
search page's latency on an index that has had many of them.

    python -m bench.publications --size 100000 --publications 100 --repeat 3 --reuse
    python -m bench.publications ... --output docs/performance.md   # also writes the results

Each repetition runs in its own process (the per-segment caches are per process) on a
copy of the index built by `python -m bench.run` (`bench-data/mesure-N/index`, built here
when missing or without `--reuse`). The copy hard-links Whoosh's segment files (written
once, never modified) and copies the rest, so the built index stays as it was.

Measured in the same process, in this order:
1. the search page (`/recherche`, through the WSGI app) on the fresh index: p50/p95/p99
   over rounds of the query mix of `bench.run`;
2. N publications of one file (`Indexer.update([chemin])`), each followed by one search
   page, which opens the new index version: its time is the "first page after a
   publication";
3. the search page again, on the index after the N publications;
4. the reference: a few more publications, each followed by a first page with the
   per-segment caches emptied, i.e. with everything read again for the new version, as
   every version did before those caches.
The load average of the machine is noted before and after each repetition; the figures
reported are the medians over the repetitions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.run import DATA, QUERIES, ROOT, corpus, machine, percentile, run_child, touch_resource

WHOOSH_SUFFIXES = (".toc", ".seg", ".trm", ".pst", ".fdt", ".fdi", ".col", ".vps", ".pos")


def base_index(size: int, reuse: bool) -> Path:
    """The index built from the corpus (by `bench.run`'s child process)."""
    content = corpus(size)
    work = DATA / f"mesure-{size}"
    if not (reuse and (work / "index").is_dir()):
        shutil.rmtree(work / "index", ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        run_child(["whoosh", str(content), str(work / "index")])
    return work / "index"


def copy_index(source: Path, target: Path) -> None:
    """Hard-link Whoosh's immutable files, copy everything else (state, registry, pointer)."""
    shutil.rmtree(target, ignore_errors=True)

    def link_or_copy(src: str, dst: str) -> None:
        if src.endswith(WHOOSH_SUFFIXES) and not os.path.basename(src).startswith("."):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link_or_copy)


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def page_latencies(client, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for text, filters in QUERIES:
            url = "/recherche?" + urlencode({"q": text, **filters})
            times.append(timed(lambda u=url: _get(client, u)))
    return times


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} : HTTP {response.status_code}")


def summary(times: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "p99": percentile(times, 0.99),
        "max": max(times),
    }


def child(size: int, publications: int, references: int, rounds: int, index_dir: str) -> None:
    """One repetition (in its own process): prints its measures as JSON."""
    from indexer import segment_cache
    from indexer.build import Indexer
    from webapp import create_app

    content = corpus(size)
    load_before = os.getloadavg()[0]
    app = create_app({"KB_CONTENT": str(content), "KB_INDEX": index_dir, "TESTING": True})
    client = app.test_client()
    opening = timed(lambda: _get(client, "/recherche?q=quartier"))
    fresh = page_latencies(client, rounds)

    indexer = Indexer(content, index_dir)
    rng = random.Random(size + os.getpid())
    publish_times, first_pages = [], []
    for number in range(publications):
        path = touch_resource(content, rng)
        publish_times.append(timed(lambda p=path: indexer.update([p])))
        text, filters = QUERIES[number % len(QUERIES)]
        url = "/recherche?" + urlencode({"q": text, **filters})
        first_pages.append(timed(lambda u=url: _get(client, u)))
    after = page_latencies(client, rounds)

    reference = []
    for number in range(references):
        indexer.update([touch_resource(content, rng)])
        segment_cache.STRUCTURE.clear()
        segment_cache.POSTINGS.clear()
        text, filters = QUERIES[number % len(QUERIES)]
        url = "/recherche?" + urlencode({"q": text, **filters})
        reference.append(timed(lambda u=url: _get(client, u)))

    with app.extensions["kb_catalogue"].index.reading() as snap:
        segments = len(snap.segments)
        deleted = sum(int(s.deleted.size) for s in snap.segments)
    print(
        json.dumps(
            {
                "charge": [load_before, os.getloadavg()[0]],
                "ouverture": opening,
                "neuf": summary(fresh),
                "publication": statistics.median(publish_times),
                "premiere_page": summary(first_pages),
                "apres": summary(after),
                "reference_premiere_page": summary(reference) if reference else None,
                "segments": segments,
                "supprimes": deleted,
            }
        )
    )


def measure(args: argparse.Namespace) -> list[dict]:
    source = base_index(args.size, args.reuse)
    results = []
    for repetition in range(args.repeat):
        target = DATA / f"mesure-{args.size}" / "publications"
        copy_index(source, target)
        print(f"… répétition {repetition + 1}/{args.repeat}", file=sys.stderr)
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.publications",
                "--child",
                str(args.size),
                str(args.publications),
                str(args.references),
                str(args.rounds),
                str(target),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
        results.append(json.loads(output))
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(args: argparse.Namespace, results: list[dict]) -> str:
    def median(*keys: str) -> float:
        values = []
        for result in results:
            value = result
            for key in keys:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    n = f"{args.size:,}".replace(",", " ")
    loads = ", ".join(f"{r['charge'][0]:.1f} → {r['charge'][1]:.1f}" for r in results)
    lines = [
        f"Machine : {machine()}.",
        f"Date : {time.strftime('%Y-%m-%d %H:%M')}. {n} ressources, "
        f"{args.publications} publications d'un fichier, {args.repeat} répétitions "
        f"(médianes ci-dessous), {args.rounds} tours de la série de {len(QUERIES)} requêtes.",
        f"Charge de la machine (moyenne sur 1 min, avant → après chaque répétition) : {loads}.",
        f"Index après les publications : {results[0]['segments']} segments, "
        f"{results[0]['supprimes']} documents supprimés en attente de fusion.",
        "",
        "| Mesure | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [
        ("Page /recherche, index neuf", "neuf"),
        (f"Première page après chaque publication ({args.publications})", "premiere_page"),
        (f"Page /recherche après {args.publications} publications", "apres"),
    ]
    if results[0]["reference_premiere_page"]:
        rows.append(
            (
                f"Référence : première page après publication, tout relu "
                f"({args.references}, caches par segment vidés)",
                "reference_premiere_page",
            )
        )
    for label, key in rows:
        cells = " | ".join(ms(median(key, q)) for q in ("p50", "p95", "p99", "max"))
        lines.append(f"| {label} | {cells} |")
    lines += [
        "",
        f"Publication d'un fichier (médiane) : {ms(median('publication'))}. "
        f"Ouverture de l'index au démarrage du processus (1re page) : "
        f"{ms(median('ouverture'))}.",
    ]
    return "\n".join(lines)


MARK_BEGIN = "<!-- resultats-publications:debut -->"
MARK_END = "<!-- resultats-publications:fin -->"


def write_into(path: Path, text: str) -> None:
    document = path.read_text(encoding="utf-8")
    before, found, rest = document.partition(MARK_BEGIN)
    if not found:
        raise SystemExit(f"{path} : marqueur {MARK_BEGIN} absent")
    _, _, after = rest.partition(MARK_END)
    path.write_text(f"{before}{MARK_BEGIN}\n{text}\n{MARK_END}{after}", encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        size, publications, references, rounds = (int(v) for v in sys.argv[2:6])
        child(size, publications, references, rounds, sys.argv[6])
        return
    parser = argparse.ArgumentParser(
        description="Recherche après des publications : première page et latences."
    )
    parser.add_argument("--size", type=int, default=10000, help="nombre de ressources")
    parser.add_argument("--publications", type=int, default=100)
    parser.add_argument(
        "--references", type=int, default=5, help="publications mesurées caches vidés"
    )
    parser.add_argument("--rounds", type=int, default=5, help="tours de la série de requêtes")
    parser.add_argument("--repeat", type=int, default=3, help="répétitions (médianes)")
    parser.add_argument(
        "--reuse", action="store_true", help="réutiliser l'index construit par une exécution"
    )
    parser.add_argument("--output", type=Path, help="fichier Markdown où écrire les résultats")
    args = parser.parse_args()
    results = measure(args)
    text = report(args, results)
    print(text)
    if args.output:
        write_into(args.output, text)


if __name__ == "__main__":
    main()

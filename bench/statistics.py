"""Server time of the statistics pages at a given corpus size, through the WSGI app.

    python -m bench.statistics                          # 10 000 resources
    python -m bench.statistics --size 1000 --rounds 3
    python -m bench.statistics --output docs/performance.md   # writes the results there

The corpus is bench/corpus.py's (generated once in bench-data/), its index built once in
bench-data/index-statistiques-N (`--rebuild` builds it again). Each round requests a
fixed mix of /statistiques URLs (no filter, filters, a text query, years of entry), the
JSON API, an annual review and, as a reference for the machine's load, the search page;
the first request after opening the index (which reads the per-version tables) is
reported apart.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from bench.run import DATA, corpus, machine, percentile

PAGES = [
    "/statistiques",
    "/statistiques?annees=entree",
    "/statistiques?piliers=cohesion-sociale",
    "/statistiques?centre=centre-03&annee=2024",
    "/statistiques?piliers=cadre-de-vie&thematiques=education&annee=2018-2022",
    "/statistiques?q=renouvellement+urbain",
    "/statistiques?q=jeunes&region=76&annees=entree",
    "/statistiques?type=fiche-pratique&departement=59",
]
API = ["/api/v1/statistiques", "/api/v1/statistiques?centre=centre-05&piliers=cadre-de-vie"]
REVIEWS = ["/centres/centre-01/bilan/2023", "/centres/centre-07/bilan/2020"]
SEARCHES = [
    "/recherche?q=quartier",
    "/recherche?q=renouvellement+urbain",
    "/recherche?piliers=cadre-de-vie",
    "/recherche?q=jeunes&region=76",
]
MARKERS = ("<!-- statistiques-bench:debut -->", "<!-- statistiques-bench:fin -->")


def index_for(content: Path, size: int, rebuild: bool) -> Path:
    from indexer.build import Indexer

    target = DATA / f"index-statistiques-{size}"
    if rebuild or not (target / ".complet").exists():
        shutil.rmtree(target, ignore_errors=True)
        report = Indexer(content, target).rebuild()
        if not report.ok:
            raise SystemExit("échec de la construction de l'index")
        (target / ".complet").write_text("ok")
    return target


def times_of(client, urls: list[str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} : statut {response.status_code}")
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def measure(size: int, rounds: int, rebuild: bool) -> str:
    from webapp import create_app

    content = corpus(size)
    index = index_for(content, size, rebuild)
    app = create_app({"KB_CONTENT": str(content), "KB_INDEX": str(index), "TESTING": True})
    client = app.test_client()
    started = time.perf_counter()
    client.get("/statistiques")
    first = time.perf_counter() - started
    pages = times_of(client, PAGES, rounds)
    api = times_of(client, API, rounds)
    reviews = times_of(client, REVIEWS, rounds)
    # The search page in the same run: a reference that tells how loaded the machine was.
    searches = times_of(client, SEARCHES, rounds)
    exports = times_of(client, ["/statistiques.ods", "/statistiques.csv"], 1)
    n = f"{size:,}".replace(",", "\u202f")
    rows = [
        ("Page /statistiques p50 / p95", pages),
        ("API /api/v1/statistiques p50 / p95", api),
        ("Bilan annuel d'un centre p50 / p95", reviews),
        ("Référence : page /recherche p50 / p95 (même exécution)", searches),
    ]
    lines = [
        f"Machine : {machine()}.",
        f"Date : {time.strftime('%Y-%m-%d %H:%M')} ; {rounds} tours de {len(PAGES)} adresses.",
        "",
        "| Mesure | Taille | Temps |",
        "|---|---:|---:|",
    ]
    for label, values in rows:
        lines.append(
            f"| {label} | {n} | {ms(statistics.median(values))} / {ms(percentile(values, 0.95))} |"
        )
    lines.append(f"| Première page après l'ouverture de l'index | {n} | {ms(first)} |")
    lines.append(f"| Export ODS complet | {n} | {ms(exports[0])} |")
    lines.append(f"| Export CSV | {n} | {ms(exports[1])} |")
    return "\n".join(lines)


def write_into(path: Path, text: str) -> None:
    """Replace what lies between the markers of `path` (added at its end if missing)."""
    document = path.read_text(encoding="utf-8")
    begin, end = MARKERS
    if begin not in document:
        document = document.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    before, _, rest = document.partition(begin)
    _, _, after = rest.partition(end)
    path.write_text(f"{before}{begin}\n{text}\n{end}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesures des pages de statistiques.")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="reconstruire l'index")
    parser.add_argument("--output", type=Path, help="fichier Markdown où écrire les résultats")
    args = parser.parse_args()
    text = measure(args.size, args.rounds, args.rebuild)
    print(text)
    if args.output:
        write_into(args.output, text)


if __name__ == "__main__":
    main()

"""Load test: gunicorn (several workers) on loopback, driven by locust in headless mode.

    python -m bench.load --size 10000 --users 20 --seconds 30

Uses the corpus and index of `python -m bench.run` (built if missing). Traffic goes to
127.0.0.1 only; the run stops by itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.run import DATA, ROOT, corpus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"le serveur ne répond pas : {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Test de charge (gunicorn + locust).")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    content = corpus(args.size)
    index = DATA / f"index-charge-{args.size}"
    from indexer.build import Indexer
    from indexer.search import SearchIndex, SearchRequest

    Indexer(content, index).update()
    reader = SearchIndex(index)
    sample = reader.search(SearchRequest(q="quartier", per_page=100)).hits
    resources = [hit.url for hit in sample]
    reader.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KB_CONTENT": str(content), "KB_INDEX": str(index)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "webapp:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(base + "/healthz")
        with tempfile.TemporaryDirectory() as folder:
            prefix = Path(folder) / "charge"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.users),
                    "--run-time",
                    f"{args.seconds}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                    "--stop-timeout",
                    "5",
                ],
                cwd=ROOT,
                env={**env, "KB_BENCH_RESOURCES": json.dumps(resources), "PYTHONPATH": str(ROOT)},
                check=False,
                timeout=args.seconds + 120,
            )
            rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"Charge : {args.users} utilisateurs simultanés pendant {args.seconds} s, gunicorn "
        f"{args.workers} processus, {args.size} ressources.\n"
    )
    print("| Page | Requêtes | Échecs | Requêtes/s | Médiane | p95 |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} ms | {row['95%']} ms |"
        )


if __name__ == "__main__":
    main()

"""End-to-end publication benchmark: from `git push` to the change found through the API.

    python -m bench.publication --sizes 1000 10000 100000 [--pushes 15] [--output docs/performance.md]
                                [--mode crochet|service|les-deux]

For each size: a corpus (bench.corpus) committed to a bare repository with kb's hooks
installed (as docs/publier.md describes), published once by `kb sync`, then served by
gunicorn (2 workers × 4 threads, loopback only), warmed up by a few searches. Then, from a
centre's clone:

- one-file pushes: the time from the start of `git push` until `/api/v1/recherche` finds
  the new resource (the push returns when the post-receive hook has published; the API
  is then polled every 20 ms);
- refused pushes: the time until `git push` returns with a file in error.

Each size is measured twice by default (--mode les-deux): with the post-receive hook
publishing by itself, then with `kb publication service` running next to gunicorn
(docs/deploiement.md), the hook then only queuing the request and waiting for it.

Every push lands on an index that has lived: each one is a new version built on the
previous one. Results (median, p95, and the ratio to the smallest size measured in the
same run) are printed and, with --output, written into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.corpus import CorpusGenerator

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data" / "publication"
MARK_BEGIN = "<!-- bench.publication: début -->"
MARK_END = "<!-- bench.publication: fin -->"

CONFIG = """\
[publication]
branche = "main"

[publication.comptes]
"doc-bench" = ["centre-00"]
"admin" = ["*"]
"""

SHEET = """---
titre: "Fiche publiée pour la mesure {n}"
type: fiche-pratique
date: 2024-03-12
piliers: [cohesion-sociale]
resume: "Une fiche ajoutée pendant la mesure de publication, numéro {n}."
---

## Contexte

Le mot {word} n'apparaît que dans cette fiche.
"""


def git_env() -> dict[str, str]:
    # As on a server: no git or kb settings from this shell, and hooks that may keep the
    # compiled modules (a PYTHONDONTWRITEBYTECODE here would make every hook compile again).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "KB_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Mesure",
        GIT_AUTHOR_EMAIL="mesure@example.org",
        GIT_COMMITTER_NAME="Mesure",
        GIT_COMMITTER_EMAIL="mesure@example.org",
    )
    return env


def git(*args: str | Path, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *map(str, args)],
        cwd=cwd,
        env=env or git_env(),
        capture_output=True,
        text=True,
        check=True,
    )


def kb(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", *map(str, args)],
        cwd=ROOT,
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
    )


WARM_UP_SEARCHES = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(size: int) -> dict[str, Path]:
    base = DATA / f"n{size}"
    paths = {
        "base": base,
        "bare": base / "depot.git",
        "index": base / "site" / "index",
        "deploy": base / "site" / "contenu",
        "config": base / "kb.toml",
    }
    if (paths["index"] / "ACTUEL").is_file():
        return paths  # reused: an index that has lived through the previous runs
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    seed = base / "seed"
    CorpusGenerator(seed=11).write(seed, size, centres=20)
    git("init", "-q", "--initial-branch=main", seed, cwd=base)
    git("add", "-A", cwd=seed)
    git("-c", "gc.auto=0", "commit", "-q", "-m", "Corpus", cwd=seed)  # no gc left behind
    git("init", "-q", "--bare", "--initial-branch=main", paths["bare"], cwd=base)
    git("push", "-q", paths["bare"], "main", cwd=seed)
    shutil.rmtree(seed)
    paths["config"].write_text(CONFIG, encoding="utf-8")
    options = ["--index", paths["index"], "--config", paths["config"]]
    installed = kb("hooks", "install", paths["bare"], "--deploy", paths["deploy"], *options)
    assert installed.returncode == 0, installed.stderr
    synced = kb("sync", "--remote", paths["bare"], "--content", paths["deploy"], *options)
    assert synced.returncode == 0, synced.stderr
    return paths


def serve(paths: dict[str, Path], port: int) -> subprocess.Popen:
    env = {
        **git_env(),
        "KB_INDEX": str(paths["index"]),
        "KB_CONTENT": str(paths["deploy"]),
        "KB_SITE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "webapp:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            # A running site: each worker has opened the index and answered searches
            # before the first measured push (a cold start is not a publication cost).
            for _ in range(WARM_UP_SEARCHES):
                found(port, "quartier")
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn n'a pas démarré")


def start_service(paths: dict[str, Path]) -> subprocess.Popen:
    """`kb publication service` for this instance, ready to take requests."""
    from publishing.service import is_running

    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "publication", "service", "--index", paths["index"]]
        + ["--content", paths["deploy"], "--config", paths["config"]],
        cwd=ROOT,
        env=git_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not is_running(paths["index"]):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("le service de publication n'a pas démarré")
        time.sleep(0.1)
    time.sleep(1)  # past its start (vocabularies, territories)
    return process


def found(port: int, word: str) -> bool:
    url = f"http://127.0.0.1:{port}/api/v1/recherche?q={word}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["total"] > 0


def measure(size: int, pushes: int, service: bool = False) -> dict:
    paths = setup(size)
    port = free_port()
    server = serve(paths, port)
    publisher = start_service(paths) if service else None
    clone = paths["base"] / f"clone-{time.time_ns()}"
    git("clone", "-q", paths["bare"], clone, cwd=paths["base"])
    env = {**git_env(), "KB_PUSHER": "doc-bench"}
    published, refused = [], []
    try:
        for number in range(pushes):
            word = f"mesure{time.time_ns()}"
            sheet = clone / "centre-00" / "mesures" / f"mesure-{word}.md"
            sheet.parent.mkdir(parents=True, exist_ok=True)
            sheet.write_text(SHEET.format(n=number, word=word), encoding="utf-8")
            git("add", "-A", cwd=clone)
            git("commit", "-q", "-m", f"Mesure {number}", cwd=clone)
            started = time.perf_counter()
            push = subprocess.run(
                ["git", "push", "-q", "origin", "HEAD:main"],
                cwd=clone,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert push.returncode == 0, push.stderr
            while not found(port, word):
                if time.perf_counter() - started > 120:
                    raise RuntimeError(f"{word} introuvable après 120 s")
                time.sleep(0.02)
            published.append(time.perf_counter() - started)

            broken = clone / "centre-00" / "mesures" / f"cassee-{number}.md"
            broken.write_text(SHEET.format(n=number, word=word).replace("2024-03-12", "2024-13-45"))
            git("add", "-A", cwd=clone)
            git("commit", "-q", "-m", "Erreur", cwd=clone)
            started = time.perf_counter()
            push = subprocess.run(
                ["git", "push", "-q", "origin", "HEAD:main"],
                cwd=clone,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            refused.append(time.perf_counter() - started)
            assert push.returncode != 0 and "2024-13-45" in push.stderr, push.stderr
            git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    finally:
        if publisher is not None:
            publisher.terminate()
            publisher.wait(60)
        server.terminate()
        server.wait(30)
        shutil.rmtree(clone, ignore_errors=True)
    return {"size": size, "service": service, "published": published, "refused": refused}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


MODES = {"crochet": [False], "service": [True], "les-deux": [False, True]}


def report(results: list[dict]) -> str:
    smallest = min(r["size"] for r in results)
    reference = {
        r["service"]: statistics.median(r["published"]) for r in results if r["size"] == smallest
    }
    lines = [
        MARK_BEGIN,
        "",
        f"Mesuré le {time.strftime('%Y-%m-%d')} par `python -m bench.publication` "
        f"({os.cpu_count()} cœurs, machine partagée ; gunicorn 2 processus × 4 fils, "
        "boucle locale). Durées en secondes, du début de `git push` à la ressource trouvée "
        "par l'API ; « refusée » : jusqu'au retour de `git push` refusé. « Crochet » : le "
        "crochet post-receive publie lui-même ; « service » : `kb publication service` "
        "tourne et le crochet ne fait que déposer la demande et attendre.",
        "",
        "| Ressources | Publication par | Poussées | Publiée : médiane | p95 | Rapport à "
        f"{smallest:,} | Refusée : médiane | p95 |".replace(",", " "),
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        published, refused = result["published"], result["refused"]
        ratio = statistics.median(published) / reference.get(result["service"], float("nan"))
        lines.append(
            f"| {result['size']:,} | {'service' if result['service'] else 'crochet'} | "
            f"{len(published)} | {statistics.median(published):.2f} | "
            f"{quantile(published, 0.95):.2f} | ×{ratio:.2f} | "
            f"{statistics.median(refused):.2f} | {quantile(refused, 0.95):.2f} |".replace(",", " ")
        )
    lines += ["", MARK_END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesure de bout en bout de la publication.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--pushes", type=int, default=15)
    parser.add_argument("--output", type=Path)
    parser.add_argument(
        "--mode",
        choices=sorted(MODES),
        default="les-deux",
        help="publication par le crochet seul, par le service de publication "
        "(kb publication service, à côté de gunicorn), ou les deux tour à tour",
    )
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for service in MODES[args.mode]:
            result = measure(size, args.pushes, service)
            print(json.dumps({**result, "median": statistics.median(result["published"])}))
            results.append(result)
    text = report(results)
    print(text)
    if args.output:
        current = args.output.read_text(encoding="utf-8")
        if MARK_BEGIN in current:
            start = current.index(MARK_BEGIN)
            end = current.index(MARK_END) + len(MARK_END)
            current = current[:start] + text + current[end:]
        else:
            current += "\n## Publication de bout en bout\n\n" + text + "\n"
        args.output.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()

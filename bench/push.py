"""Publishing by git push, timed with real git and kb's hooks on a synthetic corpus.

    python -m bench.push                       # 1 000 and 10 000 resources
    python -m bench.push --sizes 1000 10000 100000

For each size: a bare repository holding the corpus (bench/corpus.py) with kb's hooks,
published once (`kb sync`), then, from a clone, as a centre account:

- a push refused for an error in one file: `git push` until it returns (pre-receive only);
- the same check the way it was done before (whole pushed tree read), in this process;
- a one-file push accepted: `git push` until it returns (check, then publication).

Everything is kept in bench-data/push-N/ (ignored by git) and reused by the next run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.corpus import CorpusGenerator

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
ACCOUNT = "doc-00"
CONFIG = """\
[publication]
branche = "main"

[publication.comptes]
"doc-00" = ["centre-00"]
"admin-reseau" = ["*"]
"""
GOOD = """\
---
titre: Fiche de mesure {n}
type: fiche-pratique
date: 2024-03-12
piliers: [cohesion-sociale]
resume: Une fiche ajoutée pour mesurer le temps d'une publication.
---

## Contexte

Texte de la fiche {n}, avec le mot mesurepublication{n}.
"""


def environment(account: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "GIT_", "GL_"))}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Mesure",
        GIT_AUTHOR_EMAIL="mesure@example.org",
        GIT_COMMITTER_NAME="Mesure",
        GIT_COMMITTER_EMAIL="mesure@example.org",
    )
    if account:
        env["KB_PUSHER"] = account
    return env


def git(*args: str | Path, cwd: Path, account: str | None = None, check: bool = True):
    return subprocess.run(
        ["git", *map(str, args)],
        cwd=cwd,
        env=environment(account),
        capture_output=True,
        text=True,
        check=check,
    )


def kb(*args: str | Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "kb.cli", *map(str, args)], cwd=ROOT, check=True, env=environment()
    )


def server(size: int) -> Path:
    """bench-data/push-N: the bare repository with hooks, published and indexed."""
    root = DATA / f"push-{size}"
    if (root / ".pret").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    seed = root / "seed"
    CorpusGenerator(seed=size).write(seed, size)
    git("init", "-q", "--initial-branch=main", seed, cwd=root)
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "Corpus", cwd=seed)
    git("clone", "-q", "--bare", seed, root / "depot.git", cwd=root)
    shutil.rmtree(seed)
    (root / "kb.toml").write_text(CONFIG, encoding="utf-8")
    options = ["--index", root / "index", "--config", root / "kb.toml"]
    kb("hooks", "install", root / "depot.git", "--deploy", root / "contenu", *options)
    kb("sync", "--remote", root / "depot.git", "--content", root / "contenu", *options)
    (root / ".pret").write_text("ok")
    return root


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_push(clone: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall-clock seconds, CPU seconds (git and the hooks), and the push."""
    started, cpu = time.perf_counter(), children_cpu()
    done = git("push", "origin", "HEAD:main", cwd=clone, account=ACCOUNT, check=False)
    return time.perf_counter() - started, children_cpu() - cpu, done


def measure(size: int, rounds: int, accepted_rounds: int) -> dict[str, float]:
    from kb.config import load_settings
    from kb.gitsource import Git
    from kb.publication import PublicationSettings, review_push

    root = server(size)
    clone = root / "clone"
    shutil.rmtree(clone, ignore_errors=True)
    git("clone", "-q", root / "depot.git", clone, cwd=root)
    refused, refused_cpu, before = [], [], []
    settings = PublicationSettings.from_settings(load_settings({}, config_file=root / "kb.toml"))
    bare = Git(root / "depot.git")
    for n in range(rounds):
        path = clone / "centre-00" / f"mesure-refusee-{n}.md"
        path.write_text(GOOD.format(n=n).replace("2024-03-12", "2024-13-45"), encoding="utf-8")
        git("add", "-A", cwd=clone)
        git("commit", "-q", "-m", "Erreur", cwd=clone)
        seconds, cpu, done = timed_push(clone)
        assert done.returncode != 0 and "date invalide" in done.stderr, done.stderr
        refused.append(seconds)
        refused_cpu.append(cpu)
        # The whole-tree check, as pre-receive did it before: the objects are in the clone.
        old = bare.resolve_commit("refs/heads/main")
        local = Git(clone / ".git")
        new = local.resolve_commit("HEAD")
        started = time.perf_counter()
        review = review_push(local, old, new, ACCOUNT, settings)
        before.append(time.perf_counter() - started)
        assert not review.accepted
        git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    accepted, accepted_cpu = [], []
    for n in range(accepted_rounds):
        path = clone / "centre-00" / f"mesure-{time.time_ns()}.md"
        path.write_text(GOOD.format(n=n), encoding="utf-8")
        git("add", "-A", cwd=clone)
        git("commit", "-q", "-m", "Fiche", cwd=clone)
        seconds, cpu, done = timed_push(clone)
        assert done.returncode == 0, done.stderr
        accepted.append(seconds)
        accepted_cpu.append(cpu)
    return {
        "refusee": statistics.median(refused),
        "refusee_cpu": statistics.median(refused_cpu),
        "avant": statistics.median(before),
        "acceptee": statistics.median(accepted) if accepted else float("nan"),
        "acceptee_cpu": statistics.median(accepted_cpu) if accepted else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesure la publication par git push.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--acceptees", type=int, default=None, help="poussées acceptées (défaut : --rounds)"
    )
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        accepted = args.rounds if args.acceptees is None else args.acceptees
        result = measure(size, args.rounds, accepted)
        rows.append(
            f"| {size:,} | {result['refusee']:.2f} s ({result['refusee_cpu']:.2f} s) | "
            f"{result['avant']:.2f} s | {result['acceptee']:.2f} s "
            f"({result['acceptee_cpu']:.2f} s) |".replace(",", " ")
        )
    print(f"Charge de la machine (1 min) : {os.getloadavg()[0]:.1f} pour {os.cpu_count()} cœurs.")
    print(
        "| Ressources | Poussée refusée (erreur dans un fichier) | Même vérification, arbre "
        "entier (avant) | Poussée d'un fichier acceptée et publiée |"
    )
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

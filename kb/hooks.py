"""Installing the server-side hooks (pre-receive, post-receive) into a bare repository.

The hooks are small shell scripts that run `kb` with the Python interpreter that
installed them and absolute paths, so that they work whatever PATH the git server gives
its hooks. Installing again rewrites them (idempotent). A hook already there that is not
ours is refused, or kept and chained (`chain=True`): it is renamed `<hook>.avant-kb` and
run first, with the same input.

Forges that run every script of a `hooks/<hook>.d/` folder (Gitea, Forgejo) get our
script there, as `hooks/<hook>.d/kb`: nothing needs chaining.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HOOK_NAMES = ("pre-receive", "post-receive")
# git itself refuses force-pushes and branch deletions before any hook runs; an
# administrator lifts them for a deliberate rewrite (docs/publier.md).
PROTECTIONS = (("receive.denyNonFastForwards", "true"), ("receive.denyDeletes", "true"))
MARKER = "# kb-hooks:"  # the line that tells our hooks from others
PREVIOUS_SUFFIX = ".avant-kb"
DROP_IN_NAME = "kb"


class HookInstallError(Exception):
    """The hooks cannot be installed (French message)."""


@dataclass(frozen=True)
class HookPlan:
    name: str
    target: Path
    script: str
    previous: Path | None  # a foreign hook kept and chained
    state: str  # "nouveau", "identique", "mis à jour", "chaîné"


def is_bare_repository(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def hooks_folder(repo: Path) -> Path:
    """The repository's hooks folder (core.hooksPath is honoured)."""
    try:
        out = subprocess.run(
            ["git", f"--git-dir={repo}", "rev-parse", "--git-path", "hooks"],
            capture_output=True,
            text=True,
            check=True,
            cwd=repo,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return repo / "hooks"
    folder = Path(out)
    return folder if folder.is_absolute() else (repo / folder).resolve()


def hook_script(
    name: str,
    content: Path,
    index: Path,
    config: Path,
    previous: Path | None = None,
    python: str | None = None,
) -> str:
    command = [
        python or sys.executable,
        "-P",  # never import from the hook's working folder (the repository)
        "-m",
        "kb.cli",
        "hooks",
        name,
        "--content",
        str(content),
        "--index",
        str(index),
        "--config",
        str(config),
    ]
    if previous is not None:
        command += ["--precedent", str(previous)]
    return (
        "#!/bin/sh\n"
        f"{MARKER} crochet {name} de la base de connaissances des CRPV.\n"
        "# Écrit par « kb hooks install » : ne pas modifier à la main, relancer la commande.\n"
        f"exec {shlex.join(command)}\n"
    )


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def plan_hooks(
    repo: Path,
    content: Path,
    index: Path,
    config: Path,
    chain: bool = False,
    python: str | None = None,
) -> list[HookPlan]:
    """What installing would do, or HookInstallError when something is in the way."""
    if not is_bare_repository(repo):
        raise HookInstallError(
            f"{repo} n'est pas un dépôt git nu (créez-le avec « git init --bare {repo} »)"
        )
    folder = hooks_folder(repo)
    plans, conflicts = [], []
    for name in HOOK_NAMES:
        drop_in = folder / f"{name}.d"
        target = drop_in / DROP_IN_NAME if drop_in.is_dir() else folder / name
        previous_path = folder / f"{name}{PREVIOUS_SUFFIX}"
        previous = previous_path if previous_path.exists() and target.parent == folder else None
        state = "nouveau"
        if target.exists() or target.is_symlink():
            if _is_ours(target):
                state = "mis à jour"
            elif not chain or target.parent != folder:
                conflicts.append(target)
                continue
            elif previous is not None:
                raise HookInstallError(
                    f"{target} n'a pas été installé par kb et {previous} existe déjà : "
                    "déplacez l'un des deux avant de relancer"
                )
            else:
                previous, state = previous_path, "chaîné"
        script = hook_script(name, content, index, config, previous, python)
        if state == "mis à jour" and target.read_text(encoding="utf-8") == script:
            state = "identique"
        plans.append(HookPlan(name, target, script, previous, state))
    if conflicts:
        names = ", ".join(str(p) for p in conflicts)
        raise HookInstallError(
            f"un crochet existe déjà et n'a pas été installé par kb : {names}. Relancez avec "
            "--chainer pour le conserver (il sera exécuté avant celui de kb), ou retirez-le."
        )
    return plans


def install_hooks(plans: list[HookPlan]) -> None:
    for plan in plans:
        plan.target.parent.mkdir(parents=True, exist_ok=True)
        if plan.state == "chaîné":
            assert plan.previous is not None
            os.replace(plan.target, plan.previous)
        if plan.state == "identique":
            continue
        temporary = plan.target.with_name(f".{plan.target.name}.{os.getpid()}.tmp")
        temporary.write_text(plan.script, encoding="utf-8")
        temporary.chmod(0o755)
        os.replace(temporary, plan.target)


def protect_history(repo: Path) -> list[str]:
    """Set PROTECTIONS in the repository's configuration; the settings that changed."""
    changed = []
    for key, value in PROTECTIONS:
        command = ["git", f"--git-dir={repo}", "config"]
        current = subprocess.run(
            [*command, "--get", key], capture_output=True, text=True, check=False, cwd=repo
        ).stdout.strip()
        if current.lower() == value:
            continue
        done = subprocess.run(
            [*command, key, value], capture_output=True, text=True, check=False, cwd=repo
        )
        if done.returncode != 0:
            raise HookInstallError(
                f"impossible de régler {key} dans {repo} : {done.stderr.strip() or done.returncode}"
            )
        changed.append(f"{key}={value}")
    return changed

"""The content repository's template: what `kb depot init` puts in a new repository.

A `.gitignore` that keeps what a workstation creates in a clone (an index, a virtual
environment, editors' files) out of every push, and a short README for the centres.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from . import gitsource
from .french import plural

TEMPLATE = ("templates", "depot")
FILES = {".gitignore": "gitignore", "README.md": "README.md"}


def template_text(name: str) -> str:
    return (resources.files("kb").joinpath(*TEMPLATE) / name).read_text(encoding="utf-8")


def _entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def init_repository(folder: Path, branch: str = "main") -> list[str]:
    """Make `folder` a git working copy holding the template; what was done, in French.

    Existing files are kept: a `.gitignore` only gets the template's missing entries.
    """
    done = []
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / ".git").exists():
        gitsource.init_repository(folder, branch=branch)
        done.append(f"dépôt git créé (branche « {branch} »)")
    for name, source in FILES.items():
        target = folder / name
        text = template_text(source)
        if not target.exists():
            target.write_text(text, encoding="utf-8")
            done.append(f"{name} écrit")
            continue
        if name != ".gitignore":
            continue
        present = set(_entries(target.read_text(encoding="utf-8")))
        missing = [entry for entry in _entries(text) if entry not in present]
        if missing:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write("\n# Ajouté par « kb depot init »\n" + "\n".join(missing) + "\n")
            done.append(f"{name} complété ({plural(len(missing), 'motif')})")
    return done

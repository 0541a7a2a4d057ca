"""A git server for the publication tests, with real git and no mock.

`GitServer`: a bare repository holding the `valid` fixture on `main`, kb's hooks
installed, the server's configuration (accounts of two centres and an administrator),
the deployed checkout and the index. `Clone`: a working copy that pushes under an account
(`KB_PUSHER`: git hands the pusher's environment to the hooks of a local push).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from indexer.search import SearchIndex, SearchRequest
from kb.publication import PUSHER_VARIABLES
from publishing.publisher import read_status

FIXTURES = Path(__file__).parent / "fixtures"

CONFIG = """\
[publication]
branche = "main"
taille_max_mio = 0.05
journal = "journal/publication.log"

[publication.comptes]
"doc-alpha" = ["centre-alpha"]
"doc-beta" = ["centre-beta"]
"admin-reseau" = ["*"]
"""

RESOURCE = """\
---
titre: {titre}
type: fiche-pratique
date: 2024-03-12
piliers: [cohesion-sociale]
resume: {resume}
---

## Contexte

{body}
"""


def resource(titre: str, resume: str = "Résumé de la fiche.", body: str = "Texte.") -> str:
    return RESOURCE.format(titre=titre, resume=resume, body=body)


def git_environment(**extra: str) -> dict[str, str]:
    """This process's environment without identities, settings or personal git config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in PUSHER_VARIABLES and not k.startswith(("KB_", "GIT_"))
    }
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Documentaliste de test",
        GIT_AUTHOR_EMAIL="doc@example.org",
        GIT_COMMITTER_NAME="Documentaliste de test",
        GIT_COMMITTER_EMAIL="doc@example.org",
        GIT_TERMINAL_PROMPT="0",
    )
    env.update(extra)
    return env


def git(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        ["git", *map(str, args)],
        cwd=cwd,
        env=env or git_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"git {args} : {completed.stdout}{completed.stderr}")
    return completed.stdout


@dataclass(frozen=True)
class Push:
    code: int
    output: str  # what the pusher sees, `remote:` lines included

    @property
    def accepted(self) -> bool:
        return self.code == 0


class Clone:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relative: str, data: str | bytes) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    def remove(self, relative: str) -> None:
        git("rm", "-q", relative, cwd=self.path)

    def move(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        git("mv", old, new, cwd=self.path)

    def commit(self, message: str = "Modification") -> str:
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "-m", message, cwd=self.path)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.path).strip()

    def push(self, account: str | None, branch: str = "main", *options: str) -> Push:
        env = git_environment(**({"KB_PUSHER": account} if account else {}))
        completed = subprocess.run(
            ["git", "push", *options, "origin", f"HEAD:refs/heads/{branch}"],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return Push(completed.returncode, completed.stdout + completed.stderr)

    def update(self) -> None:
        """Start again from the server's `main` (another clone pushed)."""
        git("fetch", "-q", "origin", cwd=self.path)
        git("reset", "-q", "--hard", "origin/main", cwd=self.path)


class GitServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = root / "depot.git"
        self.deploy = root / "site" / "contenu"
        self.index = root / "site" / "index"
        self.config = root / "kb.toml"
        self.log = root / "journal" / "publication.log"
        self._clones = 0

    def create(self, fixture: str = "valid") -> GitServer:
        """The bare repository with `fixture` on main (pushed before any hook exists)."""
        git("init", "-q", "--bare", "--initial-branch=main", self.bare, cwd=self.root)
        self.config.write_text(CONFIG, encoding="utf-8")
        seed = self.root / "seed"
        git("init", "-q", "--initial-branch=main", seed, cwd=self.root)
        shutil.copytree(FIXTURES / fixture, seed, dirs_exist_ok=True)
        git("add", "-A", cwd=seed)
        git("commit", "-q", "-m", "Contenu initial", cwd=seed)
        git("push", "-q", self.bare, "main", cwd=seed)
        shutil.rmtree(seed)
        return self

    def kb_options(self) -> list[str]:
        return [
            "--content",
            str(self.deploy),
            "--index",
            str(self.index),
            "--config",
            str(self.config),
        ]

    def clone(self) -> Clone:
        self._clones += 1
        path = self.root / f"clone-{self._clones}"
        git("clone", "-q", self.bare, path, cwd=self.root)
        return Clone(path)

    def main_commit(self) -> str:
        return git("rev-parse", "refs/heads/main", cwd=self.bare).strip()

    def published_commit(self) -> str | None:
        return read_status(self.index).get("commit")

    def search_ids(self, query: str = "", index: SearchIndex | None = None) -> set[str]:
        searcher = index or SearchIndex(self.index)
        result = searcher.search(SearchRequest(q=query, per_page=100, with_suggestion=False))
        return {hit.id for hit in result.hits}


def published_server(root: Path) -> GitServer:
    """The `valid` fixture on main, kb's hooks installed, published once (`kb sync`)."""
    from kb import cli

    server = GitServer(root).create()
    install = ["hooks", "install", str(server.bare), "--deploy", str(server.deploy)]
    assert cli.main([*install, "--index", str(server.index), "--config", str(server.config)]) == 0
    assert cli.main(["sync", "--remote", str(server.bare), *server.kb_options()]) == 0
    return server


def without_hook(server: GitServer, name: str):
    """A context manager: the hook `name` is away while the block runs (as if pushed
    before kb's hooks were installed, or while the publisher was down)."""
    import contextlib

    @contextlib.contextmanager
    def away():
        hook = server.bare / "hooks" / name
        saved = hook.read_bytes()
        hook.unlink()
        try:
            yield
        finally:
            hook.write_bytes(saved)
            hook.chmod(0o755)

    return away()

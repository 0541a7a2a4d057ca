"""Content read from a git commit with plumbing commands, never checked out.

`GitTreeSource` lets the loader validate a pushed tree exactly as `kb check` validates a
folder. It works inside a pre-receive hook: git hands the hook GIT_DIR,
GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES pointing into its quarantine,
and every git command run with that environment sees the pushed objects.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .source import SourceEntry

SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"

# Variables that tie a git command to one repository (`git rev-parse --local-env-vars`,
# plus the quarantine). They must not leak from a hook into commands run on another
# repository, such as the deployed checkout.
REPOSITORY_VARIABLES = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_QUARANTINE_PATH",
    "GIT_NAMESPACE",
)


class GitError(Exception):
    """A git command failed (French message, with git's own message)."""


def is_null(sha: str | None) -> bool:
    """The all-zero id git uses for "no commit" (branch creation or deletion)."""
    return not sha or set(sha) == {"0"}


def clean_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment minus the variables that point git at a particular repository."""
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if k not in REPOSITORY_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password (hooks, cron, web app)
    return env


def init_repository(path: Path, bare: bool = False, branch: str | None = None) -> Git:
    """`git init` of `path` (parents created; kept as it is if it is already a repository);
    a GitError with git's message when it fails."""
    present = path / ("objects" if bare else ".git")
    if not present.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        options = (["--bare"] if bare else []) + ([f"--initial-branch={branch}"] if branch else [])
        completed = subprocess.run(
            ["git", "init", "-q", *options, str(path)],
            capture_output=True,
            text=True,
            env=clean_environment(),
            check=False,
        )
        if completed.returncode != 0:
            raise GitError(f"git init a échoué : {completed.stderr.strip()}")
    return Git(path if bare else path / ".git", clean_environment())


@dataclass(frozen=True, slots=True)
class TreeEntry:
    path: str
    mode: str
    kind: str  # blob, commit (a submodule)
    sha: str
    size: int

    @property
    def is_symlink(self) -> bool:
        return self.mode == SYMLINK_MODE

    @property
    def is_submodule(self) -> bool:
        return self.mode == SUBMODULE_MODE or self.kind == "commit"


@dataclass(frozen=True, slots=True)
class Change:
    """One path changed between two trees (`git diff-tree --raw`)."""

    status: str  # A added, M modified, D deleted, T type changed, R renamed
    path: str  # the new path (the old one for a deletion)
    old_path: str | None  # for renames
    old_mode: str
    new_mode: str
    new_sha: str

    @property
    def deleted(self) -> bool:
        return self.status == "D"

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.old_path, self.path) if self.old_path else (self.path,)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class Git:
    """Git commands on one repository (`git_dir`: the bare repository or a `.git` folder).

    `environ` defaults to this process's environment, which in a hook holds git's
    quarantine variables: keep them for the repository being pushed to.
    """

    def __init__(self, git_dir: Path | str, environ: Mapping[str, str] | None = None) -> None:
        self.git_dir = Path(git_dir).resolve()
        self.env = dict(os.environ if environ is None else environ)
        self.env.pop("GIT_DIR", None)  # --git-dir says it
        self.env["GIT_TERMINAL_PROMPT"] = "0"

    def command(self, *args: str) -> list[str]:
        return ["git", f"--git-dir={self.git_dir}", *args]

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> bytes:
        try:
            completed = subprocess.run(
                self.command(*args),
                input=input,
                capture_output=True,
                env=self.env,
                check=False,
                timeout=timeout,
            )
        except OSError as exc:
            raise GitError(f"impossible de lancer git ({exc.strerror or exc})") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} n'a pas répondu en {timeout:.0f} s") from None
        if check and completed.returncode != 0:
            message = _decode(completed.stderr).strip() or f"code {completed.returncode}"
            raise GitError(f"git {args[0]} a échoué : {message}")
        return completed.stdout

    def resolve_commit(self, revision: str) -> str | None:
        """The commit id a revision names, or None when there is no such commit."""
        out = self.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        sha = out.decode("ascii", errors="replace").strip()
        return sha or None

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """Whether `commit` descends from `ancestor` (a fast-forward update)."""
        completed = subprocess.run(
            self.command("merge-base", "--is-ancestor", ancestor, commit),
            capture_output=True,
            env=self.env,
            check=False,
        )
        if completed.returncode not in (0, 1):
            message = _decode(completed.stderr).strip() or f"code {completed.returncode}"
            raise GitError(f"git merge-base a échoué : {message}")
        return completed.returncode == 0

    def empty_tree(self) -> str:
        return self.run("hash-object", "-t", "tree", "--stdin", input=b"").decode().strip()

    def changes(self, old: str | None, new: str, renames: bool = False) -> list[Change]:
        """Paths that differ between two commits (`old` None or null: the empty tree)."""
        base = self.empty_tree() if is_null(old) else old
        flags = ["-M"] if renames else ["--no-renames"]
        out = self.run("diff-tree", "-r", "-z", "--raw", *flags, base, new)
        fields = out.split(b"\0")
        changes: list[Change] = []
        position = 0
        while position < len(fields) - 1:
            meta = _decode(fields[position])
            position += 1
            if not meta.startswith(":"):
                continue
            old_mode, new_mode, _old_sha, new_sha, status = meta[1:].split(" ")
            kind = status[0]
            if kind in "RC":
                old_path, path = _decode(fields[position]), _decode(fields[position + 1])
                position += 2
                changes.append(Change(kind, path, old_path, old_mode, new_mode, new_sha))
            else:
                path = _decode(fields[position])
                position += 1
                changes.append(Change(kind, path, None, old_mode, new_mode, new_sha))
        return changes

    def tree(self, commit: str, sizes: bool = True) -> list[TreeEntry]:
        """Every blob, symlink and submodule of a commit (with sizes unless `sizes` is False:
        listing names only reads tree objects, not one header per blob)."""
        flags = ["--long"] if sizes else []
        out = self.run("ls-tree", "-r", "-z", *flags, "--full-tree", commit)
        entries = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, kind, sha, *size = meta.decode("ascii").split()
            length = int(size[0]) if size and size[0].isdigit() else 0
            entries.append(TreeEntry(_decode(path), mode, kind, sha, length))
        return entries

    def sizes(self, shas: list[str]) -> dict[str, int]:
        """Object sizes, in one `cat-file --batch-check` call."""
        if not shas:
            return {}
        out = self.run("cat-file", "--batch-check", input="\n".join(shas).encode() + b"\n")
        sizes = {}
        for line in out.decode("ascii", errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                sizes[parts[0]] = int(parts[2])
        return sizes


class BlobReader:
    """One long-running `git cat-file --batch`: many blobs, one process."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self.process: subprocess.Popen[bytes] | None = None
        self._pid = os.getpid()

    def read(self, sha: str) -> bytes:
        """An object's bytes; `sha` may be any object name git understands
        (`commit:path` too). A forked process starts its own `git cat-file`."""
        if self._pid != os.getpid():
            self.process, self._pid = None, os.getpid()
        if self.process is None:
            try:
                self.process = subprocess.Popen(
                    self.git.command("cat-file", "--batch"),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=self.git.env,
                )
            except OSError as exc:
                raise GitError(f"impossible de lancer git ({exc.strerror or exc})") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(sha.encode("ascii") + b"\n")
        self.process.stdin.flush()
        header = self.process.stdout.readline().decode("ascii", errors="replace").split()
        if len(header) != 3 or not header[2].isdigit():
            raise GitError(f"objet git illisible : {sha}")
        size = int(header[2])
        data = self.process.stdout.read(size)
        self.process.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None


def symlink_stays_inside(path: str, target: str) -> bool:
    """Whether a symlink at `path` pointing to `target` stays inside the tree's root."""
    if not target or target.startswith("/"):
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return not (joined == ".." or joined.startswith("../"))


def _hidden(path: str) -> bool:
    # As FileSystemSource: nothing under a folder or file whose name starts with ".".
    return any(part.startswith(".") for part in path.split("/"))


class GitTreeSource:
    """The files of one commit, as a `ContentSource` (see kb/source.py).

    `only`: the paths `entries()` yields (the files a push changed, and the centre cards
    they need); None yields every file. Either way every path of the commit is known to
    `exists()` and `read()` (links between files are checked against the whole tree), but
    only the yielded files are read: validating a push costs what the push changes.

    Submodules are not files: they are left out here and refused by the push policy.
    Use as a context manager, or call `close()`, to stop the `git cat-file` process.
    """

    def __init__(
        self, git: Git | Path | str, commit: str, only: Iterable[str] | None = None
    ) -> None:
        self.git = git if isinstance(git, Git) else Git(git)
        self.commit = commit
        self.only = None if only is None else frozenset(only)
        self._reader = BlobReader(self.git)
        self._entries: dict[str, TreeEntry] | None = None
        # Paths already looked up one by one (without listing the tree): entry and blob.
        self._known: dict[str, tuple[SourceEntry, str] | None] = {}

    def _tree(self) -> dict[str, TreeEntry]:
        if self._entries is None:
            self._entries = {
                e.path: e
                for e in self.git.tree(self.commit, sizes=False)
                if not e.is_submodule and not _hidden(e.path)
            }
        return self._entries

    def entries(self) -> Iterator[SourceEntry]:
        if self.only is not None and self._entries is None:
            return iter(self._only_entries())
        tree = self._tree()
        chosen = sorted(tree if self.only is None else self.only & tree.keys())
        sizes = self.git.sizes([tree[p].sha for p in chosen if not tree[p].is_symlink])
        collected = []
        for path in chosen:
            entry = tree[path]
            if entry.is_symlink:
                target = self._reader.read(entry.sha).decode("utf-8", errors="replace")
                collected.append(SourceEntry(path, 0, 0, True, symlink_stays_inside(path, target)))
            else:
                collected.append(SourceEntry(path, sizes.get(entry.sha, 0)))
        return iter(collected)

    def _only_entries(self) -> list[SourceEntry]:
        """The entries of the `only` paths, looked up by name: a push of one file to a
        tree of 100,000 does not list the 100,000."""
        collected = []
        for path, mode, sha, size in self._look_up(sorted(self.only or ())):
            if mode == SYMLINK_MODE:
                target = self._reader.read(sha).decode("utf-8", errors="replace")
                collected.append(SourceEntry(path, 0, 0, True, symlink_stays_inside(path, target)))
            else:
                collected.append(SourceEntry(path, size))
        return collected

    def _look_up(self, paths: list[str]) -> Iterator[tuple[str, str, str, int]]:
        """(path, mode, sha, size) of the blobs (files and symlinks) among `paths`, hidden
        ones left out; each path is remembered in `_known` (None: not a readable file).
        `ls-tree` takes the paths as literal names."""
        wanted = [p for p in paths if not _hidden(p)]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            out = self.git.run("ls-tree", "-z", "--long", "--full-tree", self.commit, "--", *chunk)
            for record in out.split(b"\0"):
                meta, _, name = record.partition(b"\t")
                fields = meta.decode("ascii", errors="replace").split()
                path = _decode(name)
                if len(fields) != 4 or fields[1] != "blob" or path not in chunk:
                    continue
                mode, _kind, sha, size = fields
                length = int(size) if size.isdigit() else 0
                if mode != SYMLINK_MODE:
                    self._known[path] = (SourceEntry(path, length), sha)
                yield path, mode, sha, length
            for path in chunk:
                self._known.setdefault(path, None)

    def paths(self) -> set[str]:
        """Every file of the commit (hidden ones and submodules left out)."""
        return set(self._tree())

    def read(self, path: str) -> bytes:
        if self._entries is None:  # one file of a large tree: no need to list the tree
            if path not in self._known:
                self.stat_many([path])
            known = self._known.get(path)
            if known is None:
                raise FileNotFoundError(path)
            return self._reader.read(known[1])
        entry = self._tree().get(path)
        if entry is None or entry.is_symlink:
            raise FileNotFoundError(path)
        return self._reader.read(entry.sha)

    def exists(self, path: str) -> bool:
        """Whether `path` is a file of the commit (links are checked against the whole
        tree even when only the changed files are loaded)."""
        return self.stat(path) is not None

    def stat(self, path: str) -> SourceEntry | None:
        """One file's entry without listing the whole tree (None: absent, a link, a
        submodule or hidden): what an update of a few changed paths needs."""
        return self.stat_many([path]).get(path)

    def stat_many(self, paths: list[str]) -> dict[str, SourceEntry]:
        if self._entries is not None:
            return {
                p: SourceEntry(p, e.size)
                for p in paths
                if (e := self._entries.get(p)) is not None and not e.is_symlink
            }
        found: dict[str, SourceEntry] = {}
        wanted = []
        for path in paths:
            if path in self._known:
                known = self._known[path]
                if known is not None:
                    found[path] = known[0]
            elif not _hidden(path):
                wanted.append(path)
        for path, mode, _sha, size in self._look_up(wanted):
            if mode != SYMLINK_MODE:
                found[path] = SourceEntry(path, size)
        return found

    def centre_cards(self) -> list[SourceEntry]:
        """The `<centre>/_centre.md` files of the commit, without listing the whole tree."""
        top = self.git.run("ls-tree", "-z", "--full-tree", self.commit)
        folders = []
        for record in top.split(b"\0"):
            meta, _, name = record.partition(b"\t")
            if meta.split()[1:2] == [b"tree"]:
                folder = _decode(name)
                if not folder.startswith((".", "_")):
                    folders.append(folder)
        cards = self.stat_many([f"{folder}/_centre.md" for folder in sorted(folders)])
        return [cards[path] for path in sorted(cards)]

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> GitTreeSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

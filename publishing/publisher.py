"""Putting a commit online: one publication at a time, from git objects to a new version.

A publication takes a commit of the published branch, from the bare repository itself
(post-receive) or from a mirror fetched from the forge (`<index>/depot.git`, for the
webhook and `kb sync`), validates it unless the pre-receive hook already did, and indexes
the paths that changed since the commit online, reading their bytes straight from git
(`GitTreeSource`): no checkout, so no `.gitattributes` filter or encoding can make the
published bytes differ from the validated ones. The indexer writes a complete new version
(search index, registry, pages, attachments) and switches to it in one rename; the
commit it holds is recorded in the version itself (`infos.json`), so what /healthz says
is online is exactly what the site shows. Any failure leaves the previous version online.

The deployed folder (`contenu`), when configured, is then brought to the same commit for
operators (`kb check`, reading files): the site never reads it.

    <index>/publication.json          last attempt (/healthz)
    <index>/publication.verrou        one publication at a time (flock)
    <index>/publication.log           the log, unless `publication.journal` says otherwise
    <index>/depot.git                 mirror of the forge's published branch
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.build import Indexer, UpdateReport
from indexer.published import published_state
from indexer.store import IndexFolder, IndexLocked, exclusive_lock, now_iso, write_atomically
from kb.french import plural
from kb.gitsource import Git, GitError, GitTreeSource, clean_environment
from kb.publication import PublicationSettings, append_log, validate_tree

log = logging.getLogger(__name__)

STATUS_FILE = "publication.json"
LOCK_FILE = "publication.verrou"
MIRROR = "depot.git"
PUBLISHED_REF = "refs/kb/publication"  # the fetched branch, in the mirror
DEPLOYED_REF = "refs/kb/deploye"  # the commit checked out, in the deployed folder
PUBLICATION_WAIT = 300.0  # seconds to wait for a publication already running
FETCH_TIMEOUT = 600.0  # a fetch that hangs (network, prompt) must not hold the lock forever
MAX_RECORDED_LINES = 50

PUBLISHED, UNCHANGED, REFUSED, FAILED = "publiee", "inchangee", "refusee", "erreur"


class PublicationError(Exception):
    """A publication that cannot run (French message)."""


@dataclass
class PublishResult:
    outcome: str  # PUBLISHED, UNCHANGED, REFUSED or FAILED
    commit: str | None = None
    report: UpdateReport | None = None
    lines: list[str] = field(default_factory=list)  # problems found, in French
    message: str = ""
    checked: int | None = None  # files validated (None: not validated here)

    @property
    def ok(self) -> bool:
        return self.outcome in (PUBLISHED, UNCHANGED)

    def summary(self) -> str:
        """The one line the pusher reads."""
        if self.outcome == PUBLISHED and self.report is not None:
            report = self.report
            return (
                f"{plural(len(report.added), 'ressource publiée', 'ressources publiées')}, "
                f"{plural(len(report.updated), 'mise à jour', 'mises à jour')}, "
                f"{plural(len(report.deleted), 'retirée', 'retirées')}"
            )
        return self.message


def read_status(index: Path | str) -> dict:
    try:
        data = json.loads((Path(index) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def online_commit(index: Path | str) -> str | None:
    """The commit the live version was built from (None: not published from git)."""
    folder = IndexFolder(index)
    if not folder.exists():
        return None
    commit = folder.read_info(folder.current()).get("commit")
    return commit if isinstance(commit, str) else None


def publication_status(index: Path | str) -> dict | None:
    """What /healthz shows: the commit online (from the live version) and the last
    attempt (None: never published)."""
    status = read_status(index)
    folder = IndexFolder(index)
    if folder.exists():
        info = folder.read_info(folder.current())
        if info.get("commit"):
            status["commit"] = info["commit"]
            status["publie_le"] = info.get("en_ligne_le") or info.get("indexe_le")
    return status or None


def contains(folder: Path, path: Path) -> bool:
    folder, path = folder.resolve(), path.resolve()
    return path == folder or folder in path.parents


class Publisher:
    def __init__(
        self,
        content: Path | str | None,
        index: Path | str,
        settings: PublicationSettings,
        lock_timeout: float = 30.0,
    ) -> None:
        self.content = Path(content).resolve() if content else None
        self.index = Path(index).resolve()
        self.settings = settings
        self.lock_timeout = lock_timeout
        if self.content is not None:
            for name, path in (("l'index", self.index), ("le journal", settings.log_file)):
                if path is not None and contains(self.content, path):
                    raise PublicationError(
                        f"{name} ({path}) ne doit pas être dans le dossier de déploiement "
                        f"{self.content} : ce dossier est remplacé à chaque publication"
                    )

    # --- one publication

    def publish(
        self,
        remote: str,
        branch: str | None = None,
        validate: bool = True,
        source: str = "",
        commit: str | None = None,
    ) -> PublishResult:
        """Publish `commit` (default: the tip of `branch`) of `remote`: a local bare
        repository is read in place, anything else is fetched into the mirror."""
        branch = branch or self.settings.branch
        source = source or "kb sync"
        try:
            with self._lock():
                result = self._publish_safely(remote, branch, validate, commit)
                self._record(result, source, remote, branch)
                return result
        except (PublicationError, OSError) as exc:  # the lock could not be taken
            result = PublishResult(FAILED, message=str(exc))
        with contextlib.suppress(OSError):
            self._record(result, source, remote, branch)
        return result

    def _publish_safely(self, remote, branch, validate, commit) -> PublishResult:
        try:
            return self._publish(remote, branch, validate, commit)
        except (IndexLocked, GitError, PublicationError, OSError) as exc:
            return PublishResult(FAILED, message=str(exc))
        except Exception as exc:  # recorded and shown, never a traceback to the pusher
            log.exception("Publication interrompue")
            result = PublishResult(FAILED, message=f"erreur interne ({type(exc).__name__}: {exc})")
            result.lines = traceback.format_exc().splitlines()[-MAX_RECORDED_LINES:]
            return result

    def _repository(self, remote: str, branch: str, commit: str | None) -> tuple[Git, str]:
        """The repository to read and the commit to publish."""
        if not remote:
            raise PublicationError("aucun dépôt à récupérer (réglage publication.depot)")
        local = Path(remote)
        if commit and local.is_dir() and (local / "objects").is_dir():
            git = Git(local, clean_environment())  # the bare repository of the hooks
            if git.resolve_commit(commit) == commit:
                return git, commit
        mirror = self.index / MIRROR
        if not (mirror / "objects").is_dir():
            mirror.parent.mkdir(parents=True, exist_ok=True)
            completed = subprocess.run(
                ["git", "init", "-q", "--bare", str(mirror)],
                capture_output=True,
                text=True,
                env=clean_environment(),
                check=False,
            )
            if completed.returncode != 0:
                raise GitError(f"git init a échoué : {completed.stderr.strip()}")
        git = Git(mirror, clean_environment())
        git.run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--force",
            remote,
            f"+refs/heads/{branch}:{PUBLISHED_REF}",
            timeout=FETCH_TIMEOUT,
        )
        tip = git.resolve_commit(PUBLISHED_REF)
        if tip is None:
            raise PublicationError(f"la branche « {branch} » est introuvable dans {remote}")
        return git, tip

    def _publish(self, remote, branch, validate, commit) -> PublishResult:
        git, commit = self._repository(remote, branch, commit)
        online = online_commit(self.index)
        if online and git.resolve_commit(online) != online:
            online = None  # unknown here (history rewritten by an admin): look at every file
        if commit == online:
            self._deploy(git, commit)
            return PublishResult(UNCHANGED, commit, message="déjà en ligne, rien à publier")
        lines: list[str] = []
        checked = None
        if validate:
            # What changed since the version online is read; the rules across files (ids,
            # aliases, owners) are checked against what is online, never the whole corpus.
            state = published_state(self.index) if online else None
            check = validate_tree(git, commit, online, state=state)
            lines, checked = check.lines(), check.checked
            if not check.ok:
                return PublishResult(
                    REFUSED,
                    commit,
                    lines=lines,
                    message=f"{plural(len(check.blocking), 'erreur')} : la version {commit[:10]} n'est "
                    "pas publiée, la version précédente reste en ligne",
                    checked=checked,
                )
        paths = None if online is None else self._changed_paths(git, online, commit)
        with GitTreeSource(git, commit) as source:
            indexer = Indexer(source, self.index, self.lock_timeout)
            report = indexer.update(paths, origin={"commit": commit, "branche": branch})
        lines += [p.format() for p in report.problems if p.is_error]
        self._deploy(git, commit)
        return PublishResult(PUBLISHED, commit, report, lines, checked=checked)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        busy = PublicationError(
            f"une autre publication est en cours depuis plus de {PUBLICATION_WAIT:.0f} s : "
            "réessayez plus tard"
        )
        with exclusive_lock(self.index / LOCK_FILE, PUBLICATION_WAIT, busy):
            yield

    def _deploy(self, git: Git, commit: str) -> None:
        """Bring the deployed folder, if any, to the published commit (for operators;
        the site does not read it). A failure here is logged, never fatal."""
        if self.content is None:
            return
        try:
            if not (self.content / ".git").is_dir():
                if self.content.exists() and any(self.content.iterdir()):
                    log.warning("dossier de déploiement %s non vide, non mis à jour", self.content)
                    return
                self.content.mkdir(parents=True, exist_ok=True)
                subprocess.run(
                    ["git", "init", "-q", str(self.content)],
                    capture_output=True,
                    env=clean_environment(),
                    check=True,
                )
            deployed = Git(self.content / ".git", clean_environment())
            deployed.run("fetch", "--quiet", "--no-tags", str(git.git_dir), commit)
            work_tree = f"--work-tree={self.content}"
            deployed.run(work_tree, "checkout", "--quiet", "--force", "--detach", commit)
            deployed.run(work_tree, "clean", "--quiet", "-ffdx")
            # A ref on what is deployed: the next fetch then brings only the new objects
            # (a detached HEAD alone is not offered in the negotiation).
            deployed.run("update-ref", DEPLOYED_REF, commit)
        except (GitError, OSError, subprocess.CalledProcessError) as exc:
            log.warning("dossier de déploiement %s non mis à jour : %s", self.content, exc)

    @staticmethod
    def _changed_paths(git: Git, old: str, new: str) -> list[str]:
        return sorted({path for change in git.changes(old, new) for path in change.paths})

    # --- the record

    def _record(self, result: PublishResult, source: str, remote: str, branch: str) -> None:
        status = read_status(self.index)
        attempt = {
            "date": now_iso(),
            "source": source,
            "resultat": result.outcome,
            "commit": result.commit,
            "message": result.summary(),
            "erreurs": [line for line in result.lines if "erreur" in line][:MAX_RECORDED_LINES],
        }
        status["derniere_tentative"] = attempt
        if result.outcome == PUBLISHED:
            status.update(commit=result.commit, publie_le=attempt["date"], resume=result.summary())
        self.index.mkdir(parents=True, exist_ok=True)
        write_atomically(self.index / STATUS_FILE, json.dumps(status, ensure_ascii=False, indent=1))
        where = f"{remote} {branch}@{(result.commit or '?')[:12]}"
        text = f"publication ({source}) {where} : {result.outcome} — {result.summary()}"
        text += "".join(f"\n  {line}" for line in result.lines)
        append_log(self.settings.log_file, text)
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "Publication %s : %s", result.outcome, result.summary())

"""Putting a commit online: the deployed checkout, then the index; one publication at a time.

The deployed checkout is the content folder the site reads (`contenu`): a git clone that
only this module writes. A publication fetches the published branch from a repository
(the bare repository in post-receive, the forge for the webhook and `kb sync`), validates
it unless the pre-receive hook already did, checks it out, and updates the index with the
paths that changed since the last published commit.

    <index>/publication.json          last published commit and last attempt (/healthz)
    <index>/publication.verrou        one publication at a time (flock)
    <index>/publication.log           the log, unless `publication.journal` says otherwise
    <index>/webhook-livraisons.json   webhook deliveries already received

What is online is recorded beside the index: after a failed run, the next one diffs from
the last commit that was really indexed; with no record (a new or deleted index), every
file is looked at.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import subprocess
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kb.gitsource import Git, GitError, clean_environment
from kb.publication import PublicationSettings, append_log, validate_tree

from .build import Indexer, UpdateReport
from .store import IndexFolder, IndexLocked, exclusive_lock, now_iso, write_atomically

log = logging.getLogger(__name__)

STATUS_FILE = "publication.json"
LOCK_FILE = "publication.verrou"
DELIVERIES_FILE = "webhook-livraisons.json"
PUBLISHED_REF = "refs/kb/publication"  # the fetched branch, in the deployed checkout
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

    @property
    def ok(self) -> bool:
        return self.outcome in (PUBLISHED, UNCHANGED)

    def summary(self) -> str:
        """The one line the pusher reads."""
        if self.outcome == PUBLISHED and self.report is not None:
            report = self.report
            return (
                f"{len(report.added)} ressources publiées, {len(report.updated)} mises à jour, "
                f"{len(report.deleted)} retirées"
            )
        return self.message


def read_status(index: Path | str) -> dict:
    try:
        data = json.loads((Path(index) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def publication_status(index: Path | str) -> dict | None:
    """What /healthz shows: the commit online and the last attempt (None: never published)."""
    status = read_status(index)
    return status or None


def contains(folder: Path, path: Path) -> bool:
    folder, path = folder.resolve(), path.resolve()
    return path == folder or folder in path.parents


class Publisher:
    def __init__(
        self,
        content: Path | str,
        index: Path | str,
        settings: PublicationSettings,
        lock_timeout: float = 30.0,
    ) -> None:
        self.content = Path(content).resolve()
        self.index = Path(index).resolve()
        self.settings = settings
        self.lock_timeout = lock_timeout
        self.git = Git(self.content / ".git", clean_environment())
        for name, path in (("l'index", self.index), ("le journal", settings.log_file)):
            if path is not None and contains(self.content, path):
                raise PublicationError(
                    f"{name} ({path}) ne doit pas être dans le dossier de déploiement "
                    f"{self.content} : ce dossier est remplacé à chaque publication"
                )

    # --- one publication

    def publish(
        self, remote: str, branch: str | None = None, validate: bool = True, source: str = ""
    ) -> PublishResult:
        """Fetch `branch` of `remote`, validate it (unless told not to) and put it online."""
        branch = branch or self.settings.branch
        source = source or "kb sync"
        try:
            with self._lock():
                result = self._publish_safely(remote, branch, validate)
                self._record(result, source, remote, branch)
                return result
        except (PublicationError, OSError) as exc:  # the lock could not be taken
            result = PublishResult(FAILED, message=str(exc))
        with contextlib.suppress(OSError):
            self._record(result, source, remote, branch)
        return result

    def _publish_safely(self, remote: str, branch: str, validate: bool) -> PublishResult:
        try:
            return self._publish(remote, branch, validate)
        except (IndexLocked, GitError, PublicationError, OSError) as exc:
            return PublishResult(FAILED, message=str(exc))
        except Exception as exc:  # recorded and shown, never a traceback to the pusher
            log.exception("Publication interrompue")
            result = PublishResult(FAILED, message=f"erreur interne ({type(exc).__name__}: {exc})")
            result.lines = traceback.format_exc().splitlines()[-MAX_RECORDED_LINES:]
            return result

    def _publish(self, remote: str, branch: str, validate: bool) -> PublishResult:
        self._ensure_checkout()
        commit = self._fetch(remote, branch)
        status = read_status(self.index)
        online = status.get("commit")
        if online and self.git.resolve_commit(online) != online:
            online = None  # unknown here (a new checkout): look at every file
        head = self.git.resolve_commit("HEAD")
        if commit == online and head == commit and IndexFolder(self.index).exists():
            return PublishResult(UNCHANGED, commit, message="déjà en ligne, rien à publier")
        lines: list[str] = []
        if validate:
            check = validate_tree(self.git, commit, online)
            lines = check.lines()
            if not check.ok:
                return PublishResult(
                    REFUSED,
                    commit,
                    lines=lines,
                    message=f"{len(check.blocking)} erreur(s) : la version {commit[:10]} n'est "
                    "pas publiée, la version précédente reste en ligne",
                )
        paths = None if online is None else self._changed_paths(online, commit)
        self._checkout(commit)
        report = Indexer(self.content, self.index, self.lock_timeout).update(paths)
        lines += [p.format() for p in report.problems if p.is_error]
        return PublishResult(PUBLISHED, commit, report, lines)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        busy = PublicationError(
            f"une autre publication est en cours depuis plus de {PUBLICATION_WAIT:.0f} s : "
            "réessayez plus tard"
        )
        with exclusive_lock(self.index / LOCK_FILE, PUBLICATION_WAIT, busy):
            yield

    def _ensure_checkout(self) -> None:
        if (self.content / ".git").is_dir():
            return
        if self.content.exists() and any(self.content.iterdir()):
            raise PublicationError(
                f"le dossier de déploiement {self.content} n'est pas vide et n'est pas un dépôt "
                "git : videz-le ou choisissez-en un autre (kb y extrait le contenu publié)"
            )
        self.content.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            ["git", "init", "-q", str(self.content)],
            capture_output=True,
            text=True,
            env=clean_environment(),
            check=False,
        )
        if completed.returncode != 0:
            raise GitError(f"git init a échoué : {completed.stderr.strip()}")

    def _fetch(self, remote: str, branch: str) -> str:
        if not remote:
            raise PublicationError("aucun dépôt à récupérer (réglage publication.depot)")
        self.git.run(
            "fetch",
            "--quiet",
            "--no-tags",
            remote,
            f"+refs/heads/{branch}:{PUBLISHED_REF}",
            timeout=FETCH_TIMEOUT,
        )
        commit = self.git.resolve_commit(PUBLISHED_REF)
        if commit is None:
            raise PublicationError(f"la branche « {branch} » est introuvable dans {remote}")
        return commit

    def _checkout(self, commit: str) -> None:
        work_tree = f"--work-tree={self.content}"
        self.git.run(work_tree, "checkout", "--quiet", "--force", "--detach", commit)
        # Leftovers of an interrupted run, or files written by hand, would be published by
        # the next full `kb index`: the folder holds exactly the commit.
        self.git.run(work_tree, "clean", "--quiet", "-ffdx")

    def _changed_paths(self, old: str, new: str) -> list[str]:
        return sorted({path for change in self.git.changes(old, new) for path in change.paths})

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


# --- the web app's side: background runs and webhook deliveries ---------------------------------


class SyncRunner:
    """Runs a publication in a background thread, one at a time.

    Requests made while one runs are merged into one more run, which fetches whatever is
    newest by then.
    """

    def __init__(self, publish: Callable[[], PublishResult]) -> None:
        self._publish = publish
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._idle = threading.Event()
        self._idle.set()
        self.last: PublishResult | None = None

    def request(self) -> bool:
        """Ask for a run; False when it was merged into one already waiting or running."""
        with self._lock:
            if self._running:
                already = self._pending
                self._pending = True
                return not already
            self._running = True
            self._idle.clear()
        threading.Thread(target=self._loop, name="kb-publication", daemon=True).start()
        return True

    def _loop(self) -> None:
        while True:
            try:
                self.last = self._publish()
            except Exception:  # the thread must survive to release `_running`
                log.exception("Publication en arrière-plan interrompue")
            with self._lock:
                if not self._pending:
                    self._running = False
                    self._idle.set()
                    return
                self._pending = False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no run is going on (tests, shutdown)."""
        return self._idle.wait(timeout)


class DeliveryLog:
    """Webhook delivery ids already received: a bounded list, kept across restarts."""

    def __init__(self, index: Path | str, keep: int = 1000) -> None:
        self.path = Path(index) / DELIVERIES_FILE
        self.keep = keep

    def first_time(self, delivery: str) -> bool:
        """Record `delivery`; False when it had been received before (a replay)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                seen = json.loads(handle.read() or "[]")
            except ValueError:
                seen = []
            if not isinstance(seen, list):
                seen = []
            if delivery in seen:
                return False
            seen = [*seen, delivery][-self.keep :]
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(seen))
            handle.flush()
        return True

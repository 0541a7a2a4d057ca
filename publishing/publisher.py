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

With `[[sources]]` (publishing/sources.py), `publish_source` publishes one source's commit
(its centre folders only) and the main repository provides the other centres; both index
a `CompositeSource` of every source's online commit.

    <index>/publication.json          last attempt (/healthz)
    <index>/publication.verrou        one publication at a time (flock)
    <index>/publication.log           the log, unless `publication.journal` says otherwise
    <index>/depot.git                 mirror of the forge's published branch
    <index>/sources/<nom>.git|.json   mirror and last attempt of each source
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from indexer.build import Indexer, UpdateReport
from indexer.published import published_state
from indexer.store import IndexFolder, IndexLocked, exclusive_lock, now_iso, write_atomically
from kb.config import SOURCE_NAME
from kb.french import plural
from kb.gitsource import (
    Change,
    Git,
    GitError,
    GitTreeSource,
    clean_environment,
    init_repository,
)
from kb.publication import (
    PublicationSettings,
    TreeCheck,
    append_log,
    file_refusals,
    validate_tree,
)

from .results import (  # re-exported: the names callers have always imported from here
    FAILED,
    PUBLICATION_WAIT,
    PUBLISHED,
    REFUSED,
    UNCHANGED,
    PublicationError,
    PublishResult,
)
from .sources import (
    CompositeSource,
    Source,
    is_centre_folder,
    live_info,
    main_tree,
    mirror_path,
    online_sources,
    write_attempt,
)

log = logging.getLogger(__name__)

STATUS_FILE = "publication.json"
LOCK_FILE = "publication.verrou"
MIRROR = "depot.git"
PUBLISHED_REF = "refs/kb/publication"  # the fetched branch, in the mirror
DEPLOYED_REF = "refs/kb/deploye"  # the commit checked out, in the deployed folder
FETCH_TIMEOUT = 600.0  # a fetch that hangs (network, prompt) must not hold the lock forever
MAX_RECORDED_LINES = 50


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


def _refused(
    commit: str, check: TreeCheck, lines: list[str] | None = None, more: int = 0
) -> PublishResult:
    errors = len(check.blocking) + more
    return PublishResult(
        REFUSED,
        commit,
        lines=check.lines() if lines is None else lines,
        message=f"{plural(errors, 'erreur')} : la version {commit[:10]} n'est pas publiée, la "
        "version précédente reste en ligne",
        checked=check.checked,
    )


def init_mirror(path: Path) -> Git:
    """A bare repository (created if needed) that fetched commits are kept in."""
    return init_repository(path, bare=True)


def fetch_branch(mirror: Path, remote: str, branch: str, name: str = "") -> tuple[Git, str]:
    """Fetch `branch` of `remote` into `mirror`; the mirror and the branch's tip."""
    git = init_mirror(mirror)
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
        where = f"la source « {name} »" if name else remote
        raise PublicationError(f"la branche « {branch} » est introuvable dans {where}")
    return git, tip


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
        sources: Sequence[Source] = (),
    ) -> None:
        self.content = Path(content).resolve() if content else None
        self.index = Path(index).resolve()
        self.settings = settings
        self.lock_timeout = lock_timeout
        self.sources = list(sources)  # `[[sources]]` (publishing/sources.py)
        # Deploy (and collect unused objects) after the publication is reported, in
        # finish_pending(), rather than while the pusher waits.
        self.defer_deploy = False
        self._pending_deploy: tuple[Git, str] | None = None
        self._collection_due = False
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
                result = self._safely(lambda: self._publish(remote, branch, validate, commit))
                self._record(result, source, remote, branch)
                return result
        except (PublicationError, OSError) as exc:  # the lock could not be taken
            result = PublishResult(FAILED, message=str(exc))
        with contextlib.suppress(OSError):
            self._record(result, source, remote, branch)
        return result

    def publish_source(self, source: Source, requested_by: str = "kb sync") -> PublishResult:
        """Publish the tip of a `[[sources]]` repository (see publishing/sources.py): its
        centre folders only; a refusal keeps its previous commit online."""
        try:
            with self._lock():
                result = self._safely(lambda: self._publish_source(source))
                self._record_source(result, source, requested_by)
                return result
        except (PublicationError, OSError) as exc:  # the lock could not be taken
            result = PublishResult(FAILED, message=str(exc))
        with contextlib.suppress(OSError):
            self._record_source(result, source, requested_by)
        return result

    @staticmethod
    def _safely(publish: Callable[[], PublishResult]) -> PublishResult:
        try:
            return publish()
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
        return fetch_branch(self.index / MIRROR, remote, branch)

    def _publish(self, remote, branch, validate, commit) -> PublishResult:
        git, commit = self._repository(remote, branch, commit)
        info = live_info(self.index)
        records = online_sources(info)
        if self.sources or records:
            return self._publish_main_among_sources(git, commit, branch, validate, info, records)
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
                return _refused(commit, check)
        paths = None if online is None else self._changed_paths(git, online, commit)
        with GitTreeSource(git, commit) as source:
            indexer = Indexer(source, self.index, self.lock_timeout, self.defer_deploy)
            report = indexer.update(paths, origin={"commit": commit, "branche": branch})
        self._collection_due |= report.collection_due
        lines += [p.format() for p in report.problems if p.is_error]
        self._deploy(git, commit)
        return PublishResult(PUBLISHED, commit, report, lines, checked=checked)

    # --- several sources (publishing/sources.py)

    def _claimed(self, records: dict[str, dict]) -> set[str]:
        """Centre folders provided by a source (configured, or online)."""
        claimed = {c for s in self.sources for c in s.centres}
        for record in records.values():
            claimed |= {c for c in record.get("centres", []) if isinstance(c, str)}
        return claimed

    def _publish_main_among_sources(self, git, commit, branch, validate, info, records):
        """The main repository, when sources are declared: it provides the centres no
        source provides; its files in a source's folders are left out."""
        if git.git_dir != (self.index / MIRROR).resolve():
            git = self._keep_in_mirror(git, commit)  # read again when a source publishes
        online = info.get("commit") if isinstance(info.get("commit"), str) else None
        if online and git.resolve_commit(online) != online:
            online = None
        if commit == online:
            self._deploy(git, commit)
            return PublishResult(UNCHANGED, commit, message="déjà en ligne, rien à publier")
        claimed = self._claimed(records)

        def own(change: Change) -> bool:
            return any("/" in p and p.split("/", 1)[0] not in claimed for p in change.paths)

        changes = [c for c in git.changes(online, commit, renames=True) if own(c)]
        lines: list[str] = []
        checked = None
        if validate:
            check = validate_tree(git, commit, online, changes, self._state(online))
            lines, checked = check.lines(), check.checked
            if not check.ok:
                return _refused(commit, check)
        paths = None if online is None else sorted({p for c in changes for p in c.paths})
        origin = {"commit": commit, "branche": branch, "sources": records}
        with GitTreeSource(git, commit) as rest:
            report = self._index_composite(records, rest, paths, origin)
        lines += [p.format() for p in report.problems if p.is_error]
        self._deploy(git, commit)
        return PublishResult(PUBLISHED, commit, report, lines, checked=checked)

    def _keep_in_mirror(self, git: Git, commit: str) -> Git:
        """Copy a commit of the hooks' bare repository into the mirror."""
        mirror = init_mirror(self.index / MIRROR)
        mirror.run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--force",
            str(git.git_dir),
            f"+{commit}:{PUBLISHED_REF}",
        )
        return mirror

    def _state(self, commit: str | None):
        """The published state, as the base of the changes from `commit`."""
        return replace(published_state(self.index), commit=commit)

    def _index_composite(self, records, rest, paths, origin) -> UpdateReport:
        """Index the version made of each source's online commit (and `rest`)."""
        parts = []
        try:
            for name, record in records.items():
                mirror = Git(mirror_path(self.index, name), clean_environment())
                if mirror.resolve_commit(record["commit"]) != record["commit"]:
                    raise PublicationError(
                        f"le commit en ligne {record['commit'][:10]} de la source « {name} » "
                        f"est introuvable dans son miroir ({mirror.git_dir}) : relancez "
                        f"« kb sync --source {name} »"
                    )
                parts.append((GitTreeSource(mirror, record["commit"]), record["centres"]))
            with CompositeSource(parts, rest) as source:
                indexer = Indexer(source, self.index, self.lock_timeout, self.defer_deploy)
                report = indexer.update(paths, origin=origin)
                self._collection_due |= report.collection_due
                return report
        finally:
            for tree, _centres in parts:
                tree.close()

    def _publish_source(self, source: Source) -> PublishResult:
        if not SOURCE_NAME.match(source.nom):  # it names the mirror: never a path
            return PublishResult(REFUSED, message=f"nom de source invalide « {source.nom[:80]} »")
        for other in self.sources:
            shared = sorted(set(other.centres) & set(source.centres))
            if other.nom != source.nom and shared:
                return PublishResult(
                    REFUSED,
                    message=f"le centre « {shared[0]} » est déjà fourni par la source "
                    f"« {other.nom} » : la source « {source.nom} » n'est pas publiée",
                )
        git, commit = fetch_branch(
            mirror_path(self.index, source.nom), source.depot, source.branche, source.nom
        )
        info = live_info(self.index)
        records = online_sources(info)
        record = records.get(source.nom)
        online = record["commit"] if record else None
        if online and git.resolve_commit(online) != online:
            online = None  # history rewritten: compare with what is online, file by file
        same_centres = record is not None and list(record.get("centres", [])) == list(
            source.centres
        )
        if commit == online and same_centres:
            return PublishResult(UNCHANGED, commit, message="déjà en ligne, rien à publier")
        changes = git.changes(online, commit, renames=True)
        outside = sorted(
            {p for c in changes for p in c.paths if is_centre_folder(p) and not source.provides(p)}
        )
        if outside:
            mine = ", ".join(f"{c}/" for c in source.centres)
            lines = [
                f"{path}: erreur : le dossier « {path.split('/')[0]}/ » n'est pas un centre de "
                f"la source « {source.nom} » (ses centres : {mine}) : commit refusé"
                for path in outside
            ]
            return PublishResult(
                REFUSED,
                commit,
                lines=lines,
                message=f"{plural(len(outside), 'fichier')} hors des centres de la source : la "
                f"version {commit[:10]} n'est pas publiée, la version précédente de la source "
                "reste en ligne",
            )
        changes = [c for c in changes if any(source.provides(p) for p in c.paths)]
        state = self._state(online)
        if online is None:  # first publication (or lost history): what is online goes
            tree = {e.path for e in git.tree(commit, sizes=False)}
            gone = sorted(
                p
                for p in set(state.online.values()) | state.invalid_paths
                if source.provides(p) and p not in tree
            )
            changes += [Change("D", p, None, "100644", "000000", "0" * 40) for p in gone]
        refusals = file_refusals(git, changes, self.settings)
        check = validate_tree(git, commit, online, changes, state, frozenset(source.centres))
        lines = refusals + check.lines()
        if refusals or not check.ok:
            return _refused(commit, check, lines, len(refusals))
        others = {
            name: {**r, "centres": [c for c in r["centres"] if c not in source.centres]}
            for name, r in records.items()
            if name != source.nom
        }
        records = {
            **others,
            source.nom: {
                "depot": source.public_depot,
                "branche": source.branche,
                "centres": list(source.centres),
                "commit": commit,
                "publie_le": now_iso(),
            },
        }
        origin: dict = {"sources": records}
        if isinstance(info.get("commit"), str):
            origin.update(commit=info["commit"], branche=info.get("branche"))
        # Only what changed is read; a source whose centres changed in the configuration is
        # read whole (a centre it no longer provides goes to another source, or offline).
        moved = record is not None and not same_centres
        paths = None if moved else sorted({p for c in changes for p in c.paths})
        try:
            rest = main_tree(self.index, info)
        except LookupError:
            raise PublicationError(
                f"le commit en ligne {str(info.get('commit'))[:10]} du dépôt principal est "
                f"introuvable dans {self.index / MIRROR} : publiez d'abord le dépôt principal "
                "(« kb sync --remote DÉPÔT »)"
            ) from None
        try:
            report = self._index_composite(records, rest, paths, origin)
        finally:
            if rest is not None:
                rest.close()
        lines += [p.format() for p in report.problems if p.is_error]
        return PublishResult(PUBLISHED, commit, report, lines, checked=check.checked)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        busy = PublicationError(
            f"une autre publication est en cours depuis plus de {PUBLICATION_WAIT:.0f} s : "
            "réessayez plus tard"
        )
        with exclusive_lock(self.index / LOCK_FILE, PUBLICATION_WAIT, busy):
            yield

    def finish_pending(self) -> None:
        """What a publication with `defer_deploy` set left for after its report: deploy
        it, and collect the objects no kept version names when it is due (under the
        publication lock: never two at once). Failures are logged, never fatal."""
        pending, self._pending_deploy = self._pending_deploy, None
        due, self._collection_due = self._collection_due, False
        if pending is None and not due:
            return
        try:
            with self._lock():
                if pending is not None:
                    self._deploy_now(*pending)
                if due:
                    folder = IndexFolder(self.index)
                    with folder.writer_lock(self.lock_timeout):
                        folder.collect_objects()
        except (PublicationError, IndexLocked, OSError) as exc:
            log.warning("travaux après publication non faits : %s", exc)

    def _deploy(self, git: Git, commit: str) -> None:
        if self.defer_deploy:
            self._pending_deploy = (git, commit)
        else:
            self._deploy_now(git, commit)

    def _deploy_now(self, git: Git, commit: str) -> None:
        """Bring the deployed folder, if any, to the published commit (for operators;
        the site does not read it). A failure here is logged, never fatal."""
        if self.content is None:
            return
        try:
            if not (self.content / ".git").is_dir():
                if self.content.exists() and any(self.content.iterdir()):
                    log.warning("dossier de déploiement %s non vide, non mis à jour", self.content)
                    return
            deployed = init_repository(self.content)
            # The publication lock is held, and nothing else writes here: a git lock left
            # in the folder is a deployment killed midway, which would block all the next.
            (deployed.git_dir / "index.lock").unlink(missing_ok=True)
            deployed.run("fetch", "--quiet", "--no-tags", str(git.git_dir), commit)
            work_tree = f"--work-tree={self.content}"
            before = deployed.resolve_commit(DEPLOYED_REF)
            try:
                if before is None or deployed.resolve_commit("HEAD") != before:
                    raise GitError("pas de commit déployé connu")
                # Only the files that changed since the commit deployed (a two-tree merge):
                # checking out and cleaning the whole folder reads all of its files.
                deployed.run(work_tree, "read-tree", "-m", "-u", before, commit)
                deployed.run("update-ref", "--no-deref", "HEAD", commit)
            except GitError:  # first deployment, or a folder changed by hand: in full
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

    def _record_source(self, result: PublishResult, source: Source, requested_by: str) -> None:
        if not SOURCE_NAME.match(source.nom):
            log.warning("Source au nom invalide non publiée : %r", source.nom[:80])
            return
        write_attempt(
            self.index,
            source.nom,
            {
                "date": now_iso(),
                "demande_par": requested_by,
                "resultat": result.outcome,
                "commit": result.commit,
                "message": result.summary(),
                "erreurs": [line for line in result.lines if "erreur" in line][:MAX_RECORDED_LINES],
            },
        )
        where = f"{source.public_depot} {source.branche}@{(result.commit or '?')[:12]}"
        text = (
            f"publication de la source « {source.nom} » ({requested_by}) {where} : "
            f"{result.outcome} — {result.summary()}"
        )
        text += "".join(f"\n  {line}" for line in result.lines)
        append_log(self.settings.log_file, text)
        # INFO, whatever the outcome: the caller reports it (to the pusher, in the service's
        # journal); a warning here would reach the pusher twice through logging's last
        # resort, and only when the request is worked in the pusher's own process.
        log.info("Source %s : %s — %s", source.nom, result.outcome, result.summary())

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
        log.info("Publication %s : %s", result.outcome, result.summary())  # see _record_source

"""Harvesting an OAI-PMH catalogue into resource files (`kb moissonner`).

One run: ask the repository who it is (granularity) and which formats it offers (`kb`,
this software's lossless format, else `oai_dc`); list the records changed since the last
successful run (`from`), following resumption tokens (publishing/oaiclient.py defends
against hostile servers); turn each into a file checked by the loader
(publishing/notices.py); then, only once the whole list was read, apply the changes to
the harvest's output in one step:

- the instance's harvest repository `<index>/moissons/<nom>.git` (bare; one commit per
  successful run, built with git plumbing: the branch moves last, so a run that fails or
  is killed half-way leaves it as it was), published for its centres by
  `publish_harvest`;
- or a content folder (`--sortie DOSSIER`) that `kb index` reads.

Either way a file without the harvest mark (`moisson`) is never overwritten nor deleted:
a hand-written resource with the same id is reported and kept. Deleted records remove
their notice. Each run (date, counts, errors) is recorded in `<index>/moissons/<nom>.json`,
written atomically; `kb moissonner --etat` shows it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from indexer.store import exclusive_lock, now_iso, write_atomically
from kb.french import plural
from kb.gitsource import Git, GitError, init_repository
from kb.loader import FileError, decode, split_front_matter
from kb.model import ID_PATTERN
from kb.publication import carries_harvest_mark

from .notices import (
    HarvestContext,
    Notice,
    Refusal,
    SubjectMapping,
    convert,
    is_centre_card,
)
from .oaiclient import HarvestError, HarvestLimits, OAIClient

HARVESTS_FOLDER = "moissons"
BRANCH = "refs/heads/main"
MAX_RUNS_KEPT = 30
MAX_LINES_KEPT = 100
KB_PREFIX = "kb"


@dataclass(frozen=True)
class HarvestSettings:
    """One `[[moissons]]` table of the configuration (or the command line's)."""

    nom: str
    url: str
    centre: str | None = None
    ensemble: str | None = None  # an OAI set
    correspondances: Path | None = None  # the subject mapping table
    format: str | None = None  # force a metadata prefix (default: kb when offered)


def harvests_folder(index: Path) -> Path:
    return Path(index) / HARVESTS_FOLDER


def state_path(index: Path, nom: str) -> Path:
    return harvests_folder(index) / f"{nom}.json"


def repository_path(index: Path, nom: str) -> Path:
    return harvests_folder(index) / f"{nom}.git"


def read_state(index: Path, nom: str) -> dict:
    try:
        data = json.loads(state_path(index, nom).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def all_states(index: Path) -> dict[str, dict]:
    folder = harvests_folder(index)
    if not folder.is_dir():
        return {}
    return {p.stem: read_state(index, p.stem) for p in sorted(folder.glob("*.json"))}


def counts_text(
    added: int, changed: int, deleted: int, refused: int, unchanged: int | None = None
) -> str:
    """`3 ajoutées, 1 modifiée, 0 supprimée, 12 inchangées, 0 refusée`"""
    parts = [
        plural(added, "ajoutée", "ajoutées"),
        plural(changed, "modifiée", "modifiées"),
        plural(deleted, "supprimée", "supprimées"),
    ]
    if unchanged is not None:
        parts.append(plural(unchanged, "inchangée", "inchangées"))
    parts.append(plural(refused, "refusée", "refusées"))
    return ", ".join(parts)


def harvest_summary(index: Path) -> dict[str, dict]:
    """What /healthz shows of each harvest: its last success and its last attempt."""
    summary = {}
    for nom, state in all_states(index).items():
        runs = state.get("executions") or []
        last = runs[-1] if runs else {}
        summary[nom] = {
            "url": state.get("url"),
            "derniere_reussie": (state.get("dernier_succes") or {}).get("date"),
            "derniere_tentative": last.get("fin"),
            "resultat": last.get("resultat"),
            "erreurs": len(last.get("erreurs") or []),
        }
    return summary


@dataclass
class HarvestReport:
    nom: str
    url: str
    started: str = field(default_factory=now_iso)
    finished: str = ""
    ok: bool = False
    format: str = ""
    since: str | None = None
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)  # lines, in French
    kept: list[str] = field(default_factory=list)  # hand-written files left alone
    error: str = ""
    commit: str | None = None
    centres: list[str] = field(default_factory=list)
    publication: str = ""
    next_since: str | None = None  # the repository's time when this run started

    def summary(self) -> str:
        return self.counts() if self.ok else f"échec : {self.error}"

    def counts(self) -> str:
        return counts_text(
            len(self.added),
            len(self.changed),
            len(self.deleted),
            len(self.refused) + len(self.kept),
            self.unchanged,
        )

    def record(self) -> dict:
        return {
            "debut": self.started,
            "fin": self.finished,
            "resultat": "reussie" if self.ok else "echec",
            "format": self.format,
            "depuis": self.since,
            "ajoutees": len(self.added),
            "modifiees": len(self.changed),
            "supprimees": len(self.deleted),
            "inchangees": self.unchanged,
            "refusees": len(self.refused) + len(self.kept),
            "erreurs": ([self.error] if self.error else [])
            + (self.kept + self.refused)[:MAX_LINES_KEPT],
            "commit": self.commit,
            "publication": self.publication,
        }


# --- outputs ----------------------------------------------------------------------------------


class FolderOutput:
    """A content folder (`--sortie`): what `kb index` reads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def files(self) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if not self.root.is_dir():
            return found
        for path in sorted(self.root.rglob("*.md")):
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(self.root).as_posix()
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            found[rel] = path.read_bytes()
        return found

    def apply(self, writes: dict[str, bytes], deletes: Iterable[str], message: str) -> None:
        # Every file is written beside its place then renamed over it: a file is either the
        # old or the new version, never half of one.
        for rel, data in writes.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        for rel in deletes:
            target = self.root / rel
            target.unlink(missing_ok=True)
            folder = target.parent
            while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent


class GitOutput:
    """The harvest's own bare repository: one commit per run that changed something."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def _git(self) -> Git:
        try:
            return init_repository(self.path, bare=True)
        except GitError as exc:
            raise HarvestError(str(exc)) from None

    def head(self) -> str | None:
        if not (self.path / "objects").is_dir():
            return None
        return self._git().resolve_commit(BRANCH)

    def files(self) -> dict[str, bytes]:
        head = self.head()
        if head is None:
            return {}
        git = self._git()
        listing = git.run("ls-tree", "-r", "-z", head).split(b"\0")
        found = {}
        for line in listing:
            if not line:
                continue
            meta, _, raw_path = line.partition(b"\t")
            path = raw_path.decode("utf-8", errors="replace")
            if path.endswith(".md"):
                found[path] = git.run("cat-file", "blob", meta.split()[2].decode())
        return found

    def apply(self, writes: dict[str, bytes], deletes: Iterable[str], message: str) -> str:
        git = self._git()
        head = self.head()
        with tempfile.TemporaryDirectory(prefix="kb-moisson-") as folder:
            env = dict(git.env, GIT_INDEX_FILE=str(Path(folder) / "index"))
            staged = Git(self.path, env)
            if head:
                staged.run("read-tree", head)
            else:
                staged.run("read-tree", "--empty")
            # One --index-info list: mode 0 removes a path (--force-remove wants a work tree).
            entries = [f"0 {'0' * 40}\t{rel}" for rel in deletes]
            for rel, data in writes.items():
                sha = staged.run("hash-object", "-w", "--stdin", input=data).decode().strip()
                entries.append(f"100644 {sha}\t{rel}")
            if entries:
                staged.run(
                    "update-index", "-z", "--index-info",
                    input="".join(e + "\0" for e in entries).encode("utf-8"),
                )  # fmt: skip
            tree = staged.run("write-tree").decode().strip()
        identity = {
            "GIT_AUTHOR_NAME": "kb moissonner",
            "GIT_AUTHOR_EMAIL": "moisson@localhost",
            "GIT_COMMITTER_NAME": "kb moissonner",
            "GIT_COMMITTER_EMAIL": "moisson@localhost",
        }
        committer = Git(self.path, dict(git.env, **identity))
        args = ["commit-tree", tree, "-m", message]
        if head:
            args[2:2] = ["-p", head]
        commit = committer.run(*args).decode().strip()
        # The branch moves last, and only from the commit we started from.
        git.run("update-ref", BRANCH, commit, head or "0" * 40)
        return commit


# --- one run ----------------------------------------------------------------------------------


class Harvester:
    def __init__(
        self,
        settings: HarvestSettings,
        index: Path,
        output: FolderOutput | GitOutput,
        claimed: frozenset[str] = frozenset(),
        limits: HarvestLimits | None = None,
        client: OAIClient | None = None,
    ) -> None:
        self.settings = settings
        self.index = Path(index)
        self.output = output
        self.claimed = claimed
        self.limits = limits or HarvestLimits()
        self.client = client

    def run(self, full: bool = False) -> HarvestReport:
        settings = self.settings
        report = HarvestReport(settings.nom, settings.url)
        busy = HarvestError(f"une moisson « {settings.nom} » est déjà en cours")
        try:
            # One run of a harvest at a time (a cron line that overlaps the previous one).
            with exclusive_lock(
                state_path(self.index, settings.nom).with_suffix(".verrou"), 0, busy
            ):
                state = read_state(self.index, settings.nom)
                try:
                    self._run(report, state, full)
                    report.ok = True
                except HarvestError as exc:
                    report.error = str(exc)
                except (GitError, OSError) as exc:
                    report.error = f"écriture impossible : {exc}"
                report.finished = now_iso()
                self._record(report, state)
        except HarvestError as exc:  # busy: the running one records its own run
            report.error, report.finished = str(exc), now_iso()
        return report

    def _run(self, report: HarvestReport, state: dict, full: bool) -> None:
        settings = self.settings
        mapping = (
            SubjectMapping.load(settings.correspondances) if settings.correspondances else None
        )
        client = self.client or OAIClient(settings.url, self.limits)
        identity = client.identify()
        formats = client.formats()
        prefix = settings.format or (KB_PREFIX if formats.get(KB_PREFIX) == _KB_NS else "oai_dc")
        if prefix not in formats:
            raise HarvestError(
                f"l'entrepôt ne propose pas le format « {prefix} » (formats : "
                f"{', '.join(sorted(formats)) or 'aucun'})"
            )
        if prefix != KB_PREFIX and not settings.centre:
            raise HarvestError(
                "cet entrepôt n'est pas une instance de ce logiciel (pas de format « kb ») : "
                'indiquez le centre qui recevra ses notices (--centre ID ou centre = "…")'
            )
        last = state.get("dernier_succes") or {}
        same_source = last.get("url") == settings.url and last.get("format") == prefix
        since = None
        if not full and same_source and last.get("depuis"):
            since = str(last["depuis"])
            if identity.granularity == "YYYY-MM-DD":
                since = since[:10]
        report.format, report.since = prefix, since
        context = HarvestContext(
            nom=settings.nom,
            entrepot=settings.url,
            today=dt.date.today(),
            centre=settings.centre,
            claimed=self.claimed,
            repository_name=identity.name,
            mapping=mapping or SubjectMapping(),
        )
        notices: dict[str, Notice] = {}
        deleted: set[str] = set()
        for record in client.records(prefix, since, settings.ensemble):
            if record.deleted and record.identifier:
                deleted.add(record.identifier)
                notices.pop(record.identifier, None)
                continue
            converted = convert(record, prefix, context)
            if isinstance(converted, Refusal):
                report.refused.append(converted.line())
                continue
            deleted.discard(record.identifier)
            notices[record.identifier] = converted
        report.next_since = client.first_response_date
        self._apply(report, notices, deleted, full)

    def _apply(
        self, report: HarvestReport, notices: dict[str, Notice], deleted: set[str], full: bool
    ) -> None:
        existing = self.output.files()
        marked: dict[str, str] = {}  # OAI identifier -> path, for the files this harvest wrote
        hand_written: dict[str, str] = {}  # resource id -> path, for the others
        for path, data in existing.items():
            if is_centre_card(path):
                continue
            mark = _harvest_mark(data)
            if mark is not None and mark[0] == self.settings.url:
                marked[mark[1]] = path
            else:  # written by hand, or by another harvest
                hand_written[_resource_id(path)] = path
        writes: dict[str, bytes] = {}
        deletes: set[str] = set()
        if full:
            # A full harvest lists everything the repository holds: the notices it no
            # longer lists are gone.
            deleted |= {i for i in marked if i not in notices}
        used: dict[str, str] = {}
        for identifier, notice in sorted(notices.items(), key=lambda item: item[1].path):
            if notice.resource_id in hand_written:
                report.kept.append(
                    f"{identifier} : non écrit : {hand_written[notice.resource_id]} existe déjà "
                    "et n'a pas été moissonné (une fiche écrite à la main n'est jamais "
                    "remplacée)"
                )
                continue
            if notice.resource_id in used:
                report.refused.append(
                    f"{identifier} : refusé : identifiant « {notice.resource_id} » déjà donné "
                    f"par {used[notice.resource_id]}"
                )
                continue
            used[notice.resource_id] = identifier
            data = notice.text.encode("utf-8")
            previous_path = marked.get(identifier)
            if previous_path and previous_path != notice.path:
                deletes.add(previous_path)
            old = existing.get(notice.path)
            if old is not None and _same_but_date(old, data):
                report.unchanged += 1
            elif old is not None:
                writes[notice.path] = data
                report.changed.append(notice.resource_id)
            else:
                writes[notice.path] = data
                report.added.append(notice.resource_id)
            card = f"{notice.centre}/_centre.md"
            if notice.centre_card and card not in existing and card not in writes:
                writes[card] = notice.centre_card.encode("utf-8")
            elif notice.centre_card and card in existing and carries_card_mark(existing[card]):
                if existing[card] != notice.centre_card.encode("utf-8"):
                    writes[card] = notice.centre_card.encode("utf-8")
        for identifier in sorted(deleted):
            path = marked.get(identifier)
            if path and path not in writes:
                deletes.add(path)
                report.deleted.append(_resource_id(path))
        remaining = (set(existing) - deletes) | set(writes)
        report.centres = sorted({p.split("/")[0] for p in remaining if not is_centre_card(p)})
        if writes or deletes:
            message = (
                f"Moisson « {self.settings.nom} » : {report.counts()}\n\n{self.settings.url}\n"
            )
            report.commit = self.output.apply(writes, sorted(deletes), message)
        elif isinstance(self.output, GitOutput):
            report.commit = self.output.head()

    def _record(self, report: HarvestReport, state: dict) -> None:
        state = dict(state)
        state["nom"] = report.nom
        state["url"] = report.url
        state["sortie"] = self.output.describe()
        runs = list(state.get("executions") or [])
        runs.append(report.record())
        state["executions"] = runs[-MAX_RUNS_KEPT:]
        if report.ok:
            state["dernier_succes"] = {
                "date": report.finished,
                "url": report.url,
                "format": report.format,
                # The next run asks for what changed since this one started (the
                # repository's own clock).
                "depuis": report.next_since or report.started,
                "commit": report.commit,
                "centres": report.centres,
            }
        folder = harvests_folder(self.index)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(
            state_path(self.index, report.nom), json.dumps(state, ensure_ascii=False, indent=1)
        )


_KB_NS = "urn:crpv-kb:oai:ressource:1"
CARD_MARK = "Centre dont les ressources sont moissonnées (kb moissonner)."


def carries_card_mark(data: bytes) -> bool:
    return CARD_MARK.encode("utf-8") in data


def _resource_id(path: str) -> str:
    parts = path.split("/")
    return f"{parts[0]}/{parts[-1][: -len('.md')]}"


# LibYAML's safe loader when PyYAML has it: every file of the output is read at each run.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _harvest_mark(data: bytes) -> tuple[str, str] | None:
    """The repository and OAI identifier of a file's harvest mark (None: not harvested)."""
    if not carries_harvest_mark(data):
        return None
    try:
        split = split_front_matter(decode(data))
        header = yaml.load(split.front_matter, Loader=_SAFE_LOADER)  # noqa: S506
    except (FileError, yaml.YAMLError):
        return None
    mark = header.get("moisson") if isinstance(header, dict) else None
    if isinstance(mark, dict) and isinstance(mark.get("identifiant"), str):
        return str(mark.get("entrepot")), mark["identifiant"]
    return None


def _same_but_date(old: bytes, new: bytes) -> bool:
    """Whether two versions of a notice differ only by their harvest date."""

    def strip(data: bytes) -> list[bytes]:
        return [line for line in data.splitlines() if not line.lstrip().startswith(b"recolte_le:")]

    return strip(old) == strip(new)


def valid_name(nom: str) -> bool:
    return bool(ID_PATTERN.match(nom)) and len(nom) <= 60


def harvest_source_name(nom: str) -> str:
    """The name under which a harvest repository is published among the sources."""
    return f"moisson-{nom}"


def publish_harvest(settings, nom: str, repository: Path, centres: list[str]) -> str:
    """Publish the harvest repository as one of the instance's sources, for its centres
    (publishing/sources.py): validated like a push, it may only change its own centre
    folders, and a refusal keeps its previous commit online. The message to show."""
    try:
        from .sources import Source, load_sources, publish_source
    except ImportError:  # an instance without several sources
        return (
            f"Moisson enregistrée dans {repository} (centres : {', '.join(centres) or 'aucun'}). "
            "Cette version ne sait pas publier un dépôt de moisson à côté du dépôt "
            "principal : utilisez « kb moissonner … --sortie DOSSIER » puis « kb index » "
            "(voir docs/deploiement.md)."
        )
    from .publisher import PUBLISHED, UNCHANGED

    source = Source(
        nom=harvest_source_name(nom),
        depot=str(repository),
        branche=BRANCH.removeprefix("refs/heads/"),
        centres=tuple(centres),
    )
    configured = [s for s in load_sources(settings) if s.nom != source.nom]
    result = publish_source(
        [*configured, source],
        settings.index,
        source.nom,
        requested_by=f"kb moissonner {nom}",
        lock_timeout=settings["attente_verrou"],
    )
    lines = "".join(f"\n  {line}" for line in result.lines)
    if result.outcome in (PUBLISHED, UNCHANGED):
        return f"Publication ({', '.join(centres)}) : {result.summary()}.{lines}"
    return f"erreur : publication non faite : {result.summary()}{lines}"

"""Several source repositories for one instance: a regional or national base gathering the
repositories of several centres (`[[sources]]` in kb.toml, docs/deploiement.md).

Each source is a git repository (any URL, or a local path: the harvester writes its own,
`<index>/moissons/<nom>.git`) that provides a fixed set of centre folders, at the root of
its tree. A source is fetched into its own mirror and published on its own: the commits of
one source can add, change or remove the resources of its centres only, and a refused
commit keeps that source's last good commit online without touching the others.

What is online is recorded in the live version itself (infos.json), so that it switches
with the index in one rename and survives any kill:

    "sources": {"<nom>": {"depot": …, "branche": …, "centres": […], "commit": "<sha>",
                          "publie_le": "<iso>"}}

The top-level `commit` stays the main repository's (the single-repository mode: `git push`
with kb's hooks, or `publication.depot`): when sources are declared, the main repository
provides every centre that no source declares, and nothing else.

Reading a version's content means reading each centre folder from the commit of the source
that provides it (`CompositeSource`): validating and indexing one source never re-reads
another one's files; the rules across the corpus (ids, aliases) are checked against the
published state.

    <index>/sources/<nom>.git     mirror of the source's published branch
    <index>/sources/<nom>.json    last attempt to publish it (written atomically)
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from indexer.store import IndexFolder, write_atomically
from kb.config import SOURCE_NAME, Settings
from kb.gitsource import Git, GitTreeSource, clean_environment
from kb.source import SourceEntry, is_hidden

if TYPE_CHECKING:
    from .publisher import PublishResult

SOURCES_DIR = "sources"
MAIN = ""  # the name under which the main repository's requests are queued


@dataclass(frozen=True)
class Source:
    """One `[[sources]]` table: a repository, its branch, the centre folders it provides,
    the secret of its webhook and, optionally, the minutes between two scheduled syncs."""

    nom: str
    depot: str
    branche: str
    centres: tuple[str, ...]
    secret: str = ""
    horaire: int | None = None

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branche}"

    @property
    def public_depot(self) -> str:
        """The repository's address without the credentials it may embed."""
        return strip_credentials(self.depot)

    def provides(self, path: str) -> bool:
        """Whether `path` lies in one of this source's centre folders."""
        return "/" in path and path.split("/", 1)[0] in self.centres


def load_sources(settings: Settings) -> list[Source]:
    """The sources of the configuration (already checked by kb.config.read_sources)."""
    return [
        Source(
            nom=table["nom"],
            depot=table["depot"],
            branche=table["branche"],
            centres=tuple(table["centres"]),
            secret=table["secret_webhook"],
            horaire=table["horaire"],
        )
        for table in settings.sources
    ]


def strip_credentials(url: str) -> str:
    """`https://user:token@forge/x.git?private_token=…` -> `https://forge/x.git`: what a
    status page or a log may show of a repository's address."""
    if "://" not in url:
        return url  # a local path, or scp-like `git@forge:x.git` (no password there)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def mirror_path(index: Path | str, name: str) -> Path:
    _check_name(name)
    return Path(index) / SOURCES_DIR / f"{name}.git"


def status_path(index: Path | str, name: str) -> Path:
    _check_name(name)
    return Path(index) / SOURCES_DIR / f"{name}.json"


def _check_name(name: str) -> None:
    if not SOURCE_NAME.match(name):  # a name becomes a file name: never a path
        raise ValueError(f"nom de source invalide « {name[:80]} »")


# --- what is online -------------------------------------------------------------------------


def live_info(index: Path | str) -> dict:
    folder = IndexFolder(index)
    if not folder.exists():
        return {}
    return folder.read_info(folder.current())


def online_sources(info: Mapping) -> dict[str, dict]:
    """`nom -> record` of the sources a version was built from (empty: none)."""
    records = info.get("sources")
    if not isinstance(records, dict):
        return {}
    return {
        name: dict(record)
        for name, record in records.items()
        if isinstance(record, dict) and isinstance(record.get("commit"), str)
    }


def read_attempt(index: Path | str, name: str) -> dict:
    try:
        data = json.loads(status_path(index, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_attempt(index: Path | str, name: str, attempt: dict) -> None:
    path = status_path(index, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(attempt, ensure_ascii=False, indent=1))


def source_statuses(index: Path | str, sources: Sequence[Source]) -> list[dict]:
    """Per source: what is online (commit, date: from the live version) and the last
    attempt (date, outcome, errors with file and line). Public: no secret, no credential.
    Sources published but no longer configured (a harvest) are listed too."""
    records = online_sources(live_info(index))
    statuses = []
    configured = {s.nom for s in sources}
    for source in list(sources) + [
        Source(name, str(r.get("depot", "")), str(r.get("branche", "")), tuple(r["centres"]))
        for name, r in sorted(records.items())
        if name not in configured and isinstance(r.get("centres"), list)
    ]:
        record = records.get(source.nom, {})
        attempt = read_attempt(index, source.nom)
        statuses.append(
            {
                "nom": source.nom,
                "depot": source.public_depot,
                "branche": source.branche,
                "centres": list(source.centres),
                "configuree": source.nom in configured,
                "commit": record.get("commit"),
                "publie_le": record.get("publie_le"),
                "horaire_minutes": source.horaire,
                "derniere_tentative": {
                    key: attempt[key]
                    for key in ("date", "resultat", "commit", "message", "erreurs")
                    if key in attempt
                }
                or None,
            }
        )
    return statuses


def centre_origins(index: Path | str) -> dict[str, dict]:
    """`centre -> {"source", "depot", "branche", "commit", "publie_le"}` for the centres that
    a source provides in the version online (the /centres directory shows where a centre's
    content comes from). A centre not listed comes from the main repository, if any: its
    commit is the version's `commit` (see `publishing.publisher.publication_status`)."""
    origins = {}
    for name, record in online_sources(live_info(index)).items():
        for centre in record.get("centres", []):
            origins[centre] = {
                "source": name,
                "depot": strip_credentials(str(record.get("depot", ""))),
                "branche": record.get("branche"),
                "commit": record.get("commit"),
                "publie_le": record.get("publie_le"),
            }
    return origins


# --- reading a version made of several commits ----------------------------------------------


class CompositeSource:
    """A `ContentSource` (kb/source.py) whose centre folders come from several commits:
    each claimed folder from the commit of the source that provides it, every other
    folder from `rest` (the main repository's commit), if any.

    Files at the root of a source's tree, and folders of centres it does not provide, are
    not part of the content. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        parts: Iterable[tuple[GitTreeSource, Iterable[str]]],
        rest: GitTreeSource | None = None,
    ) -> None:
        self.by_centre: dict[str, GitTreeSource] = {}
        self.trees: list[GitTreeSource] = []
        for tree, centres in parts:
            self.trees.append(tree)
            for centre in centres:
                self.by_centre[centre] = tree
        self.rest = rest
        if rest is not None:
            self.trees.append(rest)

    def tree_for(self, path: str) -> GitTreeSource | None:
        if "/" not in path:
            return None
        centre = path.split("/", 1)[0]
        tree = self.by_centre.get(centre)
        if tree is not None:
            return tree
        return self.rest

    def _mine(self, tree: GitTreeSource, path: str) -> bool:
        return self.tree_for(path) is tree

    def entries(self) -> Iterator[SourceEntry]:
        found = [e for tree in self.trees for e in tree.entries() if self._mine(tree, e.path)]
        found.sort(key=lambda e: e.path)
        return iter(found)

    def paths(self) -> set[str]:
        return {p for tree in self.trees for p in tree.paths() if self._mine(tree, p)}

    def read(self, path: str) -> bytes:
        tree = self.tree_for(path)
        if tree is None:
            raise FileNotFoundError(path)
        return tree.read(path)

    def exists(self, path: str) -> bool:
        tree = self.tree_for(path)
        return tree is not None and tree.exists(path)

    def stat(self, path: str) -> SourceEntry | None:
        return self.stat_many([path]).get(path)

    def stat_many(self, paths: list[str]) -> dict[str, SourceEntry]:
        found: dict[str, SourceEntry] = {}
        for tree in self.trees:
            mine = [p for p in paths if self._mine(tree, p)]
            if mine:
                found.update(tree.stat_many(mine))
        return found

    def centre_cards(self) -> list[SourceEntry]:
        cards = [c for tree in self.trees for c in tree.centre_cards() if self._mine(tree, c.path)]
        return sorted(cards, key=lambda c: c.path)

    def close(self) -> None:
        for tree in self.trees:
            tree.close()

    def __enter__(self) -> CompositeSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def is_centre_folder(path: str) -> bool:
    """Whether `path` is inside a folder that could be a centre's (not a root file, not
    `_modeles/` or `.forgejo/`)."""
    return "/" in path and not is_hidden(path.split("/", 1)[0])


def publish_source(
    settings_or_sources: Settings | Sequence[Source],
    index: Path | str,
    name: str,
    requested_by: str = "kb sync",
    lock_timeout: float = 30.0,
    log_file: Path | None = None,
) -> PublishResult:
    """Fetch, validate and publish source `name` now, without going through the queue.

    `settings_or_sources`: the instance's settings (its `[[sources]]`), or the sources
    themselves (a harvester passes the source it writes, whose `depot` is a local bare
    repository such as `<index>/moissons/<nom>.git`, among the configured ones so that
    two sources never provide the same centre). The tip of the source's branch is fetched
    into `<index>/sources/<nom>.git` and published. The source may only add, change or
    remove files of its own centre folders; its commit is validated like a push, against
    what is online.

    Returns a `publishing.publisher.PublishResult`: `outcome` is PUBLISHED, UNCHANGED
    (already online), REFUSED (validation errors, or a file in another centre's folder:
    `lines` says which, `fichier:ligne: erreur : …`; the source's previous commit stays
    online) or FAILED (fetch, lock, disk: to be tried again). The outcome is recorded in
    `<index>/sources/<nom>.json` and in the publication log. One publication runs at a
    time per index (the call waits for the one running).
    """
    from kb.publication import PublicationSettings

    from .publisher import Publisher

    if isinstance(settings_or_sources, Settings):
        sources = load_sources(settings_or_sources)
        publication = PublicationSettings.from_settings(settings_or_sources)
        lock_timeout = settings_or_sources["attente_verrou"]
    else:
        sources = list(settings_or_sources)
        publication = PublicationSettings(log_file=log_file or Path(index) / "publication.log")
    found = [s for s in sources if s.nom == name]
    if not found:
        from .publisher import FAILED, PublishResult

        return PublishResult(FAILED, message=f"source « {name} » inconnue")
    publisher = Publisher(None, index, publication, lock_timeout, sources=sources)
    return publisher.publish_source(found[0], requested_by=requested_by)


def main_tree(index: Path | str, info: Mapping) -> GitTreeSource | None:
    """The main repository's online commit, read from its mirror (None: no such commit
    recorded). Raises LookupError when it is recorded but not in the mirror."""
    from .publisher import MIRROR

    commit = info.get("commit")
    if not isinstance(commit, str) or not commit:
        return None
    mirror = Path(index) / MIRROR
    if (mirror / "objects").is_dir():
        git = Git(mirror, clean_environment())
        if git.resolve_commit(commit) == commit:
            return GitTreeSource(git, commit)
    raise LookupError(commit)


@contextlib.contextmanager
def online_content(settings: Settings) -> Iterator[tuple[CompositeSource, dict] | None]:
    """What `kb index` and `kb serve` read on an instance with `[[sources]]`: the version
    online, each centre folder from the commit of the source that provides it (and the
    main repository's commit for the others), with the `origin` to record again; None
    when the instance has no sources (the content folder is read). Holds the publication
    lock, so that no publication switches versions meanwhile. Raises
    `indexer.commands.ContentUnavailable` (French message)."""
    from indexer.commands import ContentUnavailable
    from indexer.store import exclusive_lock

    from .publisher import LOCK_FILE, PUBLICATION_WAIT

    info = live_info(settings.index)
    if not settings.sources and not online_sources(info):
        yield None
        return
    busy = ContentUnavailable(
        f"une publication est en cours depuis plus de {PUBLICATION_WAIT:.0f} s : réessayez"
    )
    with exclusive_lock(Path(settings.index) / LOCK_FILE, PUBLICATION_WAIT, busy):
        info = live_info(settings.index)
        records = online_sources(info)
        origin: dict = {"sources": records}
        if isinstance(info.get("commit"), str):
            origin.update(commit=info["commit"], branche=info.get("branche"))
        try:
            rest = main_tree(settings.index, info)
        except LookupError:
            raise ContentUnavailable(
                f"le commit en ligne {str(info.get('commit'))[:10]} du dépôt principal est "
                "introuvable dans son miroir : republiez-le (« kb sync --remote DÉPÔT »)"
            ) from None
        parts = []
        for name, record in records.items():
            git = Git(mirror_path(settings.index, name), clean_environment())
            if git.resolve_commit(record["commit"]) != record["commit"]:
                if rest is not None:
                    rest.close()
                raise ContentUnavailable(
                    f"le commit en ligne {record['commit'][:10]} de la source « {name} » est "
                    f"introuvable dans son miroir : relancez « kb sync --source {name} »"
                )
            parts.append((GitTreeSource(git, record["commit"]), record["centres"]))
        with CompositeSource(parts, rest) as source:
            yield source, origin

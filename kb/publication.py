"""Publishing by git push: who may push what, and whether a pushed tree may go online.

There is one validator: a pushed tree is loaded by `kb.loader.Loader` through a
`GitTreeSource`, exactly as `kb check` loads a folder. On top of it, the push policy:

- the pusher's identity comes from the git server (never from commit authors), and the
  accounts and the centres they may write live in the server's configuration file (never
  in the pushed content, so a centre cannot grant itself rights);
- a centre's account may add, change, rename or delete files under its own folders only;
  `"*"` (administration) may change anything;
- symbolic links, submodules, oversize files and file types outside the allowed list are
  refused.

Errors block: the push is refused and nothing is published. An error already present
before the push, in a file the push does not touch, does not block (its file stays
offline): otherwise one broken file would stop every centre, and no centre may fix
another centre's file.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TextIO

from .french import plural
from .gitsource import BlobReader, Change, Git, GitError, GitTreeSource, is_null
from .loader import CENTRE_CARD, MAX_FILE_SIZE, Loader, LoadResult, is_resource_file
from .model import ATTACHMENT_TYPES, Resource
from .problems import Problem, Severity, sort_key
from .publication_settings import (  # (some re-exported: the names others import from here)
    ALL_CENTRES,
    PUSHER_VARIABLES,
    PublicationSettings,
    append_log,
    pusher_identity,
)
from .publication_settings import LOG_FILE as LOG_FILE
from .publication_settings import read_updates as read_updates
from .schema import PLACEHOLDER, placeholder_message

ALLOWED_EXTENSIONS = frozenset(ATTACHMENT_TYPES) | {"md"}
MAX_LISTED = 20  # files named in one refusal; the rest are counted


def may_write(centres: frozenset[str], path: str) -> bool:
    """Whether an account writing `centres` may add, change or delete `path`."""
    if ALL_CENTRES in centres:
        return True
    parts = path.split("/")
    return len(parts) >= 2 and parts[0] in centres


def allowed_file(path: str, extra_files: Iterable[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    if "." in name.lstrip(".") and name.rsplit(".", 1)[-1].lower() in ALLOWED_EXTENSIONS:
        return True
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(name, p) for p in extra_files)


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Kio"
    return f"{size / (1024 * 1024):.1f} Mio".replace(".", ",")


def _listed(lines: list[str]) -> list[str]:
    shown = [f"  - {line}" for line in lines[:MAX_LISTED]]
    if len(lines) > MAX_LISTED:
        shown.append(f"  … et {plural(len(lines) - MAX_LISTED, 'autre')}")
    return shown


# --- what is online ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedState:
    """What is online, as the index keeps it, handed to kb as plain data.

    kb knows no index: the command layer fills this (indexer/published.py) and the push
    is checked against it, so that the whole-corpus rules (ids unique, aliases, who owns
    an address) never re-read the corpus. `known` is False when there is no index at all
    (nothing was ever published): every file of the pushed tree is then read.
    """

    known: bool = False
    commit: str | None = None  # the commit the index holds (None: not recorded)
    online: Mapping[str, str] = field(default_factory=dict)  # id online -> path of its file
    owners: Mapping[str, str] = field(default_factory=dict)  # id/alias ever published -> centre
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias online -> id it leads to
    invalid_paths: frozenset[str] = frozenset()  # files in error in the version online


def centre_of(resource_id: str) -> str:
    return resource_id.split("/", 1)[0]


# --- the verdict on a tree --------------------------------------------------------------------


@dataclass
class TreeCheck:
    """What the validator says about the files of one commit.

    `result` holds the files that were read: with a published state, only those the push
    (or a publication still pending) changed, and the centre cards they need.
    """

    result: LoadResult
    blocking: list[Problem] = field(default_factory=list)
    earlier: list[Problem] = field(default_factory=list)  # errors already there before
    notices: list[Problem] = field(default_factory=list)  # warnings about removed ids
    touched: set[str] | None = None  # paths changed since the previous commit (None: all)
    untouched_invalid: list[str] = field(default_factory=list)  # in error online, not read
    scope: frozenset[str] | None = None  # the account's centres (None: every centre)

    @property
    def ok(self) -> bool:
        return not self.blocking

    @property
    def warnings(self) -> list[Problem]:
        """Warnings about the files that changed (the others were seen before)."""
        found = [p for p in self.result.problems if not p.is_error and self._touched(p)]
        return sorted(found + self.notices, key=sort_key)

    @property
    def checked(self) -> int:
        """Resource files read and checked."""
        return len(self.result.resources) + sum(
            1 for path in self.result.invalid_paths if is_resource_file(path)
        )

    def _touched(self, problem: Problem) -> bool:
        return self.touched is None or problem.path in self.touched

    def lines(self) -> list[str]:
        """The report for the pusher or the log, in French."""
        lines = [p.format() for p in sorted(self.blocking + self.warnings, key=sort_key)]
        others = sum(1 for p in self.result.problems if not p.is_error and not self._touched(p))
        if others:
            lines.append(
                f"({plural(others, 'avertissement')} dans des fichiers que cette mise à jour ne "
                "modifie pas : voir « kb check »)"
            )
        if self.earlier:
            lines.append(
                f"{plural(len(self.earlier), 'erreur déjà présente', 'erreurs déjà présentes')} "
                "avant cette mise à jour, dans "
                "des fichiers qu'elle ne modifie pas (non bloquantes ; ces fichiers restent "
                "hors ligne) :"
            )
            lines += _listed([p.format() for p in self.earlier])
        lines += self._untouched_lines()
        return lines

    def _untouched_lines(self) -> list[str]:
        own = [
            p
            for p in self.untouched_invalid
            if self.scope is None or ALL_CENTRES in self.scope or centre_of(p) in self.scope
        ]
        lines = [
            f"{path}: avertissement : ce fichier est en erreur dans la version en ligne ; cette "
            "poussée ne le modifie pas, il reste hors ligne (corrigez-le : « kb check »)"
            for path in own[:MAX_LISTED]
        ]
        rest = len(self.untouched_invalid) - len(lines)
        if rest:
            lines.append(
                f"({plural(rest, 'autre fichier', 'autres fichiers')} en erreur dans la version "
                "en ligne, que cette poussée ne modifie pas : "
                f"{'il reste' if rest == 1 else 'ils restent'} hors ligne)"
            )
        return lines


def load_commit(git: Git, commit: str, only: Iterable[str] | None = None) -> LoadResult:
    """The files of `commit` (`only` these, if given), as the published branch judges them:
    a sheet going online with the template's placeholders is an error."""
    with GitTreeSource(git, commit, only) as source:
        result = Loader(source).load()
        refuse_placeholders(result, source.read)
    return result


BODY_PLACEHOLDER = f"{PLACEHOLDER}."  # the template's text under each section


def _template_placeholder(problem: Problem, read: Callable[[str], bytes]) -> bool:
    """Whether a placeholder warning is about the template's own text: any field that
    still holds it, or a body line that is exactly the template's (a sentence of the text
    may well say « à compléter »)."""
    if problem.message != placeholder_message("texte"):
        return problem.message.endswith(f"contient encore « {PLACEHOLDER} »")
    try:
        lines = read(problem.path).decode("utf-8", errors="replace").splitlines()
        line = lines[(problem.line or 1) - 1].strip()
    except (OSError, IndexError):
        return False
    return line.casefold() in (BODY_PLACEHOLDER.casefold(), PLACEHOLDER.casefold())


def refuse_placeholders(result: LoadResult, read: Callable[[str], bytes]) -> None:
    """The template's placeholders in a sheet that would go online become errors.

    `kb check` only warns (a sheet being written in a working copy); drafts never get
    these warnings (the loader drops them).
    """
    for position, problem in enumerate(result.problems):
        if problem.is_error or not is_resource_file(problem.path):
            continue
        if PLACEHOLDER not in problem.message or not _template_placeholder(problem, read):
            continue
        result.problems[position] = replace(
            problem,
            severity=Severity.ERROR,
            message=f"{problem.message} : une fiche publiée ne peut pas garder les textes du "
            "modèle ; complétez-la, ou laissez-la en « statut: brouillon »",
        )
        result.invalid_paths.add(problem.path)
    for resource in list(result.resources.values()):
        if resource.path in result.invalid_paths:
            del result.resources[resource.id]


def validate_tree(
    git: Git,
    commit: str,
    previous: str | None = None,
    changes: list[Change] | None = None,
    state: PublishedState | None = None,
    scope: frozenset[str] | None = None,
) -> TreeCheck:
    """Validate the tree of `commit` as `kb check` would.

    `previous`: the commit the branch held (None: nothing, every error blocks); `changes`:
    from `previous` to `commit`, when the caller has them. Errors in files changed since
    `previous`, and errors the change causes, block; the others were already there and
    do not.

    With `state` (what is online), only the files that changed are read, and the rules
    across files are checked against `state`; `scope` is then the pushing account's
    centres (None: an administrator or a publication with no account), for the rules on
    who may declare which address. Without `state`, the whole tree is read.
    """
    if state is not None:
        return _validate_changes(git, commit, previous, changes, state, scope)
    result = load_commit(git, commit)
    check = TreeCheck(result)
    errors = result.errors
    if is_null(previous) or previous is None:
        check.blocking = errors
        return check
    if changes is None:
        changes = git.changes(previous, commit, renames=True)
    touched = {path for change in changes for path in change.paths}
    check.touched = touched
    others = [p for p in errors if p.path not in touched]
    check.blocking = [p for p in errors if p.path in touched]
    if others:
        before = {(p.path, p.message) for p in load_commit(git, previous).errors}
        for problem in others:
            known = (problem.path, problem.message) in before
            (check.earlier if known else check.blocking).append(problem)
    check.notices = removed_ids(git, previous, changes, result)
    return check


def _base_commit(git: Git, state: PublishedState, previous: str | None) -> str | None:
    """The commit whose content the state describes: what is online, else the branch."""
    if not state.known:
        return None  # nothing online is known: read everything
    if state.commit and git.resolve_commit(state.commit) == state.commit:
        return state.commit
    return previous


def _validate_changes(
    git: Git,
    commit: str,
    previous: str | None,
    changes: list[Change] | None,
    state: PublishedState,
    scope: frozenset[str] | None,
) -> TreeCheck:
    previous = None if is_null(previous) else previous
    if changes is None:
        changes = git.changes(previous, commit, renames=True)
    base = _base_commit(git, state, previous)
    # What differs from the state: this push, plus any accepted push not yet published.
    pending = changes if base == previous else git.changes(base, commit, renames=True)
    pushed = {path for change in changes for path in change.paths}
    pending_paths = {path for change in pending for path in change.paths}
    written = {c.path for c in pending if not c.deleted}
    centres = {p.split("/")[0] for p in written if "/" in p}
    cards = {f"{c}/{CENTRE_CARD}" for c in centres}
    result = load_commit(git, commit, written | cards)
    rules = _PublishedRules(state, pending, pending_paths, result, scope)
    result.problems.extend(rules.problems())
    result.problems.sort(key=sort_key)
    check = TreeCheck(result, touched=pushed, scope=scope)
    for problem in result.errors:
        (check.blocking if problem.path in pushed else check.earlier).append(problem)
    check.notices = rules.removed_notices(changes)
    check.untouched_invalid = sorted(state.invalid_paths - pending_paths)
    return check


class _PublishedRules:
    """The rules across files, for the files read, against what is online."""

    def __init__(
        self,
        state: PublishedState,
        pending: list[Change],
        pending_paths: set[str],
        result: LoadResult,
        scope: frozenset[str] | None,
    ) -> None:
        self.state = state
        self.transfers: list[Problem] = []  # addresses an administrator moves between centres
        self.pending = pending
        self.result = result
        self.scope = None if scope is None or ALL_CENTRES in scope else scope
        # Online after the change, for the files not read: ids and aliases whose file is
        # among the changes are replaced by what was read. Looked up one by one (the state
        # may hold 100,000 ids; a push declares a few).
        self.ids = _Without(state.online, lambda _id, path: path in pending_paths)
        self.aliases = _Without(
            state.aliases, lambda _alias, target: state.online.get(target) in pending_paths
        )

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        for resource in sorted(self.result.resources.values(), key=lambda r: r.path):
            found += self._resource_problems(resource)
        found += self._centre_cards()
        return found + self.transfers

    def _error(self, path: str, message: str) -> Problem:
        return Problem(path, None, Severity.ERROR, message)

    def _resource_problems(self, resource: Resource) -> list[Problem]:
        found = []
        path = resource.path
        other = self.ids.get(resource.id)
        if other is not None and other != path:
            found.append(
                self._error(
                    path,
                    f"identifiant « {resource.id} » en double (aussi : {other}, en ligne) : "
                    "deux fichiers d'un même centre ne peuvent avoir le même nom",
                )
            )
        target = self.aliases.get(resource.id)
        if target is not None and target != resource.id:
            found.append(
                self._error(
                    path,
                    f"l'identifiant « {resource.id} » est déjà l'alias en ligne de "
                    f"« {target} » (son ancienne adresse) : choisissez un autre nom de fichier",
                )
            )
        for alias in resource.alias_ids:
            found += self._alias_problems(resource, alias)
        return found

    def _alias_problems(self, resource: Resource, alias: str) -> list[Problem]:
        path, centre = resource.path, centre_of(alias)
        if self.scope is not None and centre not in self.scope:
            mine = ", ".join(f"{c}/" for c in sorted(self.scope))
            return [
                self._error(
                    path,
                    f"alias « {alias} » refusé : un centre ne peut déclarer d'alias que dans "
                    f"ses propres dossiers ({mine}) ; « {centre} » est un autre centre "
                    "(l'administrateur peut le faire pour vous)",
                )
            ]
        owner = self.state.owners.get(alias)
        if owner is not None and owner != resource.centre:
            if self.scope is not None and owner not in self.scope:
                return [
                    self._error(
                        path,
                        f"alias « {alias} » refusé : cette adresse a été publiée par le centre "
                        f"« {owner} » et lui reste attachée",
                    )
                ]
            self.transfers.append(
                Problem(
                    path,
                    None,
                    Severity.WARNING,
                    f"l'adresse « {alias} », publiée par le centre « {owner} », mènera "
                    f"désormais à une fiche du centre « {resource.centre} » ({resource.id})",
                )
            )
        online = self.ids.get(alias)
        if online is not None:
            return [
                self._error(
                    path,
                    f"l'alias « {alias} » est l'identifiant d'une ressource en ligne ({online})",
                )
            ]
        target = self.aliases.get(alias)
        if target is not None and target != resource.id:
            return [
                self._error(
                    path,
                    f"l'alias « {alias} » est déjà l'ancienne adresse de « {target} » (en ligne)",
                )
            ]
        return []

    def _centre_cards(self) -> list[Problem]:
        """A centre card deleted or broken takes every resource of its centre offline."""
        found = []
        for change in self.pending:
            for card in change.paths:
                parts = card.split("/")
                if len(parts) != 2 or parts[1] != CENTRE_CARD:
                    continue
                if parts[0] in self.result.centres:
                    continue
                online = sorted(p for i, p in self.ids.items() if centre_of(i) == parts[0])
                if not online:
                    continue
                state = "absente" if card not in self.result.invalid_paths else "invalide"
                shown = ", ".join(online[:3]) + (" …" if len(online) > 3 else "")
                found.append(
                    self._error(
                        card,
                        f"la fiche du centre « {card} » serait {state} : "
                        + (
                            "la ressource en ligne du centre ne pourrait plus être publiée"
                            if len(online) == 1
                            else f"les {len(online)} ressources en ligne du centre ne "
                            "pourraient plus être publiées"
                        )
                        + f" ({shown})",
                    )
                )
        return found

    def removed_notices(self, changes: list[Change]) -> list[Problem]:
        """Ids online that this push takes away, with a hint to keep their address."""
        still = set(self.result.resources) | {
            a for r in self.result.resources.values() for a in r.alias_ids
        }
        notices = []
        for change in changes:
            if not (change.deleted or change.status == "R"):
                continue
            old_path = change.old_path if change.status == "R" else change.path
            if not old_path or not is_resource_file(old_path):
                continue
            old_id = _resource_id(old_path)
            if self.state.online.get(old_id) != old_path:
                continue  # never online: no address to keep
            if old_id in still or old_id in self.ids or old_id in self.aliases:
                continue  # moved to a sub-folder (same id), or already an alias
            notices.append(_removal_notice(change, old_id))
        return notices


class _Without(Mapping[str, str]):
    """A mapping without the entries `dropped(key, value)` says are gone (lazy: the
    underlying mapping may answer one key at a time)."""

    def __init__(self, base: Mapping[str, str], dropped: Callable[[str, str], bool]) -> None:
        self._base, self._dropped = base, dropped

    def __getitem__(self, key: str) -> str:
        value = self._base[key]
        if self._dropped(key, value):
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (key for key, value in self._base.items() if not self._dropped(key, value))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def items(self):  # the base's items in one pass, not one look-up per key
        return [(k, v) for k, v in self._base.items() if not self._dropped(k, v)]


def _resource_id(path: str) -> str:
    parts = path.split("/")
    return f"{parts[0]}/{parts[-1][: -len('.md')]}"


def removed_ids(
    git: Git, previous: str, changes: list[Change], result: LoadResult
) -> list[Problem]:
    """Published ids that disappear, with a hint to keep their address alive (`alias`)."""
    if not any(c.deleted or c.status == "R" for c in changes):
        return []
    ids_now = {_resource_id(e) for e in _resource_paths(result)}
    aliases = {a for r in result.resources.values() for a in r.alias_ids}
    notices = []
    with GitTreeSource(git, previous) as old_source:
        loader = Loader(old_source)
        old_entries = {e.path: e for e in old_source.entries()}
        for change in changes:
            old_path = change.old_path if change.status == "R" else change.path
            if not (change.deleted or change.status == "R") or not old_path:
                continue
            if not is_resource_file(old_path):
                continue
            old_id = _resource_id(old_path)
            if old_id in ids_now or old_id in aliases:
                continue  # moved to a sub-folder (same id), or already an alias
            if old_path not in old_entries:
                continue
            old = loader.parse_resource(old_entries[old_path], [])
            if old is None or not old.is_published:
                continue  # never online: no address to keep
            notices.append(_removal_notice(change, old_id))
    return notices


def _resource_paths(result: LoadResult) -> set[str]:
    return {r.path for r in result.resources.values()} | result.invalid_paths


def _removal_notice(change: Change, old_id: str) -> Problem:
    old_centre, old_slug = old_id.split("/")
    if change.status == "R" and is_resource_file(change.path):
        new_centre = change.path.split("/")[0]
        alias = old_slug if new_centre == old_centre else old_id
        return Problem(
            change.path,
            None,
            Severity.WARNING,
            f"la ressource « {old_id} » disparaît ({change.old_path} renommé en "
            f"{change.path}) : pour que son ancienne adresse /ressources/{old_id} mène à la "
            f"nouvelle, ajoutez « {alias} » au champ alias de {change.path} "
            f"(alias: [{alias}])",
        )
    return Problem(
        change.path,
        None,
        Severity.WARNING,
        f"la ressource « {old_id} » est retirée ({change.path} supprimé) ; si elle a été "
        f"renommée, ajoutez « {old_slug} » au champ alias de la nouvelle fiche pour que "
        f"/ressources/{old_id} y mène",
    )


# --- the push policy --------------------------------------------------------------------------


@dataclass
class PushReview:
    """The verdict on one update of the published branch."""

    refusals: list[str] = field(default_factory=list)  # policy: each a paragraph of lines
    tree: TreeCheck | None = None

    @property
    def accepted(self) -> bool:
        return not self.refusals and (self.tree is None or self.tree.ok)

    def lines(self) -> list[str]:
        lines = list(self.refusals)
        if self.tree is not None:
            lines += self.tree.lines()
        return lines

    @property
    def error_count(self) -> int:
        return len(self.refusals) + (len(self.tree.blocking) if self.tree else 0)


def is_git_control(path: str) -> bool:
    """`.gitattributes`, `.gitmodules`, `.gitignore`, a `.git` folder…: files that change
    how git reads the repository (encodings, filters, submodules)."""
    return any(part.lower().startswith(".git") for part in path.split("/"))


def file_refusals(
    git: Git, changes: list[Change], settings: PublicationSettings, admin: bool = True
) -> list[str]:
    """Git control files (for centre accounts), symlinks, submodules, oversize files and
    disallowed types among the new files."""
    lines = []
    if not admin:
        control = sorted({p for c in changes for p in c.paths if is_git_control(p)})
        lines += [
            f"{path}: erreur : fichier de contrôle git refusé : seul un compte administrateur "
            "peut ajouter, modifier ou supprimer les fichiers « .git… » (ils changent la "
            "façon dont git lit les fichiers)"
            for path in control
        ]
    written = [c for c in changes if not c.deleted and (admin or not is_git_control(c.path))]
    sizes = git.sizes(sorted({c.new_sha for c in written if c.new_mode.startswith("100")}))
    for change in written:
        if change.new_mode == "120000":
            lines.append(
                f"{change.path}: erreur : lien symbolique refusé : mettez le fichier lui-même "
                "dans le dépôt"
            )
        elif change.new_mode == "160000":
            lines.append(
                f"{change.path}: erreur : sous-module git refusé : copiez les fichiers dans le dépôt"
            )
        elif not allowed_file(change.path, settings.extra_files):
            accepted = ", ".join(sorted(ALLOWED_EXTENSIONS - {"jpeg"}))
            lines.append(
                f"{change.path}: erreur : type de fichier refusé (fichiers acceptés : {accepted})"
            )
        elif sizes.get(change.new_sha, 0) > settings.max_size:
            lines.append(
                f"{change.path}: erreur : fichier trop volumineux "
                f"({_size(sizes[change.new_sha])} ; {_size(settings.max_size)} au plus)"
            )
    return lines


_HARVEST_MARK = re.compile(r"""^["']?moisson["']?[ \t]*:""", re.MULTILINE)
_FRONT_MATTER_END = re.compile(r"^---[ \t]*$", re.MULTILINE)


def carries_harvest_mark(data: bytes) -> bool:
    """Whether a resource file's header holds the harvester's `moisson` mark."""
    text = data[: MAX_FILE_SIZE + 1].decode("utf-8", errors="replace").lstrip("\ufeff")
    text = text.replace("\r\n", "\n")
    if not text.startswith("---"):
        return False
    end = _FRONT_MATTER_END.search(text, 3)
    header = text[3 : end.start()] if end else text[3:]
    return bool(_HARVEST_MARK.search(header))


def harvest_refusals(git: Git, previous: str | None, changes: list[Change]) -> list[str]:
    """Harvested resources are written by `kb moissonner` only: a centre account may not add,
    change or delete a file that carries the harvest mark, before or after its push."""
    marked: list[str] = []
    reader = BlobReader(git)
    try:
        for change in changes:
            for path in change.paths:
                if not path.endswith(".md"):
                    continue
                blobs = []
                if previous is not None and (change.status != "A" or path != change.path):
                    blobs.append(f"{previous}:{path}")
                if not change.deleted and path == change.path and change.new_mode.startswith("100"):
                    blobs.append(change.new_sha)
                for blob in blobs:
                    try:
                        data = reader.read(blob)
                    except GitError:
                        continue
                    if carries_harvest_mark(data):
                        marked.append(path)
                        break
    finally:
        reader.close()
    return [
        f"{path}: erreur : ressource moissonnée (champ « moisson ») : elle est écrite par "
        "« kb moissonner » et ne se modifie pas à la main ; corrigez-la dans le catalogue "
        "d'origine, ou demandez à l'administrateur de la retirer"
        for path in sorted(set(marked))
    ]


def review_push(
    git: Git,
    old: str,
    new: str,
    pusher: str | None,
    settings: PublicationSettings,
    state: PublishedState | None = None,
) -> PushReview:
    """Check one update of the published branch (`old` null: the branch is created).

    `state`: what is online (see `PublishedState`); only the files the push changes are
    then read. Without it, the whole pushed tree is.
    """
    review = PushReview()
    branch = settings.branch
    if is_null(new):
        review.refusals.append(
            f"erreur : la branche publiée « {branch} » ne peut pas être supprimée"
        )
        return review
    if pusher is None:
        review.refusals.append(
            f"erreur : compte inconnu : le serveur git n'a pas indiqué qui pousse (variables "
            f"{', '.join(PUSHER_VARIABLES)}) ; l'administrateur doit configurer le serveur "
            "(voir docs/publier.md)"
        )
        return review
    centres = settings.accounts.get(pusher)
    if centres is None:
        review.refusals.append(
            f"erreur : le compte « {pusher} » n'est pas autorisé à publier sur la branche "
            f"« {branch} » ; demandez à l'administrateur de l'ajouter à "
            "[publication.comptes] (vous pouvez pousser sur une autre branche)"
        )
        return review
    admin = ALL_CENTRES in centres
    commit = git.resolve_commit(new)
    if commit is None:
        review.refusals.append(f"erreur : « {new} » n'est pas un commit")
        return review
    previous = None if is_null(old) else git.resolve_commit(old)
    if previous is not None and not admin and not git.is_ancestor(previous, commit):
        review.refusals.append(
            f"erreur : le compte « {pusher} » ne peut pas réécrire l'historique de la branche "
            f"publiée « {branch} » (poussée forcée) : récupérez d'abord les envois des autres "
            "(« git pull --rebase »), puis poussez sans forcer"
        )
        return review
    changes = git.changes(previous, commit, renames=True)
    outside = []
    for change in changes:
        for path in change.paths:
            if not may_write(centres, path):
                outside.append(f"{path} ({_change_label(change, path)})")
    if outside:
        allowed = ", ".join(f"{c}/" for c in sorted(centres)) or "aucun"
        review.refusals.append(
            "\n".join(
                [
                    f"erreur : le compte « {pusher} » ne peut modifier que les dossiers : "
                    f"{allowed} ; cette poussée touche d'autres fichiers :",
                    *_listed(outside),
                ]
            )
        )
    review.refusals += claimed_refusals(changes, settings.claimed)
    review.refusals += file_refusals(git, changes, settings, admin)
    if not admin:
        review.refusals += harvest_refusals(git, previous, changes)
    scope = None if admin else frozenset(centres)
    review.tree = validate_tree(git, commit, previous, changes, state, scope)
    return review


def claimed_refusals(changes: list[Change], claimed: Mapping[str, str]) -> list[str]:
    """Files of the main repository under a centre folder that a `[[sources]]` repository
    provides: refused for every account (the administrator too), the source is the only
    place that centre is published from."""
    lines = []
    for path in sorted({p for c in changes for p in c.paths}):
        source = claimed.get(path.split("/")[0]) if "/" in path else None
        if source is not None:
            lines.append(
                f"{path}: erreur : le dossier « {path.split('/')[0]}/ » est publié depuis la "
                f"source « {source} » ([[sources]] de la configuration du serveur) : modifiez-le "
                "dans le dépôt de cette source"
            )
    return lines


def _change_label(change: Change, path: str) -> str:
    if change.status == "R":
        return "renommé depuis" if path == change.old_path else "renommé vers"
    return {"A": "ajouté", "D": "supprimé"}.get(change.status, "modifié")


# --- the pre-receive hook ---------------------------------------------------------------------


def pre_receive(
    updates: list[tuple[str, str, str]],
    git: Git,
    settings: PublicationSettings,
    environ: Mapping[str, str],
    out: TextIO,
    state: PublishedState | None = None,
) -> int:
    """Check every update of the published branch; 0 accepts the push, 1 refuses it.

    `state`: what is online (the command layer reads it from the index), so that only the
    files the push changes are read."""
    pusher = pusher_identity(environ)
    refused = False
    for old, new, ref in updates:
        short = ref.removeprefix("refs/heads/")
        if ref != settings.ref:
            if ref.startswith("refs/heads/") and not is_null(new):
                print(
                    f"Branche « {short} » reçue : elle n'est pas publiée (seule la branche "
                    f"« {settings.branch} » est mise en ligne).",
                    file=out,
                )
            continue
        print(
            f"Vérification de la publication sur « {short} » (compte : {pusher or 'inconnu'})…",
            file=out,
        )
        review = review_push(git, old, new, pusher, settings, state)
        for line in review.lines():
            print(line, file=out)
        tree = review.tree
        if review.accepted:
            checked = tree.checked if tree else 0
            warnings = len(tree.warnings) if tree else 0
            print(
                "Vérification réussie : "
                f"{plural(checked, 'fiche vérifiée', 'fiches vérifiées')}, "
                f"{plural(warnings, 'avertissement')}.",
                file=out,
            )
            verdict = "acceptée"
        else:
            refused = True
            print(
                f"Poussée refusée : {plural(review.error_count, 'erreur')}. Rien n'a été publié. "
                "Corrigez puis poussez à nouveau (vérifiez d'abord avec « kb check »).",
                file=out,
            )
            verdict = f"refusée ({plural(review.error_count, 'erreur')})"
        append_log(
            settings.log_file,
            f"pre-receive compte={pusher or '?'} {ref} {old[:12]}..{new[:12]} : {verdict}"
            + "".join(f"\n  {line}" for line in review.lines() if "erreur" in line),
        )
    return 1 if refused else 0

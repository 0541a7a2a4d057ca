"""One loader: a content tree -> typed resources and centres, plus a list of problems.

Per-file problems never stop the others; whole-tree checks (duplicate ids, aliases, centre
cards) run once every file has been read. The same code serves `kb check`, the indexer and
the git hook (through a `ContentSource`).
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import multiprocessing
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from frontmatter.default_handlers import YAMLHandler

from . import events, limits, schema
from .french import shorten
from .model import ATTACHMENT_TYPES, DRAFT, Attachment, Centre, Resource
from .problems import Problem, Severity, condense, sort_key
from .render import is_relative_url, read_body
from .source import ContentSource, FileSystemSource, SourceEntry, is_hidden
from .vocabulary import Vocabularies, fold, load_vocabularies
from .yamlstrict import StrictYamlError, compose

MAX_FILE_SIZE = 1024 * 1024
# The front-matter fields of a resource: the common table and those of events.
RESOURCE_FIELDS = schema.RESOURCE_FIELDS + events.EVENT_FIELDS + schema.HARVEST_FIELDS
CENTRE_CARD = "_centre.md"
_FRONT_MATTER = YAMLHandler()


@dataclass
class LoadResult:
    centres: dict[str, Centre] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)  # valid ones, drafts included
    problems: list[Problem] = field(default_factory=list)
    invalid_paths: set[str] = field(default_factory=set)
    prepared: dict[str, Any] = field(default_factory=dict)  # see Loader.load(prepare=...)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def published(self) -> list[Resource]:
        return [r for r in self.resources.values() if r.is_published]


class FileError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def slugify(text: str, max_length: int = 80) -> str:
    """`Réussite éducative : l'été !` -> `reussite-educative-l-ete`."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug


# --- reading one file -------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is accepted), with Unix newlines; FileError otherwise."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            "le fichier n'est pas encodé en UTF-8 (caractère illisible) : "
            "réenregistrez-le en UTF-8 depuis votre éditeur",
            line,
        ) from None
    if "\x00" in text:
        raise FileError("le fichier contient des octets nuls : ce n'est pas un texte", None)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class SplitFile:
    front_matter: str
    yaml_line_offset: int  # add to a 0-based YAML line to get the 1-based file line
    body: str
    body_line: int  # 1-based file line where the body starts


def split_front_matter(text: str) -> SplitFile:
    if not text.strip():
        raise FileError("le fichier est vide", None)
    if not _FRONT_MATTER.detect(text):
        raise FileError(
            "le fichier doit commencer par un en-tête YAML encadré par deux lignes « --- »", 1
        )
    boundaries = list(_FRONT_MATTER.FM_BOUNDARY.finditer(text))
    if len(boundaries) < 2:
        raise FileError(
            "l'en-tête YAML n'est pas fermé : ajoutez une ligne « --- » après les métadonnées", 1
        )
    opening, closing = boundaries[0], boundaries[1]
    offset = text.count("\n", 0, opening.end()) + 1
    rest = text[closing.end() :]
    body = rest.lstrip("\n")
    body_start = closing.end() + len(rest) - len(body)
    body_line = text.count("\n", 0, body_start) + 1
    return SplitFile(text[opening.end() : closing.start()], offset, body, body_line)


def read_text(source: ContentSource, entry: SourceEntry) -> str:
    if entry.size > MAX_FILE_SIZE:
        raise FileError(
            f"fichier trop volumineux ({entry.size / MAX_FILE_SIZE:.1f} Mio ; 1 Mio au plus) : "
            "placez les documents lourds en pièces jointes"
        )
    data = source.read(entry.path)
    if len(data) > MAX_FILE_SIZE:
        raise FileError(
            f"fichier trop volumineux ({len(data) / MAX_FILE_SIZE:.1f} Mio ; 1 Mio au plus)"
        )
    return decode(data)


def check_characters(path: str, text: str, problems: list[Problem]) -> bool:
    """An error at each line holding an invisible control character; True if any."""
    found = False
    line, position = 1, 0
    for match in schema.FORBIDDEN_CHARACTERS.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        problems.append(
            Problem(path, line, Severity.ERROR, schema.forbidden_character_message(match.group()))
        )
        found = True
    return found


def parse_fields(
    path: str,
    split: SplitFile,
    fields: tuple[schema.Field, ...],
    vocabularies: Vocabularies,
    problems: list[Problem],
    lines: dict[str, int] | None = None,
) -> dict[str, Any] | None:
    """Check a front-matter block against a field table; typed values or None if unreadable.

    `lines`, when given, receives the line of each key.
    """
    try:
        document = compose(split.front_matter)
    except StrictYamlError as exc:
        line = exc.line + split.yaml_line_offset if exc.line is not None else 1
        raise FileError(exc.message, line) from None
    if document.root is None:
        raise FileError("l'en-tête YAML est vide", 1)
    if not document.is_mapping:
        raise FileError(
            "l'en-tête doit être une suite de lignes « clé: valeur »",
            document.root.start_mark.line + split.yaml_line_offset,
        )
    table = {f.name: f for f in fields}
    values: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for entry in document.entries():
        line = entry.key_line + split.yaml_line_offset
        if not isinstance(entry.key, str):
            problems.append(Problem(path, line, Severity.ERROR, "clé d'en-tête invalide"))
            continue
        if entry.key in seen:
            problems.append(
                Problem(
                    path,
                    line,
                    Severity.ERROR,
                    f"clé « {entry.key} » en double (déjà ligne {seen[entry.key]})",
                )
            )
            continue
        seen[entry.key] = line
        definition = table.get(entry.key)
        if definition is None:
            close = difflib.get_close_matches(entry.key, list(table), n=1, cutoff=0.6)
            problems.append(
                Problem(
                    path,
                    line,
                    Severity.WARNING,
                    f"clé inconnue « {shorten(entry.key)} » (ignorée)",
                    close[0] if close else None,
                )
            )
            continue
        try:
            raw = document.construct(entry.value_node)
        except StrictYamlError as exc:
            problems.append(
                Problem(
                    path,
                    exc.line + split.yaml_line_offset,
                    Severity.ERROR,
                    f"« {entry.key} » : {exc.message}",
                )
            )
            continue
        if raw is None and not definition.required:
            continue
        context = schema.FieldContext(
            path, entry.key, entry.value_node, split.yaml_line_offset, vocabularies, problems
        )
        values[entry.key] = definition.check(context, raw)
    if lines is not None:
        lines.update(seen)
    harvested = values.get("moisson") is not None
    for definition in fields:
        if definition.optional_when_harvested and harvested:
            continue
        if definition.required and definition.name not in seen:
            problems.append(
                Problem(
                    path, 1, Severity.ERROR, f"champ obligatoire manquant : « {definition.name} »"
                )
            )
    return values


# --- the loader ---------------------------------------------------------------------------------


class Loader:
    def __init__(self, source: ContentSource, vocabularies: Vocabularies | None = None) -> None:
        self.source = source
        self.vocabularies = vocabularies or load_vocabularies()
        self._pending: list[Resource] = []

    def load(self, workers: int = 1, prepare: Prepare | None = None) -> LoadResult:
        """Load and check the whole tree.

        `workers` > 1 parses files in parallel processes. `prepare(resource, centres)`, when
        given, runs right after each resource is parsed without error (in the worker) and its
        result is kept in `result.prepared[path]`; the resources returned then carry no body
        (the indexer turns resources into documents this way without sending them twice
        between processes).
        """
        result = LoadResult()
        entries = list(self.source.entries())
        files = {e.path: e for e in entries if not e.is_symlink}
        centre_dirs: set[str] = set()
        resource_entries: list[SourceEntry] = []
        for entry in entries:
            parts = entry.path.split("/")
            if entry.is_symlink:
                self.symlink_problem(entry, result.problems)
                continue
            if len(parts) == 1 or is_hidden(parts[0]):
                continue  # files at the root (README...) and shared `_` folders
            centre_dirs.add(parts[0])
            name = parts[-1]
            if len(parts) == 2 and name == CENTRE_CARD:
                self.load_centre(entry, result)
            elif any(is_hidden(p) for p in parts[1:]):
                continue
            elif name.endswith(".md"):
                resource_entries.append(entry)
            elif name.rsplit(".", 1)[-1].lower() not in ATTACHMENT_TYPES:
                result.problems.append(
                    Problem(
                        entry.path,
                        None,
                        Severity.WARNING,
                        "type de fichier non pris en charge, ignoré (pièces jointes acceptées : "
                        + ", ".join(sorted(set(ATTACHMENT_TYPES) - {"jpeg"}))
                        + ")",
                    )
                )
        bad_centres = {c for c in centre_dirs if not schema.check_identifier(c)}
        for centre_id in sorted(bad_centres):
            result.centres.pop(centre_id, None)  # its ids could not be published
            result.problems.append(
                Problem(
                    f"{centre_id}/",
                    None,
                    Severity.ERROR,
                    f"nom de dossier de centre invalide « {centre_id} » : minuscules, chiffres "
                    "et tirets seulement",
                    slugify(centre_id) or None,
                )
            )
        for entry, (resource, problems) in zip(
            resource_entries,
            self._parse_all(resource_entries, files, workers, prepare, result),
            strict=True,
        ):
            result.problems.extend(problems)
            if resource is not None and resource.centre in bad_centres:
                result.invalid_paths.add(entry.path)  # already reported on the folder
            elif resource is not None:
                result.resources.setdefault(resource.id, resource)
                self._pending.append(resource)
        self.check_tree(result)
        result.problems.sort(key=sort_key)
        return result

    # ...per file

    def symlink_problem(self, entry: SourceEntry, problems: list[Problem]) -> None:
        if entry.symlink_inside:
            problems.append(
                Problem(
                    entry.path,
                    None,
                    Severity.WARNING,
                    "lien symbolique ignoré : copiez le fichier au lieu de le lier",
                )
            )
        else:
            problems.append(
                Problem(
                    entry.path,
                    None,
                    Severity.ERROR,
                    "lien symbolique vers l'extérieur du dossier de contenu : refusé",
                )
            )

    def load_centre(self, entry: SourceEntry, result: LoadResult) -> None:
        centre_id = entry.path.split("/")[0]
        problems: list[Problem] = []
        try:
            text = read_text(self.source, entry)
            if check_characters(entry.path, text, problems):
                values = None
            else:
                split = split_front_matter(text)
                values = parse_fields(
                    entry.path, split, schema.CENTRE_FIELDS, self.vocabularies, problems
                )
                limits.check_body(entry.path, split.body, split.body_line, problems)
        except FileError as exc:
            problems.append(Problem(entry.path, exc.line, Severity.ERROR, exc.message))
            values = None
        result.problems.extend(condense(problems))
        if values is None or any(p.is_error for p in problems) or not values.get("nom"):
            result.invalid_paths.add(entry.path)
            return
        result.centres[centre_id] = Centre(
            id=centre_id,
            nom=values["nom"],
            path=entry.path,
            region=values.get("region"),
            site=values.get("site"),
            contact=values.get("contact"),
            body=split.body,
            body_line=split.body_line,
        )

    def _parse_all(self, entries, files, workers, prepare, result) -> list:
        job = (self, files, prepare, result.centres)
        if workers <= 1 or len(entries) < 200:
            _set_worker(job)
            parsed = [_parse_in_worker(entry) for entry in entries]
        else:
            context = multiprocessing.get_context("fork")  # workers inherit the job as is
            with context.Pool(workers, initializer=_set_worker, initargs=(job,)) as pool:
                parsed = pool.map(_parse_in_worker, entries, chunksize=32)
        _set_worker(None)
        output = []
        for resource, problems, prepared in parsed:
            if resource is not None and prepare is not None:
                result.prepared[resource.path] = prepared
            output.append((resource, problems))
        return output

    def _parse_one(self, entry, files) -> tuple[Resource | None, list[Problem]]:
        problems: list[Problem] = []
        return self.parse_resource(entry, problems, files), problems

    def parse_resource(
        self,
        entry: SourceEntry,
        problems: list[Problem],
        files: dict[str, SourceEntry] | None = None,
    ) -> Resource | None:
        """Read and check one resource file; None (with problems) when it has errors."""
        own: list[Problem] = []
        resource = self._parse_resource(entry, own, files)
        own = condense(own)
        problems.extend(own)
        if any(p.is_error for p in own):
            return None
        return resource

    def _parse_resource(self, entry, problems, files) -> Resource | None:
        parts = entry.path.split("/")
        centre_id, slug = parts[0], parts[-1][: -len(".md")]
        if not schema.check_identifier(slug):
            problems.append(
                Problem(
                    entry.path,
                    None,
                    Severity.ERROR,
                    f"nom de fichier invalide « {parts[-1]} » : minuscules sans accents, chiffres et "
                    "tirets seulement",
                    (slugify(slug) + ".md") if slugify(slug) else None,
                )
            )
        try:
            text = read_text(self.source, entry)
            if check_characters(entry.path, text, problems):
                return None
            split = split_front_matter(text)
            lines: dict[str, int] = {}
            values = parse_fields(
                entry.path, split, RESOURCE_FIELDS, self.vocabularies, problems, lines
            )
        except FileError as exc:
            problems.append(Problem(entry.path, exc.line, Severity.ERROR, exc.message))
            return None
        events.check_event(entry.path, values, lines, problems)
        if not limits.check_body(entry.path, split.body, split.body_line, problems):
            return None  # not parsed further: that could cost seconds
        links, body_text, sections = read_body(split.body)
        if not limits.check_links(entry.path, links, split.body_line, problems):
            return None
        attachments = self._check_links(entry.path, split, links, problems, files)
        position = split.body.lower().find(schema.PLACEHOLDER.lower())
        if position >= 0:
            line = split.body_line + split.body.count("\n", 0, position)
            problems.append(
                Problem(entry.path, line, Severity.WARNING, schema.placeholder_message("texte"))
            )
        if values.get("statut") == DRAFT:  # a draft is work in progress: placeholders are fine
            problems[:] = [p for p in problems if schema.PLACEHOLDER not in p.message]
        if any(p.is_error for p in problems) or values is None:
            return None
        values.setdefault("piliers", ())  # a harvested notice may have none
        return Resource(
            id=f"{centre_id}/{slug}",
            centre=centre_id,
            slug=slug,
            path=entry.path,
            body=split.body,
            body_line=split.body_line,
            body_text=body_text,
            intertitres=sections,
            attachments=attachments,
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            **{k: v for k, v in values.items() if v is not None},
        )

    def _check_links(self, path, split, links, problems, files) -> tuple[Attachment, ...]:
        """Warn about relative links to missing files; list the attachments that exist."""
        folder = posixpath.dirname(path)
        found: dict[str, Attachment] = {}
        for link in links:
            if not is_relative_url(link.url):
                continue
            target = resolve_relative(folder, link.url)
            line = split.body_line + link.line
            if target is None:
                problems.append(
                    Problem(
                        path,
                        line,
                        Severity.WARNING,
                        f"lien « {link.url} » : sort du dossier de contenu",
                    )
                )
                continue
            entry = files.get(target) if files is not None else None
            # The source knows every file even when only some are loaded (a push's changes).
            exists = entry is not None or self.source.exists(target)
            if not exists:
                kind = "image" if link.is_image else "lien"
                problems.append(
                    Problem(
                        path,
                        line,
                        Severity.WARNING,
                        f"{kind} « {link.url} » : fichier introuvable ({target})",
                    )
                )
            elif target.rsplit(".", 1)[-1].lower() in ATTACHMENT_TYPES:
                found[target] = Attachment(target, entry.size if entry else 0)
        return tuple(found.values())

    # ...whole tree

    def check_tree(self, result: LoadResult) -> None:
        resources = self._pending
        self._pending = []
        check_ids(resources, result)
        self.check_chain(resources, result)
        for resource in resources:
            if resource.centre not in result.centres:
                card = f"{resource.centre}/{CENTRE_CARD}"
                reason = "invalide" if card in result.invalid_paths else "absente"
                result.problems.append(
                    Problem(
                        resource.path,
                        None,
                        Severity.ERROR,
                        f"la fiche du centre « {card} » est {reason} : la ressource ne peut être publiée",
                    )
                )
                result.resources.pop(resource.id, None)
                result.invalid_paths.add(resource.path)

    def check_chain(self, resources: list[Resource], result: LoadResult) -> None:
        """`productions` and `issu_de` name resources of the tree (kb/events.py)."""
        in_error = {_id_of(p) for p in result.invalid_paths if p.endswith(".md")}
        for problem in events.check_links(resources, result.resources, in_error):
            result.problems.append(problem)
            result.invalid_paths.add(problem.path)
            result.resources.pop(_id_of(problem.path), None)


def _id_of(path: str) -> str:
    return f"{path.split('/')[0]}/{posixpath.basename(path)[: -len('.md')]}"


Prepare = Callable[[Resource, dict[str, Centre]], Any]
_WORKER: tuple | None = None


def _set_worker(job: tuple | None) -> None:
    global _WORKER
    _WORKER = job


def _parse_in_worker(entry: SourceEntry) -> tuple[Resource | None, list[Problem], Any]:
    assert _WORKER is not None
    loader, files, prepare, centres = _WORKER
    resource, problems = loader._parse_one(entry, files)
    if resource is None or prepare is None:
        return resource, problems, None
    return replace(resource, body="", body_text=""), problems, prepare(resource, centres)


def check_ids(resources: Iterable[Resource], result: LoadResult) -> None:
    """Duplicate ids, and aliases that collide with ids or with each other."""
    by_id: dict[str, list[Resource]] = defaultdict(list)
    for resource in resources:
        by_id[resource.id].append(resource)
    for resource_id, same in by_id.items():
        if len(same) < 2:
            continue
        for resource in same:
            others = ", ".join(r.path for r in same if r is not resource)
            result.problems.append(
                Problem(
                    resource.path,
                    None,
                    Severity.ERROR,
                    f"identifiant « {resource_id} » en double (aussi : {others}) : "
                    "deux fichiers d'un même centre ne peuvent avoir le même nom",
                )
            )
            result.invalid_paths.add(resource.path)
        result.resources.pop(resource_id, None)
    alias_owner: dict[str, Resource] = {}
    for resource in (r for group in by_id.values() if len(group) == 1 for r in group):
        for alias_id in resource.alias_ids:
            if alias_id in by_id:
                message = f"l'alias « {alias_id} » est l'identifiant d'une ressource existante"
            elif alias_id in alias_owner and alias_owner[alias_id] is not resource:
                message = (
                    f"l'alias « {alias_id} » est déjà utilisé par {alias_owner[alias_id].path}"
                )
            else:
                alias_owner[alias_id] = resource
                continue
            # Like any file with an error, the resource is not loaded: its redirect would be
            # ambiguous.
            result.problems.append(Problem(resource.path, None, Severity.ERROR, message))
            result.invalid_paths.add(resource.path)
            result.resources.pop(resource.id, None)


def check_published(result: LoadResult, published_ids: Iterable[str]) -> list[Problem]:
    """Warnings for ids online today that this content would take offline without a
    redirect: neither a published resource of the tree nor the alias of one.

    kb knows no index: the ids come from whoever keeps the list of publications (`kb check`
    is given the index registry's by the command layer).
    """
    published = {r.id for r in result.resources.values() if r.is_published}
    drafts = {r.id for r in result.resources.values() if not r.is_published}
    aliases = {a for r in result.resources.values() if r.is_published for a in r.alias_ids}
    # A file in error keeps its last good version online: it is reported already.
    in_error = {
        f"{path.split('/')[0]}/{posixpath.basename(path)[: -len('.md')]}"
        for path in result.invalid_paths
        if path.endswith(".md")
    }
    problems = []
    for resource_id in sorted(set(published_ids)):
        if resource_id in published or resource_id in aliases or resource_id in in_error:
            continue
        centre, _, slug = resource_id.partition("/")
        fix = (
            f"si elle a été renommée ou déplacée, ajoutez « alias: [{slug}] » à sa nouvelle "
            f"fiche (ou « alias: [{resource_id}] » dans un autre centre)"
        )
        if resource_id in drafts:
            message = (
                f"la ressource publiée « {resource_id} » repasse en brouillon : son lien "
                "permanent répondra « ressource retirée » (410) ; " + fix
            )
        else:
            message = (
                f"la ressource publiée « {resource_id} » n'existe plus et aucune fiche ne la "
                "déclare en alias : son lien permanent répondra « ressource retirée » (410) ; "
                + fix
            )
        problems.append(Problem(f"{centre}/", None, Severity.WARNING, message))
    return problems


def resolve_relative(folder: str, url: str) -> str | None:
    """Content-root path of a relative URL written in a file of `folder`; None if it escapes."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    joined = posixpath.normpath(posixpath.join(folder, unquote(path)))
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def read_centre(root: Path | str, centre_id: str) -> Centre | None:
    """The centre card of one centre, or None when it is missing or invalid."""
    source = FileSystemSource(root)
    path = f"{centre_id}/{CENTRE_CARD}"
    if not source.exists(path):
        return None
    result = LoadResult()
    size = (source.root / path).stat().st_size
    Loader(source).load_centre(SourceEntry(path, size), result)
    return result.centres.get(centre_id)


def load_resource(root: Path | str, path: str) -> tuple[Resource | None, list[Problem]]:
    """Read and check one resource file (path relative to the content root)."""
    source = FileSystemSource(root)
    problems: list[Problem] = []
    full = source.root / path
    if not is_resource_file(path) or not source.exists(path):
        return None, [Problem(path, None, Severity.ERROR, "ressource introuvable")]
    entry = SourceEntry(path, full.stat().st_size)
    files = {
        e.path: e
        for e in (
            SourceEntry(p.relative_to(source.root).as_posix(), p.stat().st_size)
            for p in full.parent.iterdir()
            if p.is_file() and not p.is_symlink()
        )
    }
    resource = Loader(source).parse_resource(entry, problems, files)
    return resource, problems


def is_resource_file(path: str) -> bool:
    """Whether a content-relative path names a resource file (not a card, not hidden)."""
    parts = path.split("/")
    return (
        len(parts) >= 2
        and parts[-1].endswith(".md")
        and parts[-1] != CENTRE_CARD
        and not any(is_hidden(p) for p in parts)
    )


def load_tree(root: Path | str, vocabularies: Vocabularies | None = None) -> LoadResult:
    """Load and check a content folder."""
    return Loader(FileSystemSource(root), vocabularies).load()

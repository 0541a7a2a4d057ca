"""Building and updating the index: full rebuilds, and incremental updates that only read
what changed. Both write a new version of the index folder and switch to it at the end
(see indexer/store.py): the search index, the registry, the centres, the rendered pages
and the attachments of a version change together, or not at all.

Change detection: a file whose size and mtime are unchanged is not read; otherwise its
content hash decides (git checkouts reset mtimes). With an explicit list of changed paths
(what a publication knows from git), nothing else is even looked at, so the cost follows
the change, not the corpus. The content comes from any `ContentSource`: a folder, or a
git commit read object by object (a publication never checks files out).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from kb.french import plural
from kb.loader import CENTRE_CARD, Loader, LoadResult, check_ids, is_resource_file
from kb.model import Centre, Resource
from kb.pages import centre_record, render_page
from kb.problems import Problem, Severity, sort_key
from kb.source import ContentSource, FileSystemSource, SourceEntry, is_hidden
from kb.vocabulary import fingerprint as vocabulary_fingerprint
from kb.vocabulary import load_vocabularies

from . import duplicates, statedb
from .documents import Codec, DocumentContext, build_schema, to_document
from .store import (
    LEGACY_REGISTRY,
    FileState,
    IndexFolder,
    ObjectStore,
    Piece,
    Publication,
    Registry,
    StateStore,
    now_iso,
)
from .workers import parallel_allowed

CENTRES_FILE = "centres.json"
# Bump when the schema, the stored metadata or the analysis changes: existing indexes are
# then rebuilt.
INDEX_FORMAT = 10


def index_fingerprint() -> str:
    """What an index was built with; a different one means a rebuild is needed."""
    return f"{INDEX_FORMAT}-{vocabulary_fingerprint()}"


Progress = Callable[[int, int], None]


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files not indexed because of errors
    rebuilt: bool = False
    reason: str = ""  # why a rebuild happened when an update was asked for
    generation: str = ""
    collection_due: bool = False  # objects to collect (IndexFolder.collect_objects)

    @property
    def ok(self) -> bool:
        return not self.skipped and not any(p.is_error for p in self.problems)

    def summary(self) -> str:
        return (
            f"{plural(len(self.added), 'ajoutée')}, "
            f"{plural(len(self.updated), 'mise à jour', 'mises à jour')}, "
            f"{plural(len(self.deleted), 'retirée')}, {plural(self.unchanged, 'inchangée')}, "
            f"{plural(len(self.skipped), 'fichier en erreur', 'fichiers en erreur')}"
        )


def _centre_cards(loader: Loader, entries: Iterable[SourceEntry]) -> LoadResult:
    result = LoadResult()
    for entry in entries:
        parts = entry.path.split("/")
        if len(parts) == 2 and parts[1] == CENTRE_CARD and not is_hidden(parts[0]):
            if not entry.is_symlink:
                loader.load_centre(entry, result)
    return result


def publication(resource: Resource, centres: dict[str, Centre]) -> Publication:
    """The registry entry of a published resource. Its fingerprint covers what its public
    description is made of: the file, its centre's card fields, the vocabularies."""
    centre = centres.get(resource.centre)
    card = (centre.nom, centre.region, centre.site) if centre else ()
    seed = json.dumps([resource.content_hash, card, index_fingerprint()], ensure_ascii=False)
    return Publication(
        resource.id,
        resource.titre,
        resource.date.isoformat(),
        hashlib.sha256(seed.encode()).hexdigest()[:32],
        resource.piliers,
    )


def _save_centres(generation: Path, centres: dict[str, Centre]) -> str:
    data = {c.id: centre_record(c) for c in centres.values()}
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    (generation / CENTRES_FILE).write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


def _card(centre: Centre) -> tuple:
    """What of a centre card the documents of its resources depend on."""
    return (centre.nom, centre.region, centre.site)


def _stored_card(data: dict) -> tuple:
    return (data.get("nom"), data.get("region"), data.get("site"))


# Full rebuilds use every core: files are parsed and documents analysed in parallel
# processes (Whoosh's multi-process writer, each worker writing its own segment).
WORKERS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_FROM = 200  # below this many documents, processes cost more than they save


def _open_writer(ix, parallel: bool = False):
    # No compound file: the final copy of every segment file into one cost time for nothing.
    # A large sorting pool per worker: below ~1 GB, Whoosh spills postings to temporary
    # runs and merges them again (10,000 documents: 256 docs/s with 256 MB, 321 with 1 GB).
    options = {"codec": Codec(), "compound": False}
    if parallel and WORKERS > 1:
        return ix.writer(
            procs=WORKERS,
            multisegment=True,
            batchsize=50,
            subargs={**options, "limitmb": 1024},
            **options,
        )
    return ix.writer(limitmb=128, **options)


@dataclass(frozen=True)
class Prepared:
    """What indexing needs of a published resource, made where it is parsed."""

    document: dict
    page: str  # the object holding its rendered page


def _prepare(
    source: ContentSource, objects: ObjectStore, resource: Resource, centres: dict[str, Centre]
) -> Prepared | None:
    """Turn a resource into its document and its rendered page (in the loader's worker
    process during a rebuild: rendering is the costly part)."""
    if not resource.is_published:
        return None
    document = to_document(resource, DocumentContext(load_vocabularies(), centres))
    text = source.read(resource.path).decode("utf-8-sig")
    page = objects.put_json(render_page(resource, text))
    return Prepared(document, page)


def _document_with(prepared: Prepared, dates: tuple[str, str] | None, stamp: str) -> dict:
    """The document to add, its metadata completed with the version's dates."""
    entered, changed = dates or (stamp, stamp)
    document = dict(prepared.document)
    meta = json.loads(document["meta"])
    meta.update(entree=entered, modifiee=changed, page=prepared.page)
    document["meta"] = json.dumps(meta, ensure_ascii=False)
    document["entree"] = _seconds(entered)
    return document


def _seconds(stamp: str) -> int:
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def _opens(generation: Path) -> bool:
    """Whether a generation can be opened (Whoosh pickles the analysers into its table of
    contents: an index written by an older version of this code may no longer load)."""
    try:
        whoosh_index.open_dir(generation).close()
    except Exception:  # noqa: BLE001 - any failure to load means: rebuild
        return False
    return True


COLLECT_EVERY = 50  # versions between two collections of unused objects


class Indexer:
    """Indexes a content source into an index folder. `content`: a folder, or any
    `ContentSource` (a git commit). `origin`: recorded in the version's infos.json (the
    publication puts the commit there, so /healthz says which commit is online)."""

    def __init__(
        self,
        content: Path | str | ContentSource,
        index: Path | str,
        lock_timeout: float = 30.0,
        defer_collection: bool = False,
    ) -> None:
        """`defer_collection`: leave the periodic collection of unused objects (a walk of
        the whole object store) to the caller, flagged in the report; a publication runs
        it once the pusher has been answered."""
        self.defer_collection = defer_collection
        self.source: ContentSource = (
            FileSystemSource(content) if isinstance(content, str | Path) else content
        )
        self.folder = IndexFolder(index)
        self.objects = self.folder.objects
        self.vocabularies = load_vocabularies()
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ full rebuild

    def rebuild(self, progress: Progress | None = None, origin: dict | None = None) -> UpdateReport:
        with self.folder.writer_lock(self.lock_timeout):
            return self._rebuild(progress, origin)

    def _rebuild(self, progress: Progress | None, origin: dict | None = None) -> UpdateReport:
        loader = Loader(self.source, self.vocabularies)
        entries = list(self.source.entries())
        parallel = parallel_allowed()
        prepare = functools.partial(_prepare, self.source, self.objects)
        previous = self.folder.current() if self.folder.exists() else None
        before = self._indexed_hashes()
        generation = self.folder.new_generation()
        try:
            with self.objects.deferred():  # pages and attachments flushed once, at the end
                result = loader.load(workers=WORKERS if parallel else 1, prepare=prepare)
                self._build_into(generation, previous, result, entries, parallel, progress, origin)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        report = UpdateReport(problems=result.problems, rebuilt=True)
        report.skipped = sorted(
            {p.path for p in result.problems if p.is_error and p.path.endswith(".md")}
        )
        self.folder.switch_to(generation)
        self.folder.remove_stale()
        self._collect_objects()
        report.generation = generation.name
        published = [r for r in result.resources.values() if r.is_published]
        # The same summary as an update: compared with what the previous version held.
        now = {r.id: r.content_hash for r in published}
        report.added = sorted(set(now) - set(before))
        report.deleted = sorted(set(before) - set(now))
        report.updated = sorted(i for i in now.keys() & before.keys() if now[i] != before[i])
        report.unchanged = len(now) - len(report.added) - len(report.updated)
        return report

    def _build_into(self, generation, previous, result, entries, parallel, progress, origin):
        registry = Registry(generation)
        if previous is None:  # else the registry goes on (indexer/statedb.py)
            registry.import_from(self.folder.root / LEGACY_REGISTRY)
        published = [r for r in result.resources.values() if r.is_published]
        registry.sync({r.id: publication(r, result.centres) for r in published})
        registry.record_aliases(_aliases(published))
        dates = registry.dates(r.id for r in published)
        registry.close()
        stamp = now_iso()
        pieces = {r.id: self._pieces(r) for r in published}

        ix = whoosh_index.create_in(generation, build_schema())
        writer = _open_writer(ix, parallel=parallel and len(published) >= PARALLEL_FROM)
        try:
            for number, resource in enumerate(published, 1):
                prepared = result.prepared[resource.path]
                writer.add_document(**_document_with(prepared, dates.get(resource.id), stamp))
                if progress:
                    progress(number, len(published))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        ix.close()
        state = StateStore(generation)
        state.start_over()
        by_path = {r.path: r for r in result.resources.values()}
        upserts = []
        for entry in entries:
            if entry.is_symlink or not is_resource_file(entry.path):
                continue
            resource = by_path.get(entry.path)
            valid = resource is not None
            prepared = result.prepared.get(entry.path) if resource else None
            upserts.append(
                (
                    FileState(
                        entry.path,
                        entry.size,
                        entry.mtime_ns,
                        resource.content_hash if resource else "",
                        resource.id if resource else None,
                        bool(resource and resource.is_published),
                        prepared.page if prepared else "",
                    ),
                    valid,
                )
            )
        state.apply(upserts, [], pieces)
        duplicates.apply_changes(
            state.db, [duplicates.signature(r, self.vocabularies) for r in published], []
        )
        state.close()
        centres_hash = _save_centres(generation, result.centres)
        self.folder.write_info(
            generation,
            {
                **(origin or {}),
                "indexe_le": now_iso(),
                "ressources": len(published),
                "centres": centres_hash,
                "empreinte": index_fingerprint(),
            },
        )

    def _pieces(self, resource: Resource) -> list[Piece]:
        """Copy the attachments a published resource links to into the object store: the
        site serves these, and only these."""
        pieces = []
        for attachment in resource.attachments:
            try:
                data = self.source.read(attachment.path)
            except OSError:
                continue
            pieces.append(Piece(attachment.path, self.objects.put(data), len(data), resource.id))
        return pieces

    def _collect_objects(self) -> None:
        self.folder.collect_objects()

    def _indexed_hashes(self) -> dict[str, str]:
        """id -> hash of what the live version holds (empty when there is none)."""
        if not self.folder.exists():
            return {}
        try:
            state = StateStore(self.folder.current(), read_only=True)
        except sqlite3.Error:
            return {}
        try:
            return state.indexed_hashes()
        except Exception:  # noqa: BLE001 - an unreadable old state: report as all new
            return {}
        finally:
            state.close()

    # ------------------------------------------------------------------ incremental update

    def update(
        self,
        paths: Iterable[str] | None = None,
        progress: Progress | None = None,
        origin: dict | None = None,
    ) -> UpdateReport:
        """Bring the index in line with the content. `paths`: only these files changed."""
        with self.folder.writer_lock(self.lock_timeout):
            if not self.folder.exists():
                return self._rebuild(progress, origin)
            info = self.folder.read_info(self.folder.current())
            current = self.folder.current()
            if not _opens(current) or not statedb.has_state(current):
                report = self._rebuild(progress, origin)
                report.reason = "l'index existant ne peut plus être lu"
                return report
            if info.get("empreinte") != index_fingerprint():
                # Vocabularies, thesaurus or index format changed: every document is affected.
                report = self._rebuild(progress, origin)
                report.reason = "vocabulaires, thésaurus ou format de l'index modifiés"
                return report
            self.folder.remove_stale()
            previous = self.folder.current()
            generation = self.folder.clone(previous)
            try:
                report, changed = self._update(generation, paths, progress, origin)
            except BaseException:
                shutil.rmtree(generation, ignore_errors=True)
                raise
            if not changed and (origin or {}).items() <= info.items():
                shutil.rmtree(generation, ignore_errors=True)  # nothing to publish
                report.generation = previous.name
                return report
            self.folder.switch_to(generation)
            self.folder.remove_stale()
            if int(generation.name[len("gen-") :]) % COLLECT_EVERY == 0:
                if self.defer_collection:
                    report.collection_due = True  # the caller runs it when it has answered
                else:
                    self._collect_objects()
            return report

    def _update(self, generation, paths, progress, origin) -> tuple[UpdateReport, bool]:
        state = StateStore(generation)
        registry = Registry(generation)
        try:
            report, changed = self._update_in(
                generation, state, registry, None if paths is None else list(paths), progress
            )
        finally:
            state.close()
            registry.close()
        info = self.folder.read_info(generation)
        info.update(origin or {})
        info["indexe_le"] = now_iso()
        self.folder.write_info(generation, info)
        return report, changed

    def _card_entries(self) -> list[SourceEntry]:
        cards = getattr(self.source, "centre_cards", None)
        if cards is not None:
            return list(cards())
        return [
            SourceEntry(f"{p.parent.name}/{CENTRE_CARD}", p.stat().st_size)
            for p in sorted(self.source.root.glob(f"*/{CENTRE_CARD}"))
            if not p.is_symlink() and not is_hidden(p.parent.name)
        ]

    def _update_in(self, generation, state, registry, paths, progress):
        loader = Loader(self.source, self.vocabularies)
        report = UpdateReport(generation=generation.name)
        # Centre cards are few: always read them all (names, regions, validity).
        centres_result = _centre_cards(loader, self._card_entries())
        report.problems.extend(centres_result.problems)
        centres = centres_result.centres
        old_centres = self._stored_centres(generation)
        changed_centres = {
            c
            for c in set(centres) | set(old_centres)
            if (_card(centres[c]) if c in centres else None)
            != (_stored_card(old_centres[c]) if c in old_centres else None)
        }
        cards_changed = {
            c: centre_record(v) for c, v in centres.items()
        } != old_centres  # any field of a card, the presentation included

        entries, gone = self._collect(paths, state, changed_centres, report)
        force = {p for p in entries if p.split("/")[0] in changed_centres}
        # Told that these changed: their stat is not trusted (git sources have none), their
        # content hash still decides.
        explicit = set() if paths is None else {p.strip("/") for p in paths}
        candidates = set(entries)

        changed: list[Resource] = []
        upserts: list[tuple[FileState, bool]] = []
        invalid_now: list[str] = []
        unchanged = 0
        for path in sorted(candidates):
            entry = entries[path]
            known = state.get(path)
            if known and path not in force and path not in explicit:
                old, valid = known
                if (
                    valid
                    and entry.mtime_ns
                    and (old.size, old.mtime_ns) == (entry.size, entry.mtime_ns)
                ):
                    unchanged += 1
                    continue
            problems: list[Problem] = []
            resource = loader.parse_resource(entry, problems)
            report.problems.extend(problems)
            if resource is not None and resource.centre not in centres:
                card = f"{resource.centre}/{CENTRE_CARD}"
                report.problems.append(
                    Problem(
                        path,
                        None,
                        Severity.ERROR,
                        f"la fiche du centre « {card} » est absente ou invalide : "
                        "la ressource ne peut être publiée",
                    )
                )
                resource = None
            if resource is None:
                invalid_now.append(path)
                continue
            if known and path not in force:
                old, valid = known
                if valid and old.hash == resource.content_hash:
                    unchanged += 1
                    upserts.append(
                        (
                            FileState(
                                path,
                                entry.size,
                                entry.mtime_ns,
                                old.hash,
                                old.id,
                                old.indexed,
                                old.page,
                            ),
                            True,
                        )
                    )
                    continue
            changed.append(resource)

        # Whole-tree rules for what changed: an id taken by another file is a duplicate.
        tree = LoadResult(resources={r.id: r for r in changed})
        check_ids(changed, tree)
        for resource in changed:
            others = [
                p
                for p in state.paths_for_id(resource.id)
                if p != resource.path
                and p not in gone
                and p not in invalid_now
                and self.source.exists(p)
            ]
            if others:
                tree.problems.append(
                    Problem(
                        resource.path,
                        None,
                        Severity.ERROR,
                        f"identifiant « {resource.id} » en double (aussi : {', '.join(others)}) : "
                        "deux fichiers d'un même centre ne peuvent avoir le même nom",
                    )
                )
                tree.invalid_paths.add(resource.path)
        report.problems.extend(tree.problems)
        rejected = {p.path for p in tree.problems if p.is_error}
        invalid_now += sorted(rejected)
        changed = [r for r in changed if r.path not in rejected]

        # What leaves the index, and what enters or changes in it.
        removed_ids: list[str] = []
        published: list[Resource] = []
        for resource in changed:
            known = state.get(resource.path)
            old_id = known[0].id if known and known[0].indexed else None
            if old_id and old_id != resource.id:
                removed_ids.append(old_id)
            if resource.is_published:
                published.append(resource)
                (report.updated if old_id == resource.id else report.added).append(resource.id)
            elif old_id:
                removed_ids.append(old_id)
                report.deleted.append(old_id)
        for path in sorted(gone):
            known = state.get(path)
            if known and known[0].indexed and known[0].id:
                removed_ids.append(known[0].id)
                report.deleted.append(known[0].id)
        for path in invalid_now:
            # Keep the last good version online; remember the file must be read again.
            known = state.get(path)
            if known:
                upserts.append((known[0], False))
            else:
                entry = entries[path]
                upserts.append(
                    (FileState(path, entry.size, entry.mtime_ns, "", None, False), False)
                )
            if known and known[0].id and known[0].indexed and path.split("/")[0] not in centres:
                removed_ids.append(known[0].id)  # its centre is gone
                report.deleted.append(known[0].id)

        # The registry first (it gives the dates the documents carry): this version is not
        # online yet, so the order inside it does not matter to readers.
        still_online = {r.id for r in published}
        registry.published([publication(r, centres) for r in published])
        gone_ids = [i for i in removed_ids if i not in still_online]
        registry.removed(gone_ids)
        registry.retire_aliases(gone_ids + [r.id for r in published])
        registry.record_aliases(_aliases(published))
        dates = registry.dates(r.id for r in published)
        stamp = now_iso()

        pieces: dict[str, list[Piece]] = {i: [] for i in gone_ids}
        ix = whoosh_index.open_dir(generation)
        writer = _open_writer(ix)
        try:
            for resource_id in removed_ids:
                writer.delete_by_term("id", resource_id)
            for number, resource in enumerate(published, 1):
                prepared = _prepare(self.source, self.objects, resource, centres)
                assert prepared is not None
                writer.update_document(**_document_with(prepared, dates.get(resource.id), stamp))
                pieces[resource.id] = self._pieces(resource)
                entry = entries[resource.path]
                upserts.append(
                    (
                        FileState(
                            resource.path,
                            entry.size,
                            entry.mtime_ns,
                            resource.content_hash,
                            resource.id,
                            True,
                            prepared.page,
                        ),
                        True,
                    )
                )
                if progress:
                    progress(number, len(published))
            for resource in changed:
                if not resource.is_published:  # a draft: known, valid, not online
                    entry = entries[resource.path]
                    upserts.append(
                        (
                            FileState(
                                resource.path,
                                entry.size,
                                entry.mtime_ns,
                                resource.content_hash,
                                resource.id,
                                False,
                            ),
                            True,
                        )
                    )
            writer.commit(optimize=False)
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        state_changed = any(state.get(s.path) != (s, valid) for s, valid in upserts)
        state.apply(upserts, sorted(gone), pieces)
        if removed_ids or published:
            duplicates.apply_changes(
                state.db,
                [duplicates.signature(r, self.vocabularies) for r in published],
                removed_ids,
            )
        _save_centres(generation, centres)
        info = self.folder.read_info(generation)
        info["centres"] = hashlib.sha256(
            json.dumps(
                {c.id: centre_record(c) for c in centres.values()},
                ensure_ascii=False,
                sort_keys=True,
            ).encode()
        ).hexdigest()
        self.folder.write_info(generation, info)
        report.unchanged = unchanged
        report.skipped = sorted(set(invalid_now))
        report.problems.sort(key=sort_key)
        changed_anything = bool(
            removed_ids or published or gone or cards_changed or changed or state_changed
        )
        return report, changed_anything

    def _collect(self, paths, state, changed_centres, report):
        """Resource files to look at (path -> entry) and indexed files that are gone."""
        if paths is None:
            entries = {}
            for entry in self.source.entries():
                if entry.is_symlink:
                    Loader(self.source, self.vocabularies).symlink_problem(entry, report.problems)
                elif is_resource_file(entry.path):
                    entries[entry.path] = entry
            gone = state.paths() - set(entries)
            return entries, gone
        wanted = {p.strip("/") for p in paths}
        changed_centres |= {p.split("/")[0] for p in wanted if p.endswith("/" + CENTRE_CARD)}
        wanted = {p for p in wanted if is_resource_file(p)}
        wanted |= state.invalid_paths()  # files in error are read again until fixed
        for centre_id in changed_centres:
            wanted |= set(state.paths_under(centre_id + "/"))
        entries, gone = {}, set()
        for path in wanted:
            entry = _stat(self.source, path)
            if entry is not None:
                entries[path] = entry
            elif state.get(path) is not None:
                gone.add(path)
        return entries, gone

    @staticmethod
    def _stored_centres(generation: Path) -> dict[str, dict]:
        try:
            return json.loads((generation / CENTRES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def _stat(source: ContentSource, path: str) -> SourceEntry | None:
    """The entry of one file of the source (None: absent, or a symbolic link)."""
    stat = getattr(source, "stat", None)
    if stat is not None:
        return stat(path)
    full = source.root / path
    if full.is_file() and not full.is_symlink():
        info = full.stat()
        return SourceEntry(path, info.st_size, info.st_mtime_ns)
    return None


def _aliases(resources: Iterable[Resource]) -> dict[str, tuple[str, str]]:
    """Aliases declared by published resources: alias -> (target id, owning centre). An
    address belongs to the centre whose folder it names."""
    return {
        alias: (resource.id, alias.partition("/")[0])
        for resource in resources
        for alias in resource.alias_ids
    }

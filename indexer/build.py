"""Building and updating the index: full rebuilds into a new generation, incremental
updates that only read what changed.

Change detection: a file whose size and mtime are unchanged is not read; otherwise its
content hash decides (git checkouts reset mtimes). With an explicit list of changed paths
(what the git hook knows), nothing else is even looked at, so the cost follows the change,
not the corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from kb.loader import CENTRE_CARD, Loader, LoadResult, check_ids, is_resource_file
from kb.model import Centre, Resource
from kb.problems import Problem, Severity, sort_key
from kb.source import FileSystemSource, SourceEntry, is_hidden
from kb.vocabulary import fingerprint as vocabulary_fingerprint
from kb.vocabulary import load_vocabularies

from .documents import Codec, DocumentContext, build_schema, to_document
from .store import FileState, IndexFolder, Publication, Registry, StateStore, now_iso

CENTRES_FILE = "centres.json"
# Bump when the schema, the stored metadata or the analysis changes: existing indexes are
# then rebuilt.
INDEX_FORMAT = 4


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

    @property
    def ok(self) -> bool:
        return not self.skipped and not any(p.is_error for p in self.problems)

    def summary(self) -> str:
        return (
            f"{len(self.added)} ajoutée(s), {len(self.updated)} mise(s) à jour, "
            f"{len(self.deleted)} retirée(s), {self.unchanged} inchangée(s), "
            f"{len(self.skipped)} fichier(s) en erreur"
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
    data = {c.id: {"nom": c.nom, "region": c.region, "site": c.site} for c in centres.values()}
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    (generation / CENTRES_FILE).write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


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


def _prepare_document(resource: Resource, centres: dict[str, Centre]) -> dict | None:
    """Run by the loader right after parsing (in its worker process)."""
    if not resource.is_published:
        return None
    return to_document(resource, DocumentContext(load_vocabularies(), centres))


def _opens(generation: Path) -> bool:
    """Whether a generation can be opened (Whoosh pickles the analysers into its table of
    contents: an index written by an older version of this code may no longer load)."""
    try:
        whoosh_index.open_dir(generation).close()
    except Exception:  # noqa: BLE001 - any failure to load means: rebuild
        return False
    return True


class Indexer:
    def __init__(self, content: Path | str, index: Path | str, lock_timeout: float = 30.0):
        self.source = FileSystemSource(content)
        self.folder = IndexFolder(index)
        self.vocabularies = load_vocabularies()
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ full rebuild

    def rebuild(self, progress: Progress | None = None) -> UpdateReport:
        with self.folder.writer_lock(self.lock_timeout):
            return self._rebuild(progress)

    def _rebuild(self, progress: Progress | None) -> UpdateReport:
        loader = Loader(self.source, self.vocabularies)
        entries = list(self.source.entries())
        result = loader.load(workers=WORKERS, prepare=_prepare_document)
        report = UpdateReport(problems=result.problems, rebuilt=True)
        report.skipped = sorted(
            {p.path for p in result.problems if p.is_error and p.path.endswith(".md")}
        )
        generation = self.folder.new_generation()
        ix = whoosh_index.create_in(generation, build_schema())
        published = [r for r in result.resources.values() if r.is_published]
        writer = _open_writer(ix, parallel=len(published) >= PARALLEL_FROM)
        try:
            for number, resource in enumerate(published, 1):
                writer.add_document(**result.prepared[resource.path])
                if progress:
                    progress(number, len(published))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        ix.close()
        state = StateStore(generation)
        by_path = {r.path: r for r in result.resources.values()}
        upserts = []
        for entry in entries:
            if entry.is_symlink or not is_resource_file(entry.path):
                continue
            resource = by_path.get(entry.path)
            valid = resource is not None
            upserts.append(
                (
                    FileState(
                        entry.path,
                        entry.size,
                        entry.mtime_ns,
                        resource.content_hash if resource else "",
                        resource.id if resource else None,
                        bool(resource and resource.is_published),
                    ),
                    valid,
                )
            )
        state.apply(upserts, [])
        state.close()
        centres_hash = _save_centres(generation, result.centres)
        self.folder.write_info(
            generation,
            {
                "indexe_le": now_iso(),
                "ressources": len(published),
                "centres": centres_hash,
                "empreinte": index_fingerprint(),
            },
        )
        before = self._indexed_hashes()
        self.folder.switch_to(generation)
        registry = Registry(self.folder.root)
        registry.sync({r.id: publication(r, result.centres) for r in published})
        registry.close()
        self.folder.remove_stale()
        report.generation = generation.name
        # The same summary as an update: compared with what the previous version held.
        now = {r.id: r.content_hash for r in published}
        report.added = sorted(set(now) - set(before))
        report.deleted = sorted(set(before) - set(now))
        report.updated = sorted(i for i in now.keys() & before.keys() if now[i] != before[i])
        report.unchanged = len(now) - len(report.added) - len(report.updated)
        return report

    def _indexed_hashes(self) -> dict[str, str]:
        """id -> hash of what the live version holds (empty when there is none)."""
        if not self.folder.exists():
            return {}
        state = StateStore(self.folder.current())
        try:
            return state.indexed_hashes()
        except Exception:  # noqa: BLE001 - an unreadable old state: report as all new
            return {}
        finally:
            state.close()

    # ------------------------------------------------------------------ incremental update

    def update(
        self, paths: Iterable[str] | None = None, progress: Progress | None = None
    ) -> UpdateReport:
        """Bring the index in line with the content. `paths`: only these files changed."""
        with self.folder.writer_lock(self.lock_timeout):
            if not self.folder.exists():
                return self._rebuild(progress)
            info = self.folder.read_info(self.folder.current())
            if not _opens(self.folder.current()):
                report = self._rebuild(progress)
                report.reason = "l'index existant ne peut plus être lu"
                return report
            if info.get("empreinte") != index_fingerprint():
                # Vocabularies, thesaurus or index format changed: every document is affected.
                report = self._rebuild(progress)
                report.reason = "vocabulaires, thésaurus ou format de l'index modifiés"
                return report
            self.folder.remove_stale()
            return self._update(None if paths is None else list(paths), progress)

    def _update(self, paths: list[str] | None, progress: Progress | None) -> UpdateReport:
        generation = self.folder.current()
        state = StateStore(generation)
        try:
            return self._update_in(generation, state, paths, progress)
        finally:
            state.close()

    def _update_in(self, generation, state, paths, progress) -> UpdateReport:
        loader = Loader(self.source, self.vocabularies)
        report = UpdateReport(generation=generation.name)
        # Centre cards are few: always read them all (names, regions, validity).
        card_entries = [
            SourceEntry(f"{p.parent.name}/{CENTRE_CARD}", p.stat().st_size)
            for p in sorted(self.source.root.glob(f"*/{CENTRE_CARD}"))
            if not p.is_symlink() and not is_hidden(p.parent.name)
        ]
        centres_result = _centre_cards(loader, card_entries)
        report.problems.extend(centres_result.problems)
        centres = centres_result.centres
        old_centres = self._stored_centres(generation)
        changed_centres = {
            c
            for c in set(centres) | set(old_centres)
            if (centres.get(c) and (centres[c].nom, centres[c].region, centres[c].site))
            != (tuple(old_centres[c].values()) if c in old_centres else None)
        }

        entries, gone = self._collect(paths, state, changed_centres, report)
        force = {p for p in entries if p.split("/")[0] in changed_centres}
        candidates = set(entries)

        changed: list[Resource] = []
        upserts: list[tuple[FileState, bool]] = []
        invalid_now: list[str] = []
        unchanged = 0
        for path in sorted(candidates):
            entry = entries[path]
            known = state.get(path)
            if known and path not in force:
                old, valid = known
                if valid and (old.size, old.mtime_ns) == (entry.size, entry.mtime_ns):
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
                                path, entry.size, entry.mtime_ns, old.hash, old.id, old.indexed
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
                if p != resource.path and p not in gone and (self.source.root / p).is_file()
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

        context = DocumentContext(self.vocabularies, centres)
        ix = whoosh_index.open_dir(generation)
        writer = _open_writer(ix)
        removed_ids: list[str] = []
        published: list[Resource] = []
        try:
            for number, resource in enumerate(changed, 1):
                known = state.get(resource.path)
                old_id = known[0].id if known and known[0].indexed else None
                if old_id and old_id != resource.id:
                    writer.delete_by_term("id", old_id)
                    removed_ids.append(old_id)
                if resource.is_published:
                    writer.update_document(**to_document(resource, context))
                    published.append(resource)
                    (report.updated if old_id == resource.id else report.added).append(resource.id)
                elif old_id:
                    writer.delete_by_term("id", old_id)
                    removed_ids.append(old_id)
                    report.deleted.append(old_id)
                upserts.append(
                    (
                        FileState(
                            resource.path,
                            entries[resource.path].size,
                            entries[resource.path].mtime_ns,
                            resource.content_hash,
                            resource.id,
                            resource.is_published,
                        ),
                        True,
                    )
                )
                if progress:
                    progress(number, len(changed))
            for path in sorted(gone):
                known = state.get(path)
                if known and known[0].indexed and known[0].id:
                    writer.delete_by_term("id", known[0].id)
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
                    writer.delete_by_term("id", known[0].id)  # its centre is gone
                    removed_ids.append(known[0].id)
                    report.deleted.append(known[0].id)
            writer.commit(optimize=False)
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        # The index is committed first: if we die here, the next run sees the files as
        # changed again and converges (updates are idempotent).
        state.apply(upserts, sorted(gone))
        centres_hash = _save_centres(generation, centres)
        info = self.folder.read_info(generation)
        info.update({"indexe_le": now_iso(), "centres": centres_hash})
        self.folder.write_info(generation, info)
        registry = Registry(self.folder.root)
        registry.published([publication(r, centres) for r in published])
        still_online = {r.id for r in published}
        registry.removed([i for i in removed_ids if i not in still_online])
        registry.close()
        report.unchanged = unchanged
        report.skipped = sorted(set(invalid_now))
        report.problems.sort(key=sort_key)
        return report

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
            full = self.source.root / path
            if full.is_file() and not full.is_symlink():
                stat = full.stat()
                entries[path] = SourceEntry(path, stat.st_size, stat.st_mtime_ns)
            elif state.get(path) is not None:
                gone.add(path)
        return entries, gone

    @staticmethod
    def _stored_centres(generation: Path) -> dict[str, dict]:
        try:
            return json.loads((generation / CENTRES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

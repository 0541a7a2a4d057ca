"""Searching: one `SearchIndex` per process, reopened when a new index version appears.

The result of a search is one object (`SearchResult`), rendered by `kb search`, the web
pages, the feeds and the API alike.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb import territories
from kb.vocabulary import load_vocabularies

from . import agenda, duplicates, engine, highlight, query, ranking, segment_cache, spelling
from .agenda import AgendaRequest, AgendaResult
from .analysis import analyse_word, replace_words, terms
from .build import CENTRES_FILE
from .documents import FILTER_KEYS
from .facets import FacetBitmaps
from .keys import SORTS  # noqa: F401  (re-exported)
from .scoring import Clause, Scorer, from_bitmap, to_bitmap
from .store import IndexFolder, Piece, Registry, VersionReader

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
MAX_RESULTS_WINDOW = 1000  # deepest result reachable by paging, as in most engines


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "pertinence"
    page: int = 1
    per_page: int = 10
    with_facets: bool = True
    with_suggestion: bool = True
    # Every page reachable, past MAX_RESULTS_WINDOW: feeds, the API and harvesters read
    # whole result lists; people do not page that far.
    deep: bool = False
    explain: bool = False  # attach to each hit why it ranks where it does
    # Keep the set of matching documents in the result (`SearchResult.selection`): the
    # statistics count over it (indexer/statistics.py).
    with_selection: bool = False
    # Show a group of near-duplicates once, by its best-ranked member (indexer/duplicates.py):
    # what people read (the search page, the API, `kb search`); feeds and statistics list
    # every resource.
    collapse: bool = False


@dataclass
class Hit:
    id: str
    titre: str
    url: str
    type: str
    centre: str
    date: str
    piliers: list[str]
    resume: str
    extrait: str
    score: float | None
    meta: dict[str, Any]
    # For an approximate result: the words of the query (as typed) that it does not contain.
    missing: list[str] = field(default_factory=list)
    explanation: dict[str, Any] | None = None
    # The other members of its group of near-duplicates: [{id, centre, url}].
    also: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = self._json()
        if self.explanation is not None:
            data["explication"] = self.explanation
        return data

    def as_approximate_json(self) -> dict[str, Any]:
        return {**self.as_json(), "mots_absents": list(self.missing)}

    def _json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "titre": self.titre,
            "url": self.url,
            "type": self.type,
            "centre": self.centre,
            "date": self.date,
            "piliers": self.piliers,
            "resume": self.resume,
            "extrait": self.extrait,
            "score": self.score,
            "egalement": list(self.also),
        }


@dataclass
class FacetValue:
    valeur: str
    libelle: str
    nombre: int
    selected: bool = False


@dataclass(frozen=True)
class Selection:
    """The documents a search selected (a bitmap over `snapshot`'s document numbers)."""

    snapshot: _Snapshot
    bits: int


@dataclass
class SearchResult:
    """Full matches (`total`, `hits`: resources that answer every word of the query) and,
    kept apart, approximate ones (`approximate`: a few that answer only some words, shown
    when the full matches are few). Facets count full matches only."""

    request: SearchRequest
    total: int  # results: with `collapse`, a group of near-duplicates counts once
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None = None
    corrected: bool = False
    searched_text: str = ""  # the query actually run (the correction when `corrected`)
    approximate: list[Hit] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # the query's concepts, as typed
    selection: Selection | None = field(default=None, repr=False, compare=False)
    resources: int | None = None  # resources matching (members of a group each count)

    @property
    def nothing_matches_every_word(self) -> bool:
        """A query of several words that no resource answers in full."""
        return self.total == 0 and len(self.words) > 1

    @property
    def pages(self) -> int:
        reachable = self.total if self.request.deep else min(self.total, MAX_RESULTS_WINDOW)
        per_page = max(1, min(self.request.per_page, MAX_PER_PAGE))
        return max(1, -(-reachable // per_page))

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "ressources": self.total if self.resources is None else self.resources,
            "corrigee": self.corrected,
            "resultats": [h.as_json() for h in self.hits],
            "approchants": [h.as_approximate_json() for h in self.approximate],
            "facettes": {
                key: [
                    {"valeur": v.valeur, "libelle": v.libelle, "nombre": v.nombre} for v in values
                ]
                for key, values in self.facets.items()
            },
            "suggestion": self.suggestion,
        }


class _Snapshot:
    """One opened index version: searcher, facet bitmaps, dates, centres.

    Shared by the threads that read it (`SearchIndex.reading`); closed only when it has
    been replaced by a newer version and the last of them is done with it. Whoosh's
    readers seek and read shared file objects: engine calls on one snapshot take its
    `lock`, one at a time (a newer snapshot has its own files and its own lock).
    """

    def __init__(self, generation: Path, previous: _Snapshot | None = None) -> None:
        self.generation = generation
        self.lock = threading.RLock()
        self.users = 0  # threads reading it (counted under SearchIndex._lock)
        self.retired = False  # replaced by a newer version
        self.stamp: tuple[int, int] | None = None  # the pointer file it was opened for
        self.index, self.searcher = engine.open_searcher(generation)
        try:
            self._prepare(previous)
        except BaseException:
            self.searcher.close()
            raise

    def _prepare(self, previous: _Snapshot | None) -> None:
        reader = self.searcher.reader()
        self.toc_generation = self.index.latest_generation()
        self.segments = engine.segments(reader)
        size = sum(s.size for s in self.segments)
        self.live_mask = (
            np.concatenate([s.live for s in self.segments]) if self.segments else np.zeros(0, bool)
        )
        self.facets = FacetBitmaps.from_segments(self.segments, self.live_mask)
        self.days = _column(self.segments, "jour")
        self.entered = _column(self.segments, "entree")
        self.scorer = Scorer(self.searcher, self.segments, size)
        self.related: dict[tuple[str, int], list[Hit]] = {}
        for name in query.TEXT_FIELDS:  # read once per version, not on a user's request
            self.scorer.lengths(name)
        self.centres = self._centres(previous)
        self._read_groups()
        self.info = IndexFolder.read_info(self.generation)
        self.everything: list[dict] | None = None  # see SearchIndex.all_metadata
        self.schedules: dict[int, np.ndarray] | None = None  # see indexer/agenda.py

    def _read_groups(self) -> None:
        """The version's groups of near-duplicates: by member id, and by document number
        (`doc_group`: the group's position in `groups`, -1 outside any group)."""
        self.groups = VersionReader(self.generation).duplicate_groups()
        self.group_of: dict[str, duplicates.Group] = {
            member.id: group for group in self.groups for member in group.members
        }
        self.doc_group = np.full(self.live_mask.size, -1, np.int32)
        for position, group in enumerate(self.groups):
            for member in group.members:
                docnum = self.searcher.document_number(id=member.id)
                if docnum is not None:
                    self.doc_group[docnum] = position

    def knows(self, term: str) -> bool:
        """Whether any resource contains an analysed term (in its title or its text)."""
        reader = self.searcher.reader()
        return any(reader.doc_frequency(name, term) > 0 for name in ("titre", "texte"))

    def _centres(self, previous: _Snapshot | None) -> dict[str, dict]:
        path = self.generation / CENTRES_FILE
        for attempt in range(3):
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                # Being rewritten (an update writes it after its commit): read it again.
                time.sleep(0.02 * (attempt + 1))
        log.warning("%s illisible : les noms des centres de la version précédente restent", path)
        return dict(previous.centres) if previous is not None else {}

    def is_current(self, stamp) -> bool:
        """Whether this is still the latest version (same pointer, same Whoosh commit)."""
        return stamp == self.stamp and self.index.latest_generation() == self.toc_generation

    def close(self) -> None:
        self.searcher.close()


def _column(segments: list[engine.Segment], name: str) -> np.ndarray:
    """A numeric column over the whole index: `jour` (the sheet's date as a proleptic
    ordinal) or `entree` (first publication, minutes UTC); cached per segment."""
    parts = [_segment_column(s, name) for s in segments]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _segment_column(segment: engine.Segment, name: str) -> np.ndarray:
    def read() -> np.ndarray:
        if not segment.size or not segment.leaf.has_column(name):
            return np.zeros(segment.size, np.int64)
        return np.fromiter(segment.leaf.column_reader(name), np.int64, segment.size)

    return segment_cache.STRUCTURE.get((segment.key, name), read, lambda a: a.nbytes)


def normalise_filters(raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Keep known keys; split comma lists; drop blanks."""
    filters: dict[str, tuple[str, ...]] = {}
    for key in FILTER_KEYS:
        values = raw.get(key) or ()
        if isinstance(values, str):
            values = [values]
        cleaned = []
        for value in values:
            for part in str(value).split(","):
                part = part.strip()
                if part and part not in cleaned:
                    cleaned.append(part[:100])
        if cleaned:
            filters[key] = tuple(cleaned)
    return filters


def expand_years(values: tuple[str, ...], known: list[str]) -> list[str]:
    """`2020` or a range `2018-2022` (either bound may be left out: `-2019`, `2021-`)."""
    years: list[str] = []
    for value in values:
        if "-" in value:
            low, _, high = value.partition("-")
            low_n = int(low) if low.strip().isdigit() else 0
            high_n = int(high) if high.strip().isdigit() else 9999
            years += [y for y in known if y.isdigit() and low_n <= int(y) <= high_n]
        else:
            years.append(value.strip())
    return years


def _key_terms(searcher, title: str, summary: str, body: str, count: int = 12):
    """The terms that best characterise a resource: frequent in it (title and summary
    counting more), rare in the corpus. Whoosh's `key_terms_from_text` looked up every
    distinct word of the text and took most of a resource page's time."""
    frequencies = Counter(terms(title) * 3 + terms(summary) * 2 + terms(body))
    weighted = [
        (term, tf * searcher.idf("texte", term))
        for term, tf in frequencies.most_common(60)
        if not term.isupper() or len(term) > 1
    ]
    weighted.sort(key=lambda pair: -pair[1])
    top = weighted[:count]
    best = top[0][1] if top else 1.0
    return [(term, weight / best) for term, weight in top]


class SearchIndex:
    """Thread-safe entry point for searching an index folder."""

    def __init__(self, index_dir: Path | str) -> None:
        self.folder = IndexFolder(index_dir)
        self._lock = threading.Lock()  # guards which version is current, and its users
        self._snapshot: _Snapshot | None = None
        self.vocabularies = load_vocabularies()

    # --- lifecycle

    @contextlib.contextmanager
    def reading(self) -> Iterator[_Snapshot]:
        """The current index version, held open for the duration of the block.

        Reopened when `kb index` produced a new version; the version a thread reads is
        never closed under it, and every read of a request goes through the same one.
        """
        snap = self._acquire()
        try:
            yield snap
        finally:
            self._release(snap)

    def _acquire(self) -> _Snapshot:
        with self._lock:
            stamp = self.folder.pointer_stamp()
            current = self._snapshot
            if current is None or not current.is_current(stamp):
                fresh = _Snapshot(self.folder.current(), previous=current)
                fresh.stamp = stamp
                self._snapshot = fresh
                if current is not None:
                    self._retire(current)
                current = fresh
            current.users += 1
            return current

    def _release(self, snap: _Snapshot) -> None:
        with self._lock:
            snap.users -= 1
            if snap.retired and snap.users == 0:
                snap.close()

    @staticmethod
    def _retire(snap: _Snapshot) -> None:
        snap.retired = True
        if snap.users == 0:
            snap.close()

    def close(self) -> None:
        """Close the current version (now, or when the last thread reading it is done);
        a later read opens the index again."""
        with self._lock:
            if self._snapshot is not None:
                self._retire(self._snapshot)
                self._snapshot = None

    # --- labels

    def label(self, key: str, value: str, snapshot: _Snapshot | None = None) -> str:
        vocab = self.vocabularies
        if key in ("piliers", "thematiques", "dispositifs", "publics", "type"):
            return vocab["types" if key == "type" else key].label(value)
        if key in ("format", "mode"):
            return vocab["formats" if key == "format" else "modes"].label(value)
        if key == "region":
            return vocab.regions.label(value)
        if key == "departement":
            return vocab.departements.label(value)
        if key == "commune":
            return territories.current().commune_label(value)
        if key in ("epci", "qpv"):
            return territories.current().label(key, value)
        if key == "centre":
            if snapshot is None:
                with self.reading() as snapshot:
                    return snapshot.centres.get(value, {}).get("nom", value)
            return snapshot.centres.get(value, {}).get("nom", value)
        return value

    # --- search

    def search(self, request: SearchRequest) -> SearchResult:
        with self.reading() as snap, snap.lock:
            user_query = query.parse(request.q)
            suggestion, corrected = None, False
            if user_query.text:
                user_query, suggestion, corrected = self._correct(snap, user_query)
            result = self._run_safely(snap, request, user_query)
            if corrected or request.with_suggestion:
                result.suggestion = suggestion
            result.corrected = corrected
            return result

    def _correct(self, snap: _Snapshot, user_query: query.UserQuery):
        """Typo corrections. A word that is in no resource (and that no dispositif or
        thesaurus class stands for) is replaced by its correction, which then counts as a
        word of the query; a word that is found, but spelt unlike the resources'
        descriptions, only gets a suggestion (`renouvelement` -> « renouvellement »)."""
        reader = snap.searcher.reader()
        pairs = spelling.corrections(reader, user_query.text)
        if not any(replacement for _, replacement in pairs):
            return user_query, None, False
        suggestion = " ".join(replacement or word for word, replacement in pairs)
        covered = {t for expansion in user_query.expansions for t in expansion.covers}
        unknown = {}
        for word, replacement in pairs:
            term = analyse_word(word)
            if replacement and term and term not in covered and not snap.knows(term):
                unknown[word] = replacement
        if not unknown:
            return user_query, suggestion, False
        corrected = query.parse(
            replace_words(user_query.text, unknown), frozenset(unknown.values())
        )
        return corrected, suggestion, True

    def _run_safely(self, snap: _Snapshot, request: SearchRequest, user_query) -> SearchResult:
        """Run a query; if the engine fails on it, fall back to its plain words."""
        try:
            return self._run(snap, request, user_query)
        except Exception:  # an engine fault must not become a server error
            log.exception("échec de la requête %r : repli sur les mots simples", user_query.text)
        plain = query.UserQuery(user_query.text, user_query.words, ())
        try:
            return self._run(snap, request, plain)
        except Exception:
            log.exception("échec de la requête simplifiée %r", user_query.text)
            return SearchResult(request, 0, [], {}, searched_text=user_query.text)

    def _run(self, snap: _Snapshot, request: SearchRequest, user_query) -> SearchResult:
        facets = snap.facets
        filters = dict(request.filters)
        if "annee" in filters:
            filters["annee"] = tuple(expand_years(filters["annee"], list(facets.values["annee"])))
        query_plan = query.plan(user_query)
        live = snap.live_mask
        evaluation = None
        if query_plan is None:
            mask = live
        else:
            evaluation = ranking.evaluate(
                snap.scorer,
                query_plan.concepts,
                lambda c: snap.scorer.phrase_mask(c.phrase, query.phrase_query(c.phrase)),
            )
            mask = evaluation.full & live
        matched = to_bitmap(mask)
        filter_bits = facets.filter_bits(filters)
        filter_mask = from_bitmap(filter_bits, facets.size)
        selected = matched & filter_bits
        total = resources = selected.bit_count()
        per_page = max(1, min(request.per_page, MAX_PER_PAGE))
        first = (max(1, request.page) - 1) * per_page
        highlighted = user_query.highlight_terms()
        hits: list[Hit] = []
        candidates = None
        if request.collapse and snap.groups and total:
            candidates = self._collapse(
                snap, request, evaluation, np.flatnonzero(mask & filter_mask)
            )
            total = int(candidates.size)
        if first < (total if request.deep else min(total, MAX_RESULTS_WINDOW)):
            if candidates is None:
                candidates = np.flatnonzero(mask & filter_mask)
            page = self._page(snap, request, evaluation, candidates, first, per_page)
            hits = [self._hit(snap, docnum, score, highlighted) for docnum, score in page]
            if request.collapse:
                for hit in hits:
                    hit.also = self.also_published(hit.id, snap)
        approximate: list[Hit] = []
        if evaluation is not None and len(evaluation.concepts) > 1:
            if total < ranking.APPROXIMATE_BELOW and first == 0:
                approximate = self._approximate(snap, evaluation, live & filter_mask, highlighted)
        if evaluation is not None and request.explain:
            for hit in hits + approximate:
                hit.explanation = self._explain(snap, evaluation, hit)
        facet_values = {}
        if request.with_facets:
            counts = facets.counts(matched, filters)
            facet_values = {
                key: self._facet_values(snap, key, counts[key], request.filters.get(key, ()))
                for key in FILTER_KEYS
            }
        return SearchResult(
            request,
            total,
            hits,
            facet_values,
            searched_text=user_query.text,
            approximate=approximate,
            words=[c.label for c in query_plan.concepts] if query_plan else [],
            selection=Selection(snap, selected) if request.with_selection else None,
            resources=resources,
        )

    def _collapse(self, snap, request, evaluation, candidates: np.ndarray) -> np.ndarray:
        """The candidates without the members of a group of near-duplicates that another
        member outranks: each group keeps its best-ranked member among the candidates."""
        positions = snap.doc_group[candidates]
        grouped = np.flatnonzero(positions >= 0)
        if not grouped.size:
            return candidates
        best: dict[int, tuple[tuple, int]] = {}
        for index in grouped.tolist():
            docnum = int(candidates[index])
            rank = self._rank_key(snap, request, evaluation, docnum)
            group = int(positions[index])
            if group not in best or rank < best[group][0]:
                best[group] = (rank, index)
        keep = positions < 0
        keep[[index for _, index in best.values()]] = True
        return candidates[keep]

    def _rank_key(self, snap, request, evaluation, docnum: int) -> tuple:
        """Smaller ranks first: the higher final score (with the proximity bonus), then
        the newer date, then the smaller id (a rebuilt index picks the same member)."""
        day = int(snap.days[docnum])
        member = json.loads(snap.searcher.stored_fields(docnum)["meta"])["id"]
        if evaluation is None or request.sort == "date":
            return (-day, member)
        score = float(evaluation.scores[docnum])
        return (-score * (1 + self._bonus(snap, evaluation, docnum)), -day, member)

    def also_published(self, resource_id: str, snap: _Snapshot | None = None) -> list[dict]:
        """The other members of a resource's group of near-duplicates: id, centre, url."""
        if snap is None:
            with self.reading() as snap:
                return self.also_published(resource_id, snap)
        group = snap.group_of.get(resource_id)
        if group is None:
            return []
        return [
            {"id": m.id, "centre": m.centre, "url": m.url}
            for m in group.members
            if m.id != resource_id
        ]

    def duplicate_groups(self) -> list[duplicates.Group]:
        """Every group of near-duplicates of the live version (`kb doublons`)."""
        with self.reading() as snap:
            return list(snap.groups)

    def _page(self, snap, request, evaluation, candidates, first, per_page):
        """(docnum, score) of the requested page of full matches."""
        days = snap.days[candidates]
        if request.sort == "ajout":  # newest in the base first, then by the sheet's date
            order = np.lexsort((-days, -snap.entered[candidates]))[: first + per_page]
            scores = None if evaluation is None else evaluation.scores[candidates]
        elif evaluation is None or request.sort == "date":
            order = np.argsort(-days, kind="stable")[: first + per_page]
            scores = None if evaluation is None else evaluation.scores[candidates]
        else:
            scores = evaluation.scores[candidates].copy()
            wanted = max(first + per_page, ranking.RERANKED)
            order = ranking.order(candidates, scores, days, wanted)
            head = order[: ranking.RERANKED]
            for index in head:
                scores[index] *= 1 + self._bonus(snap, evaluation, int(candidates[index]))
            head = head[np.lexsort((-days[head], -scores[head]))]
            order = np.concatenate([head, order[ranking.RERANKED :]])
        return [
            (int(candidates[i]), None if scores is None else round(float(scores[i]), 4))
            for i in order[first : first + per_page]
        ]

    def _bonus(self, snap: _Snapshot, evaluation, docnum: int) -> float:
        if len(evaluation.concepts) < 2:
            return 0.0
        meta = json.loads(snap.searcher.stored_fields(docnum)["meta"])
        description = meta["resume"] + "\n" + " ; ".join(meta.get("mots_cles") or ())
        return ranking.proximity_bonus(evaluation.concepts, meta["titre"], description)

    def _approximate(self, snap, evaluation, allowed, highlighted) -> list[Hit]:
        """The best resources that answer some words of the query but not all: the most
        words first, then the most relevant."""
        counts = evaluation.counts
        candidates = np.flatnonzero(allowed & (counts > 0) & ~evaluation.full)
        if not candidates.size:
            return []
        scores = evaluation.scores[candidates]
        best = np.lexsort((-snap.days[candidates], -scores, -counts[candidates]))
        hits = []
        for index in best[: ranking.MAX_APPROXIMATE]:
            docnum = int(candidates[index])
            hit = self._hit(snap, docnum, round(float(scores[index]), 4), highlighted)
            hit.missing = evaluation.missing(docnum)
            hits.append(hit)
        return hits

    def _explain(self, snap: _Snapshot, evaluation, hit: Hit) -> dict[str, Any]:
        docnum = snap.searcher.document_number(id=hit.id)
        bonus = 0.0 if hit.missing else self._bonus(snap, evaluation, docnum)
        explanation = ranking.explain(
            snap.scorer,
            evaluation,
            docnum,
            bonus,
            self.vocabularies.thesaurus,
            self.vocabularies.dispositifs.label,
        )
        explanation["date"] = hit.date
        explanation["mots_absents"] = list(hit.missing)
        return explanation

    @staticmethod
    def _match(snap: _Snapshot, user_query) -> tuple[None, np.ndarray]:
        """The mask of the live documents that fully match a query (as `_run` counts
        them), for the agenda and the email alerts; the first element is kept for callers
        that ignore scores."""
        query_plan = query.plan(user_query)
        live = snap.live_mask
        if query_plan is None:
            return None, live
        evaluation = ranking.evaluate(
            snap.scorer,
            query_plan.concepts,
            lambda c: snap.scorer.phrase_mask(c.phrase, query.phrase_query(c.phrase)),
        )
        return None, evaluation.full & live

    def _facet_values(self, snap, key, counts, selected) -> list[FacetValue]:
        values = [
            FacetValue(value, self.label(key, value, snap), count, value in selected)
            for value, count in counts.items()
        ]
        for value in selected:  # a selected value stays visible (to be removed) even at 0
            if value not in counts:
                values.append(FacetValue(value, self.label(key, value, snap), 0, True))
        if key == "annee":
            values.sort(key=lambda v: v.valeur, reverse=True)
        else:
            values.sort(key=lambda v: (-v.nombre, v.libelle))
        return values

    def _hit(self, snap: _Snapshot, docnum: int, score, terms: set[str]) -> Hit:
        stored = snap.searcher.stored_fields(docnum)
        meta = json.loads(stored["meta"])
        extract = (
            highlight.excerpt(stored.get("corps", ""), terms)
            or highlight.excerpt(meta["resume"], terms)
            or highlight.plain_extract(meta["resume"])
        )
        return Hit(
            id=meta["id"],
            titre=meta["titre"],
            url=meta["url"],
            type=meta["type"],
            centre=meta["centre"],
            date=meta["date"],
            piliers=meta["piliers"],
            resume=meta["resume"],
            extrait=extract,
            score=score,
            meta=meta,
        )

    # --- other reads

    def get(self, resource_id: str) -> dict | None:
        """Stored metadata of a published resource (None when not in the index)."""
        with self.reading() as snap, snap.lock:
            stored = snap.searcher.document(id=resource_id)
            return json.loads(stored["meta"]) if stored else None

    def get_many(self, resource_ids: list[str]) -> dict[str, dict]:
        """Stored metadata of the published resources among `resource_ids`, by id."""
        found = {}
        with self.reading() as snap, snap.lock:
            for resource_id in resource_ids:
                stored = snap.searcher.document(id=resource_id)
                if stored:
                    found[resource_id] = json.loads(stored["meta"])
        return found

    def all_metadata(self) -> list[dict]:
        """Stored metadata of every published resource, in id order (read once per index
        version: sitemaps ask for all of it)."""
        with self.reading() as snap, snap.lock:
            if snap.everything is None:
                reader = snap.searcher.reader()
                metas = [json.loads(fields["meta"]) for fields in reader.all_stored_fields()]
                snap.everything = sorted(metas, key=lambda meta: meta["id"])
            return snap.everything

    def agenda(self, request: AgendaRequest) -> AgendaResult:
        """Events and training cycles by date: see indexer/agenda.py."""
        with self.reading() as snap, snap.lock:
            user_query = query.parse(request.q)
            try:
                return agenda.run(self, snap, request, user_query)
            except Exception:  # an engine fault must not become a server error
                log.exception("échec de la requête d'agenda %r : repli", user_query.text)
                plain = query.UserQuery(user_query.text, user_query.words, ())
                return agenda.run(self, snap, request, plain)

    def matching(self, q: str, filters: dict[str, tuple[str, ...]], ids: list[str]) -> list[str]:
        """Those of `ids` that the search (words and filters) finds, in the given order
        (email alerts check the resources that entered the base against each search)."""
        with self.reading() as snap, snap.lock:
            _, mask = self._match(snap, query.parse(q))
            filters = dict(filters)
            if "annee" in filters:
                known = list(snap.facets.values["annee"])
                filters["annee"] = tuple(expand_years(filters["annee"], known))
            bits = snap.facets.filter_bits(filters)
            found = []
            for resource_id in ids:
                docnum = snap.searcher.document_number(id=resource_id)
                if docnum is not None and mask[docnum] and (bits >> docnum) & 1:
                    found.append(resource_id)
            return found

    def entered_since(self, since: str) -> list[dict]:
        """Registry entries of the resources first published at or after `since` (ISO time)
        and still online, oldest first."""
        entries = [
            entry
            for entry in self.changes(since=since)
            if not entry.get("retiree") and (entry.get("premiere") or "") >= since
        ]
        return sorted(entries, key=lambda entry: (entry["premiere"], entry["id"]))

    def linked(self, resource_id: str) -> list[dict]:
        """Stored metadata of the published resources whose `productions` or `issu_de`
        name `resource_id` (the other direction of the capitalisation chain)."""
        with self.reading() as snap, snap.lock:
            found = snap.searcher.documents(liens=resource_id)
            return sorted((json.loads(d["meta"]) for d in found), key=lambda m: m["id"])

    def resolve_alias(self, old_id: str) -> str | None:
        """The current id of a former address. An address that was itself a resource of
        one centre never leads to another centre's page (it answers 410 instead)."""
        with self.reading() as snap, snap.lock:
            stored = snap.searcher.document(alias=old_id)
            target = stored["id"] if stored else None
        if target is None:
            return None
        if target.partition("/")[0] != old_id.partition("/")[0]:
            entry = self.registry_entry(old_id)
            if entry is not None:
                return None
        return target

    def page(self, resource_id: str) -> dict | None:
        """The rendered page of a published resource (see kb.pages), or None."""
        meta = self.get(resource_id)
        if meta is None or not meta.get("page"):
            return None
        page = self.folder.objects.get_json(meta["page"])
        return page if isinstance(page, dict) else None

    def piece(self, path: str) -> tuple[Piece, Path] | None:
        """An attachment of a published resource of the live version, and the file that
        holds its bytes; None for any other path."""
        with self.reading() as snap:
            generation = snap.generation
        piece = VersionReader(generation).piece(path)
        if piece is None:
            return None
        return piece, self.folder.objects.path(piece.digest)

    def more_like_this(self, resource_id: str, limit: int = 3) -> list[Hit]:
        with self.reading() as snap, snap.lock:
            key = (resource_id, limit)
            if key not in snap.related:
                if len(snap.related) > 2048:
                    snap.related.clear()
                snap.related[key] = self._more_like_this(snap, resource_id, limit)
            return snap.related[key]

    def _more_like_this(self, snap: _Snapshot, resource_id: str, limit: int) -> list[Hit]:
        docnum = snap.searcher.document_number(id=resource_id)
        if docnum is None:
            return []
        stored = snap.searcher.stored_fields(docnum)
        meta = json.loads(stored["meta"])
        key_terms = _key_terms(
            snap.searcher, stored.get("titre", ""), meta["resume"], stored.get("corps", "")
        )
        clauses = [Clause("texte", term, weight) for term, weight in key_terms]
        for key in ("thematiques", "dispositifs"):
            clauses += [Clause(key, value, 2.0) for value in meta.get(key) or ()]
        scores = snap.scorer.scores(clauses)
        # The capitalisation chain comes first: the event a resource came from, what an
        # event produced (either side may name the other).
        linked = [snap.searcher.document_number(id=i) for i in meta.get("productions") or ()]
        if meta.get("issu_de"):
            linked.append(snap.searcher.document_number(id=meta["issu_de"]))
        linked += [int(d) for d in snap.scorer.postings("liens", resource_id)[0]]
        linked = [d for d in linked if d is not None]
        if linked:
            scores[linked] += float(scores.max()) + 1.0
        scores[docnum] = 0
        scores[~snap.live_mask] = 0
        candidates = np.flatnonzero(scores > 0)
        best = candidates[np.argsort(-scores[candidates], kind="stable")[:limit]]
        return [self._hit(snap, int(d), round(float(scores[d]), 4), set()) for d in best]

    def latest(self, limit: int = 10, filters: dict | None = None) -> list[Hit]:
        """The resources that entered the base last (a backdated sheet is still new)."""
        request = SearchRequest(
            filters=filters or {},
            sort="ajout",
            per_page=limit,
            with_facets=False,
            with_suggestion=False,
        )
        return self.search(request).hits

    def stats(self) -> dict[str, Any]:
        with self.reading() as snap, snap.lock:
            return {
                "version": f"{snap.generation.name}.{snap.index.latest_generation()}",
                "ressources": snap.searcher.doc_count(),
                "indexe_le": snap.info.get("indexe_le"),
                "centres": len(snap.centres),
            }

    def centres(self) -> dict[str, dict]:
        with self.reading() as snap:
            return dict(snap.centres)

    def removed(self, resource_id: str) -> dict | None:
        """What the registry knows of an id that is no longer online (for 410 pages)."""
        entry = self.registry_entry(resource_id)
        return entry if entry and entry.get("retiree") else None

    # --- the registry of publications (kept across rebuilds): history for harvesters

    def _registry(self) -> Registry:
        with self.reading() as snap:
            return Registry(snap.generation, read_only=True)

    def registry_entry(self, resource_id: str) -> dict | None:
        registry = self._registry()
        try:
            return registry.lookup(resource_id)
        finally:
            registry.close()

    def changes(self, **criteria) -> list[dict]:
        """Registry entries, online or removed, by id: see `Registry.changes`."""
        registry = self._registry()
        try:
            return registry.changes(**criteria)
        finally:
            registry.close()

    def count_changes(self, **criteria) -> int:
        registry = self._registry()
        try:
            return registry.count_changes(**criteria)
        finally:
            registry.close()

    def version(self) -> str:
        """The live version's name (changes with every publication)."""
        with self.reading() as snap:
            return f"{snap.generation.name}.{snap.toc_generation}"

    def version_info(self) -> dict[str, Any]:
        """The live version's infos.json (origin: commit, sources; dates)."""
        with self.reading() as snap:
            return dict(snap.info)

    def earliest_change(self) -> str | None:
        registry = self._registry()
        try:
            return registry.earliest()
        finally:
            registry.close()

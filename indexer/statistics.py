"""Statistics of a search: distinct resources by facet value, by year, cross-tabulated,
and the quality marks of each centre's resources.

Everything is counted on bitmaps (one bit per document, see facets.py): the documents a
search selected (`SearchResult.selection`) AND the documents carrying a value, then a
popcount. A resource is one bit, so it counts once in a total however many values it
carries, and once under each of its values: the counts of a multi-valued field (pillars,
thematics) may add up to more than the total, never count a resource twice in one cell.

The tables derived from an index version (entry years, quality marks) are computed once
per version and kept beside it.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from kb.quality import MARKS, SECTIONS, SECTIONS_EXPECTED, SUMMARY, TERRITORY

from .scoring import from_bitmap, to_bitmap
from .search import SearchIndex, SearchRequest, expand_years
from .store import Registry

# The axes counted, by name: the facet keys, and `entree`, the year a resource entered the
# base (first publication), beside `annee`, the year of the sheet's own date.
FACET_AXES = (
    "centre",
    "piliers",
    "thematiques",
    "type",
    "annee",
    "region",
    "departement",
    "epci",
    "commune",
    "qpv",
)
ENTRY_YEAR = "entree"
AXES = (*FACET_AXES, ENTRY_YEAR)
YEAR_AXES = ("annee", ENTRY_YEAR)
# Cross-tabulations against the chosen year axis: the trends over years.
TREND_AXES = ("piliers", "type", "centre")


@dataclass(frozen=True)
class Count:
    value: str
    label: str
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"valeur": self.value, "libelle": self.label, "nombre": self.count}


@dataclass(frozen=True)
class AxisCounts:
    """The counts of one axis: each value's distinct resources, and how many resources
    carry no value at all (`missing`)."""

    axis: str
    values: list[Count]
    missing: int

    @property
    def sum(self) -> int:
        return sum(c.count for c in self.values)

    def as_json(self) -> dict[str, Any]:
        return {
            "valeurs": [c.as_json() for c in self.values],
            "sans_valeur": self.missing,
            "somme_des_valeurs": self.sum,
        }


@dataclass(frozen=True)
class CrossTable:
    """Distinct resources by (row value, column value); `row_totals` counts each row's
    resources once whatever the columns, `column_totals` each column's."""

    rows: list[Count]  # with the row totals
    columns: list[Count]  # with the column totals
    cells: list[list[int]]

    def as_json(self) -> dict[str, Any]:
        return {
            "lignes": [c.as_json() for c in self.rows],
            "colonnes": [c.as_json() for c in self.columns],
            "valeurs": self.cells,
        }


@dataclass(frozen=True)
class QualityRow:
    centre: str
    label: str
    total: int
    with_territory: int
    sections_expected: int
    with_sections: int
    with_summary: int

    def as_json(self) -> dict[str, Any]:
        return {
            "centre": self.centre,
            "libelle": self.label,
            "ressources": self.total,
            "avec_territoire": self.with_territory,
            "intertitres_attendus": self.sections_expected,
            "avec_tous_les_intertitres": self.with_sections,
            "avec_resume_de_bonne_longueur": self.with_summary,
        }


@dataclass(frozen=True)
class Statistics:
    total: int
    year_axis: str  # `annee` or `entree`: the years of `by_year` and the trends
    counts: dict[str, AxisCounts]
    trends: dict[str, CrossTable]  # axis -> (value x year)
    quality: list[QualityRow]
    resources: list[dict] = field(default_factory=list)  # stored metadata, when asked for
    searched_text: str = ""
    corrected: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "annees_selon": self.year_axis,
            "repartitions": {axis: counts.as_json() for axis, counts in self.counts.items()},
            "tendances": {axis: table.as_json() for axis, table in self.trends.items()},
            "qualite": [row.as_json() for row in self.quality],
        }


def local_years(seconds: np.ndarray) -> np.ndarray:
    """The years, in France, of moments given in seconds since 1970 (UTC). France is at
    UTC+1 at the turn of the year (no summer time then): its year is the UTC year an hour
    later."""
    later = seconds + 3600
    return later.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970


class _Tables:
    """Per index version: value bitmaps of every axis, and of the quality marks."""

    def __init__(self, snapshot) -> None:
        facets = snapshot.facets
        reader = snapshot.searcher.reader()
        self.size = facets.size
        self.axes: dict[str, dict[str, int]] = {
            key: dict(facets.values.get(key, {})) for key in FACET_AXES
        }
        self.quality = {
            mark: self._term_bits(snapshot.scorer, "qualite", mark) & facets.live for mark in MARKS
        }
        self.axes[ENTRY_YEAR] = self._entry_years(reader, facets.live)

    def _term_bits(self, scorer, field_name: str, text: str) -> int:
        """Documents holding a term (the version's cached per-segment postings)."""
        mask = np.zeros(self.size, bool)
        mask[scorer.postings(field_name, text)[0]] = True
        return to_bitmap(mask)

    def _entry_years(self, reader, live: int) -> dict[str, int]:
        """Year of first publication -> documents, from the index's `entree` column
        (seconds since 1970, UTC; 0 when unknown)."""
        if not self.size or "entree" not in reader.schema or not reader.has_column("entree"):
            return {}
        seconds = np.fromiter(reader.column_reader("entree"), np.int64, self.size)
        years = local_years(seconds)
        known = seconds > 0
        return {
            str(year): to_bitmap(known & (years == year)) & live
            for year in sorted(set(years[known].tolist()))
        }


_TABLES: weakref.WeakKeyDictionary[Any, _Tables] = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def _tables(snapshot) -> _Tables:
    with _TABLES_LOCK:
        tables = _TABLES.get(snapshot)
        if tables is None:
            with snapshot.lock:  # Whoosh's readers: one call at a time per version
                tables = _TABLES[snapshot] = _Tables(snapshot)
        return tables


def _sorted_counts(axis: str, counts: list[Count]) -> list[Count]:
    if axis in YEAR_AXES:
        return sorted(counts, key=lambda c: c.value)
    return sorted(counts, key=lambda c: (-c.count, c.label.casefold()))


def compute(
    index: SearchIndex,
    request: SearchRequest,
    year_axis: str = "annee",
    entry_years: tuple[str, ...] = (),
    with_resources: bool = False,
) -> Statistics:
    """The statistics of the resources a search selects (its query and filters, as
    `/recherche` runs it, spelling correction included).

    `entry_years` narrows the selection to resources that entered the base in these years
    (the same forms as the `annee` filter: `2024`, `2020-2022`). `with_resources` adds the
    stored metadata of every selected resource, by date then title.
    """
    if year_axis not in YEAR_AXES:
        raise ValueError(f"axe des années inconnu : {year_axis}")
    asked = replace(request, page=1, per_page=1, with_facets=False, with_selection=True, deep=False)
    with index.reading():
        result = index.search(asked)
        selection = result.selection
        if selection is None:  # the engine failed on this query: nothing selected
            return Statistics(0, year_axis, {}, {}, [], searched_text=result.searched_text)
        snapshot = selection.snapshot
        tables = _tables(snapshot)
        bits = selection.bits
        if entry_years:
            known = list(tables.axes[ENTRY_YEAR])
            union = 0
            for year in expand_years(entry_years, known):
                union |= tables.axes[ENTRY_YEAR].get(year, 0)
            bits &= union

        def label(axis: str, value: str) -> str:
            if axis in YEAR_AXES:
                return value
            return index.label(axis, value, snapshot)

        counts: dict[str, AxisCounts] = {}
        for axis in AXES:
            values = []
            carried = 0
            for value, value_bits in tables.axes[axis].items():
                common = bits & value_bits
                if common:
                    carried |= common
                    values.append(Count(value, label(axis, value), common.bit_count()))
            missing = (bits & ~carried).bit_count()
            counts[axis] = AxisCounts(axis, _sorted_counts(axis, values), missing)

        columns = counts[year_axis].values
        year_bits = [tables.axes[year_axis][column.value] for column in columns]
        trends: dict[str, CrossTable] = {}
        for axis in TREND_AXES:
            rows = counts[axis].values
            cells = []
            for row in rows:
                row_bits = bits & tables.axes[axis][row.value]
                cells.append([(row_bits & column).bit_count() for column in year_bits])
            trends[axis] = CrossTable(rows, columns, cells)

        quality = []
        for centre in counts["centre"].values:
            centre_bits = bits & tables.axes["centre"][centre.value]
            marks = {mark: (centre_bits & tables.quality[mark]).bit_count() for mark in MARKS}
            quality.append(
                QualityRow(
                    centre.value,
                    centre.label,
                    centre.count,
                    marks[TERRITORY],
                    marks[SECTIONS_EXPECTED],
                    marks[SECTIONS],
                    marks[SUMMARY],
                )
            )
        quality.sort(key=lambda row: row.label.casefold())

        resources: list[dict] = []
        if with_resources:
            searcher = snapshot.searcher
            for docnum in np.flatnonzero(from_bitmap(bits, tables.size)):
                resources.append(json.loads(searcher.stored_fields(int(docnum))["meta"]))
            resources.sort(key=lambda meta: (meta["date"], meta["titre"].casefold()))

    return Statistics(
        total=bits.bit_count(),
        year_axis=year_axis,
        counts=counts,
        trends=trends,
        quality=quality,
        resources=resources,
        searched_text=result.searched_text,
        corrected=result.corrected,
    )


# --- the network's directory: what each centre has published ----------------------------------

MATRIX_ROWS = "thematiques"
MATRIX_COLUMNS = "piliers"


@dataclass(frozen=True)
class CentreProfile:
    """What a centre has published: its resources, the newest change among them (the
    registry's `modifiee`, ISO 8601 UTC), and thematics × pillars (distinct resources;
    `without_theme`: its resources that carry no thematic)."""

    centre: str
    total: int
    last_change: str | None
    matrix: CrossTable
    without_theme: int

    def as_json(self) -> dict[str, Any]:
        return {
            "ressources": self.total,
            "derniere_modification": self.last_change,
            "thematiques_piliers": self.matrix.as_json(),
            "sans_thematique": self.without_theme,
        }


_PROFILES: weakref.WeakKeyDictionary[Any, dict[str, CentreProfile]] = weakref.WeakKeyDictionary()


def centre_profiles(index: SearchIndex) -> dict[str, CentreProfile]:
    """Every centre's profile, computed once per index version from the facet bitmaps
    (one AND and popcount per cell) and the registry's dates."""
    with index.reading() as snapshot:
        with _TABLES_LOCK:
            cached = _PROFILES.get(snapshot)
        if cached is not None:
            return cached
        registry = Registry(snapshot.generation, read_only=True)
        try:
            changes = registry.last_changes_by_centre()
        finally:
            registry.close()
        facets = snapshot.facets
        vocabularies = index.vocabularies
        columns_all = [term.id for term in vocabularies[MATRIX_COLUMNS]]
        rows_all = [term.id for term in vocabularies[MATRIX_ROWS]]
        row_bits = facets.values.get(MATRIX_ROWS, {})
        column_bits = facets.values.get(MATRIX_COLUMNS, {})
        any_theme = 0
        for bits in row_bits.values():
            any_theme |= bits
        profiles = {}
        for centre, centre_bits in facets.values.get("centre", {}).items():
            columns = [
                Count(
                    c,
                    vocabularies[MATRIX_COLUMNS].label(c),
                    (centre_bits & column_bits.get(c, 0)).bit_count(),
                )
                for c in columns_all
            ]
            rows, cells = [], []
            for row in rows_all:
                in_row = centre_bits & row_bits.get(row, 0)
                if not in_row:
                    continue
                rows.append(Count(row, vocabularies[MATRIX_ROWS].label(row), in_row.bit_count()))
                cells.append([(in_row & column_bits.get(c, 0)).bit_count() for c in columns_all])
            order = sorted(
                range(len(rows)), key=lambda i: (-rows[i].count, rows[i].label.casefold())
            )
            profiles[centre] = CentreProfile(
                centre,
                centre_bits.bit_count(),
                changes.get(centre),
                CrossTable([rows[i] for i in order], columns, [cells[i] for i in order]),
                (centre_bits & ~any_theme).bit_count(),
            )
        with _TABLES_LOCK:
            _PROFILES[snapshot] = profiles
        return profiles

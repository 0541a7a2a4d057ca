"""`/statistiques` (HTML, CSV, ODS) and `/api/v1/statistiques` (JSON): the statistics of
any search, with the parameters of `/recherche` plus `annees` (the years of the sheets'
dates, `fiche`, or of their entry into the base, `entree`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, render_template, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from indexer.keys import FILTER_NAMES
from indexer.statistics import AXES, AxisCounts, Statistics, compute

from ..core.catalogue import Catalogue, current_catalogue
from ..core.department_map import department_map
from ..core.facets import active_filters, search_summary
from ..core.params import InvalidParameters, SearchParams, parse_search_args
from ..core.responses import cacheable
from . import charts
from .spreadsheets import CSV_MIMETYPE, ODS_MIMETYPE, to_csv, to_ods
from .tables import (
    AXIS_TITLES,
    MISSING_LABELS,
    MULTI_VALUED,
    MULTI_VALUED_NOTE,
    TREND_TITLES,
    YEAR_AXIS_LABELS,
    Summary,
    distribution_sheet,
    percent_text,
    quality_sheet,
    statistics_sheets,
    trends_long_sheet,
)

bp = Blueprint("statistics", __name__)

PATH = "/statistiques"
YEAR_BASES = {"fiche": "annee", "entree": "entree"}  # `annees` parameter -> year axis
CSV_TABLES = ("repartitions", "tendances", "qualite")
PARIS = ZoneInfo("Europe/Paris")
MAX_ROWS = 100  # rows of one axis on the page (a national base has thousands of communes)


@dataclass(frozen=True)
class StatisticsQuery:
    """A search (the parameters of /recherche) and the year basis of the statistics."""

    params: SearchParams
    basis: str = "fiche"

    @property
    def year_axis(self) -> str:
        return YEAR_BASES[self.basis]

    def items(self) -> list[tuple[str, str]]:
        items = [(k, v) for k, v in self.params.query_items() if k not in ("tri", "page")]
        if self.basis != "fiche":
            items.append(("annees", self.basis))
        return items

    def url(self, path: str = PATH, **extra: str) -> str:
        items = self.items() + list(extra.items())
        return f"{path}?{urlencode(items)}" if items else path

    def with_basis(self, basis: str) -> StatisticsQuery:
        return replace(self, basis=basis)

    def with_params(self, params: SearchParams) -> StatisticsQuery:
        return replace(self, params=params)


def read_basis(args: MultiDict, messages: list[str]) -> str:
    values = args.getlist("annees")
    basis = (values[0] if values else "fiche").strip() or "fiche"
    if len(set(values)) > 1:
        messages.append("le paramètre « annees » est donné plusieurs fois")
    if basis not in YEAR_BASES:
        messages.append(
            "valeur inconnue pour « annees » : choisissez « fiche » (année de la date de la "
            "fiche) ou « entree » (année d'entrée dans la base)"
        )
        basis = "fiche"
    return basis


def read_query(args: MultiDict, extra: tuple[str, ...] = ()) -> StatisticsQuery:
    """Parameters of /recherche, `annees`, and the caller's `extra` (read by the caller)."""
    messages: list[str] = []
    basis = read_basis(args, messages)
    catalogue = current_catalogue()
    try:
        params = parse_search_args(args, catalogue.known_values, extra=("annees", *extra))
    except InvalidParameters as error:
        raise InvalidParameters(messages + error.messages, error.usable) from None
    if messages:
        raise InvalidParameters(messages, params)
    return StatisticsQuery(replace(params, sort="pertinence", page=1), basis)


def statistics_of(query: StatisticsQuery) -> Statistics:
    catalogue = current_catalogue()
    return compute(catalogue.index, query.params.request(1), year_axis=query.year_axis)


def now_text() -> str:
    moment = dt.datetime.now(PARIS)
    return moment.strftime("%d/%m/%Y à %H:%M")


def describe(query: StatisticsQuery, catalogue: Catalogue) -> str:
    return search_summary(query.params, catalogue.label)


# --- the HTML page --------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueRow:
    label: str
    count: str
    percent: str
    search_url: str | None
    narrow_url: str | None  # these statistics, narrowed to this value
    missing: bool = False


@dataclass(frozen=True)
class AxisSection:
    axis: str
    title: str
    chart: charts.BarChart | None
    rows: list[ValueRow]
    sum_note: str | None  # for multi-valued axes, how the sum compares with the total
    map: Markup | None = None  # the departments' map (its own data table included)
    cut_note: str | None = None  # rows left out of the page (the exports have them all)


@dataclass(frozen=True)
class TrendSection:
    axis: str
    title: str
    chart: charts.LineChart | None
    years: list[str]
    rows: list[tuple[str, list[str], str]]  # label, counts by year, total
    totals: list[str]


@dataclass(frozen=True)
class QualityLine:
    label: str
    total: str
    territory: str
    sections: str
    sections_expected: str
    summary: str
    url: str


@dataclass(frozen=True)
class StatisticsPage:
    query: StatisticsQuery
    stats: Statistics
    description: str
    active: list
    year_chart: charts.ColumnChart
    year_rows: list[ValueRow]
    sections: list[AxisSection]
    trends: list[TrendSection]
    quality: list[QualityLine]
    bases: list[tuple[str, str, bool]] = field(default_factory=list)  # value, label, current

    @property
    def search_url(self) -> str:
        return self.query.params.url("/recherche")

    def export_url(self, kind: str, **extra: str) -> str:
        if kind == "json":
            return self.query.url("/api/v1/statistiques")
        return self.query.url(f"{PATH}.{kind}", **extra)

    @property
    def hidden_inputs(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.query.items() if k != "annees"]


def _value_rows(query: StatisticsQuery, stats: Statistics, axis: str) -> list[ValueRow]:
    """The rows of an axis's table. A value links to the statistics and to the search
    narrowed to it: the row's resources exactly. The values of one filter are ORed, so
    when the axis is filtered already, only its selected values can be linked (the filter
    then keeps that value alone); another value's row (both values at once) cannot be
    expressed as a search."""
    counts = stats.counts[axis]
    selected = query.params.filters.get(axis, ())
    # Unfiltered axis: URLs built once, then one parameter appended per value (pages list
    # hundreds of values).
    statistics_base = query.url()
    search_base = query.params.url("/recherche")
    rows = []
    for count in counts.values:
        search_url = narrow_url = None
        if axis in FILTER_NAMES and not selected:
            extra = urlencode([(axis, count.value)])
            narrow_url = statistics_base + ("&" if "?" in statistics_base else "?") + extra
            search_url = search_base + ("&" if "?" in search_base else "?") + extra
        elif count.value in selected:
            alone = query.params.without(axis).toggled(axis, count.value)
            search_url = alone.url("/recherche")
            if len(selected) > 1:
                narrow_url = query.with_params(alone).url()
        rows.append(
            ValueRow(
                count.label,
                charts.number(count.count),
                percent_text(count.count, stats.total),
                search_url,
                narrow_url,
            )
        )
    if counts.missing and axis in MISSING_LABELS:
        rows.append(
            ValueRow(
                MISSING_LABELS[axis],
                charts.number(counts.missing),
                percent_text(counts.missing, stats.total),
                None,
                None,
                missing=True,
            )
        )
    return rows


def _departments_map(query: StatisticsQuery, counts: AxisCounts) -> Markup:
    """The map of these statistics by department; each department links to the
    statistics narrowed to it (when the department filter is not already set)."""
    selected = query.params.filters.get("departement", ())
    statistics_base = query.url()
    joiner = "&" if "?" in statistics_base else "?"

    def link(code: str) -> str | None:
        if selected:
            return None
        return statistics_base + joiner + urlencode([("departement", code)])

    return department_map(
        {count.value: count.count for count in counts.values},
        link,
        title="Ressources par département",
        ident="carte-statistiques",
        table_caption="Ressources par département (données de la carte)",
    )


def build_page(query: StatisticsQuery, stats: Statistics) -> StatisticsPage:
    catalogue = current_catalogue()
    year_axis = stats.year_axis
    sections = []
    for axis in AXES:
        if axis in ("annee", "entree"):
            continue
        counts = stats.counts[axis]
        note = None
        if axis in MULTI_VALUED and stats.total:
            note = (
                f"Somme des lignes : {charts.number(counts.sum)} pour "
                f"{charts.number(stats.total)} ressources distinctes."
            )
        chart = charts.bar_chart(AXIS_TITLES[axis], counts.values) if counts.values else None
        rows = _value_rows(query, stats, axis)
        figure = _departments_map(query, counts) if axis == "departement" else None
        cut = None
        if len(counts.values) > MAX_ROWS:
            rows = rows[:MAX_ROWS] + [row for row in rows if row.missing]
            cut = (
                f"Les {MAX_ROWS} valeurs les plus fréquentes sur "
                f"{charts.number(len(counts.values))} ; toutes sont dans les exports."
            )
        sections.append(AxisSection(axis, AXIS_TITLES[axis], chart, rows, note, figure, cut))
    trends = []
    for axis, table in stats.trends.items():
        years = [c.value for c in table.columns]
        trends.append(
            TrendSection(
                axis,
                TREND_TITLES[axis],
                charts.line_chart(TREND_TITLES[axis], table) if table.rows and years else None,
                years,
                [
                    (row.label, [charts.number(v) for v in cells], charts.number(row.count))
                    for row, cells in zip(table.rows, table.cells, strict=True)
                ],
                [charts.number(c.count) for c in table.columns],
            )
        )
    quality = [
        QualityLine(
            row.label,
            charts.number(row.total),
            percent_text(row.with_territory, row.total),
            percent_text(row.with_sections, row.sections_expected),
            charts.number(row.sections_expected),
            percent_text(row.with_summary, row.total),
            query.with_params(query.params.without("centre").toggled("centre", row.centre)).url(),
        )
        for row in stats.quality
    ]
    return StatisticsPage(
        query=query,
        stats=stats,
        description=describe(query, catalogue),
        active=[
            replace(f, remove_url=query.with_params(query.params.without(f.key, f.value)).url())
            for f in active_filters(query.params, catalogue.label, PATH)
        ],
        year_chart=charts.column_chart(AXIS_TITLES[year_axis], stats.counts[year_axis].values),
        year_rows=_value_rows(query, stats, year_axis),
        sections=sections,
        trends=trends,
        quality=quality,
        bases=[(b, YEAR_AXIS_LABELS[a], b == query.basis) for b, a in YEAR_BASES.items()],
    )


@bp.get(PATH)
def page():
    query = read_query(request.args)
    stats = statistics_of(query)
    # Filters keep their own URLs on this page (removing one stays on the statistics).
    return render_template(
        "statistics/page.html",
        page=build_page(query, stats),
        note=MULTI_VALUED_NOTE,
    )


# --- exports --------------------------------------------------------------------------------


def download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return cacheable(response)


def _summary(query: StatisticsQuery, stats: Statistics, title: str) -> Summary:
    catalogue = current_catalogue()
    return Summary(
        title,
        describe(query, catalogue),
        stats.total,
        stats.year_axis,
        now_text(),
        catalogue.site_url + query.url(),
    )


@bp.get(f"{PATH}.csv")
def export_csv():
    messages: list[str] = []
    table = (request.args.get("tableau") or "repartitions").strip()
    if table not in CSV_TABLES:
        messages.append(
            "valeur inconnue pour « tableau » : choisissez "
            + ", ".join(f"« {t} »" for t in CSV_TABLES)
        )
    query = read_query(request.args, extra=("tableau",))
    if messages:
        raise InvalidParameters(messages, query.params)
    stats = statistics_of(query)
    sheet = {
        "repartitions": distribution_sheet,
        "tendances": trends_long_sheet,
        "qualite": lambda s: quality_sheet(s.quality),
    }[table](stats)
    return download(to_csv(sheet), CSV_MIMETYPE, f"statistiques-{table}.csv")


@bp.get(f"{PATH}.ods")
def export_ods():
    query = read_query(request.args)
    stats = statistics_of(query)
    title = "Statistiques de la base de connaissances"
    sheets = statistics_sheets(stats, _summary(query, stats, title))
    return download(to_ods(sheets, title), ODS_MIMETYPE, "statistiques.ods")


@bp.get("/api/v1/statistiques")
def api():
    catalogue = current_catalogue()
    query = read_query(request.args)
    stats = statistics_of(query)
    data = stats.as_json()
    data["selection"] = describe(query, catalogue)
    data["liens"] = {
        "page": catalogue.site_url + query.url(),
        "csv": catalogue.site_url + query.url(f"{PATH}.csv"),
        "ods": catalogue.site_url + query.url(f"{PATH}.ods"),
        "recherche": catalogue.site_url + query.params.url("/api/v1/recherche"),
    }
    return cacheable(jsonify(data))

"""`/centres/<id>/bilan/<année>`: the annual review of one centre, printable, and the same
as an ODS workbook (`…/<année>.ods`): what a director pastes into the activity report for
the funders. Its productions that year by pillar, type, territory and thematic, and the
list of their titles."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request, url_for

from indexer.search import SearchRequest
from indexer.statistics import AxisCounts, Statistics, compute

from ..core.catalogue import CentreInfo, current_catalogue
from ..core.params import InvalidParameters, SearchParams
from . import charts
from .spreadsheets import ODS_MIMETYPE, Sheet, Value, to_ods
from .tables import (
    AXIS_TITLES,
    MULTI_VALUED_NOTE,
    YEAR_AXIS_LABELS,
    Summary,
    axis_sheet,
    percent_text,
)
from .views import YEAR_BASES, download, now_text, read_basis

bp = Blueprint("review", __name__)

FIRST_YEAR, LAST_YEAR = 1900, 2100
REVIEW_AXES = (
    "piliers",
    "type",
    "region",
    "departement",
    "epci",
    "commune",
    "qpv",
    "thematiques",
)
LOCAL_AXES = ("epci", "commune", "qpv")  # shown when the year has any
NONE_OF = {
    "region": "région",
    "departement": "département",
    "epci": "intercommunalité",
    "commune": "commune",
    "qpv": "quartier prioritaire",
    "thematiques": "thématique",
}
_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class ReviewLine:
    label: str
    count: str
    percent: str


@dataclass(frozen=True)
class ReviewSection:
    axis: str
    title: str
    chart: charts.BarChart | None
    lines: list[ReviewLine]
    missing: str | None  # "2 sans département"


@dataclass(frozen=True)
class Production:
    date: str
    title: str
    url: str
    type: str
    pillars: list[str]
    territory: str


@dataclass(frozen=True)
class Review:
    centre: CentreInfo
    year: int
    basis: str
    stats: Statistics
    sections: list[ReviewSection]
    productions: list[Production]

    @property
    def title(self) -> str:
        return f"Bilan {self.year} : {self.centre.nom}"

    def url(self, year: int | None = None, suffix: str = "") -> str:
        path = url_for("review.page", centre_id=self.centre.id, year=str(year or self.year))
        path += suffix
        return path + ("?annees=entree" if self.basis == "entree" else "")

    @property
    def statistics_url(self) -> str:
        centre = f"centre={self.centre.id}"
        if self.basis == "entree":
            return f"/statistiques?{centre}&annees=entree"
        return f"/statistiques?{centre}&annee={self.year}"


def _year(value: str) -> int:
    if not _YEAR.match(value) or not FIRST_YEAR <= int(value) <= LAST_YEAR:
        abort(404)
    return int(value)


def _read_args() -> str:
    messages: list[str] = []
    basis = read_basis(request.args, messages)
    unknown = [name for name in request.args if name != "annees"]
    if unknown:
        messages.append(f"paramètre inconnu « {unknown[0][:40]} » (paramètre accepté : annees)")
    if messages:
        raise InvalidParameters(messages, SearchParams())
    return basis


def _statistics(centre_id: str, year: int, basis: str) -> Statistics:
    catalogue = current_catalogue()
    if basis == "entree":
        request_ = SearchRequest(filters={"centre": (centre_id,)})
        return compute(
            catalogue.index, request_, YEAR_BASES[basis], (str(year),), with_resources=True
        )
    request_ = SearchRequest(filters={"centre": (centre_id,), "annee": (str(year),)})
    return compute(catalogue.index, request_, YEAR_BASES[basis], with_resources=True)


def _section(axis: str, counts: AxisCounts, total: int) -> ReviewSection:
    missing = None
    if counts.missing and axis in NONE_OF:
        missing = f"{charts.number(counts.missing)} sans {NONE_OF[axis]}"
    return ReviewSection(
        axis,
        AXIS_TITLES[axis],
        charts.bar_chart(AXIS_TITLES[axis], counts.values) if counts.values else None,
        [
            ReviewLine(c.label, charts.number(c.count), percent_text(c.count, total))
            for c in counts.values
        ],
        missing,
    )


def _productions(stats: Statistics) -> list[Production]:
    catalogue = current_catalogue()
    found = []
    for meta in stats.resources:
        territory = [catalogue.label("qpv", code) for code in meta.get("qpv") or ()]
        territory += [catalogue.label("commune", code) for code in meta.get("communes") or ()]
        if not territory:
            territory += [catalogue.label("epci", code) for code in meta.get("epci") or ()]
        territory += [
            catalogue.label("departement", meta["departement"]) if meta.get("departement") else "",
            catalogue.label("region", meta["region"]) if meta.get("region") else "",
        ]
        found.append(
            Production(
                meta["date"],
                meta["titre"],
                meta["url"],
                catalogue.label("type", meta["type"]),
                [catalogue.label("piliers", p) for p in meta.get("piliers") or ()],
                ", ".join(t for t in territory if t),
            )
        )
    return found


def build_review(centre_id: str, year_text: str) -> Review:
    catalogue = current_catalogue()
    centre = catalogue.centres().get(centre_id)
    if centre is None:
        abort(404)
    year = _year(year_text)
    basis = _read_args()
    stats = _statistics(centre_id, year, basis)
    sections = [
        _section(axis, stats.counts[axis], stats.total)
        for axis in REVIEW_AXES
        if axis not in LOCAL_AXES or stats.counts[axis].values
    ]
    return Review(centre, year, basis, stats, sections, _productions(stats))


@bp.get("/centres/<centre_id>/bilan/<year>")
def page(centre_id: str, year: str):
    found = build_review(centre_id, year)
    return render_template(
        "review/page.html",
        review=found,
        note=MULTI_VALUED_NOTE,
        basis_label=YEAR_AXIS_LABELS[YEAR_BASES[found.basis]],
        extracted=now_text(),
    )


@bp.get("/centres/<centre_id>/bilan/<year>.ods")
def ods(centre_id: str, year: str):
    found = build_review(centre_id, year)
    catalogue = current_catalogue()
    summary = Summary(
        found.title,
        f"Centre : {found.centre.nom} ; année {found.year} "
        f"({YEAR_AXIS_LABELS[YEAR_BASES[found.basis]]})",
        found.stats.total,
        YEAR_BASES[found.basis],
        now_text(),
        catalogue.site_url + found.url(),
    )
    sheets = [summary.sheet()]
    sheets += [
        axis_sheet(axis, found.stats.counts[axis], found.stats.total) for axis in REVIEW_AXES
    ]
    rows: list[tuple[Value, ...]] = [
        (p.date, p.title, p.type, ", ".join(p.pillars), p.territory, catalogue.site_url + p.url)
        for p in found.productions
    ]
    sheets.append(
        Sheet(
            "Productions",
            ("Date", "Titre", "Type", "Piliers", "Territoire", "Adresse"),
            rows,
        )
    )
    filename = f"bilan-{found.centre.id}-{found.year}.ods"
    return download(to_ods(sheets, found.title), ODS_MIMETYPE, filename)


@bp.app_template_global("review_years")
def review_years(centre_id: str) -> list[tuple[str, str]]:
    """(year, URL of its review) for every year a centre has resources, newest first."""
    overview = current_catalogue().overview({"centre": (centre_id,)})
    years = sorted(overview.counts.get("annee", {}), reverse=True)
    return [(year, url_for("review.page", centre_id=centre_id, year=year)) for year in years]

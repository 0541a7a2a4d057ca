"""`/agenda` and its machine-readable twins: `/agenda.ics` (iCalendar), `/agenda.atom`,
`/api/v1/agenda`, and one `.ics` per event (`/ressources/<centre>/<slug>/agenda.ics`).

They all take the same parameters (those of the search, plus `periode`, `du`, `au`) and
read the same `AgendaResult`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from itertools import groupby

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from indexer.agenda import ALL, PAST, UPCOMING, AgendaEntry, AgendaResult
from kb.model import EVENT_TYPES

from ..core.catalogue import current_catalogue
from ..core.errors import PageOutOfRange
from ..core.facets import ActiveFilter, FacetGroup, active_filters, facet_groups, search_summary
from ..core.formatting import MONTHS
from ..core.pagination import Pagination, paginate
from ..core.params import InvalidParameters, read_count
from ..core.responses import cacheable
from ..dissemination.records import xml_text
from .formatting import FILTERS
from .ical import CalendarItem, build_calendar
from .params import PERIOD_LABELS, AgendaParams, parse_agenda_args

bp = Blueprint("agenda", __name__)
for _name, _filter in FILTERS.items():
    bp.add_app_template_filter(_filter, _name)

PATH = "/agenda"
PER_PAGE = 20
CALENDAR_LIMIT = 500  # events in one .ics file
API_PER_PAGE = 20
API_MAX_PER_PAGE = 100
ICS = "text/calendar"
ATOM = "application/atom+xml"
SITE_TITLE = "Ressources politique de la ville"


def now() -> dt.datetime:
    """The current time; tests fix it with the `KB_NOW` setting of the app."""
    fixed = current_app.config.get("KB_NOW")
    return fixed if fixed is not None else dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class MonthGroup:
    label: str  # "janvier 2027"
    entries: list[AgendaEntry]


@dataclass(frozen=True)
class PeriodLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class AgendaPage:
    params: AgendaParams
    result: AgendaResult
    months: list[MonthGroup]
    facets: list[FacetGroup]
    active: list[ActiveFilter]
    pagination: Pagination
    periods: list[PeriodLink]
    clear_filters_url: str

    @property
    def hidden_inputs(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.params.query_items() if k not in ("q", "page", "du", "au")]

    @property
    def calendar_url(self) -> str:
        return replace(self.params, page=1).url("/agenda.ics")

    @property
    def feed_url(self) -> str:
        return replace(self.params, page=1).url("/agenda.atom")

    @property
    def api_url(self) -> str:
        return self.params.url("/api/v1/agenda")

    @property
    def title(self) -> str:
        title = {UPCOMING: "Agenda", PAST: "Événements passés", ALL: "Agenda"}[self.params.period]
        if self.params.q:
            title += f" : « {self.params.q} »"
        if self.params.page > 1:
            title += f", page {self.params.page}"
        return title


def month_groups(entries: list[AgendaEntry]) -> list[MonthGroup]:
    def month(entry: AgendaEntry) -> tuple[int, int]:
        moment = entry.key_time
        return moment.year, moment.month

    return [
        MonthGroup(f"{MONTHS[m - 1]} {y}", list(group))
        for (y, m), group in groupby(entries, key=month)
    ]


def _read(extra: tuple[str, ...] = ()) -> AgendaParams:
    return parse_agenda_args(request.args, current_catalogue().known_values, extra=extra)


def _search(params: AgendaParams, per_page: int, **options) -> AgendaResult:
    return current_catalogue().index.agenda(params.agenda_request(now(), per_page, **options))


@bp.get(PATH)
def index():
    params = _read()
    result = _search(params, PER_PAGE)
    if params.page > result.pages:
        raise PageOutOfRange(params.page, result.pages, params.with_page(result.pages).url(PATH))
    catalogue = current_catalogue()
    page = AgendaPage(
        params=params,
        result=result,
        months=month_groups(result.entries),
        facets=[g for g in facet_groups(result, params, PATH) if g.key != "annee"],
        active=active_filters(params, catalogue.label, PATH),
        pagination=paginate(params.page, result.pages, lambda n: params.with_page(n).url(PATH)),
        periods=[
            PeriodLink(PERIOD_LABELS[p], params.with_period(p).url(PATH), p == params.period)
            for p in (UPCOMING, PAST, ALL)
        ],
        clear_filters_url=params.without_filters().url(PATH),
    )
    return render_template("agenda/index.html", page=page, today=now().date())


# --- iCalendar --------------------------------------------------------------------------------


def calendar_items(metas: list[dict]) -> list[CalendarItem]:
    """Each event with the time its file last changed (the index's registry)."""
    catalogue = current_catalogue()
    items = []
    for meta in metas:
        entry = catalogue.registry_entry(meta["id"]) or {}
        stamp = entry.get("modifiee") or entry.get("premiere")
        try:
            modified = dt.datetime.fromisoformat(stamp) if stamp else None
        except ValueError:
            modified = None
        if modified is None:
            modified = dt.datetime.fromisoformat(meta["date"]).replace(tzinfo=dt.UTC)
        items.append(CalendarItem(meta, modified.astimezone(dt.UTC)))
    return items


def calendar_response(items: list[CalendarItem], name: str, filename: str) -> Response:
    catalogue = current_catalogue()
    data = build_calendar(items, catalogue.site_url, name, catalogue.label)
    response = Response(data, mimetype=ICS)
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return cacheable(response)


@bp.get("/agenda.ics")
def calendar():
    params = replace(_read(), page=1)
    result = _search(params, CALENDAR_LIMIT, with_facets=False)
    summary = search_summary(params, current_catalogue().label)
    name = f"{SITE_TITLE} : agenda" + (f" ({summary})" if summary else "")
    return calendar_response(
        calendar_items([e.hit.meta for e in result.entries]), name, "agenda.ics"
    )


@bp.get("/ressources/<centre>/<slug>/agenda.ics")
def event_calendar(centre: str, slug: str):
    if request.args:
        raise InvalidParameters(["cette adresse ne prend aucun paramètre"], AgendaParams())
    meta = current_catalogue().metadata(f"{centre}/{slug}")
    if meta is None or meta.get("type") not in EVENT_TYPES or not meta.get("evenement"):
        abort(404)
    return calendar_response(calendar_items([meta]), meta["titre"], f"{slug}.ics")


# --- Atom -------------------------------------------------------------------------------------


@bp.get("/agenda.atom")
def feed():
    """The events of the agenda's search, in the agenda's order (the next first)."""
    params = replace(_read(), page=1)
    result = _search(params, 50, with_facets=False)
    catalogue = current_catalogue()
    site = catalogue.site_url
    summary = search_summary(params, catalogue.label)
    generator = FeedGenerator()
    generator.id(site + params.url("/agenda.atom"))
    generator.title(xml_text(f"{SITE_TITLE} : agenda" + (f" ({summary})" if summary else "")))
    generator.subtitle("Rencontres, journées d'étude, webinaires et formations du réseau.")
    generator.language("fr")
    generator.author({"name": "Réseau des centres de ressources politique de la ville"})
    generator.link(href=site + params.url("/agenda.atom"), rel="self", type=ATOM)
    generator.link(href=site + params.url(PATH), rel="alternate", type="text/html")
    items = calendar_items([e.hit.meta for e in result.entries])
    for entry, item in zip(result.entries, items, strict=True):
        url = site + entry.hit.url
        atom = generator.add_entry(order="append")
        atom.id(url)
        when = entry.key_time
        state = {"annule": " (annulé)", "reporte": " (reporté)"}.get(entry.event.get("etat"), "")
        date = f"{when.day} {MONTHS[when.month - 1]} {when.year}"
        atom.title(xml_text(f"{date} : {entry.hit.titre}{state}"))
        atom.link(href=url, rel="alternate", type="text/html")
        atom.summary(xml_text(entry.hit.resume))
        published = dt.datetime.fromisoformat(entry.hit.date).replace(tzinfo=dt.UTC)
        atom.published(published)
        atom.updated(max(item.modified, published))
        atom.author({"name": xml_text(catalogue.label("centre", entry.hit.centre))})
    generator.updated(max((i.modified for i in items), default=now()))
    response = Response(generator.atom_str(pretty=True, encoding="UTF-8"), mimetype=ATOM)
    response.charset = "utf-8"
    return cacheable(response)


# --- JSON API ---------------------------------------------------------------------------------


def event_json(event: dict) -> dict:
    """The event part of the index metadata as the API gives it (sessions without the
    internal UTC seconds)."""
    data = dict(event)
    data["sessions"] = [
        {k: v for k, v in session.items() if k != "horaires"}
        for session in event.get("sessions") or ()
    ]
    return data


@bp.get("/api/v1/agenda")
def api():
    messages: list[str] = []
    per_page = read_count(request.args, "par_page", API_PER_PAGE, API_MAX_PER_PAGE, messages)
    try:
        params = _read(extra=("par_page",))
    except InvalidParameters as error:
        raise InvalidParameters(messages + error.messages, error.usable) from None
    if messages:
        raise InvalidParameters(messages, params)
    result = _search(params, per_page)
    if params.page > result.pages:
        raise PageOutOfRange(params.page, result.pages, params.with_page(result.pages).url())
    site = current_catalogue().site_url

    def page_url(number: int) -> str:
        url = site + params.with_page(number).url("/api/v1/agenda")
        if per_page != API_PER_PAGE:
            url += ("&" if "?" in url else "?") + f"par_page={per_page}"
        return url

    data = {
        "total": result.total,
        "periode": params.period,
        "du": params.start.isoformat() if params.start else None,
        "au": params.end.isoformat() if params.end else None,
        "evenements": [
            {
                **entry.hit.as_json(),
                "url": site + entry.hit.url,
                "calendrier": site + entry.hit.url + "/agenda.ics",
                "prochaine_session": None if entry.ended else entry.key_time.isoformat(),
                "termine": entry.ended,
                **event_json(entry.event),
            }
            for entry in result.entries
        ],
        "facettes": {
            key: [{"valeur": v.valeur, "libelle": v.libelle, "nombre": v.nombre} for v in values]
            for key, values in result.facets.items()
            if key != "annee"
        },
        "pagination": {
            "page": params.page,
            "par_page": per_page,
            "pages": result.pages,
            "premiere": page_url(1),
            "precedente": page_url(params.page - 1) if params.page > 1 else None,
            "suivante": page_url(params.page + 1) if params.page < result.pages else None,
            "derniere": page_url(result.pages),
        },
        "calendrier": site + replace(params, page=1).url("/agenda.ics"),
    }
    response = jsonify(data)
    return cacheable(response)

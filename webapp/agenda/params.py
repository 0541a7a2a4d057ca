"""The agenda's parameters: those of the search (`q`, filters, `page`) plus the period
(`periode`: a-venir, passes, tout) and a date range (`du`, `au`, AAAA-MM-JJ, included)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container
from dataclasses import dataclass, replace

from werkzeug.datastructures import MultiDict

from indexer.agenda import ALL, PAST, PERIODS, UPCOMING, AgendaRequest

from ..core.params import InvalidParameters, SearchParams, _shown, _single, parse_search_args

AGENDA_PARAMETERS = ("periode", "du", "au")
PERIOD_LABELS = {UPCOMING: "À venir", PAST: "Passés", ALL: "Toutes les dates"}
EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class AgendaParams(SearchParams):
    period: str = UPCOMING
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def has_range(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def default_period(self) -> str:
        return ALL if self.has_range else UPCOMING

    def query_items(self) -> list[tuple[str, str]]:
        items = [(k, v) for k, v in super().query_items() if k not in ("tri", "page")]
        if self.period != self.default_period:
            items.append(("periode", self.period))
        if self.start:
            items.append(("du", self.start.isoformat()))
        if self.end:
            items.append(("au", self.end.isoformat()))
        if self.page != 1:
            items.append(("page", str(self.page)))
        return items

    def url(self, path: str = "/agenda") -> str:
        return super().url(path)

    def with_period(self, period: str) -> AgendaParams:
        return replace(self, period=period, page=1)

    def without_range(self) -> AgendaParams:
        period = self.period if self.period != ALL else UPCOMING
        return replace(self, start=None, end=None, period=period, page=1)

    def agenda_request(self, now: dt.datetime, per_page: int, **options) -> AgendaRequest:
        return AgendaRequest(
            now=now,
            q=self.q,
            filters=dict(self.filters),
            period=self.period,
            start=self.start,
            end=self.end,
            page=self.page,
            per_page=per_page,
            **options,
        )


def _day(args: MultiDict, name: str, messages: list[str]) -> dt.date | None:
    raw = _single(args, name, messages).strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        messages.append(f"date invalide « {_shown(raw)} » pour « {name} » (format AAAA-MM-JJ)")
        return None
    if not EARLIEST <= day <= LATEST:
        messages.append(f"date hors limites « {raw} » pour « {name} » (de 1990 à 2100)")
        return None
    return day


def parse_agenda_args(
    args: MultiDict,
    known_values: Callable[[str], Container[str]],
    extra: tuple[str, ...] = (),
) -> AgendaParams:
    """Read the agenda's query string; `InvalidParameters` (French messages) if unusable."""
    messages: list[str] = []
    try:
        base = parse_search_args(args, known_values, extra=(*AGENDA_PARAMETERS, *extra))
    except InvalidParameters as error:
        messages += error.messages
        base = error.usable
    start = _day(args, "du", messages)
    end = _day(args, "au", messages)
    if start and end and end < start:
        messages.append("période invalide : la date « au » précède la date « du »")
        end = None
    period = _single(args, "periode", messages).strip()
    if period and period not in PERIODS:
        messages.append(
            f"période inconnue « {_shown(period)} » : choisissez "
            + ", ".join(f"« {p} »" for p in PERIODS)
        )
        period = ""
    fields = {k: getattr(base, k) for k in ("q", "filters", "page")}
    params = AgendaParams(**fields, start=start, end=end)
    params = replace(params, period=period or params.default_period)
    if messages:
        raise InvalidParameters(messages, replace(params, page=1))
    return params

"""The agenda: events and training cycles ordered by their sessions around a given time.

"Upcoming" holds every event with a session not yet over (an ongoing session counts),
ordered by that session's start; "past" holds the others, the most recent first. A date
range keeps the events with a session that overlaps it. The query words and the filters
are those of the search, and the facets count the events of the chosen period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.events import zone
from kb.model import DEFAULT_TIMEZONE, EVENT_TYPES

from .keys import FILTER_KEYS
from .scoring import from_bitmap, to_bitmap

if TYPE_CHECKING:
    from .search import FacetValue, Hit, SearchIndex, _Snapshot

UPCOMING = "a-venir"
PAST = "passes"
ALL = "tout"
PERIODS = (UPCOMING, PAST, ALL)
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class AgendaRequest:
    now: dt.datetime  # aware
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    period: str = UPCOMING
    start: dt.date | None = None  # date range, both days included (Europe/Paris)
    end: dt.date | None = None
    page: int = 1
    per_page: int = 20
    with_facets: bool = True


@dataclass
class AgendaEntry:
    hit: Hit
    key: int  # UTC seconds: the start of the session that orders the entry
    ended: bool  # every session is over

    @property
    def event(self) -> dict[str, Any]:
        return self.hit.meta.get("evenement") or {}

    @property
    def key_time(self) -> dt.datetime:
        timezone = self.event.get("fuseau") or DEFAULT_TIMEZONE
        return dt.datetime.fromtimestamp(self.key, zone(timezone))


@dataclass
class AgendaResult:
    request: AgendaRequest
    total: int
    entries: list[AgendaEntry]
    facets: dict[str, list[FacetValue]]
    searched_text: str = ""

    @property
    def pages(self) -> int:
        per_page = max(1, min(self.request.per_page, MAX_PER_PAGE))
        return max(1, -(-self.total // per_page))


def _schedules(snap: _Snapshot) -> dict[int, np.ndarray]:
    """Each event's sessions as an (n, 2) array of UTC [start, end) seconds; read once per
    index version."""
    if snap.schedules is None:
        types = snap.facets.values.get("type", {})
        bits = 0
        for type_id in EVENT_TYPES:
            bits |= types.get(type_id, 0)
        schedules: dict[int, np.ndarray] = {}
        for docnum in np.flatnonzero(from_bitmap(bits, snap.facets.size)):
            stored = snap.searcher.stored_fields(int(docnum))
            pairs = stored.get("horaires") or []
            if pairs:
                schedules[int(docnum)] = np.array(pairs, np.int64).reshape(-1, 2)
        snap.schedules = schedules
    return snap.schedules


def _day_start(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), zone(DEFAULT_TIMEZONE)).timestamp())


def _place(request: AgendaRequest, sessions: np.ndarray, now: int) -> tuple[int, bool] | None:
    """(ordering key, all over) for an event, or None when it is outside the request."""
    if request.start or request.end:
        low = _day_start(request.start) if request.start else -(2**62)
        high = _day_start(request.end + dt.timedelta(days=1)) if request.end else 2**62
        sessions = sessions[(sessions[:, 1] > low) & (sessions[:, 0] < high)]
        if not len(sessions):
            return None
    ended = bool(sessions[:, 1].max() <= now)
    if request.period == PAST:
        return (int(sessions[:, 0].max()), True) if ended else None
    if request.period == UPCOMING:
        if ended:
            return None
        return int(sessions[sessions[:, 1] > now][:, 0].min()), False
    return int(sessions[:, 0].min()), ended


def run(index: SearchIndex, snap: _Snapshot, request: AgendaRequest, user_query) -> AgendaResult:
    now = int(request.now.timestamp())
    facets = snap.facets
    _, mask = index._match(snap, user_query)
    schedules = _schedules(snap)
    in_period = np.zeros(facets.size, bool)
    keys: dict[int, tuple[int, bool]] = {}
    for docnum, sessions in schedules.items():
        if not mask[docnum]:
            continue
        placed = _place(request, sessions, now)
        if placed is not None:
            in_period[docnum] = True
            keys[docnum] = placed
    matched = to_bitmap(in_period)
    filters = dict(request.filters)
    selected = np.flatnonzero(in_period & from_bitmap(facets.filter_bits(filters), facets.size))
    # The past reads backwards from the latest; everything else in calendar order.
    sign = -1 if request.period == PAST else 1
    order = sorted((int(d) for d in selected), key=lambda d: (sign * keys[d][0], d))
    per_page = max(1, min(request.per_page, MAX_PER_PAGE))
    first = (max(1, request.page) - 1) * per_page
    terms = user_query.highlight_terms()
    entries = [
        AgendaEntry(index._hit(snap, d, None, terms), keys[d][0], keys[d][1])
        for d in order[first : first + per_page]
    ]
    facet_values = {}
    if request.with_facets:
        counts = facets.counts(matched, filters)
        facet_values = {
            key: index._facet_values(snap, key, counts[key], request.filters.get(key, ()))
            for key in FILTER_KEYS
        }
    return AgendaResult(request, len(order), entries, facet_values, user_query.text)

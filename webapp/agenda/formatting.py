"""How event times and states are written on the pages, in French (Jinja filters)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kb.events import zone
from kb.model import DEFAULT_TIMEZONE

from ..core.formatting import MONTHS, NBSP

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def day_fr(day: dt.date, weekday: bool = True, year: bool = True) -> str:
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number}{NBSP}{MONTHS[day.month - 1]}"
    if year:
        text += f" {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def time_fr(moment: dt.datetime | dt.time) -> str:
    """`9 h 30`, `17 h`."""
    if moment.minute:
        return f"{moment.hour}{NBSP}h{NBSP}{moment.minute:02d}"
    return f"{moment.hour}{NBSP}h"


def event_day(moment: dt.datetime) -> str:
    return day_fr(moment.date(), year=False)


def parse_bound(value: str, all_day: bool, timezone: str) -> dt.date | dt.datetime:
    if all_day:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value).astimezone(zone(timezone))


def session_text(session: dict[str, Any], timezone: str = DEFAULT_TIMEZONE) -> str:
    """`jeudi 12 mars 2026, de 9 h 30 à 17 h`; `du 13 au 14 mars 2026`; ..."""
    all_day = bool(session.get("journee_entiere"))
    start = parse_bound(session["debut"], all_day, timezone)
    end = parse_bound(session["fin"], all_day, timezone)
    if all_day:
        if start == end:
            return day_fr(start)
        return f"du {day_fr(start, year=start.year != end.year)} au {day_fr(end)}"
    if start.date() == end.date():
        return f"{day_fr(start.date())}, de {time_fr(start)} à {time_fr(end)}"
    return f"du {day_fr(start.date())}, {time_fr(start)}, au {day_fr(end.date())}, {time_fr(end)}"


def zone_note(event: dict[str, Any]) -> str:
    timezone = event.get("fuseau") or DEFAULT_TIMEZONE
    if timezone == DEFAULT_TIMEZONE:
        return ""
    return f"heure locale ({timezone})"


def sessions_summary(event: dict[str, Any]) -> str:
    sessions = event.get("sessions") or []
    timezone = event.get("fuseau") or DEFAULT_TIMEZONE
    if not sessions:
        return ""
    if len(sessions) == 1:
        text = session_text(sessions[0], timezone)
    else:
        first = parse_bound(sessions[0]["debut"], sessions[0]["journee_entiere"], timezone)
        last = parse_bound(sessions[-1]["fin"], sessions[-1]["journee_entiere"], timezone)
        first_day = first.date() if isinstance(first, dt.datetime) else first
        last_day = last.date() if isinstance(last, dt.datetime) else last
        text = (
            f"{len(sessions)} sessions, du {day_fr(first_day, weekday=False)} "
            f"au {day_fr(last_day, weekday=False)}"
        )
    note = zone_note(event)
    return f"{text} ({note})" if note else text


def event_state(event: dict[str, Any], today: dt.date) -> tuple[str, str] | None:
    """The badge of an event: (kind, French text), or None."""
    if event.get("etat") == "annule":
        return "cancelled", "Annulé"
    if event.get("etat") == "reporte":
        return "postponed", "Reporté"
    registration = event.get("inscription") or {}
    if registration.get("complet"):
        return "full", "Complet"
    closing = registration.get("cloture")
    if closing and dt.date.fromisoformat(closing) < today:
        return "closed", "Inscriptions closes"
    return None


FILTERS = {
    "event_day": event_day,
    "sessions_summary": sessions_summary,
    "session_text": session_text,
    "event_state": event_state,
    "day_fr": day_fr,
}

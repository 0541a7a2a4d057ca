"""iCalendar (RFC 5545) files of events, written with the `icalendar` library.

One VEVENT per session. Its UID is made of the resource id and the session's rank, so it
stays the same across publications; SEQUENCE and LAST-MODIFIED come from the time the
resource's file last changed (the index registry), so calendar clients replace their copy
when it changes, and a cancelled event is sent with STATUS:CANCELLED. Times carry their
zone (Europe/Paris unless the event says otherwise) with its VTIMEZONE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from kb.events import zone
from kb.model import CANCELLED, DEFAULT_TIMEZONE

PRODID = "-//Centres de ressources politique de la ville//Base de connaissances//FR"
# SEQUENCE counts seconds since this date: it grows whenever the file changes.
SEQUENCE_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class CalendarItem:
    """One event to write: its stored metadata and when its file last changed."""

    meta: dict[str, Any]
    modified: dt.datetime  # aware


def sequence(modified: dt.datetime) -> int:
    return max(0, int((modified - SEQUENCE_EPOCH).total_seconds()))


def session_uid(resource_id: str, rank: int, host: str) -> str:
    return f"{resource_id}/session-{rank}@{host}"


def _parse(value: str, all_day: bool, timezone: str) -> dt.date | dt.datetime:
    if all_day:
        return dt.date.fromisoformat(value)
    moment = dt.datetime.fromisoformat(value)
    return moment.astimezone(zone(timezone))


def _location(place: dict[str, Any] | None) -> str:
    if not place:
        return ""
    parts = [place.get("nom"), place.get("adresse")]
    text = ", ".join(p for p in parts if p)
    if place.get("en_ligne"):
        text = f"{text} (en ligne : {place['en_ligne']})" if text else place["en_ligne"]
    return text


def _description(meta: dict, event: dict, url: str, labels: Callable[[str, str], str]) -> str:
    lines = [meta.get("resume") or ""]
    if event.get("etat") == CANCELLED:
        lines.insert(0, "ANNULÉ.")
    elif event.get("etat") == "reporte" and event.get("date_initiale"):
        lines.insert(0, f"Reporté (date initiale : {event['date_initiale']}).")
    if event.get("mode"):
        lines.append(f"Mode : {labels('mode', event['mode'])}.")
    if event.get("participants"):
        lines.append(f"Pour qui : {event['participants']}")
    if event.get("cout"):
        lines.append(f"Coût : {event['cout']}")
    registration = event.get("inscription") or {}
    if registration.get("complet"):
        lines.append("Inscriptions : complet.")
    elif registration.get("url") or registration.get("courriel"):
        where = registration.get("url") or registration.get("courriel")
        until = f" (jusqu'au {registration['cloture']})" if registration.get("cloture") else ""
        lines.append(f"Inscription : {where}{until}")
    lines.append(f"Détails : {url}")
    return "\n".join(line for line in lines if line)


def build_calendar(
    items: Iterable[CalendarItem],
    site_url: str,
    name: str,
    labels: Callable[[str, str], str],
) -> bytes:
    """The .ics file of these events; `site_url` makes the links absolute."""
    host = site_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", DEFAULT_TIMEZONE)
    years: list[int] = []
    events: list[Event] = []
    for item in items:
        meta, event = item.meta, item.meta.get("evenement") or {}
        timezone = event.get("fuseau") or DEFAULT_TIMEZONE
        url = site_url + meta["url"]
        sessions = event.get("sessions") or []
        for rank, session in enumerate(sessions, start=1):
            all_day = bool(session.get("journee_entiere"))
            start = _parse(session["debut"], all_day, timezone)
            end = _parse(session["fin"], all_day, timezone)
            if all_day:
                end = end + dt.timedelta(days=1)  # DTEND of a date is exclusive
            years += [start.year, end.year]
            summary = meta["titre"]
            if len(sessions) > 1:
                summary += f" ({rank}/{len(sessions)}"
                summary += f" : {session['intitule']})" if session.get("intitule") else ")"
            vevent = Event()
            vevent.add("uid", session_uid(meta["id"], rank, host))
            vevent.add("dtstamp", item.modified.astimezone(dt.UTC))
            vevent.add("last-modified", item.modified.astimezone(dt.UTC))
            vevent.add("sequence", sequence(item.modified))
            vevent.add("dtstart", start)
            vevent.add("dtend", end)
            vevent.add("summary", summary)
            vevent.add("description", _description(meta, event, url, labels))
            vevent.add("url", url)
            location = _location(event.get("lieu"))
            if location:
                vevent.add("location", location)
            if event.get("format"):
                vevent.add("categories", [labels("format", event["format"])])
            vevent.add("status", "CANCELLED" if event.get("etat") == CANCELLED else "CONFIRMED")
            vevent.add("transp", "OPAQUE")
            registration = (event.get("inscription") or {}).get("courriel")
            if registration:
                organizer = vCalAddress(f"mailto:{registration}")
                organizer.params["cn"] = vText(meta.get("porteur") or meta["centre"])
                vevent.add("organizer", organizer)
            events.append(vevent)
    first = dt.date(min(years, default=dt.date.today().year), 1, 1)
    last = dt.date(max(years, default=dt.date.today().year) + 1, 12, 31)
    calendar.add_component(Timezone.from_tzid(DEFAULT_TIMEZONE, first_date=first, last_date=last))
    for vevent in events:
        calendar.add_component(vevent)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()

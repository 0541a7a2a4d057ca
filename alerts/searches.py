"""The search of a subscription: what is stored (plain JSON), the URL of its results page,
and the resources it finds among those that entered the base.

`{"cible": "recherche", "q": "jardins", "filtres": {"thematiques": ["sante"]}}`, or
`"cible": "agenda"` for the agenda's events (only events still to come are sent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from indexer.keys import FILTER_KEYS, FILTER_NAMES
from indexer.search import SearchIndex
from kb.model import EVENT_TYPES

SEARCH = "recherche"
AGENDA = "agenda"
TARGETS = (SEARCH, AGENDA)
PAGES = {SEARCH: "/recherche", AGENDA: "/agenda"}


def make_search(target: str, q: str, filters: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        "cible": target,
        "q": q,
        "filtres": {key: list(filters[key]) for key in FILTER_KEYS if filters.get(key)},
    }


def filters_of(search: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    raw = search.get("filtres") or {}
    return {key: tuple(raw[key]) for key in FILTER_KEYS if raw.get(key)}


def page_url(search: dict[str, Any]) -> str:
    """Path and query of the results page of a search (`/recherche?q=...`)."""
    items = [("q", search["q"])] if search.get("q") else []
    for key, values in filters_of(search).items():
        items += [(key, value) for value in values]
    if search.get("cible") == SEARCH and not search.get("q"):
        items.append(("tri", "ajout"))  # what entered the base last: what alerts send
    path = PAGES.get(search.get("cible"), "/recherche")
    return f"{path}?{urlencode(items)}" if items else path


def describe(search: dict[str, Any], label: Callable[[str, str], str]) -> str:
    """`la recherche « jardins » ; Thématique : Santé` (label(key, value) names a value)."""
    parts = [f"« {search['q']} »"] if search.get("q") else []
    filters = filters_of(search)
    for key in FILTER_KEYS:
        for value in filters.get(key, ()):
            parts.append(f"{FILTER_NAMES.get(key, key)} : {label(key, value)}")
    agenda = search.get("cible") == AGENDA
    if not parts:
        return "tout l'agenda" if agenda else "toutes les nouvelles ressources"
    return ("l'agenda " if agenda else "la recherche ") + " ; ".join(parts)


def found_among(
    index: SearchIndex, search: dict[str, Any], ids: list[str], now: dt.datetime
) -> list[dict]:
    """Metadata of the resources among `ids` that the search finds (events still to come
    only, for the agenda), in the order of `ids`."""
    matching = index.matching(search.get("q") or "", filters_of(search), ids)
    metas = index.get_many(matching)
    found = []
    for resource_id in matching:
        meta = metas.get(resource_id)
        if meta is None:
            continue
        if search.get("cible") == AGENDA:
            if meta.get("type") not in EVENT_TYPES or not _still_to_come(meta, now):
                continue
        found.append(meta)
    return found


def _still_to_come(meta: dict, now: dt.datetime) -> bool:
    sessions = (meta.get("evenement") or {}).get("sessions") or []
    moment = int(now.timestamp())
    return any(session["horaires"][1] > moment for session in sessions)

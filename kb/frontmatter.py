"""A resource's header as plain data, and a resource file written from such data.

The harvesting format of the OAI-PMH server (`kb`, webapp/dissemination/oai.py) carries
`header_of(resource)`, and the harvester (`kb moissonner`) writes files with
`resource_text`: what one instance publishes, another reads back with the same loader.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import yaml

from .model import Resource
from .schema import FORBIDDEN_CHARACTERS

_EMPTY = (None, "", (), [], {})


def header_keys() -> tuple[str, ...]:
    """Every field of a resource's header, in the loader's order."""
    from .loader import RESOURCE_FIELDS

    return tuple(f.name for f in RESOURCE_FIELDS)


def _value(value: Any) -> Any:
    """A header value as text, lists and tables of text."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return [_value(v) for v in value if v not in _EMPTY]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        table = {}
        for item in dataclasses.fields(value):
            found = getattr(value, item.name)
            if found not in _EMPTY and found is not False:
                table[item.name] = _value(found)
        return table
    return value


def header_of(resource: Resource) -> dict[str, Any]:
    """The fields of a resource's header as text, lists and tables of text (dates written
    AAAA-MM-JJ, local times AAAA-MM-JJ HH:MM); empty fields left out."""
    defaults = {f.name: f.default for f in dataclasses.fields(Resource)}
    header: dict[str, Any] = {}
    for key in header_keys():
        value = getattr(resource, key, None)
        if value in _EMPTY or value == defaults.get(key):
            continue
        converted = _value(value)
        if converted not in _EMPTY:
            header[key] = converted
    return header


def clean_text(value: str) -> str:
    """Text without the invisible control characters the loader refuses."""
    return FORBIDDEN_CHARACTERS.sub("", value)


_DATE_KEYS = frozenset({"date", "mise_a_jour", "recolte_le", "date_initiale", "cloture"})
_BOOLEAN_KEYS = frozenset({"complet"})
_NUMBER_KEYS = frozenset({"places"})


def _typed(key: str, value: Any) -> Any:
    """Header values back to the YAML types the loader expects: dates as dates, years of
    a period and numbers as numbers, booleans as booleans; everything else stays a string
    (quoted by the dumper where YAML could misread it)."""
    if isinstance(value, dict):
        return {k: _typed(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(key if isinstance(v, dict) else "", v) for v in value]
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    if key in _BOOLEAN_KEYS and value in ("true", "false"):
        return value == "true"
    if key in _NUMBER_KEYS and value.isdigit():
        return int(value)
    if key in _DATE_KEYS or key in ("debut", "fin"):
        if key in ("debut", "fin") and value.isdigit() and len(value) == 4:
            return int(value)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def resource_text(header: dict[str, Any], body: str) -> str:
    """A resource file: the header (YAML, every string quoted where YAML could misread
    it) and the body."""
    known = header_keys()
    ordered = {key: _typed(key, header[key]) for key in known if key in header}
    dumped = yaml.safe_dump(
        ordered, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )
    body = clean_text(body).strip("\n")
    return f"---\n{dumped}---\n\n{body}\n" if body else f"---\n{dumped}---\n"

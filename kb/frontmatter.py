"""A resource's header as plain data, and a resource file written from such data.

The harvesting format of the OAI-PMH server (`kb`, webapp/dissemination/oai.py) carries
`header_of(resource)`, and the harvester (`kb moissonner`) writes files with
`resource_text`: what one instance publishes, another reads back with the same loader.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from .model import Resource
from .schema import FORBIDDEN_CHARACTERS

# The header's keys in the order of docs/format.md, then the harvest's own.
HEADER_ORDER = (
    "titre",
    "type",
    "date",
    "piliers",
    "resume",
    "thematiques",
    "dispositifs",
    "publics",
    "territoire",
    "porteur",
    "partenaires",
    "auteurs",
    "mots_cles",
    "periode",
    "mise_a_jour",
    "statut",
    "alias",
    "licence",
    "origine",
    "moisson",
)
TERRITORY_KEYS = ("region", "departement", "communes", "epci", "qpv")


def _value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    return value


def header_of(resource: Resource) -> dict[str, Any]:
    """The fields of a resource's header, as strings, lists of strings and tables of
    them (dates written AAAA-MM-JJ, years as digits); empty fields left out."""
    header: dict[str, Any] = {}
    for key in HEADER_ORDER:
        if key == "territoire":
            territory = {
                k: _value(getattr(resource.territoire, k))
                for k in TERRITORY_KEYS
                if getattr(resource.territoire, k)
            }
            if territory:
                header[key] = territory
        elif key == "periode":
            if resource.periode is not None:
                bounds = {"debut": resource.periode.debut, "fin": resource.periode.fin}
                bounds = {k: str(_value(v)) for k, v in bounds.items() if v is not None}
                if bounds:
                    header[key] = bounds
        elif key == "moisson":
            if resource.moisson is not None:
                header[key] = {
                    "entrepot": resource.moisson.entrepot,
                    "identifiant": resource.moisson.identifiant,
                    "recolte_le": resource.moisson.recolte_le.isoformat(),
                }
        else:
            value = getattr(resource, key)
            if value not in (None, (), "", []):
                header[key] = _value(value)
    return header


def clean_text(value: str) -> str:
    """Text without the invisible control characters the loader refuses."""
    return FORBIDDEN_CHARACTERS.sub("", value)


_DATE_KEYS = frozenset({"date", "mise_a_jour", "recolte_le"})


def _typed(key: str, value: Any) -> Any:
    """Header values back to the YAML types the loader expects: dates as dates, years of
    a period as numbers; everything else stays a string (quoted by the dumper)."""
    if isinstance(value, dict):
        return {k: _typed(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_text(str(v)) for v in value]
    if not isinstance(value, str):
        return value
    value = clean_text(value)
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
    ordered = {key: _typed(key, header[key]) for key in HEADER_ORDER if key in header}
    dumped = yaml.safe_dump(
        ordered, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )
    body = clean_text(body).strip("\n")
    return f"---\n{dumped}---\n\n{body}\n" if body else f"---\n{dumped}---\n"

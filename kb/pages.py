"""The published page of a resource: rendered once, when it is indexed, never per view.

A page is a plain JSON-ready dict: the resource's fields (`resource_to_dict`), its body as
sanitised HTML with relative links pointed at the site's addresses, its headings and the
source file as it was validated. The indexer stores it as an immutable object named by
its bytes' hash; the web app reads it back with `resource_from_page`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from typing import Any
from urllib.parse import quote

from .loader import is_resource_file, resolve_relative
from .model import (
    ATTACHMENT_TYPES,
    Attachment,
    Centre,
    Inscription,
    Lieu,
    Moisson,
    Periode,
    Resource,
    Session,
    Territoire,
    resource_url,
)
from .render import render_markdown

PAGE_FORMAT = 1  # bump when the page's content or the renderer's output changes
ATTACHMENTS_PREFIX = "/fichiers/"


def attachment_url(path: str) -> str:
    """The site's address of an attachment (path relative to the content root)."""
    return ATTACHMENTS_PREFIX + quote(path)


def link_resolver(folder: str):
    """Map a relative link of a file in `folder` to the page or file it names."""

    def resolve(url: str) -> str | None:
        path = resolve_relative(folder, url)
        if path is None:
            return None
        name = posixpath.basename(path)
        if is_resource_file(path):
            return resource_url(f"{path.split('/')[0]}/{name[: -len('.md')]}")
        if "." in name and name.rsplit(".", 1)[1].lower() in ATTACHMENT_TYPES:
            return attachment_url(path)
        return None

    return resolve


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # event sessions: local times
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _date(value: Any) -> Any:
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict) and "datetime" in value:
        return dt.datetime.fromisoformat(value["datetime"])
    return value


def resource_to_dict(resource: Resource) -> dict[str, Any]:
    return _plain(resource)


def resource_from_dict(data: dict[str, Any]) -> Resource:
    values = dict(data)
    values["territoire"] = Territoire(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in data["territoire"].items()}
    )
    if data.get("periode") is not None:
        values["periode"] = Periode(_date(data["periode"]["debut"]), _date(data["periode"]["fin"]))
    values["attachments"] = tuple(Attachment(**a) for a in data.get("attachments", ()))
    if data.get("moisson") is not None:
        harvest = dict(data["moisson"])
        harvest["recolte_le"] = _date(harvest["recolte_le"])
        values["moisson"] = Moisson(**harvest)
    for name in ("date", "mise_a_jour", "date_initiale"):
        values[name] = _date(data.get(name))
    # Events (kb/events.py): sessions, place, registration.
    values["sessions"] = tuple(
        Session(_date(s["debut"]), _date(s["fin"]), s.get("intitule"))
        for s in data.get("sessions") or ()
    )
    if data.get("lieu") is not None:
        values["lieu"] = Lieu(**data["lieu"])
    if data.get("inscription") is not None:
        registration = dict(data["inscription"])
        registration["cloture"] = _date(registration.get("cloture"))
        values["inscription"] = Inscription(**registration)
    values["link_lines"] = tuple(tuple(pair) for pair in data.get("link_lines") or ())
    for field in dataclasses.fields(Resource):
        if isinstance(values.get(field.name), list):
            values[field.name] = tuple(values[field.name])
    return Resource(**values)


def render_page(resource: Resource, source_text: str) -> dict[str, Any]:
    """Everything the resource's page needs, computed once per version of its file."""
    rendered = render_markdown(resource.body, link_resolver(posixpath.dirname(resource.path)))
    return {
        "format": PAGE_FORMAT,
        "ressource": resource_to_dict(resource),
        "html": rendered.html,
        "titres": [list(h) for h in rendered.headings],
        "source": source_text,
    }


def resource_from_page(page: dict[str, Any]) -> Resource:
    return resource_from_dict(page["ressource"])


def centre_record(centre: Centre) -> dict[str, Any]:
    """What a version keeps of a centre card (centres.json), its presentation rendered."""
    html = ""
    if centre.body.strip():
        html = render_markdown(centre.body, link_resolver(centre.id)).html
    return {
        "nom": centre.nom,
        "region": centre.region,
        "site": centre.site,
        "contact": centre.contact,
        "html": html,
    }

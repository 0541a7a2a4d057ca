"""The capitalisation chain seen from one resource: the event it came from, and what an
event produced, read both ways (`productions` of the event, `issu_de` of the resource)."""

from __future__ import annotations

from dataclasses import dataclass

from kb.model import EVENT_TYPES

from ..core.catalogue import Catalogue


@dataclass(frozen=True)
class Chain:
    sources: list[dict]  # events this resource came from
    productions: list[dict]  # resources an event produced

    def __bool__(self) -> bool:
        return bool(self.sources or self.productions)


def chain_of(catalogue: Catalogue, meta: dict | None) -> Chain:
    """Published resources only: a link to a draft or a removed file is left out."""
    if meta is None:
        return Chain([], [])
    resource_id = meta["id"]
    named = [meta.get("issu_de")] if meta.get("issu_de") else []
    named += list(meta.get("productions") or ())
    found = catalogue.metadata_of(named)
    linking = catalogue.index.linked(resource_id)
    sources: dict[str, dict] = {}
    productions: dict[str, dict] = {}
    if meta.get("issu_de") in found:
        sources[meta["issu_de"]] = found[meta["issu_de"]]
    for target in meta.get("productions") or ():
        if target in found:
            productions[target] = found[target]
    for other in linking:
        if other.get("issu_de") == resource_id:
            productions.setdefault(other["id"], other)
        if resource_id in (other.get("productions") or ()) and other["type"] in EVENT_TYPES:
            sources.setdefault(other["id"], other)
    return Chain(list(sources.values()), list(productions.values()))

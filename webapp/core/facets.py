"""The filter panel of a search: facet values that know their count, whether they are
selected, and the URL that toggles them; and the active filters, each removable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from indexer.documents import FILTER_KEYS
from indexer.keys import FILTER_NAMES
from indexer.search import SearchResult

from .params import FACET_TITLES, SearchParams, year_label

VISIBLE_VALUES = 6


@dataclass(frozen=True)
class FacetLink:
    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass(frozen=True)
class FacetGroup:
    key: str
    title: str
    visible: list[FacetLink]
    more: list[FacetLink]  # shown on request (a <details> element)

    @property
    def selected_count(self) -> int:
        return sum(1 for v in self.visible + self.more if v.selected)


@dataclass(frozen=True)
class ActiveFilter:
    key: str
    name: str  # "Thématique"
    value: str
    label: str  # "Éducation"
    remove_url: str


def facet_groups(result: SearchResult, params: SearchParams, path: str) -> list[FacetGroup]:
    groups = []
    for key in FILTER_KEYS:
        values = result.facets.get(key) or []
        if not values:
            continue
        links = [
            FacetLink(
                v.valeur,
                year_label(v.valeur) if key == "annee" else v.libelle,
                v.nombre,
                v.selected,
                params.toggled(key, v.valeur).url(path),
            )
            for v in values
        ]
        visible = [link for i, link in enumerate(links) if i < VISIBLE_VALUES or link.selected]
        more = [link for i, link in enumerate(links) if i >= VISIBLE_VALUES and not link.selected]
        groups.append(FacetGroup(key, FACET_TITLES[key], visible, more))
    return groups


def active_filters(
    params: SearchParams, label: Callable[[str, str], str], path: str
) -> list[ActiveFilter]:
    active = []
    for key in FILTER_KEYS:
        for value in params.filters.get(key, ()):
            text = year_label(value) if key == "annee" else label(key, value)
            active.append(
                ActiveFilter(
                    key, FILTER_NAMES[key], value, text, params.without(key, value).url(path)
                )
            )
    return active


def search_summary(params: SearchParams, label: Callable[[str, str], str]) -> str:
    """A search in words, for feed and list titles: `« mots » ; Thématique : Mobilité`."""
    parts = [f"« {params.q} »"] if params.q else []
    parts += [f"{f.name} : {f.label}" for f in active_filters(params, label, "")]
    return " ; ".join(parts)

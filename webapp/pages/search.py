"""`/recherche`: full-text search with facets, sort and pagination."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import Blueprint, render_template, request, url_for

from indexer.search import SORTS, SearchResult

from ..core.catalogue import current_catalogue
from ..core.errors import PageOutOfRange
from ..core.facets import ActiveFilter, FacetGroup, active_filters, facet_groups
from ..core.pagination import Pagination, paginate
from ..core.params import DEFAULT_SORT, SORT_LABELS, SearchParams, parse_search_args

bp = Blueprint("search", __name__)

PER_PAGE = 10
PATH = "/recherche"


@dataclass(frozen=True)
class SortLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class SearchPage:
    """Everything the results page shows, built from one `SearchResult`."""

    params: SearchParams
    result: SearchResult
    facets: list[FacetGroup]
    active: list[ActiveFilter]
    pagination: Pagination
    sorts: list[SortLink]
    suggestion_url: str | None
    clear_filters_url: str
    # When no resource holds every word: the same search without each word in turn, and the
    # pillars to browse instead.
    fewer_words: list[Link] = field(default_factory=list)
    pillars: list[Link] = field(default_factory=list)

    @property
    def first_number(self) -> int:
        return (self.params.page - 1) * PER_PAGE + 1

    @property
    def hidden_inputs(self) -> list[tuple[str, str]]:
        """Filters and sort, kept when a new query is typed in the box."""
        return [(k, v) for k, v in self.params.query_items() if k not in ("q", "page")]

    @property
    def feed_url(self) -> str:
        """The Atom feed of this search (any page of results: the feed starts at its first)."""
        return replace(self.params, sort=DEFAULT_SORT, page=1).url("/recherche.atom")

    @property
    def api_url(self) -> str:
        return self.params.url("/api/v1/recherche")

    @property
    def statistics_url(self) -> str:
        """The statistics of the same search (every page of it)."""
        return replace(self.params, sort=DEFAULT_SORT, page=1).url("/statistiques")

    @property
    def title(self) -> str:
        if self.params.q:
            title = f"« {self.params.q} »"
        elif self.params.has_filters:
            title = "Ressources filtrées"
        else:
            title = "Toutes les ressources"
        if self.params.page > 1:
            title += f", page {self.params.page}"
        return title


def build_page(params: SearchParams, result: SearchResult) -> SearchPage:
    catalogue = current_catalogue()
    suggestion_url = None
    if result.suggestion and not result.corrected:
        suggestion_url = params.with_query(result.suggestion).url(PATH)
    return SearchPage(
        params=params,
        result=result,
        facets=facet_groups(result, params, PATH),
        active=active_filters(params, catalogue.label, PATH),
        pagination=paginate(params.page, result.pages, lambda n: params.with_page(n).url(PATH)),
        sorts=[
            SortLink(SORT_LABELS[sort], params.with_sort(sort).url(PATH), sort == params.sort)
            for sort in SORTS
        ],
        suggestion_url=suggestion_url,
        clear_filters_url=params.without_filters().url(PATH),
        fewer_words=_fewer_words(params, result),
        pillars=[
            Link(term.libelle, url_for("browse.pilier", term_id=term.id))
            for term in catalogue.vocabularies.piliers
        ]
        if result.total == 0
        else [],
    )


def _fewer_words(params: SearchParams, result: SearchResult) -> list[Link]:
    """For a query of several words that no resource answers in full: the same query
    without each word, among those that still find something."""
    if not result.nothing_matches_every_word:
        return []
    links = []
    for word in result.words:
        others = " ".join(w for w in result.words if w != word)
        links.append(Link(word, params.with_query(others).url(PATH)))
    return links


@bp.get(PATH)
def results():
    catalogue = current_catalogue()
    params = parse_search_args(request.args, catalogue.known_values)
    result = catalogue.search(replace(params.request(PER_PAGE), collapse=True))
    if params.page > result.pages:
        raise PageOutOfRange(params.page, result.pages, params.with_page(result.pages).url(PATH))
    return render_template("search/results.html", page=build_page(params, result))

"""Search parameters: read and checked from a query string, and turned back into URLs.

The same parameters serve `/recherche`, its Atom feed `/recherche.atom`, the API's
`/api/v1/recherche` and the embeddable list `/integrer`: `q`, the filter keys of the index
(`indexer.documents.FILTER_KEYS`, each repeatable or comma-separated), `tri` and `page`
(the API and the embed add a count of their own: `extra`, read with `read_count`). Every
problem gives a French message; nothing here raises anything but `InvalidParameters`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from indexer.documents import FILTER_KEYS
from indexer.query import MAX_QUERY_LENGTH
from indexer.search import SORTS, SearchRequest, normalise_filters
from kb.french import plural

DEFAULT_SORT = "pertinence"
MAX_PAGE = 999_999
MAX_VALUES_PER_FILTER = 20
MAX_MESSAGES = 5

# Facet titles (the filter panel) and the name of one filter (the active filter chips).
FACET_TITLES = {
    "piliers": "Piliers",
    "thematiques": "Thématiques",
    "dispositifs": "Dispositifs",
    "publics": "Publics",
    "type": "Types de ressource",
    "format": "Formats d'événement",
    "mode": "Modes de participation",
    "centre": "Centres de ressources",
    "region": "Régions",
    "departement": "Départements",
    "commune": "Communes",
    "epci": "Intercommunalités (EPCI)",
    "qpv": "Quartiers prioritaires",
    "annee": "Années de publication",
}
SORT_LABELS = {
    "pertinence": "pertinence",
    "date": "date de la fiche (plus récentes d'abord)",
    "ajout": "ajout à la base (derniers ajouts d'abord)",
}

# Campaign tags that newsletters add to links: ignored rather than refused, so that a
# partner's link keeps working.
_TRACKING = re.compile(r"^(?:utm_|mtm_|pk_)|^(?:fbclid|gclid|msclkid|xtor)$")
_YEAR = re.compile(r"^\d{4}$")
_YEAR_RANGE = re.compile(r"^(\d{4})?-(\d{4})?$")


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = DEFAULT_SORT
    page: int = 1

    @property
    def has_filters(self) -> bool:
        return any(self.filters.values())

    def request(self, per_page: int) -> SearchRequest:
        return SearchRequest(
            q=self.q,
            filters=dict(self.filters),
            sort=self.sort,
            page=self.page,
            per_page=per_page,
        )

    def query_items(self) -> list[tuple[str, str]]:
        """Parameters in a stable order, defaults left out."""
        items: list[tuple[str, str]] = []
        if self.q:
            items.append(("q", self.q))
        for key in FILTER_KEYS:
            items += [(key, value) for value in self.filters.get(key, ())]
        if self.sort != DEFAULT_SORT:
            items.append(("tri", self.sort))
        if self.page != 1:
            items.append(("page", str(self.page)))
        return items

    def query_string(self) -> str:
        return urlencode(self.query_items())

    def url(self, path: str = "/recherche") -> str:
        query = self.query_string()
        return f"{path}?{query}" if query else path

    # --- derived searches (a new filter or sort always starts again at page 1)

    def with_page(self, page: int) -> SearchParams:
        return replace(self, page=page)

    def with_sort(self, sort: str) -> SearchParams:
        return replace(self, sort=sort, page=1)

    def with_query(self, q: str) -> SearchParams:
        return replace(self, q=q, page=1)

    def toggled(self, key: str, value: str) -> SearchParams:
        values = list(self.filters.get(key, ()))
        if value in values:
            values.remove(value)
        else:
            values.append(value)
        return self._with_filter(key, tuple(values))

    def without(self, key: str, value: str | None = None) -> SearchParams:
        kept = () if value is None else tuple(v for v in self.filters.get(key, ()) if v != value)
        return self._with_filter(key, kept)

    def without_filters(self) -> SearchParams:
        return replace(self, filters={}, page=1)

    def _with_filter(self, key: str, values: tuple[str, ...]) -> SearchParams:
        filters = {k: v for k, v in self.filters.items() if k != key}
        if values:
            filters[key] = values
        ordered = {k: filters[k] for k in FILTER_KEYS if k in filters}
        return replace(self, filters=ordered, page=1)


class InvalidParameters(Exception):
    """Parameters that cannot be used. `usable` is the same search without them."""

    def __init__(self, messages: list[str], usable: SearchParams) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.usable = usable


def year_label(value: str) -> str:
    """`2018-2022` -> `de 2018 à 2022`, `-2019` -> `jusqu'à 2019`, `2021-` -> `depuis 2021`."""
    match = _YEAR_RANGE.match(value)
    if not match:
        return value
    low, high = match.groups()
    if low and high:
        return f"de {low} à {high}"
    return f"depuis {low}" if low else f"jusqu'à {high}"


def _check_year(value: str) -> str | None:
    if _YEAR.match(value):
        return None
    match = _YEAR_RANGE.match(value)
    if not match or match.groups() == (None, None):
        return (
            f"année invalide « {_shown(value)} » : indiquez une année (2021) ou une période "
            "(2018-2022, -2019, 2021-)"
        )
    low, high = match.groups()
    if low and high and int(low) > int(high):
        return f"période invalide « {_shown(value)} » : la première année doit précéder la seconde"
    return None


def printable(text: str) -> str:
    """Text without control or format characters (they have no place in a page), NFC."""
    text = unicodedata.normalize("NFC", text)
    return "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)


def _shown(value: str, limit: int = 40) -> str:
    """A user-supplied value as quoted in a message: printable and short."""
    value = " ".join(printable(value).split())
    return value if len(value) <= limit else value[:limit] + "…"


def _single(args: MultiDict, name: str, messages: list[str]) -> str:
    values = args.getlist(name)
    if len(values) > 1 and len(set(values)) > 1:
        messages.append(f"le paramètre « {name} » est donné plusieurs fois")
    return values[0] if values else ""


def _check_names(args: MultiDict, accepted: tuple[str, ...], messages: list[str]) -> None:
    unknown = [name for name in args if name not in accepted and not _TRACKING.match(name)]
    for name in unknown[:MAX_MESSAGES]:
        messages.append(
            f"paramètre inconnu « {_shown(name)} » (paramètres acceptés : {', '.join(accepted)})"
        )
    if len(unknown) > MAX_MESSAGES:
        others = len(unknown) - MAX_MESSAGES
        messages.append(
            f"et {plural(others, 'autre paramètre inconnu', 'autres paramètres inconnus')}"
        )


def whole_number(raw: str, maximum: int) -> int | None:
    """`raw` as a whole number between 0 and `maximum`, or None. The length is checked
    before converting: Python refuses to convert more than 4,300 digits (a 500 error)."""
    if not raw.isascii() or not raw.isdigit():
        return None
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


def _page(args: MultiDict, messages: list[str]) -> int:
    raw = _single(args, "page", messages).strip()
    if not raw:
        return 1
    page = whole_number(raw, MAX_PAGE)
    if page is None:
        messages.append(
            "le numéro de page doit être un nombre entier entre 1 et "
            + f"{MAX_PAGE:,}".replace(",", "\u202f")
        )
    elif page < 1:
        messages.append("le numéro de page doit être au moins 1")
    else:
        return page
    return 1


def parse_search_args(
    args: MultiDict,
    known_values: Callable[[str], Container[str]],
    filter_keys: Iterable[str] = FILTER_KEYS,
    extra: tuple[str, ...] = (),
) -> SearchParams:
    """Read a query string; raise `InvalidParameters` (French messages) when it is not usable.

    `known_values(key)` gives the accepted values of a filter (vocabulary, centres).
    `filter_keys` narrows the filters a page accepts (browse pages take none).
    `extra` names parameters that the caller reads itself (`read_count`).
    """
    messages: list[str] = []
    filter_keys = tuple(filter_keys)
    _check_names(args, ("q", *filter_keys, "tri", "page", *extra), messages)

    q = " ".join(printable(_single(args, "q", messages)).split())
    if len(q) > MAX_QUERY_LENGTH:
        messages.append(
            f"la recherche est trop longue ({len(q)} caractères ; {MAX_QUERY_LENGTH} au plus) : "
            "raccourcissez-la"
        )
        q = q[:MAX_QUERY_LENGTH].rsplit(" ", 1)[0]

    sort = _single(args, "tri", messages).strip() or DEFAULT_SORT
    if sort not in SORTS:
        messages.append(
            f"tri inconnu « {_shown(sort)} » : choisissez " + " ou ".join(f"« {s} »" for s in SORTS)
        )
        sort = DEFAULT_SORT

    page = _page(args, messages)

    raw_filters = {key: args.getlist(key) for key in filter_keys if key in args}
    filters: dict[str, tuple[str, ...]] = {}
    for key, values in normalise_filters(raw_filters).items():
        if len(values) > MAX_VALUES_PER_FILTER:
            messages.append(
                f"trop de valeurs pour le filtre « {key} » ({MAX_VALUES_PER_FILTER} au plus)"
            )
            values = values[:MAX_VALUES_PER_FILTER]
        kept = []
        for value in values:
            if key == "annee":
                problem = _check_year(value)
            elif value not in known_values(key):
                problem = f"valeur inconnue « {_shown(value)} » pour le filtre « {key} »"
            else:
                problem = None
            if problem:
                messages.append(problem)
            else:
                kept.append(value)
        if kept:
            filters[key] = tuple(kept)

    params = SearchParams(q=q, filters=filters, sort=sort, page=page if not messages else 1)
    if messages:
        raise InvalidParameters(messages, params)
    return SearchParams(q=q, filters=filters, sort=sort, page=page)


def read_count(args: MultiDict, name: str, default: int, maximum: int, messages: list[str]) -> int:
    """A whole number between 1 and `maximum` (results per page, items in a list); a
    problem is added to `messages` and `default` returned."""
    raw = _single(args, name, messages).strip()
    if not raw:
        return default
    number = whole_number(raw, maximum)
    if number is not None and number >= 1:
        return number
    messages.append(f"le paramètre « {name} » doit être un nombre entier entre 1 et {maximum}")
    return default


def parse_page_args(args: MultiDict) -> int:
    """The `page` of a plain listing (browse pages), its only parameter."""
    messages: list[str] = []
    _check_names(args, ("page",), messages)
    page = _page(args, messages)
    if messages:
        raise InvalidParameters(messages, SearchParams())
    return page

"""Page links for listings: previous, next, and a window of numbers around the current one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True)
class Pagination:
    page: int
    pages: int
    links: list[PageLink | None]  # None: a gap (…)
    previous_url: str | None
    next_url: str | None

    @property
    def is_needed(self) -> bool:
        return self.pages > 1


def paginate(page: int, pages: int, url_for_page: Callable[[int], str], window: int = 2):
    shown = {1, pages} | set(range(max(1, page - window), min(pages, page + window) + 1))
    links: list[PageLink | None] = []
    previous = 0
    for number in sorted(shown):
        if number - previous > 1:
            links.append(None)
        links.append(PageLink(number, url_for_page(number), number == page))
        previous = number
    return Pagination(
        page=page,
        pages=pages,
        links=links,
        previous_url=url_for_page(page - 1) if page > 1 else None,
        next_url=url_for_page(page + 1) if page < pages else None,
    )

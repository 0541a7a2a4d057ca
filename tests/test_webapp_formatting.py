"""French formatting of values, page links, and the search parameters' URLs."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.model import Periode
from webapp.core.formatting import (
    date_fr,
    file_kind,
    filesize_fr,
    periode_fr,
    plural,
    typography_fr,
)
from webapp.core.pagination import paginate


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2017, 10, 10), "10\u00a0octobre 2017"),
        ("2024-02-01", "1er\u00a0février 2024"),
        ("2021-08-31T10:00:00", "31\u00a0août 2021"),
        (None, ""),
        ("pas une date", "pas une date"),
    ],
)
def test_dates(value, expected):
    assert date_fr(value) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0\u00a0ressource"),
        (1, "1\u00a0ressource"),
        (2, "2\u00a0ressources"),
        (12345, "12\u202f345\u00a0ressources"),
    ],
)
def test_plurals_follow_french_rules(count, expected):
    assert plural(count, "ressource") == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0\u00a0octet"),
        (999, "999\u00a0octets"),
        (1500, "1,5\u00a0ko"),
        (123_456, "123\u00a0ko"),
        (2_400_000, "2,4\u00a0Mo"),
        (5_000_000_000, "5,0\u00a0Go"),
    ],
)
def test_file_sizes(size, expected):
    assert filesize_fr(size) == expected


def test_file_kinds():
    assert file_kind("PDF") == "document PDF"
    assert file_kind("xyz") == "XYZ"


def test_periods():
    assert periode_fr(Periode(2018, 2020)) == "de 2018 à 2020"
    assert periode_fr(Periode(dt.date(2021, 3, 1), None)) == "depuis 1er\u00a0mars 2021"
    assert periode_fr(Periode(None, 2019)) == "jusqu'à 2019"
    assert periode_fr(None) == ""


def test_french_typography():
    assert typography_fr("Bilan : « oui » ; non ! vraiment ?") == (
        "Bilan\u00a0: «\u00a0oui\u00a0»\u202f; non\u202f! vraiment\u202f?"
    )


def test_pagination_window():
    pages = paginate(6, 12, lambda n: f"?page={n}")
    numbers = [link.number if link else None for link in pages.links]
    assert numbers == [1, None, 4, 5, 6, 7, 8, None, 12]
    assert pages.previous_url == "?page=5" and pages.next_url == "?page=7"
    assert [link.number for link in pages.links if link and link.current] == [6]
    single = paginate(1, 1, str)
    assert not single.is_needed and single.previous_url is None and single.next_url is None

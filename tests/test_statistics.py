"""Statistics counted by indexer/statistics.py, against counts made here from the files
themselves (YAML front matter read with PyYAML, headings found by a regular expression),
not through the loader or the index."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.corpus import CorpusGenerator
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from indexer.statistics import compute, local_years
from kb.schema import RECOMMENDED_SECTIONS, SECTION_TYPES, SUMMARY_LENGTH

RESOURCES = 150
CENTRES = 4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, SearchIndex]:
    content = CorpusGenerator(seed=7).write(
        tmp_path_factory.mktemp("contenu"), RESOURCES, centres=CENTRES
    )
    folder = tmp_path_factory.mktemp("index")
    assert Indexer(content, folder).rebuild().ok
    index = SearchIndex(folder)
    yield content, index
    index.close()


def read_truth(content: Path) -> list[dict]:
    """Each resource file's facts, straight from its text."""
    facts = []
    regions = {}
    for card in content.glob("*/_centre.md"):
        regions[card.parent.name] = yaml.safe_load(card.read_text().split("---")[1])["region"]
    for path in sorted(content.glob("*/**/*.md")):
        if path.name == "_centre.md":
            continue
        text = path.read_text(encoding="utf-8")
        _, header, body = text.split("---\n", 2)
        data = yaml.safe_load(header)
        territory = data.get("territoire") or {}
        headings = {line[3:].strip() for line in body.splitlines() if re.match(r"^## ", line)}
        centre = path.relative_to(content).parts[0]
        facts.append(
            {
                "centre": centre,
                "piliers": data["piliers"],
                "thematiques": data.get("thematiques") or [],
                "type": [data["type"]],
                "annee": [str(data["date"].year)],
                "region": [str(territory.get("region") or regions[centre])],
                "departement": [str(territory["departement"])]
                if "departement" in territory
                else [],
                "territoire": bool(territory),
                "sections_expected": data["type"] in SECTION_TYPES,
                "sections": set(RECOMMENDED_SECTIONS) <= headings,
                "summary": SUMMARY_LENGTH[0] <= len(data["resume"]) <= SUMMARY_LENGTH[1],
            }
        )
    return facts


def tally(facts: list[dict], key: str) -> dict[str, int]:
    counter: Counter[str] = Counter()
    for fact in facts:
        values = fact[key] if isinstance(fact[key], list) else [fact[key]]
        counter.update(set(values))
    return dict(counter)


def as_dict(stats, axis: str) -> dict[str, int]:
    return {c.value: c.count for c in stats.counts[axis].values}


def test_counts_match_the_files(corpus):
    content, index = corpus
    facts = read_truth(content)
    assert len(facts) == RESOURCES
    stats = compute(index, SearchRequest())
    assert stats.total == RESOURCES
    for axis in ("centre", "piliers", "thematiques", "type", "annee", "region", "departement"):
        assert as_dict(stats, axis) == tally(facts, axis), axis
    # Everything was indexed just now: it all entered the base this year.
    this_year = str(dt.datetime.now(dt.UTC).year)
    assert as_dict(stats, "entree") in (
        {this_year: RESOURCES},
        {str(int(this_year) + 1): RESOURCES},
    )


def test_multi_valued_fields_count_each_resource_once_per_value(corpus):
    content, index = corpus
    facts = read_truth(content)
    stats = compute(index, SearchRequest())
    several = sum(1 for f in facts if len(f["piliers"]) > 1)
    assert several > 0
    # Once in the total, once under each of its pillars: the values add up to more.
    assert stats.counts["piliers"].sum == sum(len(set(f["piliers"])) for f in facts)
    assert stats.counts["piliers"].sum == stats.total + several
    assert stats.counts["piliers"].missing == 0
    assert stats.counts["departement"].missing == sum(1 for f in facts if not f["departement"])


def test_filters_narrow_the_statistics_like_the_search(corpus):
    content, index = corpus
    facts = read_truth(content)
    pillar = facts[0]["piliers"][0]
    chosen = [f for f in facts if f["centre"] == "centre-01" and pillar in f["piliers"]]
    request = SearchRequest(filters={"centre": ("centre-01",), "piliers": (pillar,)})
    stats = compute(index, request)
    assert stats.total == len(chosen) == index.search(request).total
    assert as_dict(stats, "thematiques") == tally(chosen, "thematiques")
    assert as_dict(stats, "annee") == tally(chosen, "annee")
    # A full-text query: the same resources as /recherche finds.
    text_request = SearchRequest(q="quartier")
    assert compute(index, text_request).total == index.search(text_request).total


def test_trends_cross_pillars_with_years(corpus):
    content, index = corpus
    facts = read_truth(content)
    stats = compute(index, SearchRequest())
    table = stats.trends["piliers"]
    truth: dict[tuple[str, str], int] = defaultdict(int)
    for fact in facts:
        for pillar in set(fact["piliers"]):
            truth[pillar, fact["annee"][0]] += 1
    years = [c.value for c in table.columns]
    assert years == sorted(tally(facts, "annee"))
    for row, cells in zip(table.rows, table.cells, strict=True):
        assert cells == [truth.get((row.value, year), 0) for year in years]
        assert row.count == tally(facts, "piliers")[row.value]


def test_quality_per_centre(corpus):
    content, index = corpus
    facts = read_truth(content)
    stats = compute(index, SearchRequest())
    rows = {row.centre: row for row in stats.quality}
    assert set(rows) == {f"centre-{n:02d}" for n in range(CENTRES)}
    for centre, row in rows.items():
        mine = [f for f in facts if f["centre"] == centre]
        assert row.total == len(mine)
        assert row.with_territory == sum(f["territoire"] for f in mine)
        assert row.sections_expected == sum(f["sections_expected"] for f in mine)
        assert row.with_sections == sum(f["sections_expected"] and f["sections"] for f in mine)
        assert row.with_summary == sum(f["summary"] for f in mine)
    assert (
        0
        < sum(r.with_sections for r in rows.values())
        < sum(r.sections_expected for r in rows.values())
    )


def test_resources_listed_by_date(corpus):
    content, index = corpus
    stats = compute(index, SearchRequest(filters={"centre": ("centre-02",)}), with_resources=True)
    assert len(stats.resources) == stats.total
    dates = [meta["date"] for meta in stats.resources]
    assert dates == sorted(dates)
    assert {meta["centre"] for meta in stats.resources} == {"centre-02"}


def test_entry_year_narrows_the_selection(corpus):
    _, index = corpus
    everything = compute(index, SearchRequest())
    year = everything.counts["entree"].values[0].value
    assert compute(index, SearchRequest(), entry_years=(year,)).total == everything.total
    assert compute(index, SearchRequest(), entry_years=("1990-1999",)).total == 0
    by_entry = compute(index, SearchRequest(), year_axis="entree")
    assert [c.value for c in by_entry.trends["piliers"].columns] == [year]


def test_entry_years_are_years_in_france():
    def seconds(*moment: int) -> int:
        return int(dt.datetime(*moment, tzinfo=dt.UTC).timestamp())

    moments = np.array(
        [seconds(2025, 12, 31, 23, 30), seconds(2025, 12, 31, 22, 59), seconds(2025, 6, 30, 23)]
    )
    assert local_years(moments).tolist() == [2026, 2025, 2025]

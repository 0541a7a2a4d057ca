"""The relevance benchmark (bench/relevance.py) on the demo base: figures never fall below
those recorded in docs/recherche.md."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import relevance
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest

ROOT = Path(__file__).parent.parent
QUERIES = relevance.load_queries(relevance.QUERIES)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> SearchIndex:
    content = tmp_path_factory.mktemp("contenu") / "content"
    shutil.copytree(ROOT / "content", content)
    folder = tmp_path_factory.mktemp("index")
    assert Indexer(content, folder).update().ok
    index = SearchIndex(folder)
    yield index
    index.close()


def test_the_query_set_covers_every_kind(demo):
    assert len(QUERIES) >= 80
    kinds = {q.kind for q in QUERIES}
    assert kinds == set(relevance.KINDS)
    for kind in relevance.KINDS:
        assert sum(q.kind == kind for q in QUERIES) >= 8, kind


def test_every_graded_resource_is_published_in_the_demo_base(demo):
    graded = {resource_id for q in QUERIES for resource_id in q.grades}
    unknown = sorted(i for i in graded if demo.get(i) is None)
    assert unknown == []
    assert all(1 <= g <= 3 for q in QUERIES for g in q.grades.values())
    assert all(q.grades for q in QUERIES if q.kind != relevance.NO_ANSWER)
    assert not any(q.grades for q in QUERIES if q.kind == relevance.NO_ANSWER)


def test_figures_do_not_fall_below_those_recorded(demo):
    recorded = relevance.recorded((ROOT / "docs" / "recherche.md").read_text(encoding="utf-8"))
    measured = relevance.evaluate(demo, QUERIES).by_kind()
    assert set(recorded) == set(measured)
    for kind, (_, ndcg, recall) in measured.items():
        best_ndcg, best_recall = recorded[kind]
        assert round(ndcg, 3) >= best_ndcg, (kind, "nDCG@10", ndcg, best_ndcg)
        assert round(recall, 3) >= best_recall, (kind, "rappel@10", recall, best_recall)


def test_queries_without_answer_give_no_main_results(demo):
    for graded in QUERIES:
        if graded.kind == relevance.NO_ANSWER:
            result = demo.search(SearchRequest(q=graded.q, filters=graded.filters))
            assert result.total == 0 and result.hits == [], graded.q


def test_ndcg_and_recall():
    grades = {"a": 3, "b": 1}
    assert relevance.ndcg(["a", "b"], grades) == 1.0
    assert 0 < relevance.ndcg(["b", "a"], grades) < 1.0
    assert relevance.ndcg(["x", "a"], grades) < relevance.ndcg(["a", "x"], grades)
    assert relevance.recall(["a", "x"], grades) == 0.5
    assert relevance.ndcg([], {}) == relevance.recall([], {}) == 1.0  # nothing to find
    assert relevance.ndcg(["x"], {}) == relevance.recall(["x"], {}) == 0.0


def test_the_command_prints_figures_by_kind(capsys):
    assert relevance.main(["--queries", str(relevance.QUERIES)]) == 0
    out = capsys.readouterr().out
    for kind in (*relevance.KINDS, "ensemble"):
        assert f"| {kind} |" in out

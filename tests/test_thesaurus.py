"""The thesaurus (kb/vocabularies/thesaurus.yaml): one test per class, word families, and
the paraphrases of issue 14 found in the demo base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.analysis import terms
from indexer.build import Indexer
from indexer.glossary import glossary, thesaurus_concept
from indexer.search import SearchIndex, SearchRequest
from kb.vocabulary import load_vocabularies

VOCABULARIES = load_vocabularies()
CLASSES = list(enumerate(VOCABULARIES.thesaurus))
DEMO = Path(__file__).parent.parent / "content"


def test_at_least_150_classes_each_with_a_known_source():
    assert len(VOCABULARIES.thesaurus) >= 150
    assert len(VOCABULARIES.thesaurus_sources) == len(VOCABULARIES.thesaurus)
    assert set(VOCABULARIES.thesaurus_sources) <= set(VOCABULARIES.sources)
    assert all(VOCABULARIES.sources.values())


@pytest.mark.parametrize(("number", "group"), CLASSES, ids=[group[0] for _, group in CLASSES])
def test_class_expressions_find_each_other(number, group):
    """A text written with any expression of the class carries the class's concept, and a
    query made of any other expression of the class asks for it."""
    concept = thesaurus_concept(number)
    assert len(group) >= 2
    for written in group:
        assert terms(written), f"« {written} » ne contient que des mots vides"
        assert concept in glossary().concepts(terms(f"Un texte sur {written} ici.")), written
    for typed in group:
        asked = {e.concept for e in glossary().expand(typed) if e.concept}
        assert concept in asked, typed


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> SearchIndex:
    folder = tmp_path_factory.mktemp("index")
    content = tmp_path_factory.mktemp("contenu") / "content"
    shutil.copytree(DEMO, content)
    assert Indexer(content, folder).update().ok
    index = SearchIndex(folder)
    yield index
    index.close()


def top(index: SearchIndex, q: str, count: int = 3) -> list[str]:
    return [h.id for h in index.search(SearchRequest(q=q, per_page=count)).hits]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("potagers collectifs", "crpv-demo-nord/jardins-partages-transition"),
        ("monter sa boîte", "crpv-demo-occitanie/citeslab-creation-entreprise"),
        ("passer le code de la route", "crpv-demo-occitanie/auto-ecole-sociale"),
        ("souffrance psychique", "crpv-demo-idf/atelier-sante-ville-sante-mentale"),
        ("rupture scolaire", "crpv-demo-nord/programme-reussite-educative-decrochage"),
        ("logement insalubre", "crpv-demo-reunion/habitat-indigne-resorption-insalubrite"),
        ("médiatrices", "crpv-demo-aura/mediation-sante-femmes"),
    ],
)
def test_paraphrases_of_the_issue_find_the_resource(demo, q, expected):
    assert expected in top(demo, q), top(demo, q, 10)

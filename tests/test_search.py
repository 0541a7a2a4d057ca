"""French search behaviour on a small fixture corpus (tests/fixtures/recherche)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.analysis import terms
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest

CORPUS = Path(__file__).parent / "fixtures" / "recherche"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    # Built in two steps, so that the index has several segments (as after publications).
    folder = tmp_path_factory.mktemp("index")
    content = tmp_path_factory.mktemp("contenu") / "recherche"
    shutil.copytree(CORPUS, content)
    later = sorted(content.glob("centre-b/*.md"))
    held_back = {path: path.read_bytes() for path in later}
    for path in later:
        path.unlink()
    indexer = Indexer(content, folder)
    assert indexer.update().ok
    for path, data in held_back.items():
        path.write_bytes(data)
    report = indexer.update([p.relative_to(content).as_posix() for p in later])
    assert report.ok, report.problems
    assert len(report.added) == len([p for p in later if p.name != "_centre.md"])
    search_index = SearchIndex(folder)
    yield search_index
    search_index.close()


def ids(index: SearchIndex, q: str = "", **options) -> list[str]:
    filters = {
        k: tuple(v) if isinstance(v, list) else (v,) for k, v in options.pop("filters", {}).items()
    }
    result = index.search(SearchRequest(q=q, filters=filters, per_page=100, **options))
    return [hit.id for hit in result.hits]


# --- analysis -------------------------------------------------------------------------------


def test_analysis_folds_accents_before_stemming():
    assert terms("sécurité") == terms("securite") == terms("SÉCURITÉ")
    assert terms("éducative") == terms("educative")


def test_analysis_splits_elisions_with_both_apostrophes():
    assert terms("l'insertion") == terms("l’insertion") == terms("insertion")
    assert terms("qu'elle") == terms("elle") == []  # "elle" is a stop word
    assert terms("d'été") == terms("été")


def test_analysis_keeps_ete_and_drops_french_stop_words_only():
    assert terms("été") == ["ete"]
    assert terms("le la les des du de") == []
    assert terms("the and") == ["the", "and"]  # no English stop words


def test_analysis_stems_plural_and_singular_alike():
    assert terms("quartiers") == terms("quartier")
    assert terms("jeunes") == terms("jeune")


# --- French queries ---------------------------------------------------------------------------


def test_query_without_accents_finds_accented_text(index):
    assert "centre-b/securite-quotidien" in ids(index, "securite")
    assert "centre-a/decrochage-college" in ids(index, "decrochage college")


def test_singular_query_finds_plural_text(index):
    assert "centre-a/decrochage-college" in ids(index, "collegien")
    assert "centre-b/insertion-jeunes" in ids(index, "jeunes")


def test_elision_in_query_and_text(index):
    found = ids(index, "l'insertion")
    assert found[0] == "centre-b/insertion-jeunes"
    assert ids(index, "l’insertion") == found


def test_title_ranks_above_body(index):
    # "sécurité" is in the title of one resource and only in the body of none other.
    assert ids(index, "sécurité quotidien")[0] == "centre-b/securite-quotidien"


def test_acronym_in_capitals_finds_full_name(index):
    found = ids(index, "PRE")
    assert "centre-a/reussite-educative-sans-sigle" in found  # full name only
    assert "centre-a/pre-sigle-seul" in found  # acronym in the text
    assert "centre-a/decrochage-college" in found  # tagged with the dispositif


def test_full_name_finds_acronym(index):
    found = ids(index, "programme de réussite éducative")
    assert "centre-a/pre-sigle-seul" in found


def test_relogement_npnru_finds_both_spellings(index):
    found = ids(index, "relogement NPNRU")
    assert found[:2] == [
        "centre-a/renouvellement-npnru",
        "centre-a/renouvellement-nom-complet",
    ] or set(found[:2]) == {"centre-a/renouvellement-npnru", "centre-a/renouvellement-nom-complet"}


def test_ordinary_word_is_not_expanded_as_acronym(index):
    found = ids(index, "pré")
    assert found == ["centre-b/prairie"]
    assert "centre-a/reussite-educative-sans-sigle" not in ids(index, "pre")


def test_ambiguous_acronym_expands_with_context(index):
    assert "centre-a/reussite-educative-sans-sigle" in ids(index, "pre enfants")
    assert "centre-a/reussite-educative-sans-sigle" in ids(index, "pre educatif")


def test_older_name_of_a_dispositif(index):
    assert "centre-b/gestion-proximite" in ids(index, "GUSP")
    assert "centre-b/gestion-proximite" in ids(index, "gusp")  # unambiguous: any case


def test_thesaurus_finds_equivalent_with_lower_weight(index):
    found = ids(index, "tranquillité publique")
    assert found[0] == "centre-b/tranquillite"
    assert "centre-b/securite-quotidien" in found  # via « sécurité du quotidien »


def test_ete_is_searchable(index):
    assert "centre-b/quartiers-ete" in ids(index, "été")


def test_phrase_query_must_match_as_phrase(index):
    assert ids(index, '"sécurité du quotidien"') == ["centre-b/securite-quotidien"]
    assert ids(index, '"quotidien sécurité"') == []


def test_drafts_are_never_found(index):
    assert ids(index, "zythogramme") == []
    assert "centre-a/brouillon" not in ids(index, "")


def test_typo_suggestion_has_accents(index):
    # Stemming already forgives this typo: results are found, and the spelling is offered.
    result = index.search(SearchRequest(q="renouvelement"))
    assert result.suggestion == "renouvellement"
    assert result.corrected is False
    assert "centre-a/renouvellement-nom-complet" in [h.id for h in result.hits]


def test_query_with_no_results_returns_the_correction(index):
    result = index.search(SearchRequest(q="reusite"))
    assert result.suggestion == "réussite"
    assert result.corrected is True
    assert "centre-a/reussite-educative-sans-sigle" in [h.id for h in result.hits]
    assert result.as_json()["corrigee"] is True


def test_suggestion_keeps_known_words(index):
    result = index.search(SearchRequest(q="securiter quotidien"))
    assert result.suggestion == "sécurité quotidien"


def test_no_suggestion_when_words_are_known(index):
    assert index.search(SearchRequest(q="relogement")).suggestion is None


def test_extract_marks_matches_and_escapes(index):
    hit = index.search(SearchRequest(q="relogement")).hits[0]
    assert "<mark>relogement</mark>" in hit.extrait
    assert "<" not in hit.extrait.replace("<mark>", "").replace("</mark>", "")


# --- filters, facets, sort, pages ----------------------------------------------------------------


def test_empty_query_browses_everything_newest_first(index):
    result = index.search(SearchRequest(per_page=100))
    assert result.total == 13
    dates = [h.date for h in result.hits]
    assert dates == sorted(dates, reverse=True)


def test_filters_or_within_and_across(index):
    one = set(ids(index, filters={"piliers": "developpement-economique"}))
    assert one == {"centre-b/insertion-jeunes", "centre-a/commerce-2016", "centre-b/emploi-2024"}
    both = set(ids(index, filters={"piliers": ["developpement-economique", "cadre-de-vie"]}))
    assert one < both
    narrowed = set(
        ids(index, filters={"piliers": ["developpement-economique"], "centre": "centre-b"})
    )
    assert narrowed == {"centre-b/insertion-jeunes", "centre-b/emploi-2024"}


def test_region_falls_back_on_department_then_centre(index):
    in_76 = set(ids(index, filters={"region": "76"}))
    assert "centre-b/prairie" in in_76  # no territory: the centre's region
    assert "centre-a/renouvellement-npnru" not in in_76


def test_year_and_year_range(index):
    assert set(ids(index, filters={"annee": "2016"})) == {
        "centre-a/renouvellement-nom-complet",
        "centre-a/commerce-2016",
    }
    in_range = ids(index, filters={"annee": "2021-2022"})
    assert len(in_range) == 4
    assert ids(index, filters={"annee": "2024-"}) and all(
        h >= "2024" for h in [index.get(i)["date"] for i in ids(index, filters={"annee": "2024-"})]
    )


def test_facet_counts_cover_the_whole_result_set(index):
    result = index.search(SearchRequest(q="quartier", per_page=1))
    assert len(result.hits) == 1
    assert result.total > 1
    pillar_counts = {v.valeur: v.nombre for v in result.facets["piliers"]}
    everything = index.search(SearchRequest(q="quartier", per_page=100))
    for pillar, count in pillar_counts.items():
        assert count == sum(pillar in h.piliers for h in everything.hits)
    types = {v.valeur: v.nombre for v in result.facets["type"]}
    assert sum(types.values()) == result.total  # single-valued facet
    assert result.facets["piliers"][0].libelle in {
        "Cohésion sociale",
        "Cadre de vie et renouvellement urbain",
        "Développement de l'activité économique et de l'emploi",
    }


def test_facet_of_an_active_filter_counts_what_each_value_would_add(index):
    result = index.search(SearchRequest(filters={"piliers": ("developpement-economique",)}))
    counts = {v.valeur: (v.nombre, v.selected) for v in result.facets["piliers"]}
    assert counts["developpement-economique"] == (3, True)
    assert counts["cadre-de-vie"][1] is False and counts["cadre-de-vie"][0] > 0
    centre_counts = {v.valeur: v.nombre for v in result.facets["centre"]}
    assert centre_counts == {"centre-a": 1, "centre-b": 2}  # other facets: within the results


def test_sort_by_date(index):
    result = index.search(SearchRequest(q="quartier", sort="date", per_page=100))
    dates = [h.date for h in result.hits]
    assert dates == sorted(dates, reverse=True)


def test_pagination(index):
    first = index.search(SearchRequest(per_page=5, page=1))
    third = index.search(SearchRequest(per_page=5, page=3))
    beyond = index.search(SearchRequest(per_page=5, page=9))
    assert len(first.hits) == 5 and len(third.hits) == 3 and beyond.hits == []
    assert first.pages == 3 and beyond.total == 13


def test_unknown_filter_value_gives_no_results_not_an_error(index):
    assert index.search(SearchRequest(filters={"piliers": ("inconnu",)})).total == 0


def test_json_shape(index):
    data = index.search(SearchRequest(q="emploi")).as_json()
    assert set(data) == {
        "total",
        "ressources",
        "corrigee",
        "resultats",
        "approchants",
        "facettes",
        "suggestion",
    }
    assert set(data["resultats"][0]) == {
        "id",
        "titre",
        "url",
        "type",
        "centre",
        "date",
        "piliers",
        "resume",
        "extrait",
        "score",
        "egalement",
    }
    assert set(data["facettes"]) == {
        "piliers",
        "thematiques",
        "dispositifs",
        "publics",
        "type",
        "format",
        "mode",
        "centre",
        "region",
        "departement",
        "commune",
        "epci",
        "qpv",
        "annee",
    }
    assert set(data["facettes"]["centre"][0]) == {"valeur", "libelle", "nombre"}


# --- results that hold together ---------------------------------------------------------------


def test_every_result_matches_every_word(index):
    result = index.search(SearchRequest(q="relogement quartier", per_page=100))
    assert result.total == len(result.hits) > 0
    for hit in result.hits:
        text = (hit.titre + hit.resume + index.get(hit.id)["path"]).lower()
        assert "relog" in text or "npnru" in text or "renouvellement" in text
    anywhere = set(ids(index, "relogement")) & set(ids(index, "quartier"))
    assert set(ids(index, "relogement quartier")) == anywhere


def test_partial_matches_are_kept_apart_with_their_missing_words(index):
    result = index.search(SearchRequest(q="sécurité remontées mécaniques"))
    assert result.total == 0 and result.hits == []
    assert result.nothing_matches_every_word
    assert result.approximate, "la fiche sur la sécurité est proposée comme approchante"
    first = result.approximate[0]
    assert first.id == "centre-b/securite-quotidien"
    assert first.missing == ["remontées", "mécaniques"]
    data = result.as_json()
    assert data["total"] == 0 and data["resultats"] == []
    assert data["approchants"][0]["id"] == "centre-b/securite-quotidien"
    assert data["approchants"][0]["mots_absents"] == ["remontées", "mécaniques"]


def test_no_approximate_results_when_full_matches_are_enough(index):
    result = index.search(SearchRequest(q="quartier"))
    assert result.total >= 3 and result.approximate == []


@pytest.mark.parametrize("q", ["remontées mécaniques", "appellation viticole", "téléski"])
def test_subjects_the_base_does_not_cover_give_no_results(index, q):
    assert index.search(SearchRequest(q=q)).total == 0


def test_a_phrase_is_one_concept(index):
    result = index.search(SearchRequest(q='"sécurité du quotidien" tranquillité'))
    assert result.words == ['"sécurité du quotidien"', "tranquillité"]


def test_question_words_are_not_required(index):
    assert ids(index, "comment prévenir le décrochage") == ids(index, "prévenir décrochage")


def test_unknown_word_is_corrected_inside_a_longer_query(index):
    result = index.search(SearchRequest(q="reusite enfants"))
    assert result.corrected is True
    assert "centre-a/reussite-educative-sans-sigle" in [h.id for h in result.hits]


def test_explain_gives_each_concept_and_the_date(index):
    result = index.search(SearchRequest(q="tranquillité publique", explain=True))
    explanation = result.hits[0].explanation
    assert explanation["score"] == result.hits[0].score
    assert [c["mot"] for c in explanation["concepts"]] == ["tranquillité", "publique"]
    sources = [d["source"] for c in explanation["concepts"] for d in c["detail"]]
    assert any(s.startswith("titre") for s in sources)
    assert explanation["date"] == result.hits[0].date
    second = next(h for h in result.hits if h.id == "centre-b/securite-quotidien")
    assert any("thésaurus" in d["source"] for d in second.explanation["concepts"][0]["detail"])


def test_more_like_this_excludes_itself(index):
    related = [h.id for h in index.more_like_this("centre-a/renouvellement-npnru", limit=3)]
    assert "centre-a/renouvellement-npnru" not in related
    assert related[0] == "centre-a/renouvellement-nom-complet"


# --- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "NOT OR foobar",
        "AND",
        "(",
        ")",
        '"',
        '""',
        "*",
        "?",
        "titre:x",
        "[a TO z]",
        "a~2",
        "^",
        "x" * 10_000,
        "\x00\x01",
        "'",
        "l'",
        "-",
        "+",
        "OR OR OR",
        "{}",
        "\\",
    ],
)
def test_hostile_queries_never_raise(index, q):
    index.search(SearchRequest(q=q))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=300))
def test_query_path_never_raises(index, q, caplog):
    result = index.search(SearchRequest(q=q, per_page=3))
    assert result.total >= 0
    assert "échec de la requête" not in caplog.text  # no engine fault behind the fallback


def test_index_has_several_segments(index):
    with index.reading() as snap:
        assert len(snap.searcher.reader().leaf_readers()) > 1


def test_scores_are_whoosh_bm25f(index):
    """The vectorised scorer gives Whoosh's own BM25F scores (on a multi-segment index)."""
    from whoosh import query as wq

    from indexer import query

    with index.reading() as snap:
        for text in ("relogement des ménages quartier", "PRE parcours", "tranquillité publique"):
            plan = query.plan(query.parse(text))
            mine = snap.scorer.scores(list(plan.clauses))
            engine = wq.Or([wq.Term(c.field, c.text, boost=c.boost) for c in plan.clauses])
            results = snap.searcher.search(engine, limit=None)
            assert len(results) > 0
            assert {hit.docnum for hit in results} == {int(d) for d in (mine > 0).nonzero()[0]}
            for hit in results:
                assert mine[hit.docnum] == pytest.approx(hit.score, rel=1e-9)

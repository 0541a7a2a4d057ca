"""Near-duplicates (indexer/duplicates.py): detection at indexing time, incremental upkeep,
rebuilds, search collapse and `kb doublons`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from duplicates_support import (
    OTHER_SUMMARY,
    PAIR,
    RELAYED,
    ROUBAIX,
    SUMMARY,
    TITLE,
    TREE,
    centre,
    sheet,
)

from indexer import duplicates, statedb
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from indexer.store import IndexFolder


@pytest.fixture
def site(make_tree, tmp_path: Path) -> tuple[Path, Path]:
    return make_tree(TREE), tmp_path / "index"


def groups_of(index: Path) -> list[set[str]]:
    folder = IndexFolder(index)
    db = statedb.connect(folder.current())
    try:
        return [{m.id for m in g.members} for g in duplicates.read_groups(db)]
    finally:
        db.close()


def table(index: Path, name: str) -> list[tuple]:
    db = statedb.connect(IndexFolder(index).current())
    try:
        return sorted(db.execute(f"SELECT * FROM {name}"))
    finally:
        db.close()


# --- the rule ---------------------------------------------------------------------------------


def test_similarity_rule_on_signatures():
    base = duplicates.Signature("a/x", "a", "fiche-pratique", "T", "jardin partag", "m n o p", {})
    alike = duplicates.Signature("b/y", "b", "fiche-pratique", "T", "jardin partag", "m n o p", {})
    assert duplicates.compare(base, alike).duplicates
    assert duplicates.may_pair(base, alike)
    same_centre = duplicates.Signature("a/z", "a", "fiche-pratique", "T", "jardin partag", "", {})
    assert not duplicates.may_pair(base, same_centre)
    notice = duplicates.Signature("a/n", "a", "notice", "T", "", "", {}, harvested=True)
    assert duplicates.may_pair(base, notice)  # harvested and written: even in one centre
    other_notice = duplicates.Signature("a/m", "a", "notice", "T", "", "", {}, harvested=True)
    assert not duplicates.may_pair(notice, other_notice)


def test_territories_agree_at_every_level_both_name():
    roubaix = {"departement": ["59"], "commune": ["59512"]}
    assert duplicates.places_agree(roubaix, {})  # no territory: agrees
    assert duplicates.places_agree(roubaix, {"departement": ["59"]})
    assert duplicates.places_agree(roubaix, {"region": ["32"], "commune": ["59512", "59599"]})
    assert not duplicates.places_agree(roubaix, {"departement": ["59"], "commune": ["59350"]})
    assert not duplicates.places_agree({"region": ["32"]}, {"region": ["76"]})


def test_band_keys_are_stable_and_close_texts_share_one():
    words = "jardin partag pied immeubl habit cultiv parcel bailleur social".split()
    assert duplicates.band_keys(words) == duplicates.band_keys(list(reversed(words)))
    assert len(duplicates.band_keys(words)) == duplicates.BANDS
    assert set(duplicates.band_keys(words)) & set(duplicates.band_keys(words[:-1]))
    assert not set(duplicates.band_keys(words)) & set(duplicates.band_keys(["autre", "chose"]))
    assert duplicates.band_keys([]) == []


# --- indexing ------------------------------------------------------------------------------------


def test_rebuild_finds_the_pair_and_not_the_near_misses(site):
    content, index = site
    assert Indexer(content, index).rebuild().ok
    assert groups_of(index) == [PAIR]
    pairs = table(index, "doublons_paires")
    assert [(a, b) for a, b, *_ in pairs] == [tuple(sorted(PAIR))]
    _, _, title, summary = pairs[0]
    assert title >= duplicates.TITLE_MIN and summary >= duplicates.SUMMARY_MIN


def test_editing_a_member_updates_its_group_incrementally(site):
    content, index = site
    Indexer(content, index).rebuild()
    relay = content / "beta" / "jardins-partages-relais.md"
    original = relay.read_text(encoding="utf-8")
    relay.write_text(original.replace(RELAYED, OTHER_SUMMARY), encoding="utf-8")
    report = Indexer(content, index).update(["beta/jardins-partages-relais.md"])
    assert report.updated == ["beta/jardins-partages-relais"]
    assert groups_of(index) == []  # another practice now: the group is gone
    relay.write_text(original, encoding="utf-8")
    Indexer(content, index).update(["beta/jardins-partages-relais.md"])
    assert groups_of(index) == [PAIR]


def test_a_new_sheet_joins_by_its_candidates_only(site):
    content, index = site
    Indexer(content, index).rebuild()
    (content / "gamma" / "jardins-alma-relais.md").write_text(
        sheet(TITLE, RELAYED, ROUBAIX), encoding="utf-8"
    )
    Indexer(content, index).update(["gamma/jardins-alma-relais.md"])
    assert groups_of(index) == [PAIR | {"gamma/jardins-alma-relais"}]


def test_deleting_a_member_dissolves_the_group(site):
    content, index = site
    Indexer(content, index).rebuild()
    (content / "beta" / "jardins-partages-relais.md").unlink()
    report = Indexer(content, index).update(["beta/jardins-partages-relais.md"])
    assert report.deleted == ["beta/jardins-partages-relais"]
    assert groups_of(index) == []
    assert all("beta/jardins-partages-relais" not in row for row in table(index, "doublons_cles"))


def test_a_draft_leaves_its_group(site):
    content, index = site
    Indexer(content, index).rebuild()
    relay = content / "beta" / "jardins-partages-relais.md"
    relay.write_text(
        relay.read_text(encoding="utf-8").replace(
            "type: fiche-pratique", "type: fiche-pratique\nstatut: brouillon"
        ),
        encoding="utf-8",
    )
    Indexer(content, index).update()
    assert groups_of(index) == []


def test_two_sheets_of_one_centre_are_not_grouped(make_tree, tmp_path):
    content = make_tree(
        {
            "alpha/_centre.md": centre("Centre Alpha", "32"),
            "alpha/jardins-alma.md": sheet(TITLE, SUMMARY, ROUBAIX),
            "alpha/jardins-alma-copie.md": sheet(TITLE, SUMMARY, ROUBAIX),
        }
    )
    Indexer(content, tmp_path / "index").rebuild()
    assert groups_of(tmp_path / "index") == []


def test_a_resource_without_territory_does_not_bridge_two_towns(site, make_tree):
    content, index = site
    make_tree({"gamma/jardins-sans-lieu.md": sheet(TITLE, SUMMARY)})
    Indexer(content, index).rebuild()
    groups = groups_of(index)
    assert len(groups) == 1
    # Alike to the Roubaix pair and to the Montpellier sheet: it joins one side, never both.
    assert "gamma/jardins-montpellier" not in groups[0] or "alpha/jardins-alma" not in groups[0]


def test_rebuild_gives_the_same_groups_as_updates(site):
    content, index = site
    Indexer(content, index).rebuild()
    (content / "gamma" / "jardins-alma-relais.md").write_text(
        sheet(TITLE, RELAYED, ROUBAIX), encoding="utf-8"
    )
    (content / "beta" / "jardins-college.md").unlink()
    Indexer(content, index).update()
    incremental = (groups_of(index), table(index, "doublons_paires"), table(index, "doublons_cles"))
    Indexer(content, index).rebuild()
    rebuilt = (groups_of(index), table(index, "doublons_paires"), table(index, "doublons_cles"))
    assert incremental == rebuilt
    assert incremental[0] == [PAIR | {"gamma/jardins-alma-relais"}]


def test_an_interrupted_update_leaves_the_groups_online(site, monkeypatch):
    content, index = site
    Indexer(content, index).rebuild()
    (content / "beta" / "jardins-partages-relais.md").unlink()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for kill -9 between two writes of the version

    monkeypatch.setattr(duplicates, "_regroup", killed)
    with pytest.raises(KeyboardInterrupt):
        Indexer(content, index).update()
    assert groups_of(index) == [PAIR]  # the live version is untouched
    monkeypatch.undo()
    Indexer(content, index).update()
    assert groups_of(index) == []


# --- search --------------------------------------------------------------------------------------


def test_search_shows_a_group_once_with_its_other_members(site):
    content, index = site
    Indexer(content, index).rebuild()
    search = SearchIndex(index)
    try:
        plain = search.search(SearchRequest(q="jardins partagés", per_page=50))
        collapsed = search.search(SearchRequest(q="jardins partagés", per_page=50, collapse=True))
    finally:
        search.close()
    plain_ids = [h.id for h in plain.hits]
    shown = [h.id for h in collapsed.hits]
    assert PAIR <= set(plain_ids)
    assert len(PAIR & set(shown)) == 1
    assert collapsed.total == plain.total - 1 == len(shown)
    assert collapsed.resources == plain.total
    # The member shown is the one that ranks first without collapsing.
    best = next(i for i in plain_ids if i in PAIR)
    assert best in shown
    hit = next(h for h in collapsed.hits if h.id == best)
    (other,) = PAIR - {best}
    assert hit.also == [
        {"id": other, "centre": other.partition("/")[0], "url": f"/ressources/{other}"}
    ]
    assert hit.as_json()["egalement"] == hit.also
    assert all(h.also == [] for h in collapsed.hits if h.id != best)
    # Facets count resources: both centres of the pair keep their resource.
    counts = {v.valeur: v.nombre for v in collapsed.facets["centre"]}
    assert counts == {v.valeur: v.nombre for v in plain.facets["centre"]}
    assert collapsed.as_json()["ressources"] == plain.total


def test_filtering_on_the_hidden_members_centre_shows_it(site):
    content, index = site
    Indexer(content, index).rebuild()
    search = SearchIndex(index)
    try:
        for centre_id in ("alpha", "beta"):
            result = search.search(
                SearchRequest(q="jardins", filters={"centre": (centre_id,)}, collapse=True)
            )
            member = next(i for i in PAIR if i.startswith(centre_id + "/"))
            assert member in [h.id for h in result.hits]
    finally:
        search.close()


def test_collapse_pages_are_consistent(site):
    content, index = site
    Indexer(content, index).rebuild()
    search = SearchIndex(index)
    try:
        whole = search.search(SearchRequest(per_page=100, collapse=True))
        paged = []
        for page in (1, 2, 3):
            paged += search.search(SearchRequest(per_page=2, page=page, collapse=True)).hits
    finally:
        search.close()
    assert [h.id for h in paged] == [h.id for h in whole.hits][:6]
    assert whole.total == len(whole.hits) == len(TREE) - 3 - 1  # 3 cards, 1 hidden member


# --- kb doublons ---------------------------------------------------------------------------------


def test_kb_doublons_text_and_json(site, run_kb):
    content, index = site
    Indexer(content, index).rebuild()
    common = ("--content", content, "--index", index)
    text = run_kb("doublons", *common)
    assert text.code == 0, text.err
    assert "1 groupe de quasi-doublons :" in text.out
    assert "Centre Alpha : Des jardins partagés au pied des immeubles" in text.out
    assert "/ressources/beta/jardins-partages-relais" in text.out
    assert "titres semblables à" in text.out
    data = json.loads(run_kb("doublons", "--json", *common).out)
    assert data["nombre"] == 1
    (group,) = data["groupes"]
    assert {r["id"] for r in group["ressources"]} == PAIR
    assert {r["centre"] for r in group["ressources"]} == {"alpha", "beta"}
    (pair,) = group["paires"]
    assert pair["similarite_titre"] >= duplicates.TITLE_MIN
    only_gamma = run_kb("doublons", "--centre", "gamma", *common)
    assert (
        only_gamma.code == 0
        and "Aucun groupe de quasi-doublons pour Centre Gamma." in only_gamma.out
    )
    assert json.loads(run_kb("doublons", "--json", "--centre", "beta", *common).out)["nombre"] == 1
    unknown = run_kb("doublons", "--centre", "nulle-part", *common)
    assert unknown.code == 2 and "centre inconnu" in unknown.err


def test_kb_doublons_without_index(tmp_path, run_kb):
    result = run_kb("doublons", "--index", tmp_path / "rien", "--content", tmp_path)
    assert result.code == 2 and "kb index" in result.err


def test_kb_search_says_a_group_counts_once(site, run_kb):
    content, index = site
    Indexer(content, index).rebuild()
    result = run_kb("search", "jardins partagés", "--content", content, "--index", index)
    assert "Également publié par : Centre" in result.out
    assert "les quasi-doublons d'un même groupe comptent pour un" in result.out


def test_a_harvested_notice_and_the_centres_own_sheet_are_grouped(make_tree, tmp_path):
    notice = (
        f'---\ntitre: "{TITLE}"\ntype: notice\ndate: 2021-03-04\nresume: "{RELAYED}"\n'
        "moisson:\n  entrepot: https://catalogue.example.org/oai\n"
        "  identifiant: oai:catalogue.example.org:1\n  recolte_le: 2026-12-01\n"
        "---\n\nNotice.\n"
    )
    content = make_tree(
        {
            "alpha/_centre.md": centre("Centre Alpha", "32"),
            "alpha/jardins-alma.md": sheet(TITLE, SUMMARY, ROUBAIX),
            "alpha/notice-jardins.md": notice,
            "alpha/notice-jardins-bis.md": notice,  # two notices of one centre: not grouped
        }
    )
    assert Indexer(content, tmp_path / "index").rebuild().ok
    groups = groups_of(tmp_path / "index")
    assert len(groups) == 1 and "alpha/jardins-alma" in groups[0] and len(groups[0]) == 2


def test_equal_members_the_smaller_id_is_shown(make_tree, tmp_path):
    content = make_tree(
        {
            "beta/_centre.md": centre("Centre Bêta", "32"),
            "alphabet/_centre.md": centre("Centre Alphabet", "32"),
            "beta/jardins.md": sheet(TITLE, SUMMARY, ROUBAIX),
            "alphabet/jardins.md": sheet(TITLE, SUMMARY, ROUBAIX),
        }
    )
    Indexer(content, tmp_path / "index").rebuild()
    search = SearchIndex(tmp_path / "index")
    try:
        for request in (
            SearchRequest(collapse=True),
            SearchRequest(q="jardins", collapse=True),
            SearchRequest(q="jardins", sort="date", collapse=True),
        ):
            result = search.search(request)
            assert [h.id for h in result.hits] == ["alphabet/jardins"], request
            assert result.total == 1 and result.resources == 2
    finally:
        search.close()

"""Permanent links: former ids, other cases and trailing slashes redirect (301); removed
resources answer 410 across rebuilds; `kb check` warns before a published id disappears;
the registry of publications that all of this relies on."""

from __future__ import annotations

import json

import pytest
from webapp_support import DIAGNOSTIC, RETIRED, RETIRED_TITLE, build_site, elements, hrefs, text

from indexer import store
from indexer.build import Indexer
from indexer.store import Publication, Registry
from webapp import create_app

# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old",
    [
        "/ressources/centre-alpha/ancien-diagnostic",  # alias: a former slug
        "/ressources/centre-beta/vieux-diagnostic",  # alias: a former id in another centre
        "/ressources/Centre-Alpha/Diagnostic-En-Marchant",  # another case
        "/ressources/CENTRE-ALPHA/ANCIEN-DIAGNOSTIC",  # an alias in another case
        "/ressources/centre-alpha/diagnostic-en-marchant/",  # a trailing slash
        "/ressources/centre-alpha/ancien-diagnostic/",  # both
    ],
)
def test_variants_of_a_permanent_link_redirect_in_one_step(web_client, old):
    response = web_client.get(old)
    assert response.status_code == 301
    assert response.headers["Location"] == DIAGNOSTIC
    assert web_client.get(response.headers["Location"]).status_code == 200


def test_a_redirect_keeps_a_newsletter_s_tracking_tags(web_client):
    response = web_client.get("/ressources/centre-alpha/ancien-diagnostic?utm_source=lettre")
    assert response.headers["Location"] == DIAGNOSTIC + "?utm_source=lettre"


@pytest.mark.parametrize(
    "url",
    [
        "/ressources/centre-alpha/inconnue/",
        "/ressources/Centre-Alpha/Inconnue",
        "/ressources/centre-alpha/brouillon-secret/",  # a draft is never revealed
        "/ressources/Centre-Alpha/Brouillon-Secret",
    ],
)
def test_unknown_variants_are_not_found(web_client, url):
    response = web_client.get(url)
    assert response.status_code == 404
    assert "confidentiel" not in response.get_data(as_text=True)


# --- 410 Gone -----------------------------------------------------------------------------------


def test_a_removed_resource_answers_410_with_its_title_date_and_similar_resources(web_client):
    response = web_client.get(RETIRED)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    page = text(html)
    assert RETIRED_TITLE in page
    assert "2\u00a0mai 2019" in page
    assert "/recherche?q=Un+ancien+guide+des+marches+exploratoires" in hrefs(html)
    assert "/centres/centre-beta" in hrefs(html)
    assert elements(html, "meta", name="robots", content="noindex")
    # Other cases and a trailing slash find it too.
    assert web_client.get(RETIRED.replace("centre-beta", "Centre-Beta")).status_code == 410
    assert web_client.get(RETIRED + "/").status_code == 410


FICHE = """---
titre: Le jardin partagé des Tilleuls
type: retour-experimentation
date: 2018-06-21
piliers: [cadre-de-vie]
resume: Un jardin partagé au pied des immeubles.
---
Texte du retour d'expérience.
"""


@pytest.mark.parametrize("how", ["update", "rebuild"])
def test_410_survives_rebuilds_and_ends_when_the_id_comes_back(tmp_path, how):
    site = build_site(tmp_path)
    path = site.content / "centre-beta" / "jardin-partage.md"
    path.write_text(FICHE, encoding="utf-8")
    Indexer(site.content, site.index).update()
    client = create_app(site.config()).test_client()
    assert client.get("/ressources/centre-beta/jardin-partage").status_code == 200

    path.unlink()
    getattr(Indexer(site.content, site.index), how)()
    Indexer(site.content, site.index).rebuild()  # a new generation: the registry stays
    Indexer(site.content, site.index).rebuild()
    response = client.get("/ressources/centre-beta/jardin-partage")
    assert response.status_code == 410
    assert "Le jardin partagé des Tilleuls" in text(response.get_data(as_text=True))
    assert "21\u00a0juin 2018" in text(response.get_data(as_text=True))

    # Renamed with an alias: the old address redirects instead.
    renamed = FICHE.replace("piliers:", "alias: [jardin-partage]\npiliers:")
    (site.content / "centre-beta" / "jardin-des-tilleuls.md").write_text(renamed, encoding="utf-8")
    Indexer(site.content, site.index).update()
    response = client.get("/ressources/centre-beta/jardin-partage")
    assert response.status_code == 301
    assert response.headers["Location"] == "/ressources/centre-beta/jardin-des-tilleuls"


def test_a_resource_turned_back_into_a_draft_is_gone(tmp_path):
    site = build_site(tmp_path)
    page = site.content / "centre-beta" / "maison-du-projet.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("---\n", "---\nstatut: brouillon\n", 1),
        encoding="utf-8",
    )
    Indexer(site.content, site.index).update()
    client = create_app(site.config()).test_client()
    assert client.get("/ressources/centre-beta/maison-du-projet").status_code == 410


# --- kb check warns before a permanent link breaks ------------------------------------------------


def test_kb_check_warns_when_a_published_id_would_disappear_without_alias(tmp_path, run_kb):
    site = build_site(tmp_path)
    options = ("--content", site.content, "--index", site.index)
    before = run_kb("check", *options)  # the fixture has errors of its own (code 1)
    assert "410" not in before.out

    (site.content / "centre-beta" / "maison-du-projet.md").rename(
        site.content / "centre-beta" / "maison-projet.md"
    )
    result = run_kb("check", *options)
    assert result.code == before.code  # a warning, not an error: removing is allowed
    warnings = [line for line in result.out.splitlines() if "centre-beta/maison-du-projet" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("centre-beta/: avertissement :")
    assert "alias: [maison-du-projet]" in warnings[0]
    # The resource removed long ago (already 410) is not reported again.
    assert "fiche-retiree" not in result.out

    renamed = site.content / "centre-beta" / "maison-projet.md"
    renamed.write_text(
        renamed.read_text(encoding="utf-8").replace("---\n", "---\nalias: [maison-du-projet]\n", 1),
        encoding="utf-8",
    )
    assert "maison-du-projet" not in run_kb("check", *options).out


def test_kb_check_warns_for_a_published_resource_turned_into_a_draft(tmp_path, run_kb):
    site = build_site(tmp_path)
    page = site.content / "centre-beta" / "maison-du-projet.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("---\n", "---\nstatut: brouillon\n", 1),
        encoding="utf-8",
    )
    result = run_kb("check", "--content", site.content, "--index", site.index, "--format", "json")
    warnings = [p for p in json.loads(result.out) if "repasse en brouillon" in p["message"]]
    assert [w["gravite"] for w in warnings] == ["avertissement"]


def test_kb_check_without_an_index_checks_the_content_only(tmp_path, run_kb, copy_fixture):
    content = copy_fixture("webapp")
    result = run_kb("check", "--content", content, "--index", tmp_path / "aucun-index")
    assert "410" not in result.out
    assert not (tmp_path / "aucun-index").exists()  # kb check creates no index


# --- the registry -----------------------------------------------------------------------------------


def test_the_registry_moves_modification_times_only_on_change(tmp_path, monkeypatch):
    times = iter(f"2030-01-0{day}T00:00:00+00:00" for day in range(1, 10))
    monkeypatch.setattr(store, "now_iso", lambda: next(times))
    registry = Registry(tmp_path)
    registry.published([Publication("c/a", "A", "2020-01-01", "v1", ("cadre-de-vie",))])  # day 1
    registry.published([Publication("c/a", "A", "2020-01-01", "v1", ("cadre-de-vie",))])  # day 2
    entry = registry.lookup("c/a")
    assert entry["modifiee"] == "2030-01-01T00:00:00+00:00"
    assert entry["derniere"] == "2030-01-02T00:00:00+00:00"
    assert entry["piliers"] == ["cadre-de-vie"]
    registry.published([Publication("c/a", "A bis", "2020-01-01", "v2")])  # day 3
    assert registry.lookup("c/a")["modifiee"] == "2030-01-03T00:00:00+00:00"
    registry.removed(["c/a"])  # day 4
    entry = registry.lookup("c/a")
    assert entry["retiree"] == entry["datestamp"] == "2030-01-04T00:00:00+00:00"
    registry.published([Publication("c/a", "A bis", "2020-01-01", "v2")])  # day 5: back online
    entry = registry.lookup("c/a")
    assert entry["retiree"] is None
    assert entry["modifiee"] == entry["datestamp"] == "2030-01-05T00:00:00+00:00"
    registry.close()


def test_registry_selection_by_time_centre_pillar_and_position(tmp_path, monkeypatch):
    times = iter(f"2030-01-0{day}T00:00:00+00:00" for day in range(1, 10))
    monkeypatch.setattr(store, "now_iso", lambda: next(times))
    version = tmp_path / "gen-000001"  # the registry of an index folder's live version
    (tmp_path / "ACTUEL").write_text("gen-000001\n")
    registry = Registry(version)
    registry.published([Publication("a/un", "1", "2020-01-01", "x", ("cadre-de-vie",))])
    registry.published([Publication("b/deux", "2", "2020-01-01", "x", ("cohesion-sociale",))])
    registry.published([Publication("ab/trois", "3", "2020-01-01", "x", ("cadre-de-vie",))])
    ids = lambda **criteria: [e["id"] for e in registry.changes(**criteria)]  # noqa: E731
    assert ids() == ["a/un", "ab/trois", "b/deux"]
    assert ids(centre="a") == ["a/un"]  # not ab/trois
    assert ids(pilier="cadre-de-vie") == ["a/un", "ab/trois"]
    assert ids(since="2030-01-02T00:00:00+00:00") == ["ab/trois", "b/deux"]
    assert ids(until="2030-01-02T00:00:00+00:00") == ["a/un", "b/deux"]
    assert ids(after="a/un", limit=1) == ["ab/trois"]
    assert registry.count_changes(pilier="cadre-de-vie") == 2
    assert registry.earliest() == "2030-01-01T00:00:00+00:00"
    registry.close()
    assert store.published_ids(tmp_path) == ["a/un", "ab/trois", "b/deux"]
    assert store.published_ids(tmp_path / "ailleurs") == []


def test_a_registry_from_before_harvesting_is_upgraded(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / store.REGISTRY)
    db.execute(
        "CREATE TABLE publications (id TEXT PRIMARY KEY, titre TEXT, date TEXT, premiere TEXT, "
        "derniere TEXT, retiree TEXT)"
    )
    db.execute(
        "INSERT INTO publications VALUES ('c/a', 'A', '2020-01-01', "
        "'2024-01-01T00:00:00+00:00', '2024-02-01T00:00:00+00:00', NULL)"
    )
    db.commit()
    db.close()
    # Indexes written before versions held their own registry kept it at the root: the
    # first new version takes its history.
    registry = Registry(tmp_path / "gen-000001")
    registry.import_from(tmp_path / store.REGISTRY)
    entry = registry.lookup("c/a")
    assert entry["datestamp"] == "2024-02-01T00:00:00+00:00"
    assert entry["piliers"] == []
    registry.close()

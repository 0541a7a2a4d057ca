"""Atom feeds, read with feedparser: valid, paged (RFC 5005), newest first, every matching
resource exactly once, drafts never; linked from the search page; cacheable."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import feedparser
import pytest
from webapp_support import DIAGNOSTIC, SERIES, SERIES_TITLE, SITE_URL, elements, hrefs

from indexer.search import SearchIndex
from webapp.dissemination import feeds


def parse_feed(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def link(parsed, rel: str) -> str | None:
    found = [entry.href for entry in parsed.feed.links if entry.rel == rel]
    return found[0] if found else None


def local(url: str) -> str:
    assert url.startswith(SITE_URL), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow(client, url: str) -> list:
    """Every entry of a paged feed, following `next` links from `url`."""
    entries = []
    pages = 0
    while url:
        parsed = parse_feed(client, url)
        entries += parsed.entries
        following = link(parsed, "next")
        url = local(following) if following else None
        pages += 1
        assert pages < 50
    return entries


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(feeds, "PER_PAGE", 4)


def test_the_whole_feed_holds_every_published_resource_exactly_once(
    web_client, webapp_site, small_pages
):
    entries = follow(web_client, "/flux.atom")
    ids = [entry.id for entry in entries]
    published = {SITE_URL + meta["url"] for meta in SearchIndex(webapp_site.index).all_metadata()}
    assert len(ids) == len(set(ids))
    assert set(ids) == published
    assert not any("brouillon" in i or "centre-orphelin" in i for i in ids)
    # Newest first.
    dates = [entry.published for entry in entries]
    assert dates == sorted(dates, reverse=True)


def test_a_paged_feed_has_first_next_previous_and_last_links(web_client, small_pages):
    first = parse_feed(web_client, "/recherche.atom?thematiques=mobilite")
    assert link(first, "self") == f"{SITE_URL}/recherche.atom?thematiques=mobilite"
    assert link(first, "first") == link(first, "self")
    assert link(first, "previous") is None
    assert link(first, "next") == f"{SITE_URL}/recherche.atom?thematiques=mobilite&page=2"
    assert link(first, "last") == f"{SITE_URL}/recherche.atom?thematiques=mobilite&page=6"
    second = parse_feed(web_client, "/recherche.atom?thematiques=mobilite&page=2")
    assert link(second, "previous") == link(first, "self")
    assert second.feed.id == first.feed.id  # one logical feed
    last = parse_feed(web_client, "/recherche.atom?thematiques=mobilite&page=6")
    assert link(last, "next") is None
    assert web_client.get("/recherche.atom?thematiques=mobilite&page=7").status_code == 404


def test_a_search_feed_takes_the_parameters_of_the_search_page(web_client, small_pages):
    entries = follow(web_client, "/recherche.atom?q=mobilit%C3%A9&thematiques=mobilite")
    assert len(entries) == SERIES
    assert entries[0].title == SERIES_TITLE.format(number=SERIES)
    narrowed = follow(web_client, "/recherche.atom?thematiques=mobilite&annee=2020-2022")
    assert len(narrowed) == 3
    # The order is always by entry into the base, whatever `tri` says.
    by_relevance = follow(web_client, "/recherche.atom?q=mobilit%C3%A9&tri=pertinence")
    dates = [entry.published for entry in by_relevance]
    assert dates == sorted(dates, reverse=True)


def _struct(stamp: str):
    moment = dt.datetime.fromisoformat(stamp)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).timetuple()[:6]


def test_entries_carry_title_summary_categories_author_dates_and_a_stable_id(
    web_client, webapp_site
):
    parsed = parse_feed(web_client, "/recherche.atom?q=diagnostic+en+marchant")
    entry = next(e for e in parsed.entries if e.id == SITE_URL + DIAGNOSTIC)
    assert entry.title == "Conduire un diagnostic en marchant avec les habitants"
    assert entry.link == SITE_URL + DIAGNOSTIC
    assert entry.summary.startswith("Méthode pas à pas")
    # Published: when it entered the base; updated: its last change there (not the
    # sheet's own dates, 2021-03-15 and 2023-01-10, which describe the action).
    meta = SearchIndex(webapp_site.index).get(DIAGNOSTIC.removeprefix("/ressources/"))
    assert tuple(entry.published_parsed)[:6] == _struct(meta["entree"])
    assert tuple(entry.updated_parsed)[:6] == _struct(meta["modifiee"])
    assert entry.author_detail.name == "Centre Alpha des quartiers (test)"
    assert entry.author_detail.href == f"{SITE_URL}/centres/centre-alpha"
    categories = {(tag.scheme, tag.term): tag.label for tag in entry.tags}
    assert categories[(f"{SITE_URL}/piliers/", "cadre-de-vie")].startswith("Cadre de vie")
    assert categories[(f"{SITE_URL}/thematiques/", "participation-citoyenne")] == (
        "Participation citoyenne"
    )
    assert parsed.feed.language == "fr"
    assert parsed.feed.title.startswith("Ressources politique de la ville")


def test_hostile_names_are_text_in_the_feed(web_client):
    parsed = parse_feed(web_client, "/recherche.atom?centre=centre-gamma")
    assert "<script>" in parsed.entries[0].author_detail.name  # as text, escaped in the XML
    raw = web_client.get("/recherche.atom?centre=centre-gamma").data
    assert b"<script>" not in raw


def test_feed_parameters_are_checked_like_the_search_page(web_client):
    assert web_client.get("/recherche.atom?piliers=inconnu").status_code == 400
    assert web_client.get("/recherche.atom?page=0").status_code == 400
    assert web_client.get("/flux.atom?q=x").status_code == 400  # a filtered feed: /recherche.atom
    empty = parse_feed(web_client, "/recherche.atom?q=zzzzqqqq")
    assert empty.entries == []


def test_the_search_page_links_to_its_feed(web_client):
    html = web_client.get("/recherche?q=mobilit%C3%A9&thematiques=mobilite&page=2").get_data(
        as_text=True
    )
    feed_url = "/recherche.atom?q=mobilit%C3%A9&thematiques=mobilite"
    assert elements(html, "link", rel="alternate", type="application/atom+xml", href=feed_url)
    assert feed_url in hrefs(html)  # a visible link too
    home = web_client.get("/").get_data(as_text=True)
    assert elements(home, "link", rel="alternate", href="/flux.atom")


def test_feeds_revalidate_with_their_etag(web_client):
    first = web_client.get("/flux.atom")
    again = web_client.get("/flux.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert first.headers["Access-Control-Allow-Origin"] == "*"


def test_a_feed_holds_only_resources_that_match_every_word(web_client):
    approximate = web_client.get("/api/v1/recherche?q=diagnostic+t%C3%A9l%C3%A9ph%C3%A9rique")
    assert approximate.get_json()["approchants"]  # partial matches exist...
    parsed = parse_feed(web_client, "/recherche.atom?q=diagnostic+t%C3%A9l%C3%A9ph%C3%A9rique")
    assert parsed.entries == []  # ...but are never entries of the feed
    parsed = parse_feed(web_client, "/recherche.atom?q=%22diagnostic+en+marchant%22")
    assert [e.title for e in parsed.entries] == [
        "Conduire un diagnostic en marchant avec les habitants"
    ]

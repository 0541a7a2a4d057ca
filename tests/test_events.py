"""Events and training cycles: their fields, their rules, the capitalisation chain, and the
agenda's order around a fixed "now"."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from indexer.agenda import PAST, UPCOMING, AgendaRequest
from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from kb.events import EVENT_FIELDS
from kb.loader import load_tree
from kb.model import Session

CENTRE = '---\nnom: Centre A\nregion: "32"\n---\n'
DOC = (Path(__file__).resolve().parent.parent / "docs" / "format.md").read_text(encoding="utf-8")


def event(extra: str = "", type_: str = "evenement", sessions: str | None = None) -> str:
    if sessions is None:
        sessions = "sessions:\n  - debut: 2026-03-12 09:30\n    fin: 2026-03-12 17:00\n"
    return (
        f"---\ntitre: Rencontre\ntype: {type_}\ndate: 2026-01-10\npiliers: [cohesion-sociale]\n"
        f"resume: Une rencontre.\n{sessions}{extra}---\n\nTexte.\n"
    )


def messages(make_tree, files: dict[str, str]) -> list[str]:
    root = make_tree({"ca/_centre.md": CENTRE, **files})
    return [p.format() for p in load_tree(root).problems]


def test_a_complete_event_loads_with_typed_values(make_tree) -> None:
    text = event(
        "format: rencontre\nfuseau: Indian/Reunion\nmode: hybride\n"
        'lieu:\n  nom: Maison\n  adresse: 1 rue A\n  commune: "97411"\n'
        "  en_ligne: https://visio.example.org/salle\n"
        "participants: Chefs de projet\n"
        "inscription:\n  url: https://example.org/inscription\n  courriel: Inscription@Example.org\n"
        "  cloture: 2026-03-01\n  places: 30\n  complet: non\ncout: 0\n",
        sessions='sessions:\n  - debut: 2026-03-12 09:30\n    fin: "17:00"\n'
        "  - debut: 2026-03-13\n    fin: 2026-03-14\n    intitule: Visites\n",
    )
    root = make_tree({"ca/_centre.md": CENTRE, "ca/rencontre.md": text})
    result = load_tree(root)
    assert [p.format() for p in result.problems] == []
    loaded = result.resources["ca/rencontre"]
    assert loaded.sessions == (
        Session(dt.datetime(2026, 3, 12, 9, 30), dt.datetime(2026, 3, 12, 17, 0)),
        Session(dt.date(2026, 3, 13), dt.date(2026, 3, 14), "Visites"),
    )
    assert loaded.fuseau == "Indian/Reunion" and loaded.mode == "hybride"
    assert loaded.lieu.commune == "97411"
    assert loaded.inscription.courriel == "Inscription@example.org"
    assert loaded.inscription.places == 30 and loaded.inscription.complet is False
    assert loaded.cout == "gratuit"


@pytest.mark.parametrize(
    ("sessions", "extra", "expected"),
    [
        (
            "sessions:\n  - debut: 2026-03-12 09:30\n    fin: 2026-03-12 08:00\n",
            "",
            "ca/e.md:9: erreur : « sessions[1] » : la fin (2026-03-12 08:00) doit être après le "
            "début (2026-03-12 09:30)",
        ),
        (
            "sessions:\n  - debut: 2026-03-12\n  - debut: 2026-03-10\n",
            "",
            "ca/e.md:9: erreur : « sessions[2] » : les sessions doivent être dans l'ordre "
            "chronologique (celle-ci commence le 2026-03-10, avant la précédente)",
        ),
        (
            "sessions:\n  - debut: 2026-03-12 09:30\n",
            "",
            "ca/e.md:8: erreur : « sessions[1] » : indiquez l'heure de fin (« fin »)",
        ),
        (
            "sessions:\n  - debut: 2026-03-12\n    fin: 2026-03-12 17:00\n",
            "",
            "ca/e.md:9: erreur : « sessions[1] » : « debut » et « fin » doivent être tous deux des "
            "dates (journées entières) ou tous deux des dates et heures",
        ),
        (
            "sessions:\n  - debut: 12/03/2026\n",
            "",
            "ca/e.md:8: erreur : « sessions[1].debut » : date ou heure invalide « 12/03/2026 » "
            "(AAAA-MM-JJ pour une journée entière, AAAA-MM-JJ HH:MM sinon)",
        ),
        (
            "sessions:\n  - debut: 2026-03-12 09:30\n    fin: 17:00\n",
            "",
            'ca/e.md:9: erreur : « sessions[1].fin » : mettez l\'heure entre guillemets, ex. "17:00"',
        ),
        (
            "",
            "",
            "ca/e.md:3: erreur : champ obligatoire manquant pour un événement ou une formation : "
            "« sessions »",
        ),
        (
            None,
            "lieu:\n  en_ligne: visio\n",
            "ca/e.md:11: erreur : « lieu.en_ligne » : adresse web invalide « visio » (https://…)",
        ),
        (
            None,
            "inscription:\n  url: htps://example.org\n",
            "ca/e.md:11: erreur : « inscription.url » : adresse web invalide « htps://example.org » "
            "(https://…)",
        ),
        (
            None,
            "inscription:\n  courriel: inscription@\n",
            "ca/e.md:11: erreur : « inscription.courriel » : adresse électronique invalide "
            "« inscription@ »",
        ),
        (
            None,
            "inscription:\n  places: -3\n",
            "ca/e.md:11: erreur : « inscription.places » : un nombre de places positif est "
            "attendu, pas « -3 »",
        ),
        (
            None,
            "etat: reporte\n",
            "ca/e.md:10: erreur : événement reporté : indiquez la date initialement prévue "
            "(« date_initiale ») et la nouvelle date dans « sessions »",
        ),
        (
            None,
            "etat: reporte\ndate_initiale: 2026-03-12\n",
            "ca/e.md:7: erreur : événement reporté : la nouvelle date de « sessions » (2026-03-12) "
            "est celle de « date_initiale » : indiquez la nouvelle date",
        ),
        (
            None,
            "etat: annulé\n",
            "ca/e.md:10: erreur : « annulé » n'est pas une valeur connue de « etat » (vocabulaire "
            "etats) (vouliez-vous dire « annule » ?)",
        ),
        (
            None,
            "fuseau: Europe/Lile\n",
            "ca/e.md:10: erreur : « fuseau » : fuseau horaire inconnu « Europe/Lile » (ex. "
            "Europe/Paris, Indian/Reunion, America/Cayenne)",
        ),
        (
            None,
            'lieu:\n  commune: "5935"\n',
            "ca/e.md:11: erreur : « lieu.commune » : code commune INSEE invalide « 5935 » (5 "
            'caractères entre guillemets, ex. "59350" ou "2A004")',
        ),
        (
            None,
            "inscription:\n  cloture: 2026-04-01\n",
            "ca/e.md:10: avertissement : « inscription.cloture » (2026-04-01) est après la dernière "
            "session (2026-03-12)",
        ),
        (
            None,
            "mode: presentiel\n",
            "ca/e.md:10: avertissement : événement en présentiel : indiquez le lieu (« lieu » : nom, "
            "adresse, commune)",
        ),
    ],
)
def test_event_rules_give_french_errors_at_their_line(make_tree, sessions, extra, expected):
    assert expected in messages(make_tree, {"ca/e.md": event(extra, sessions=sessions)})


def test_an_offset_in_a_time_is_refused(make_tree) -> None:
    text = event(sessions='sessions:\n  - debut: 2026-03-12T09:30:00+02:00\n    fin: "17:00"\n')
    assert messages(make_tree, {"ca/e.md": text}) == [
        "ca/e.md:8: erreur : « sessions[1].debut » : écrivez l'heure locale sans décalage horaire "
        "(le fuseau se règle avec « fuseau »)"
    ]


def test_event_fields_on_another_type_are_ignored_with_a_warning(make_tree) -> None:
    text = event("mode: distanciel\n", type_="guide")
    found = messages(make_tree, {"ca/e.md": text})
    assert found == [
        "ca/e.md:7: avertissement : « sessions » ne sert que pour un événement ou une formation "
        "(type evenement ou formation) : ignoré",
        "ca/e.md:10: avertissement : « mode » ne sert que pour un événement ou une formation "
        "(type evenement ou formation) : ignoré",
    ]


def test_the_chain_is_checked_across_the_tree(make_tree) -> None:
    report = event("productions: [ca/compte-rendu, ca/absent]\n")
    write_up = event("issu_de: ca/rencontre\n", type_="compte-rendu", sessions="")
    not_event = event("issu_de: ca/compte-rendu\n", type_="guide", sessions="")
    found = messages(
        make_tree,
        {"ca/rencontre.md": report, "ca/compte-rendu.md": write_up, "ca/guide.md": not_event},
    )
    assert found == [
        "ca/guide.md:7: erreur : « issu_de » : « ca/compte-rendu » n'est ni un événement ni une "
        "formation",
        "ca/rencontre.md:10: erreur : « productions » : aucune ressource « ca/absent » dans la base "
        "(identifiant centre/slug d'une fiche existante)",
    ]


def test_a_link_may_name_an_alias(make_tree) -> None:
    report = event("productions: [ca/ancien-nom]\n")
    write_up = event("alias: [ancien-nom]\n", type_="compte-rendu", sessions="")
    assert messages(make_tree, {"ca/rencontre.md": report, "ca/cr.md": write_up}) == []


@pytest.mark.parametrize("field", EVENT_FIELDS, ids=[f.name for f in EVENT_FIELDS])
def test_every_event_field_is_documented(field) -> None:
    assert re.search(rf"^\| `{field.name}` \| (oui|non)", DOC, flags=re.MULTILINE), field.name


def test_kb_new_writes_an_event_that_passes_the_checks(run_kb, make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE})
    created = run_kb(
        "new",
        "--content",
        root,
        "--centre",
        "ca",
        "--type",
        "formation",
        "--titre",
        "Cycle",
        "--pilier",
        "cohesion-sociale",
    )
    assert created.code == 0
    result = load_tree(root)
    assert not result.errors, [p.format() for p in result.problems]
    cycle = result.resources["ca/cycle"]
    assert cycle.type == "formation" and cycle.format == "cycle-qualification"
    assert len(cycle.sessions) == 1 and not cycle.sessions[0].all_day


# --- the agenda's order around "now" -----------------------------------------------------------


def _agenda_tree(make_tree) -> Path:
    def dated(slug: str, sessions: str, extra: str = "") -> tuple[str, str]:
        body = event(extra, sessions="sessions:\n" + sessions).replace("Rencontre", slug)
        return f"ca/{slug}.md", body

    files = dict(
        [
            dated("passe-ancien", "  - debut: 2025-01-10\n"),
            dated("passe-recent", "  - debut: 2026-02-28 09:00\n    fin: 2026-02-28 12:00\n"),
            # started at 8:00 Paris time, ends at 10:00: in progress at "now" (9:00)
            dated("en-cours", "  - debut: 2026-03-01 08:00\n    fin: 2026-03-01 10:00\n"),
            # a cycle whose first session is past: ordered by its next one (April)
            dated(
                "cycle",
                "  - debut: 2026-01-15\n  - debut: 2026-04-20\n  - debut: 2026-06-01\n",
                "format: cycle-qualification\n",
            ),
            dated("bientot", "  - debut: 2026-03-02\n", "mode: distanciel\n"),
            dated("plus-tard", "  - debut: 2026-05-05 14:00\n    fin: 2026-05-05 16:00\n"),
            # at Réunion, 12:30 local is 9:30 Paris: after "en-cours", still today
            dated(
                "reunion",
                "  - debut: 2026-03-01 12:30\n    fin: 2026-03-01 15:00\n",
                "fuseau: Indian/Reunion\netat: annule\n",
            ),
        ]
    )
    files["ca/guide.md"] = event("", type_="guide", sessions="")
    root = make_tree({"ca/_centre.md": CENTRE, **files})
    assert not load_tree(root).errors
    return root


@pytest.fixture
def agenda_index(make_tree, tmp_path):
    root = _agenda_tree(make_tree)
    Indexer(root, tmp_path / "index").rebuild()
    index = SearchIndex(tmp_path / "index")
    yield index
    index.close()


NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def ids(result) -> list[str]:
    return [entry.hit.id.split("/")[1] for entry in result.entries]


def test_upcoming_events_by_next_session_around_now(agenda_index) -> None:
    result = agenda_index.agenda(AgendaRequest(now=NOW))
    assert ids(result) == ["en-cours", "reunion", "bientot", "cycle", "plus-tard"]
    cycle = result.entries[3]
    assert cycle.key_time == dt.datetime(2026, 4, 20, tzinfo=cycle.key_time.tzinfo)
    # one minute after the session in progress ends, it is in the past
    later = agenda_index.agenda(AgendaRequest(now=dt.datetime(2026, 3, 1, 9, 1, tzinfo=dt.UTC)))
    assert "en-cours" not in ids(later)


def test_past_events_latest_first(agenda_index) -> None:
    result = agenda_index.agenda(AgendaRequest(now=NOW, period=PAST))
    assert ids(result) == ["passe-recent", "passe-ancien"]


def test_date_range_keeps_events_with_a_session_inside(agenda_index) -> None:
    request = AgendaRequest(
        now=NOW, period="tout", start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30)
    )
    assert ids(agenda_index.agenda(request)) == ["cycle"]
    request = AgendaRequest(
        now=NOW, period="tout", start=dt.date(2026, 2, 28), end=dt.date(2026, 3, 1)
    )
    assert ids(agenda_index.agenda(request)) == ["passe-recent", "en-cours", "reunion"]


def test_agenda_filters_facets_and_words(agenda_index) -> None:
    result = agenda_index.agenda(AgendaRequest(now=NOW, filters={"mode": ("distanciel",)}))
    assert ids(result) == ["bientot"]
    everything = agenda_index.agenda(AgendaRequest(now=NOW))
    modes = {v.valeur: v.nombre for v in everything.facets["mode"]}
    assert modes == {"distanciel": 1}
    assert {v.valeur: v.nombre for v in everything.facets["type"]} == {"evenement": 5}
    words = agenda_index.agenda(AgendaRequest(now=NOW, q="plus-tard"))
    assert ids(words) == ["plus-tard"]
    # the guide is no event: never in the agenda, but events are found by the search
    search = agenda_index.search(SearchRequest(filters={"type": ("evenement",)}, per_page=50))
    assert search.total == 7


def test_paging(agenda_index) -> None:
    first = agenda_index.agenda(AgendaRequest(now=NOW, per_page=2))
    second = agenda_index.agenda(AgendaRequest(now=NOW, per_page=2, page=2))
    assert first.total == 5 and first.pages == 3
    assert ids(first) + ids(second) == ["en-cours", "reunion", "bientot", "cycle"]


def test_linked_finds_the_other_direction(make_tree, tmp_path) -> None:
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/rencontre.md": event("productions: [ca/cr]\n"),
            "ca/cr.md": event("issu_de: ca/rencontre\n", type_="compte-rendu", sessions=""),
        }
    )
    Indexer(root, tmp_path / "index").rebuild()
    index = SearchIndex(tmp_path / "index")
    try:
        assert [m["id"] for m in index.linked("ca/rencontre")] == ["ca/cr"]
        assert [m["id"] for m in index.linked("ca/cr")] == ["ca/rencontre"]
        assert index.get("ca/rencontre")["productions"] == ["ca/cr"]
    finally:
        index.close()


def test_upcoming_is_the_default_period() -> None:
    assert AgendaRequest(now=NOW).period == UPCOMING

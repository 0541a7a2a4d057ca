"""Hostile or broken OAI-PMH servers (a real HTTP server on loopback, answers written by
hand): each attack ends the harvest with a clear French report, and nothing is written —
neither the output nor the `from` of the next run."""

from __future__ import annotations

import time

import pytest
from harvest_support import (
    FORMATS_DC,
    FORMATS_KB,
    OAIServer,
    Scenario,
    dc_record,
    hang,
    identify,
    list_records,
    oai,
    trickle,
)

from kb.loader import load_tree
from kb.render import render_markdown
from publishing.harvest import FolderOutput, GitOutput, Harvester, HarvestSettings, read_state
from publishing.oaiclient import HarvestLimits

QUICK = HarvestLimits(
    connect_timeout=2,
    read_timeout=0.5,
    response_seconds=1.5,
    deadline_seconds=20,
    max_response_bytes=200_000,
    max_pages=6,
    retries=2,
    backoff=0.05,
    max_wait=2,
)
GOOD_RECORD = dc_record("oai:test:1", "Une notice correcte")


@pytest.fixture
def server():
    with OAIServer() as running:
        yield running


def scenario(server: OAIServer, name: str, records, formats: bytes = FORMATS_DC) -> str:
    server.scenarios[name] = Scenario(
        {"Identify": identify(), "ListMetadataFormats": formats, "ListRecords": records}
    )
    return server.url(name)


def run(url: str, tmp_path, centre: str | None = "crpv-test", limits=QUICK, **kwargs):
    settings = HarvestSettings(nom="essai", url=url, centre=centre)
    output = FolderOutput(tmp_path / "sortie")
    harvester = Harvester(settings, tmp_path / "index", output, limits=limits, **kwargs)
    return harvester.run(), output


def assert_nothing_written(tmp_path, report) -> None:
    assert not report.ok
    assert not (tmp_path / "sortie").exists()
    state = read_state(tmp_path / "index", "essai")
    assert state["executions"][-1]["resultat"] == "echec"
    assert state["executions"][-1]["erreurs"][0] == report.error
    assert "dernier_succes" not in state


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-12-01T10:00:00Z</responseDate>
<ListRecords><record><header><identifier>oai:x:1</identifier><datestamp>2026-01-01</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title></oai_dc:dc></metadata>
</record></ListRecords></OAI-PMH>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-12-01T10:00:00Z</responseDate>
<ListRecords><record><header><identifier>oai:x:1</identifier><datestamp>2026-01-01</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&secret;</dc:title></oai_dc:dc></metadata>
</record></ListRecords></OAI-PMH>"""


def test_xml_bomb_is_refused_without_expanding(server, tmp_path):
    started = time.monotonic()
    report, _ = run(scenario(server, "bombe", BILLION_LAUGHS), tmp_path)
    assert time.monotonic() - started < 5
    assert "DTD" in report.error and "bombe XML" in report.error
    assert_nothing_written(tmp_path, report)


def test_external_entity_is_never_resolved(server, tmp_path):
    report, _ = run(scenario(server, "entite", EXTERNAL_ENTITY), tmp_path)
    assert "DTD" in report.error
    assert "root:" not in report.error
    assert_nothing_written(tmp_path, report)


def test_huge_response_is_abandoned_while_streaming(server, tmp_path):
    filler = "".join(dc_record(f"oai:test:{n}", "Titre " + "très long " * 50) for n in range(2000))
    report, _ = run(scenario(server, "enorme", list_records(filler)), tmp_path)
    assert "réponse trop volumineuse" in report.error
    assert_nothing_written(tmp_path, report)


def test_looping_resumption_token_is_detected(server, tmp_path):
    report, _ = run(
        scenario(server, "boucle", list_records(GOOD_RECORD, "toujours-le-meme")), tmp_path
    )
    assert "jeton de reprise déjà reçu" in report.error
    assert_nothing_written(tmp_path, report)


def test_endless_resumption_tokens_are_capped(server, tmp_path):
    def page(args):
        number = int(args.get("resumptionToken", "0")) + 1
        return list_records(dc_record(f"oai:test:{number}", f"Notice {number}"), str(number))

    report, _ = run(scenario(server, "sans-fin", page), tmp_path)
    assert "plus de 6 pages" in report.error
    assert_nothing_written(tmp_path, report)


def test_response_trickling_byte_by_byte_is_stopped(server, tmp_path):
    slow = trickle(list_records(GOOD_RECORD), 0.05)  # ~1,000 bytes: 50 s if waited for
    started = time.monotonic()
    report, _ = run(scenario(server, "lent", slow), tmp_path)
    assert time.monotonic() - started < 6
    assert "réponse trop lente" in report.error
    assert_nothing_written(tmp_path, report)


def test_hanging_server_times_out_after_retries(server, tmp_path):
    started = time.monotonic()
    report, _ = run(scenario(server, "muet", hang(5)), tmp_path)
    assert time.monotonic() - started < 5
    assert "après 3 essais" in report.error and "délai dépassé" in report.error
    assert len(server.scenarios["muet"].calls) == 5  # Identify, formats, 1 + 2 tries
    assert_nothing_written(tmp_path, report)


def test_busy_server_is_retried_after_retry_after(server, tmp_path):
    answers = iter(
        [
            (503, {"Retry-After": "1"}, b"occupe"),
            (503, {}, b"occupe"),
        ]
    )

    def busy(args):
        return next(answers, list_records(GOOD_RECORD))

    started = time.monotonic()
    report, output = run(scenario(server, "occupe", busy), tmp_path)
    assert report.ok, report.error
    assert time.monotonic() - started >= 1  # the Retry-After was honoured
    assert len(report.added) == 1


def test_retry_after_longer_than_accepted_stops_at_once(server, tmp_path):
    url = scenario(server, "plus-tard", (503, {"Retry-After": "3600"}, b""))
    report, _ = run(url, tmp_path)
    assert "Retry-After" in report.error and "3600" in report.error
    assert_nothing_written(tmp_path, report)


def test_invalid_dates_refuse_the_record_not_the_harvest(server, tmp_path):
    records = (
        dc_record("oai:test:mauvais-horodatage", "Horodatage impossible", "2024-13-45")
        + dc_record(
            "oai:test:date-inventee",
            "Date du document illisible",
            "2026-11-30",
            "<dc:date>9999-99-99</dc:date><dc:date>hier</dc:date>",
        )
        + dc_record("oai:test:date-partielle", "Date partielle", extra="<dc:date>2019</dc:date>")
    )
    report, _ = run(scenario(server, "dates", list_records(records)), tmp_path)
    assert report.ok
    assert any("mauvais-horodatage" in line and "2024-13-45" in line for line in report.refused)
    result = load_tree(tmp_path / "sortie")
    assert not result.errors
    dates = {r.titre: r.date.isoformat() for r in result.resources.values()}
    assert dates == {"Date du document illisible": "2026-11-30", "Date partielle": "2019-01-01"}


KB_RECORD = """<record><header><identifier>oai:autre:{id}</identifier>
<datestamp>2026-11-30T09:00:00Z</datestamp></header><metadata>
<kb:ressource xmlns:kb="urn:crpv-kb:oai:ressource:1" id="{id}">
<kb:url>https://autre.example.org/ressources/{id}</kb:url>
<kb:centre id="{centre}"><kb:champ nom="nom">Centre {centre}</kb:champ></kb:centre>
<kb:entete><kb:champ nom="titre">Fiche {id}</kb:champ><kb:champ nom="type">guide</kb:champ>
<kb:champ nom="date">2025-01-02</kb:champ>
<kb:champ nom="piliers"><kb:valeur>cohesion-sociale</kb:valeur></kb:champ>
<kb:champ nom="resume">Un résumé.</kb:champ>{alias}</kb:entete><kb:texte>Texte.</kb:texte>
</kb:ressource></metadata></record>"""


def kb_record(resource_id: str, alias: str = "") -> str:
    centre = resource_id.split("/")[0]
    alias_xml = f'<kb:champ nom="alias"><kb:valeur>{alias}</kb:valeur></kb:champ>' if alias else ""
    return KB_RECORD.format(id=resource_id, centre=centre, alias=alias_xml)


def test_records_claiming_another_centres_identifiers_are_refused(server, tmp_path):
    records = (
        kb_record("crpv-autre/fiche-permise")
        + kb_record("crpv-local/fiche-usurpee")
        + kb_record("crpv-autre/alias-usurpe", alias="crpv-local/ancienne-fiche")
    )
    url = scenario(server, "usurpation", list_records(records), FORMATS_KB)
    report, _ = run(url, tmp_path, centre=None, claimed=frozenset({"crpv-local"}))
    assert report.ok
    assert report.added == ["crpv-autre/fiche-permise"]
    refused = "\n".join(report.refused)
    assert "crpv-local/fiche-usurpee" in refused and "autre source" in refused
    assert "alias-usurpe" in refused and "autre centre" in refused
    assert not (tmp_path / "sortie" / "crpv-local").exists()


def test_untrusted_text_cannot_inject_markup(server, tmp_path):
    extra = (
        "<dc:description>&lt;script&gt;alert(1)&lt;/script&gt; [clic](javascript:alert(2)) "
        "&lt;img src=x onerror=alert(3)&gt;\n# Faux titre\n---\nmoisson: faux</dc:description>"
        "<dc:identifier>javascript:alert(4)</dc:identifier>"
        "<dc:subject>&lt;b&gt;gras&lt;/b&gt;</dc:subject>"
    )
    record = dc_record(
        "oai:test:piege", "&lt;script&gt;alert(0)&lt;/script&gt;\u009bTitre", extra=extra
    )
    report, _ = run(scenario(server, "piege", list_records(record)), tmp_path)
    assert report.ok and len(report.added) == 1
    result = load_tree(tmp_path / "sortie")
    assert not result.errors
    (resource,) = result.resources.values()
    assert resource.titre == "<script>alert(0)</script>Titre"  # shown as text, escaped by the page
    assert resource.origine is None  # a javascript: identifier is not a link
    html = render_markdown(resource.body).html
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<h1" not in html and "<hr" not in html
    assert "&lt;script&gt;" in html


def test_failure_in_git_mode_leaves_the_repository_as_it_was(server, tmp_path):
    url = scenario(server, "git", list_records(GOOD_RECORD))
    settings = HarvestSettings(nom="essai", url=url, centre="crpv-test")
    output = GitOutput(tmp_path / "index" / "moissons" / "essai.git")
    first = Harvester(settings, tmp_path / "index", output, limits=QUICK).run()
    assert first.ok and first.commit
    server.scenarios["git"].answers["ListRecords"] = BILLION_LAUGHS
    second = Harvester(settings, tmp_path / "index", output, limits=QUICK).run()
    assert not second.ok
    assert output.head() == first.commit
    state = read_state(tmp_path / "index", "essai")
    assert state["dernier_succes"]["commit"] == first.commit
    assert [r["resultat"] for r in state["executions"]] == ["reussie", "echec"]


def test_unknown_formats_and_protocol_errors_are_reported(server, tmp_path):
    url = scenario(
        server,
        "erreur",
        oai('<error code="badArgument">argument inattendu</error>'),
    )
    report, _ = run(url, tmp_path)
    assert "badArgument" in report.error
    assert_nothing_written(tmp_path, report)


def test_two_runs_of_one_harvest_never_overlap(server, tmp_path):
    from indexer.store import exclusive_lock

    url = scenario(server, "double", list_records(GOOD_RECORD))
    lock = tmp_path / "index" / "moissons" / "essai.verrou"
    with exclusive_lock(lock, 0, RuntimeError("pris")):
        report, _ = run(url, tmp_path)
    assert "déjà en cours" in report.error
    assert not (tmp_path / "sortie").exists()
    report, _ = run(url, tmp_path)
    assert report.ok and len(report.added) == 1

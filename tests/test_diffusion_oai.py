"""OAI-PMH 2.0 at /oai: harvested with a real client (sickle) over HTTP, and every verb,
set, date selection, resumption token and error checked on the XML itself (lxml/XPath:
there is no network to fetch the protocol's XML schemas)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree
from sickle import Sickle, oaiexceptions
from webapp_support import DIAGNOSTIC, RETIRED, SERIES, SITE_URL, build_site

from indexer import store
from indexer.build import Indexer
from indexer.search import SearchIndex
from webapp import create_app
from webapp.dissemination import oai
from webapp.serving import ServerThread

NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
}
DC_ELEMENTS = {
    "title",
    "creator",
    "subject",
    "description",
    "publisher",
    "contributor",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
}
DATESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ERROR_CODES = {
    "badArgument",
    "badResumptionToken",
    "badVerb",
    "cannotDisseminateFormat",
    "idDoesNotExist",
    "noRecordsMatch",
    "noMetadataFormats",
    "noSetHierarchy",
}
PREFIX = "oai:ressources.example.org:"


def check_response(xml: bytes) -> etree._Element:
    """The structure the OAI-PMH schema requires of every response."""
    root = etree.fromstring(xml)
    assert root.tag == etree.QName(NS["o"], "OAI-PMH").text
    children = list(root)
    assert [etree.QName(c).localname for c in children[:2]] == ["responseDate", "request"]
    assert DATESTAMP.match(children[0].text)
    assert children[1].text == SITE_URL + "/oai"
    rest = children[2:]
    assert rest, "a verb element or errors"
    if etree.QName(rest[0]).localname == "error":
        assert all(etree.QName(e).localname == "error" for e in rest)
        assert all(e.get("code") in ERROR_CODES for e in rest)
    else:
        assert len(rest) == 1
        assert etree.QName(rest[0]).localname == children[1].get("verb")
    for header in root.iterfind(".//o:header", NS):
        names = [etree.QName(c).localname for c in header]
        assert names[:2] == ["identifier", "datestamp"]
        assert set(names[2:]) <= {"setSpec"}
        assert DATESTAMP.match(header.findtext("o:datestamp", namespaces=NS))
        assert header.get("status") in (None, "deleted")
    for record in root.iterfind(".//o:record", NS):
        header = record.find("o:header", NS)
        metadata = record.find("o:metadata", NS)
        if header.get("status") == "deleted":
            assert metadata is None
            continue
        assert len(metadata) == 1
        if etree.QName(metadata[0]).namespace == oai.KB_NS:
            continue  # the `kb` format: checked against its own schema
        dc = metadata.find("oai_dc:dc", NS)
        assert dc is not None
        for element in dc:
            assert etree.QName(element).namespace == NS["dc"]
            assert etree.QName(element).localname in DC_ELEMENTS
            assert element.text and element.text.strip()
    return root


def get_oai(client, query: str, method: str = "GET") -> etree._Element:
    if method == "POST":
        response = client.post("/oai", data=query, content_type="application/x-www-form-urlencoded")
    else:
        response = client.get("/oai?" + query)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return check_response(response.data)


def error_code(root) -> str:
    return root.find("o:error", NS).get("code")


@pytest.fixture(scope="module")
def oai_url(web_app):
    with ServerThread(web_app) as url:
        yield url + "/oai"


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(oai, "PAGE_SIZE", 7)


def published_ids(webapp_site) -> set[str]:
    return {meta["id"] for meta in SearchIndex(webapp_site.index).all_metadata()}


# --- harvesting with a real client ----------------------------------------------------------


def test_sickle_harvests_every_published_record_exactly_once(oai_url, webapp_site, small_pages):
    harvester = Sickle(oai_url)
    records = list(harvester.ListRecords(metadataPrefix="oai_dc"))
    live = [r for r in records if not r.deleted]
    identifiers = [r.header.identifier for r in live]
    assert len(identifiers) == len(set(identifiers))
    assert {i.removeprefix(PREFIX) for i in identifiers} == published_ids(webapp_site)
    assert not any("brouillon" in i or "orphelin" in i for i in identifiers)
    # The resource removed from the index is reported as deleted, without metadata.
    deleted = [r for r in records if r.deleted]
    assert [r.header.identifier for r in deleted] == [PREFIX + RETIRED.removeprefix("/ressources/")]
    diagnostic = next(r for r in live if r.header.identifier.endswith(DIAGNOSTIC[12:]))
    assert diagnostic.metadata["title"] == ["Conduire un diagnostic en marchant avec les habitants"]
    assert diagnostic.metadata["identifier"] == [SITE_URL + DIAGNOSTIC]
    assert "centre:centre-alpha" in diagnostic.header.setSpecs


def test_sickle_lists_identifiers_by_set_and_the_sets(oai_url, small_pages):
    harvester = Sickle(oai_url)
    gamma = list(harvester.ListIdentifiers(metadataPrefix="oai_dc", set="centre:centre-gamma"))
    assert len(gamma) == SERIES
    economic = list(
        harvester.ListIdentifiers(metadataPrefix="oai_dc", set="pilier:developpement-economique")
    )
    assert len(economic) == SERIES + 1
    sets = {s.setSpec: s.setName for s in harvester.ListSets()}
    assert sets["centre:centre-alpha"] == "Centre : Centre Alpha des quartiers (test)"
    assert sets["pilier:cadre-de-vie"] == "Pilier : Cadre de vie et renouvellement urbain"
    assert "centre" in sets and "pilier" in sets
    identify = harvester.Identify()
    assert identify.protocolVersion == "2.0"
    assert identify.deletedRecord == "transient"
    record = harvester.GetRecord(
        identifier=PREFIX + "centre-alpha/diagnostic-en-marchant", metadataPrefix="oai_dc"
    )
    assert record.metadata["publisher"] == ["Centre Alpha des quartiers (test)"]
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        harvester.GetRecord(identifier=PREFIX + "centre-alpha/inconnue", metadataPrefix="oai_dc")
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        list(harvester.ListRecords(metadataPrefix="oai_dc", set="centre:inconnu"))


# --- each verb on the XML ---------------------------------------------------------------------


def test_identify(web_client):
    root = get_oai(web_client, "verb=Identify")
    identify = root.find("o:Identify", NS)
    names = [etree.QName(c).localname for c in identify]
    assert names[:7] == [
        "repositoryName",
        "baseURL",
        "protocolVersion",
        "adminEmail",
        "earliestDatestamp",
        "deletedRecord",
        "granularity",
    ]
    assert identify.findtext("o:baseURL", namespaces=NS) == SITE_URL + "/oai"
    assert identify.findtext("o:adminEmail", namespaces=NS) == "postmaster@ressources.example.org"
    assert identify.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert DATESTAMP.match(identify.findtext("o:earliestDatestamp", namespaces=NS))
    sample = identify.findtext(".//id:sampleIdentifier", namespaces=NS)
    assert sample.startswith(PREFIX)


def test_the_administrator_address_is_a_setting(webapp_site, monkeypatch):
    monkeypatch.delenv("KB_ADMIN_EMAIL", raising=False)
    app = create_app(webapp_site.config(KB_ADMIN_EMAIL="documentation@crpv.example.org"))
    root = get_oai(app.test_client(), "verb=Identify")
    email = root.findtext(".//o:adminEmail", namespaces=NS)
    assert email == "documentation@crpv.example.org"


def test_list_metadata_formats(web_client):
    root = get_oai(web_client, "verb=ListMetadataFormats")
    assert root.xpath("//o:metadataPrefix/text()", namespaces=NS) == ["oai_dc", "kb"]
    assert root.xpath("//o:schema/text()", namespaces=NS)[1] == SITE_URL + "/static/oai/kb.xsd"
    one = get_oai(
        web_client,
        f"verb=ListMetadataFormats&identifier={PREFIX}centre-alpha/diagnostic-en-marchant",
    )
    assert one.xpath("//o:metadataNamespace/text()", namespaces=NS) == [NS["oai_dc"], oai.KB_NS]
    unknown = get_oai(web_client, f"verb=ListMetadataFormats&identifier={PREFIX}x/y")
    assert error_code(unknown) == "idDoesNotExist"


def test_get_record_maps_the_front_matter_to_the_fifteen_dublin_core_elements(web_client):
    root = get_oai(
        web_client,
        f"verb=GetRecord&metadataPrefix=oai_dc&identifier={PREFIX}centre-alpha/diagnostic-en-marchant",
    )
    dc = root.find(".//oai_dc:dc", NS)
    values: dict[str, list[str]] = {}
    for element in dc:
        values.setdefault(etree.QName(element).localname, []).append(element.text)
    assert set(values) == DC_ELEMENTS
    assert values["creator"] == ["Chef de projet GUSP", "Chargée de mission participation"]
    assert "Participation citoyenne" in values["subject"]
    assert "diagnostic en marchant" in values["subject"]
    assert values["date"] == ["2021-03-15", "2023-01-10"]
    assert values["type"] == ["Text", "Fiche pratique"]
    assert values["language"] == ["fr"]
    assert values["rights"] == ["CC BY-SA 4.0"]
    assert "Auvergne-Rhône-Alpes" in values["coverage"]
    assert "Quartier prioritaire QN06901M" in values["coverage"]
    assert f"{SITE_URL}/fichiers/centre-alpha/bilan.pdf" in values["relation"]
    assert values["contributor"][0] == "Mission GUSP de la ville (fictive)"
    # The header's sets: its centre and its pillars.
    assert root.xpath("//o:header/o:setSpec/text()", namespaces=NS) == [
        "centre:centre-alpha",
        "pilier:cadre-de-vie",
        "pilier:cohesion-sociale",
    ]


def test_a_removed_record_is_deleted_with_its_datestamp(web_client):
    identifier = PREFIX + RETIRED.removeprefix("/ressources/")
    root = get_oai(web_client, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}")
    header = root.find(".//o:header", NS)
    assert header.get("status") == "deleted"
    assert root.find(".//o:metadata", NS) is None
    assert header.findtext("o:setSpec", namespaces=NS) == "centre:centre-beta"


def test_drafts_are_never_records(web_client):
    for resource_id in ("centre-alpha/brouillon-secret", "centre-orphelin/fiche"):
        root = get_oai(
            web_client, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={PREFIX}{resource_id}"
        )
        assert error_code(root) == "idDoesNotExist"


def test_resumption_tokens_carry_cursor_and_list_size(web_client, small_pages):
    root = get_oai(web_client, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=centre:centre-gamma")
    token = root.find(".//o:resumptionToken", NS)
    assert token.get("completeListSize") == str(SERIES)
    assert token.get("cursor") == "0"
    assert len(root.findall(".//o:header", NS)) == 7
    seen = 7
    while token.text:
        root = get_oai(web_client, f"verb=ListIdentifiers&resumptionToken={token.text}")
        assert root.find("o:request", NS).get("resumptionToken") == token.text
        token = root.find(".//o:resumptionToken", NS)
        assert token.get("cursor") == str(seen)
        seen += len(root.findall(".//o:header", NS))
    assert seen == SERIES
    assert token.text is None  # the last response ends with an empty token


def test_both_http_methods_are_accepted(web_client):
    root = get_oai(web_client, "verb=ListSets", method="POST")
    assert root.find("o:ListSets", NS) is not None


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "badVerb"),
        ("verb=Inconnu", "badVerb"),
        ("verb=Identify&verb=ListSets", "badVerb"),
        ("verb=Identify&x=1", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=GetRecord&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-13-01", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=hier", "badArgument"),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&until=2024-02-01T00:00:00Z",
            "badArgument",
        ),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-01&until=2024-01-01", "badArgument"),
        ("verb=ListRecords&resumptionToken=abc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marc21", "cannotDisseminateFormat"),
        (
            "verb=GetRecord&metadataPrefix=marc21&identifier="
            + PREFIX
            + "centre-alpha/diagnostic-en-marchant",
            "cannotDisseminateFormat",
        ),
        (
            "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:ailleurs.example:x/y",
            "idDoesNotExist",
        ),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=thematique:mobilite", "noRecordsMatch"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2999-01-01", "noRecordsMatch"),
        ("verb=ListRecords&metadataPrefix=oai_dc&until=1990-01-01", "noRecordsMatch"),
        ("verb=ListRecords&resumptionToken=pas-un-jeton", "badResumptionToken"),
        ("verb=ListSets&resumptionToken=abc", "badResumptionToken"),
    ],
)
def test_protocol_errors(web_client, query, code):
    root = get_oai(web_client, query)
    assert error_code(root) == code
    assert root.find("o:error", NS).text  # a French explanation
    request_attributes = dict(root.find("o:request", NS).attrib)
    if code in ("badVerb", "badArgument"):
        assert request_attributes == {}  # the base URL only
    else:
        assert request_attributes.get("verb")


def test_a_token_is_bound_to_its_verb(web_client, small_pages):
    root = get_oai(web_client, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    token = root.find(".//o:resumptionToken", NS).text
    assert error_code(get_oai(web_client, f"verb=ListRecords&resumptionToken={token}")) == (
        "badResumptionToken"
    )


# --- datestamps: when a record changed in the index ---------------------------------------------


RESOURCE = """---
titre: {titre}
type: guide
date: 2020-01-01
piliers: [cohesion-sociale]
resume: Résumé.
---
Texte.
"""


def test_selective_harvesting_by_datestamp_follows_changes_in_the_index(tmp_path, monkeypatch):
    """Datestamps move when a record's description changes, not at every indexing run;
    a removed record is reported deleted at the time it left."""
    site = build_site(tmp_path)
    clock = iter(f"2030-01-0{day}T10:00:00+00:00" for day in range(1, 10))
    current = {"time": next(clock)}
    monkeypatch.setattr(store, "now_iso", lambda: current["time"])
    centre = site.content / "centre-alpha"
    (centre / "nouvelle.md").write_text(RESOURCE.format(titre="Nouvelle"), encoding="utf-8")
    (centre / "stable.md").write_text(RESOURCE.format(titre="Stable"), encoding="utf-8")
    Indexer(site.content, site.index).rebuild()

    current["time"] = next(clock)  # day 2: one changes, one goes, the rest is rebuilt as is
    (centre / "nouvelle.md").write_text(RESOURCE.format(titre="Nouvelle, revue"), encoding="utf-8")
    (site.content / "centre-beta" / "maison-du-projet.md").unlink()
    Indexer(site.content, site.index).update()
    Indexer(site.content, site.index).rebuild()

    client = create_app(site.config()).test_client()
    root = get_oai(client, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2030-01-02")
    headers = {
        h.findtext("o:identifier", namespaces=NS).removeprefix(PREFIX): h
        for h in root.iterfind(".//o:header", NS)
    }
    assert set(headers) == {"centre-alpha/nouvelle", "centre-beta/maison-du-projet"}
    assert headers["centre-beta/maison-du-projet"].get("status") == "deleted"
    assert headers["centre-alpha/nouvelle"].findtext("o:datestamp", namespaces=NS) == (
        "2030-01-02T10:00:00Z"
    )
    before = get_oai(
        client,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2030-01-01T23:59:59Z"
        "&from=2030-01-01T00:00:00Z",
    )
    ids = {i.removeprefix(PREFIX) for i in before.xpath("//o:identifier/text()", namespaces=NS)}
    assert "centre-alpha/stable" in ids and "centre-alpha/nouvelle" not in ids
    identify = get_oai(client, "verb=Identify")
    # build_site indexed (with the real clock) before the clock above was set.
    assert identify.findtext(".//o:earliestDatestamp", namespaces=NS) < "2030-01-01T10:00:00Z"


KB_XSD = Path(__file__).parent.parent / "webapp" / "static" / "oai" / "kb.xsd"


def test_kb_format_carries_the_whole_header_and_follows_its_schema(web_client):
    root = get_oai(
        web_client,
        f"verb=GetRecord&metadataPrefix=kb&identifier={PREFIX}centre-alpha/diagnostic-en-marchant",
    )
    (record,) = root.xpath("//kb:ressource", namespaces={"kb": oai.KB_NS})
    etree.XMLSchema(etree.parse(str(KB_XSD))).assertValid(record)
    assert record.get("id") == "centre-alpha/diagnostic-en-marchant"
    assert record.findtext(f"{{{oai.KB_NS}}}url") == SITE_URL + DIAGNOSTIC
    fields = {
        f.get("nom"): f for f in record.iterfind(f"{{{oai.KB_NS}}}entete/{{{oai.KB_NS}}}champ")
    }
    assert {"titre", "type", "date", "piliers", "resume"} <= set(fields)
    values = fields["piliers"].xpath("kb:valeur/text()", namespaces={"kb": oai.KB_NS})
    assert values and all(isinstance(v, str) for v in values)
    assert record.findtext(f"{{{oai.KB_NS}}}texte").strip()


def test_kb_format_lists_records_with_resumption_tokens(web_client, small_pages):
    root = get_oai(web_client, "verb=ListRecords&metadataPrefix=kb")
    assert len(root.xpath("//o:record", namespaces=NS)) == 7
    live = root.xpath("//o:header[not(@status)]", namespaces=NS)
    assert len(root.xpath("//kb:ressource", namespaces={"kb": oai.KB_NS})) == len(live) > 0
    assert root.xpath("//o:resumptionToken/text()", namespaces=NS)

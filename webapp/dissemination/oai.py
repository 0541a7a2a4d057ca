"""OAI-PMH 2.0 at `/oai`: the six verbs, Dublin Core (`oai_dc`), sets per centre and per
pillar, selective harvesting by date, resumption tokens and the protocol's errors.

Records come from the index's registry of publications (kept across rebuilds), so that:
- a record's datestamp is when its description last changed in the index, not the date
  written in the file: a harvester asking `from=` its last visit gets what changed since;
- a resource that left the index is reported as deleted (`deletedRecord`: transient, the
  registry lives in the index folder: deleting that folder forgets deletions).
Lists are in identifier order and resumption tokens carry the last identifier sent, so a
token stays valid while the index changes (nothing is listed twice).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Response, request
from lxml import etree

from kb.frontmatter import header_of
from kb.model import ID_PATTERN, Resource

from ..core.catalogue import Catalogue, current_catalogue
from ..core.jsondata import parse_json
from .records import Describer, xml_text

bp = Blueprint("oai", __name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"

PAGE_SIZE = 100  # records (or headers) per response
TOKEN_VERSION = 1
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_DOMAIN = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$")

# verb -> (required arguments, optional arguments, exclusive argument)
VERBS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    "Identify": ((), (), None),
    "ListMetadataFormats": ((), ("identifier",), None),
    "ListSets": ((), (), "resumptionToken"),
    "GetRecord": (("identifier", "metadataPrefix"), (), None),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
}
# This software's own format: a resource's whole header, its centre, its text and its
# first publication, so that another instance harvests it without loss (`kb moissonner`).
# Its schema is webapp/static/oai/kb.xsd (served by the site), documented in
# docs/deploiement.md.
KB_PREFIX = "kb"
KB_NS = "urn:crpv-kb:oai:ressource:1"
KB_SCHEMA_PATH = "/static/oai/kb.xsd"
FORMATS = {"oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS), KB_PREFIX: (KB_SCHEMA_PATH, KB_NS)}
SET_KINDS = {"centre": "Centres de ressources", "pilier": "Piliers des contrats de ville"}


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def utc(stamp: str | None) -> str:
    """A registry time (ISO 8601 with offset) as an OAI datestamp (UTC, `Z`)."""
    if not stamp:
        return now()
    moment = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- arguments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What a list request selects, as given (kept in resumption tokens)."""

    verb: str
    prefix: str
    since: str | None = None  # the `from` argument
    until: str | None = None
    set: str | None = None
    after: str = ""  # last identifier sent
    cursor: int = 0

    def token(self, after: str, cursor: int) -> str:
        data = {
            "v": TOKEN_VERSION,
            "verb": self.verb,
            "m": self.prefix,
            "f": self.since,
            "u": self.until,
            "s": self.set,
            "a": after,
            "c": cursor,
        }
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_token(cls, verb: str, token: str) -> Selection:
        bad = OAIError("badResumptionToken", "jeton de reprise invalide ou périmé")
        try:
            padded = token + "=" * (-len(token) % 4)
            data = parse_json(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (ValueError, binascii.Error, UnicodeError):
            raise bad from None
        if not isinstance(data, dict) or data.get("v") != TOKEN_VERSION or data.get("verb") != verb:
            raise bad
        fields = {
            "prefix": data.get("m"),
            "since": data.get("f"),
            "until": data.get("u"),
            "set": data.get("s"),
            "after": data.get("a"),
        }
        if not isinstance(fields["prefix"], str) or not isinstance(fields["after"], str):
            raise bad
        if any(fields[k] is not None and not isinstance(fields[k], str) for k in fields):
            raise bad
        cursor = data.get("c")
        if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0:
            raise bad
        selection = cls(verb=verb, cursor=cursor, **fields)
        try:
            selection.bounds()
        except OAIError:
            raise bad from None
        return selection

    def bounds(self) -> tuple[str | None, str | None]:
        """`from` and `until` as registry times (inclusive), checked."""
        since = _bound(self.since, "from", end=False)
        until = _bound(self.until, "until", end=True)
        if self.since and self.until:
            if bool(_DAY.match(self.since)) != bool(_DAY.match(self.until)):
                raise OAIError(
                    "badArgument",
                    "« from » et « until » doivent avoir la même granularité (jour ou seconde)",
                )
            if since and until and since > until:
                raise OAIError("badArgument", "« from » est postérieur à « until »")
        return since, until


def _bound(value: str | None, name: str, end: bool) -> str | None:
    if value is None:
        return None
    try:
        if _DAY.match(value):
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time(23, 59, 59) if end else dt.time(0))
        elif _SECONDS.match(value):
            moment = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        else:
            raise ValueError(value)
    except ValueError:
        raise OAIError(
            "badArgument",
            f"« {name} » invalide : date attendue sous la forme AAAA-MM-JJ ou AAAA-MM-JJThh:mm:ssZ",
        ) from None
    return moment.replace(tzinfo=dt.UTC).isoformat()


def read_arguments(args) -> tuple[str, dict[str, str]]:
    verbs = args.getlist("verb")
    if len(verbs) != 1 or verbs[0] not in VERBS:
        if not verbs:
            raise OAIError("badVerb", "argument « verb » absent")
        if len(verbs) > 1:
            raise OAIError("badVerb", "argument « verb » répété")
        raise OAIError("badVerb", f"verbe inconnu « {xml_text(verbs[0])[:60]} »")
    verb = verbs[0]
    required, optional, exclusive = VERBS[verb]
    arguments: dict[str, str] = {}
    for name in args:
        values = args.getlist(name)
        if name == "verb":
            continue
        if name not in (*required, *optional, exclusive):
            raise OAIError("badArgument", f"argument inattendu « {xml_text(name)[:60]} »")
        if len(values) > 1:
            raise OAIError("badArgument", f"argument « {name} » répété")
        arguments[name] = values[0]
    if exclusive and exclusive in arguments:
        if len(arguments) > 1:
            raise OAIError(
                "badArgument", f"« {exclusive} » ne se combine avec aucun autre argument"
            )
        return verb, arguments
    missing = [name for name in required if name not in arguments]
    if missing:
        raise OAIError("badArgument", "argument obligatoire absent : " + ", ".join(missing))
    return verb, arguments


# --- the repository ---------------------------------------------------------------------------


class Repository:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.describer = Describer(catalogue)
        self.host = urlsplit(catalogue.site_url).hostname or "localhost"
        self.base_url = catalogue.site_url + "/oai"

    # identifiers and sets

    def identifier(self, resource_id: str) -> str:
        return f"oai:{self.host}:{resource_id}"

    def resource_id(self, identifier: str) -> str | None:
        prefix = f"oai:{self.host}:"
        if not identifier.startswith(prefix):
            return None
        resource_id = identifier[len(prefix) :]
        centre, _, slug = resource_id.partition("/")
        if not (ID_PATTERN.match(centre) and ID_PATTERN.match(slug)):
            return None
        return resource_id

    def sets_of(self, resource_id: str, piliers: list[str]) -> list[str]:
        return [f"centre:{resource_id.partition('/')[0]}"] + [f"pilier:{p}" for p in piliers]

    def all_sets(self) -> list[tuple[str, str]]:
        sets = [("centre", SET_KINDS["centre"])]
        sets += [(f"centre:{c.id}", f"Centre : {c.nom}") for c in self.catalogue.centres().values()]
        sets.append(("pilier", SET_KINDS["pilier"]))
        sets += [
            (f"pilier:{term.id}", f"Pilier : {term.libelle}")
            for term in self.catalogue.vocabularies.piliers
        ]
        return sets

    @staticmethod
    def set_filter(set_spec: str | None) -> dict[str, str] | None:
        """Registry criteria for a set; None for a set that cannot hold any record."""
        if not set_spec or set_spec in SET_KINDS:
            return {}
        kind, _, value = set_spec.partition(":")
        if kind in SET_KINDS and value and ID_PATTERN.match(value):
            return {"centre" if kind == "centre" else "pilier": value}
        return None

    def admin_email(self) -> str:
        configured = str(self.catalogue.settings["courriel_admin"] or "").strip()
        if configured:
            return configured
        return f"postmaster@{self.host if '.' in self.host else 'localhost.localdomain'}"

    # verbs

    def identify(self, parent, arguments) -> None:
        element = etree.SubElement(parent, _q(OAI_NS, "Identify"))
        fields = [
            (
                "repositoryName",
                "Base de connaissances des centres de ressources politique de la ville",
            ),
            ("baseURL", self.base_url),
            ("protocolVersion", "2.0"),
            ("adminEmail", self.admin_email()),
            ("earliestDatestamp", utc(self.catalogue.earliest_change())),
            ("deletedRecord", "transient"),
            ("granularity", GRANULARITY),
        ]
        for name, text in fields:
            etree.SubElement(element, _q(OAI_NS, name)).text = xml_text(text)
        if _DOMAIN.match(self.host):
            description = etree.SubElement(element, _q(OAI_NS, "description"))
            scheme = etree.SubElement(
                description, _q(OAI_ID_NS, "oai-identifier"), nsmap={None: OAI_ID_NS}
            )
            scheme.set(_q(XSI_NS, "schemaLocation"), f"{OAI_ID_NS} {OAI_ID_SCHEMA}")
            for name, text in (
                ("scheme", "oai"),
                ("repositoryIdentifier", self.host),
                ("delimiter", ":"),
                ("sampleIdentifier", self.identifier("centre/fiche")),
            ):
                etree.SubElement(scheme, _q(OAI_ID_NS, name)).text = text

    def list_metadata_formats(self, parent, arguments) -> None:
        if "identifier" in arguments:
            self._entry(arguments["identifier"])
        element = etree.SubElement(parent, _q(OAI_NS, "ListMetadataFormats"))
        for prefix, (schema, namespace) in FORMATS.items():
            item = etree.SubElement(element, _q(OAI_NS, "metadataFormat"))
            etree.SubElement(item, _q(OAI_NS, "metadataPrefix")).text = prefix
            if schema.startswith("/"):
                schema = self.catalogue.site_url + schema
            etree.SubElement(item, _q(OAI_NS, "schema")).text = schema
            etree.SubElement(item, _q(OAI_NS, "metadataNamespace")).text = namespace

    def list_sets(self, parent, arguments) -> None:
        if "resumptionToken" in arguments:
            raise OAIError("badResumptionToken", "la liste des ensembles tient en une réponse")
        element = etree.SubElement(parent, _q(OAI_NS, "ListSets"))
        for spec, name in self.all_sets():
            item = etree.SubElement(element, _q(OAI_NS, "set"))
            etree.SubElement(item, _q(OAI_NS, "setSpec")).text = spec
            etree.SubElement(item, _q(OAI_NS, "setName")).text = xml_text(name)

    def get_record(self, parent, arguments) -> None:
        _check_prefix(arguments["metadataPrefix"])
        entry = self._entry(arguments["identifier"])
        meta = None if entry["retiree"] else self.catalogue.metadata(entry["id"])
        element = etree.SubElement(parent, _q(OAI_NS, "GetRecord"))
        self._record(element, entry, meta, with_metadata=True, prefix=arguments["metadataPrefix"])

    def list_identifiers(self, parent, arguments) -> None:
        self._list(parent, "ListIdentifiers", arguments, with_metadata=False)

    def list_records(self, parent, arguments) -> None:
        self._list(parent, "ListRecords", arguments, with_metadata=True)

    # lists

    def _list(self, parent, verb: str, arguments: dict[str, str], with_metadata: bool) -> None:
        if "resumptionToken" in arguments:
            selection = Selection.from_token(verb, arguments["resumptionToken"])
        else:
            selection = Selection(
                verb,
                arguments["metadataPrefix"],
                arguments.get("from"),
                arguments.get("until"),
                arguments.get("set"),
            )
        since, until = selection.bounds()
        _check_prefix(selection.prefix)
        criteria = self.set_filter(selection.set)
        if criteria is None:
            raise OAIError("noRecordsMatch", f"ensemble inconnu « {xml_text(selection.set)[:80]} »")
        criteria.update(since=since, until=until)
        entries = self.catalogue.changes(**criteria, after=selection.after, limit=PAGE_SIZE + 1)
        more = len(entries) > PAGE_SIZE
        entries = entries[:PAGE_SIZE]
        live = [e["id"] for e in entries if not e["retiree"]]
        metas = self.catalogue.metadata_of(live)
        # An entry the registry says is online but the index lacks (an update under way)
        # is left for the next harvest rather than reported deleted.
        entries = [e for e in entries if e["retiree"] or e["id"] in metas]
        if not entries:
            raise OAIError("noRecordsMatch", "aucun enregistrement ne correspond à la demande")
        element = etree.SubElement(parent, _q(OAI_NS, verb))
        for entry in entries:
            meta = None if entry["retiree"] else metas[entry["id"]]
            if with_metadata:
                self._record(element, entry, meta, with_metadata=True, prefix=selection.prefix)
            else:
                self._header(element, entry)
        if more or selection.cursor:
            token = etree.SubElement(element, _q(OAI_NS, "resumptionToken"))
            token.set("completeListSize", str(self.catalogue.count_changes(**criteria)))
            token.set("cursor", str(selection.cursor))
            if more:
                token.text = selection.token(entries[-1]["id"], selection.cursor + len(entries))

    # records

    def _entry(self, identifier: str) -> dict:
        resource_id = self.resource_id(identifier)
        entry = self.catalogue.registry_entry(resource_id) if resource_id else None
        if entry is None:
            raise OAIError(
                "idDoesNotExist", f"identifiant inconnu « {xml_text(identifier)[:120]} »"
            )
        return entry

    def _header(self, parent, entry: dict) -> None:
        header = etree.SubElement(parent, _q(OAI_NS, "header"))
        if entry["retiree"]:
            header.set("status", "deleted")
        etree.SubElement(header, _q(OAI_NS, "identifier")).text = self.identifier(entry["id"])
        etree.SubElement(header, _q(OAI_NS, "datestamp")).text = utc(entry["datestamp"])
        for spec in self.sets_of(entry["id"], entry["piliers"]):
            etree.SubElement(header, _q(OAI_NS, "setSpec")).text = spec

    def _record(
        self, parent, entry: dict, meta: dict | None, with_metadata: bool, prefix: str = "oai_dc"
    ) -> None:
        record = etree.SubElement(parent, _q(OAI_NS, "record"))
        resource = None
        if meta is not None and prefix == KB_PREFIX:
            resource = self.catalogue.resource(entry["id"])
            if resource is None:
                meta = None  # between two versions: reported deleted, like a missing one
        if meta is None and not entry["retiree"]:
            entry = {**entry, "retiree": entry["datestamp"]}
        self._header(record, entry)
        if meta is None or not with_metadata:
            return
        metadata = etree.SubElement(record, _q(OAI_NS, "metadata"))
        if resource is not None:
            self._kb_record(metadata, entry, resource)
            return
        dc = etree.SubElement(
            metadata, _q(OAI_DC_NS, "dc"), nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS}
        )
        dc.set(_q(XSI_NS, "schemaLocation"), f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
        for name, value in self.describer.dublin_core(meta):
            etree.SubElement(dc, _q(DC_NS, name)).text = value

    def _kb_record(self, parent, entry: dict, resource: Resource) -> None:
        """The `kb` format: the header's fields as `champ` elements (text, `valeur` items
        for a list, `champ` children for a table), the centre's card, the text."""
        root = etree.SubElement(
            parent, _q(KB_NS, "ressource"), nsmap={KB_PREFIX: KB_NS}, id=resource.id
        )
        root.set(_q(XSI_NS, "schemaLocation"), f"{KB_NS} {self.catalogue.site_url}{KB_SCHEMA_PATH}")
        etree.SubElement(root, _q(KB_NS, "url")).text = self.catalogue.permalink(resource.url)
        if entry.get("premiere"):
            etree.SubElement(root, _q(KB_NS, "premiere_publication")).text = utc(entry["premiere"])
        centre = self.describer.centre(resource.centre)
        card = etree.SubElement(root, _q(KB_NS, "centre"), id=resource.centre)
        for name, value in (
            ("nom", centre.nom),
            ("region", centre.region),
            ("site", centre.site),
            ("contact", centre.contact),
        ):
            if value:
                _kb_field(card, name, value)
        header = etree.SubElement(root, _q(KB_NS, "entete"))
        for name, value in header_of(resource).items():
            _kb_field(header, name, value)
        etree.SubElement(root, _q(KB_NS, "texte")).text = xml_text(resource.body)


def _kb_field(parent, name: str, value) -> None:
    field = etree.SubElement(parent, _q(KB_NS, "champ"), nom=name)
    if isinstance(value, dict):
        for key, item in value.items():
            _kb_field(field, key, item)
    elif isinstance(value, list):
        for item in value:
            element = etree.SubElement(field, _q(KB_NS, "valeur"))
            if isinstance(item, dict):  # a list of tables (the sessions of an event)
                for key, sub in item.items():
                    _kb_field(element, key, sub)
            else:
                element.text = xml_text(item)
    else:
        field.text = xml_text(value)


def _check_prefix(prefix: str) -> None:
    if prefix not in FORMATS:
        raise OAIError(
            "cannotDisseminateFormat",
            f"format « {xml_text(prefix)[:60]} » non disponible : « oai_dc » ou « kb »",
        )


HANDLERS = {
    "Identify": Repository.identify,
    "ListMetadataFormats": Repository.list_metadata_formats,
    "ListSets": Repository.list_sets,
    "GetRecord": Repository.get_record,
    "ListIdentifiers": Repository.list_identifiers,
    "ListRecords": Repository.list_records,
}


@bp.app_template_global("oai_identifier")
def oai_identifier(resource_id: str) -> str:
    """The OAI identifier of a resource (for the documentation's examples)."""
    return Repository(current_catalogue()).identifier(resource_id)


@bp.route("/oai", methods=["GET", "POST"])
def endpoint():
    args = request.form if request.method == "POST" else request.args
    repository = Repository(current_catalogue())
    root = etree.Element(_q(OAI_NS, "OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(_q(XSI_NS, "schemaLocation"), f"{OAI_NS} {OAI_SCHEMA}")
    etree.SubElement(root, _q(OAI_NS, "responseDate")).text = now()
    request_element = etree.SubElement(root, _q(OAI_NS, "request"))
    request_element.text = repository.base_url
    try:
        verb, arguments = read_arguments(args)
        for name, value in {"verb": verb, **arguments}.items():
            request_element.set(name, xml_text(value))
        HANDLERS[verb](repository, root, arguments)
    except OAIError as error:
        if error.code in ("badVerb", "badArgument"):
            request_element.attrib.clear()  # the protocol wants the base URL only
        for child in list(root)[2:]:
            root.remove(child)
        element = etree.SubElement(root, _q(OAI_NS, "error"), code=error.code)
        element.text = error.message
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    response = Response(body, mimetype="text/xml")
    response.charset = "utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response

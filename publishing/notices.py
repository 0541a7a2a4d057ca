"""Harvested records -> resource files, checked by the same loader as a push.

Two formats:
- `kb` (another instance of this software): the whole header is read back, the resource
  keeps its id, type, vocabularies, territory, dates and aliases, and links to its
  canonical page (`origine`);
- `oai_dc` (any repository): a *notice* (type `notice`) with title, summary, date,
  creators, subjects and territory where known. Subjects that a vocabulary knows (by
  label, id or acronym, or through the instance's mapping table) become vocabulary terms;
  the others stay keywords (`mots_cles`).

Every text is untrusted: control characters are dropped, lengths cut to the format's
limits, Markdown and HTML signs of the generated body escaped (the page shows the text
as written, never as markup), and the file is then parsed by `kb.loader` as a push would
be: a record whose file has an error is refused, with the loader's message.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import yaml

from kb.frontmatter import clean_text, resource_text
from kb.loader import CENTRE_CARD, Loader, slugify
from kb.model import ID_PATTERN
from kb.problems import Problem
from kb.render import is_relative_url, read_body
from kb.source import SourceEntry
from kb.vocabulary import Vocabularies, fold, load_vocabularies

from .oaiclient import Record, day_of, is_too_big

DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
KB_NS = "urn:crpv-kb:oai:ressource:1"  # webapp/dissemination/oai.py
TITLE_MAX, SUMMARY_MAX, KEYWORD_MAX, TEXT_ITEM_MAX = 200, 1000, 100, 300
DESCRIPTION_MAX = 20_000  # characters of description kept in a notice's text
MAPPED_KEYS = ("piliers", "thematiques", "dispositifs", "publics")
_MARKDOWN_SIGNS = re.compile(r"([\\`*_{}\[\]()#+\-.!<>&|~^:])")


# --- the mapping table of subjects -----------------------------------------------------------


@dataclass
class SubjectMapping:
    """Subject (folded) -> (vocabulary, term id), from the instance's editable table."""

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)
    source: str = ""
    licence: str = ""

    @classmethod
    def load(cls, path: Path | None, vocabularies: Vocabularies | None = None) -> SubjectMapping:
        """A TOML table (`source`, `licence`, `[correspondances]` "sujet" = "vocabulaire:id")
        or a CSV file (`sujet;vocabulaire;identifiant`, `#` lines for the notes). A line
        naming an unknown term is an error (`fichier:ligne: erreur : …`)."""
        mapping = cls()
        if path is None:
            return mapping
        vocabularies = vocabularies or load_vocabularies()
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(
                f"{path}: erreur : table de correspondances illisible ({exc})"
            ) from None
        rows: list[tuple[int, str, str, str]] = []
        if str(path).endswith(".toml"):
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise MappingError(f"{path}: erreur : TOML invalide ({exc})") from None
            mapping.source = str(data.get("source", ""))
            mapping.licence = str(data.get("licence", ""))
            table = data.get("correspondances", {})
            if not isinstance(table, dict):
                raise MappingError(f"{path}: erreur : [correspondances] doit être une table")
            lines = text.splitlines()
            for subject, target in table.items():
                line = next((n for n, t in enumerate(lines, 1) if subject in t), 0)
                vocabulary, _, term = str(target).partition(":")
                rows.append((line, subject, vocabulary.strip(), term.strip()))
        else:
            content = []
            for number, line in enumerate(text.splitlines(), 1):
                if line.startswith("#"):
                    key, _, value = line[1:].partition(":")
                    if fold(key.strip()) == "source":
                        mapping.source = value.strip()
                    elif fold(key.strip()) == "licence":
                        mapping.licence = value.strip()
                    continue
                content.append((number, line))
            reader = csv.reader([line for _, line in content], delimiter=";")
            for (number, _), cells in zip(content, reader, strict=True):
                if not cells or not "".join(cells).strip():
                    continue
                if [fold(c.strip()) for c in cells[:3]] == ["sujet", "vocabulaire", "identifiant"]:
                    continue
                if len(cells) < 3:
                    raise MappingError(
                        f"{path}:{number}: erreur : trois colonnes attendues "
                        "(sujet;vocabulaire;identifiant)"
                    )
                rows.append((number, cells[0], cells[1].strip(), cells[2].strip()))
        for line, subject, vocabulary, term in rows:
            where = f"{path}:{line}" if line else str(path)
            if vocabulary not in MAPPED_KEYS:
                raise MappingError(
                    f"{where}: erreur : vocabulaire « {vocabulary} » inconnu pour « {subject} » "
                    f"({', '.join(MAPPED_KEYS)})"
                )
            if term not in vocabularies[vocabulary]:
                raise MappingError(
                    f"{where}: erreur : « {term} » n'est pas un identifiant du vocabulaire "
                    f"{vocabulary} (pour « {subject} »)"
                )
            mapping.entries[_subject_key(subject)] = (vocabulary, term)
        return mapping

    def find(self, subject: str, vocabularies: Vocabularies) -> tuple[str, str] | None:
        key = _subject_key(subject)
        if key in self.entries:
            return self.entries[key]
        for vocabulary in MAPPED_KEYS:
            for term in vocabularies[vocabulary]:
                names = (term.id, term.libelle, str(term.get("sigle") or ""))
                if key in {_subject_key(n) for n in names if n}:
                    return vocabulary, term.id
        return None


class MappingError(Exception):
    """A mapping table that cannot be used (French message, with its line)."""


def _subject_key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())


# --- what a record becomes --------------------------------------------------------------------


@dataclass
class Notice:
    identifier: str  # OAI identifier
    resource_id: str
    path: str
    text: str
    centre: str
    centre_card: str | None = None  # a card for the centre, if the harvest provides it


@dataclass
class Refusal:
    identifier: str
    reason: str

    def line(self) -> str:
        return f"{self.identifier or '(sans identifiant)'} : refusé : {self.reason}"


@dataclass
class HarvestContext:
    nom: str  # the harvest's name
    entrepot: str  # base URL
    today: dt.date
    centre: str | None  # every record into this centre; None: each keeps its own (kb)
    claimed: frozenset[str]  # centres provided by another source or harvest
    repository_name: str = ""
    mapping: SubjectMapping = field(default_factory=SubjectMapping)
    vocabularies: Vocabularies = field(default_factory=load_vocabularies)


def convert(record: Record, prefix: str, context: HarvestContext) -> Notice | Refusal:
    if not record.identifier:
        return Refusal("", "enregistrement sans identifiant")
    if len(record.identifier) > 500:
        return Refusal(record.identifier[:80] + "…", "identifiant de plus de 500 caractères")
    if day_of(record.datestamp) is None:
        return Refusal(
            record.identifier, f"date de l'enregistrement invalide « {record.datestamp[:40]} »"
        )
    if record.metadata is None:
        return Refusal(record.identifier, "enregistrement sans métadonnées")
    if is_too_big(record.metadata):
        return Refusal(record.identifier, "métadonnées trop volumineuses (plus de 1 Mio)")
    try:
        if prefix == "kb":
            notice = _from_kb(record, context)
        else:
            notice = _from_dublin_core(record, context)
    except _Refused as refused:
        return Refusal(record.identifier, refused.reason)
    problems = check_file(notice.path, notice.text, context.vocabularies)
    errors = [p for p in problems if p.is_error]
    if errors:
        shown = "; ".join(p.format() for p in errors[:3])
        return Refusal(record.identifier, f"la notice produite n'est pas valide ({shown})")
    return notice


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mark(record: Record, context: HarvestContext) -> dict[str, str]:
    return {
        "entrepot": context.entrepot,
        "identifiant": clean_text(record.identifier),
        "recolte_le": context.today.isoformat(),
    }


def _centre_for(wanted: str, context: HarvestContext) -> str:
    centre = context.centre or wanted
    if not ID_PATTERN.match(centre or ""):
        raise _Refused(f"identifiant de centre invalide « {(centre or '')[:60]} »")
    if centre in context.claimed:
        raise _Refused(
            f"le centre « {centre} » est publié par une autre source de cette instance : "
            "ses identifiants ne peuvent venir de cette moisson"
        )
    return centre


# --- oai_dc -----------------------------------------------------------------------------------


def _texts(metadata: Element, name: str) -> list[str]:
    values = []
    for element in metadata.iter(f"{{{DC_NS}}}{name}"):
        text = " ".join(clean_text("".join(element.itertext())).split())
        if text:
            values.append(text)
    return values


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:.") + "…"


def escape_markdown(text: str) -> str:
    """A text shown as written: every Markdown and HTML sign escaped."""
    return _MARKDOWN_SIGNS.sub(r"\\\1", text)


def notice_slug(identifier: str) -> str:
    """A stable, readable slug for an OAI identifier (same identifier, same file)."""
    tail = identifier.rsplit(":", 1)[-1]
    digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:8]
    readable = slugify(tail, 60)
    return f"{readable}-{digest}" if readable else f"notice-{digest}"


def _notice_date(dates: list[str], record: Record) -> dt.date:
    today = dt.date.today()
    for value in dates:
        match = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
        if not match:
            continue
        year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
        try:
            found = dt.date(int(year), int(month), int(day))
        except ValueError:
            continue
        if dt.date(1800, 1, 1) <= found <= today + dt.timedelta(days=366):
            return found
    day_stamp = day_of(record.datestamp)
    if day_stamp is None or day_stamp > today + dt.timedelta(days=1):
        raise _Refused(f"date invalide (« {(dates or [record.datestamp])[0][:40]} »)")
    return day_stamp


def _places(coverage: list[str], vocabularies: Vocabularies) -> dict[str, Any]:
    """A territory from dc:coverage when it names a region or a department (by name or
    INSEE code in parentheses); nothing is guessed beyond that."""
    regions = {fold(t.libelle): t.id for t in vocabularies.regions}
    departements = {fold(t.libelle): t.id for t in vocabularies.departements}
    for value in coverage:
        match = re.match(r"^(.*?)\s*\((\w{2,3})\)$", value)
        name = fold(match.group(1) if match else value).strip()
        code = match.group(2) if match else None
        if code in vocabularies.departements and departements.get(name, code) == code:
            return {"departement": code}
        if name in departements:
            return {"departement": departements[name]}
        if name in regions:
            return {"region": regions[name]}
    return {}


def _from_dublin_core(record: Record, context: HarvestContext) -> Notice:
    metadata = record.metadata
    assert metadata is not None
    if metadata.tag != f"{{{OAI_DC_NS}}}dc":
        raise _Refused("format inattendu : un élément oai_dc:dc est attendu")
    titles = _texts(metadata, "title")
    if not titles:
        raise _Refused("notice sans titre (dc:title)")
    descriptions = _texts(metadata, "description")
    centre = _centre_for("", context)
    subjects = _texts(metadata, "subject")
    header: dict[str, Any] = {
        "titre": _cut(titles[0], TITLE_MAX),
        "type": "notice",
        "date": _notice_date(_texts(metadata, "date"), record).isoformat(),
    }
    summary = descriptions[0] if descriptions else titles[0]
    header["resume"] = _cut(summary, SUMMARY_MAX)
    terms: dict[str, list[str]] = {key: [] for key in MAPPED_KEYS}
    keywords: list[str] = []
    for subject in subjects:
        for part in re.split(r"\s*[;|]\s*", subject):
            if not part:
                continue
            found = context.mapping.find(part, context.vocabularies)
            if found and found[1] not in terms[found[0]]:
                terms[found[0]].append(found[1])
            elif not found and _cut(part, KEYWORD_MAX) not in keywords:
                keywords.append(_cut(part, KEYWORD_MAX))
    for key in MAPPED_KEYS:
        if terms[key]:
            header[key] = terms[key]
    territory = _places(_texts(metadata, "coverage"), context.vocabularies)
    if territory:
        header["territoire"] = territory
    publishers = _texts(metadata, "publisher")
    if publishers:
        header["porteur"] = _cut(publishers[0], TEXT_ITEM_MAX)
    contributors = [_cut(c, TEXT_ITEM_MAX) for c in _texts(metadata, "contributor")[:50]]
    if contributors:
        header["partenaires"] = contributors
    creators = [_cut(c, TEXT_ITEM_MAX) for c in _texts(metadata, "creator")[:50]]
    if creators:
        header["auteurs"] = creators
    if keywords:
        header["mots_cles"] = keywords[:100]
    rights = _texts(metadata, "rights")
    if rights:
        header["licence"] = _cut(rights[0], 200)
    link = next(
        (u for u in _texts(metadata, "identifier") if re.match(r"^https?://[^\s/]+\S*$", u)), None
    )
    if link and len(link) <= 500:
        header["origine"] = link
    header["moisson"] = _mark(record, context)
    body = [escape_markdown(_cut(d, DESCRIPTION_MAX)) for d in descriptions]
    if link and len(link) <= 500:
        body.append(f"[Consulter la notice d'origine](<{link.replace('>', '%3E')}>)")
    slug = notice_slug(record.identifier)
    card = None
    if context.repository_name or context.centre:
        card = centre_card(context.repository_name or centre, context.entrepot)
    return Notice(
        record.identifier,
        f"{centre}/{slug}",
        f"{centre}/moisson-{context.nom}/{slug}.md",
        resource_text(header, "\n\n".join(body)),
        centre,
        card,
    )


def _is_web_address(text: str) -> bool:
    return len(text) <= 500 and bool(re.match(r"^https?://[^\s/]+\S*$", text))


def centre_card(name: str, site: str | None) -> str:
    """The card of a centre that a harvest creates (named after the repository)."""
    fields = {"nom": _cut(" ".join(clean_text(name).split()), 200) or "Centre moissonné"}
    if site and re.match(r"^https?://[^\s/]+\S*$", site) and len(site) <= 500:
        fields["site"] = site
    return _card_text(fields)


# --- kb (another instance of this software) ---------------------------------------------------


def _fields(parent: Element) -> Iterator[tuple[str, Any]]:
    for element in parent.findall(f"{{{KB_NS}}}champ"):
        name = element.get("nom") or ""
        values = element.findall(f"{{{KB_NS}}}valeur")
        children = element.findall(f"{{{KB_NS}}}champ")
        if children:
            yield name, dict(_fields(element))
        elif values:
            yield name, [
                dict(_fields(v)) if v.find(f"{{{KB_NS}}}champ") is not None
                else clean_text("".join(v.itertext()))
                for v in values
            ]  # fmt: skip
        else:
            yield name, clean_text("".join(element.itertext()))


def _from_kb(record: Record, context: HarvestContext) -> Notice:
    metadata = record.metadata
    assert metadata is not None
    if metadata.tag != f"{{{KB_NS}}}ressource":
        raise _Refused("format inattendu : un élément kb:ressource est attendu")
    resource_id = metadata.get("id") or ""
    own_centre, _, slug = resource_id.partition("/")
    if not (ID_PATTERN.match(own_centre) and ID_PATTERN.match(slug)):
        raise _Refused(f"identifiant de ressource invalide « {resource_id[:80]} »")
    centre = _centre_for(own_centre, context)
    entete = metadata.find(f"{{{KB_NS}}}entete")
    if entete is None:
        raise _Refused("ressource sans en-tête (kb:entete)")
    header = dict(_fields(entete))
    header.pop("statut", None)  # what is harvested is published
    for alias in header.get("alias") or []:
        alias_centre = alias.split("/", 1)[0] if "/" in alias else own_centre
        if alias_centre != own_centre or (context.centre and "/" in alias):
            raise _Refused(
                f"l'alias « {alias[:80]} » est l'identifiant d'un autre centre que celui de "
                "la ressource"
            )
    # The canonical page: the harvested instance's, unless it harvested the resource
    # itself (an instance of instances keeps the first origin).
    url = (metadata.findtext(f"{{{KB_NS}}}url") or "").strip()
    for candidate in (header.get("origine"), url):
        if isinstance(candidate, str) and _is_web_address(candidate):
            header["origine"] = candidate
            break
    else:
        header.pop("origine", None)
    header["moisson"] = _mark(record, context)
    body = metadata.findtext(f"{{{KB_NS}}}texte") or ""
    links, _text, _sections = read_body(body)
    if any(is_relative_url(link.url) for link in links):
        # Its attachments stay on the original site: the text links there instead.
        body = escape_markdown(header.get("resume", ""))
        if "origine" in header:
            body += f"\n\n[Consulter la ressource et ses pièces jointes](<{header['origine']}>)"
    card = None
    card_element = metadata.find(f"{{{KB_NS}}}centre")
    if card_element is not None:
        fields = {k: v for k, v in _fields(card_element) if isinstance(v, str) and v}
        if fields.get("nom"):
            card = _card_text(fields)
    return Notice(
        record.identifier,
        f"{centre}/{slug}",
        f"{centre}/{slug}.md",
        resource_text(header, body),
        centre,
        card,
    )


def _card_text(fields: dict[str, str]) -> str:
    kept = {
        k: " ".join(clean_text(fields[k]).split())[:300]
        for k in ("nom", "region", "site", "contact")
        if k in fields
    }
    dumped = yaml.safe_dump(kept, allow_unicode=True, sort_keys=False)
    return f"---\n{dumped}---\n\nCentre dont les ressources sont moissonnées (kb moissonner).\n"


# --- the check --------------------------------------------------------------------------------


class _OneFile:
    """A content source holding one file (what the loader reads to check a notice)."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path, self.data = path, data

    def entries(self) -> Iterator[SourceEntry]:
        return iter([SourceEntry(self.path, len(self.data))])

    def read(self, path: str) -> bytes:
        if path != self.path:
            raise FileNotFoundError(path)
        return self.data

    def exists(self, path: str) -> bool:
        return path == self.path


def check_file(path: str, text: str, vocabularies: Vocabularies | None = None) -> list[Problem]:
    """The loader's problems with one generated resource file."""
    data = text.encode("utf-8")
    loader = Loader(_OneFile(path, data), vocabularies)
    problems: list[Problem] = []
    loader.parse_resource(SourceEntry(path, len(data)), problems, {path: SourceEntry(path, 0)})
    return problems


def is_centre_card(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and parts[1] == CENTRE_CARD

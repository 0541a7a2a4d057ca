"""Typed, immutable content objects produced by the loader."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Attachments that may sit beside resources, with the MIME type they are served as.
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}

PUBLISHED = "publie"
DRAFT = "brouillon"
# Resource types that happen at given times (sessions, place, registration: kb/events.py).
EVENT_TYPES = ("evenement", "formation")
DEFAULT_TIMEZONE = "Europe/Paris"
CANCELLED = "annule"
POSTPONED = "reporte"


def resource_url(resource_id: str) -> str:
    """Canonical, permanent path of a resource."""
    return f"/ressources/{resource_id}"


@dataclass(frozen=True, slots=True)
class Territoire:
    region: str | None = None
    departement: str | None = None
    communes: tuple[str, ...] = ()
    qpv: tuple[str, ...] = ()
    epci: tuple[str, ...] = ()  # SIREN codes of intercommunalities named as such


@dataclass(frozen=True, slots=True)
class Periode:
    """A period; each bound is a date or a year (int)."""

    debut: dt.date | int | None = None
    fin: dt.date | int | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """One session of an event, in the event's local time (`Resource.fuseau`).

    Either both bounds are dates (whole days, `fin` included) or both are naive local
    date-times.
    """

    debut: dt.date | dt.datetime
    fin: dt.date | dt.datetime
    intitule: str | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.debut, dt.datetime)


@dataclass(frozen=True, slots=True)
class Lieu:
    nom: str | None = None
    adresse: str | None = None
    commune: str | None = None  # INSEE code
    en_ligne: str | None = None  # URL of the online room or of the stream


@dataclass(frozen=True, slots=True)
class Inscription:
    url: str | None = None
    courriel: str | None = None
    cloture: dt.date | None = None  # last day to register
    places: int | None = None
    complet: bool = False


@dataclass(frozen=True, slots=True)
class Moisson:
    """The mark of a resource written by the harvester (`kb moissonner`), never by hand."""

    entrepot: str  # base URL of the OAI-PMH repository it was harvested from
    identifiant: str  # the record's OAI identifier there
    recolte_le: dt.date  # the day it was last harvested


@dataclass(frozen=True, slots=True)
class Attachment:
    path: str  # relative to the content root
    size: int

    @property
    def extension(self) -> str:
        return self.path.rsplit(".", 1)[-1].lower()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def mime_type(self) -> str:
        return ATTACHMENT_TYPES[self.extension]


@dataclass(frozen=True, slots=True)
class Centre:
    id: str
    nom: str
    path: str
    region: str | None = None
    site: str | None = None
    contact: str | None = None
    body: str = ""
    body_line: int = 1


@dataclass(frozen=True, slots=True)
class Resource:
    id: str
    centre: str
    slug: str
    path: str  # source file, relative to the content root
    titre: str
    type: str
    date: dt.date
    piliers: tuple[str, ...]
    resume: str
    thematiques: tuple[str, ...] = ()
    dispositifs: tuple[str, ...] = ()
    publics: tuple[str, ...] = ()
    territoire: Territoire = field(default_factory=Territoire)
    porteur: str | None = None
    partenaires: tuple[str, ...] = ()
    auteurs: tuple[str, ...] = ()
    mots_cles: tuple[str, ...] = ()
    periode: Periode | None = None
    mise_a_jour: dt.date | None = None
    statut: str = PUBLISHED
    alias: tuple[str, ...] = ()
    licence: str | None = None
    # Events and training cycles (EVENT_TYPES); `issu_de` may be given by any resource.
    format: str | None = None
    sessions: tuple[Session, ...] = ()
    fuseau: str = DEFAULT_TIMEZONE
    mode: str | None = None
    lieu: Lieu | None = None
    participants: str | None = None
    inscription: Inscription | None = None
    cout: str | None = None
    etat: str | None = None
    date_initiale: dt.date | None = None
    productions: tuple[str, ...] = ()
    issu_de: str | None = None
    # (linked id, line of the file) for `productions` and `issu_de`: whole-tree checks
    # report missing targets at their line.
    link_lines: tuple[tuple[str, int], ...] = ()
    origine: str | None = None  # the original's page (harvested resources)
    moisson: Moisson | None = None
    body: str = ""
    body_line: int = 1
    body_text: str = ""  # the body as plain text (what is indexed)
    intertitres: tuple[str, ...] = ()  # the body's section titles (`##` headings)
    attachments: tuple[Attachment, ...] = ()
    content_hash: str = ""

    @property
    def is_published(self) -> bool:
        return self.statut == PUBLISHED

    @property
    def url(self) -> str:
        return resource_url(self.id)

    @property
    def is_event(self) -> bool:
        return self.type in EVENT_TYPES

    @property
    def is_cancelled(self) -> bool:
        return self.etat == CANCELLED

    @property
    def is_harvested(self) -> bool:
        return self.moisson is not None

    @property
    def updated(self) -> dt.date:
        """Last change date: `mise_a_jour` when given, else the publication date."""
        return self.mise_a_jour or self.date

    @property
    def alias_ids(self) -> tuple[str, ...]:
        """Aliases as full ids: a bare former slug belongs to this resource's centre."""
        return tuple(a if "/" in a else f"{self.centre}/{a}" for a in self.alias)

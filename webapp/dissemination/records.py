"""How a resource is described to others: Dublin Core (OAI-PMH and `<meta>` tags),
schema.org JSON-LD, Open Graph, citations (text and BibTeX), feed categories.

Every description is built from the metadata the index stores for a published resource
(`indexer.documents.metadata`), so the feeds, the API, the harvest and the page agree.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from kb import territories
from kb.pages import attachment_url
from kb.territories import KIND_LABELS, PlaceRef

from ..core.catalogue import Catalogue, CentreInfo
from ..core.formatting import date_fr

LANGUAGE = "fr"
DCMI_TEXT = "Text"  # DCMI Type Vocabulary: every resource is mainly text...
DCMI_EVENT = "Event"  # ...except events and training cycles
# schema.org types of the places of a resource (spatialCoverage).
SCHEMA_PLACE_TYPES = {
    "region": "AdministrativeArea",
    "departement": "AdministrativeArea",
    "epci": "AdministrativeArea",
    "commune": "City",
    "qpv": "Place",
}
SCHEMA_TYPES = {
    "etude": "Report",
    "compte-rendu": "Report",
    "texte-de-reference": "CreativeWork",
}
SUBJECT_KEYS = ("piliers", "thematiques", "dispositifs")
# Where each kind of term has its page, for categories' schemes and defined term sets.
TERM_PAGES = {
    "piliers": "/piliers/",
    "thematiques": "/thematiques/",
    "dispositifs": "/dispositifs/",
}

_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BIBTEX_SPECIAL = re.compile(r"[\\{}%&$#_~^]")
_BIBTEX_REPLACEMENTS = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def xml_text(value: Any) -> str:
    """A string that XML 1.0 can carry (control characters dropped)."""
    return _NOT_XML.sub("", str(value))


def bibtex_text(value: str) -> str:
    value = " ".join(xml_text(value).split())
    return _BIBTEX_SPECIAL.sub(
        lambda m: _BIBTEX_REPLACEMENTS.get(m.group(), "\\" + m.group()), value
    )


def parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def day_start(value: str | None) -> dt.datetime | None:
    """A content date as a moment (midnight UTC), for formats that want one."""
    day = parse_date(value)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None


def updated(meta: dict) -> str:
    """The last change of the content: `mise_a_jour`, else the publication date."""
    return meta.get("mise_a_jour") or meta["date"]


@dataclass(frozen=True)
class Term:
    key: str  # piliers, thematiques...
    id: str
    label: str
    scheme: str  # absolute URL of the term's page folder


class Describer:
    """Builds descriptions of resources against one catalogue (labels, centres, site)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.site = catalogue.site_url
        self._centres: dict[str, CentreInfo] | None = None

    # --- shared pieces

    def absolute(self, path: str) -> str:
        return self.site + path

    def centre(self, centre_id: str) -> CentreInfo:
        if self._centres is None:
            self._centres = self.catalogue.centres()
        return self._centres.get(centre_id) or CentreInfo(centre_id, centre_id, None, None)

    def centre_page(self, centre_id: str) -> str:
        return self.absolute(f"/centres/{centre_id}")

    def label(self, key: str, value: str) -> str:
        return self.catalogue.label(key, value)

    def terms(self, meta: dict, keys: tuple[str, ...] = SUBJECT_KEYS) -> list[Term]:
        return [
            Term(key, value, self.label(key, value), self.absolute(TERM_PAGES[key]))
            for key in keys
            for value in meta.get(key) or ()
        ]

    def creators(self, meta: dict) -> list[str]:
        """Authors when named, else the centre that publishes."""
        return list(meta.get("auteurs") or ()) or [self.centre(meta["centre"]).nom]

    def places(self, meta: dict) -> list[PlaceRef]:
        """The resource's places, by name, from the region down to its neighbourhoods."""
        return territories.current().place_refs(
            meta.get("region"),
            meta.get("departement"),
            meta.get("communes") or (),
            meta.get("epci") or (),
            meta.get("qpv") or (),
        )

    def coverage(self, meta: dict) -> list[str]:
        places = []
        for place in self.places(meta):
            if place.kind == "region":
                places.append(place.nom)
            elif place.kind == "departement":
                places.append(f"{place.nom} ({place.code})")
            else:
                places.append(place.describe())
        periode = meta.get("periode") or {}
        if periode:
            places.append(f"{periode.get('debut', '..')}/{periode.get('fin', '..')}")
        return places

    def source_url(self, meta: dict) -> str:
        """The Markdown file: on the forge when configured, else served by the site."""
        return self.catalogue.source_link_for(meta["path"]) or self.absolute(
            f"{meta['url']}/source.md"
        )

    def attachment_urls(self, meta: dict) -> list[str]:
        return [self.absolute(attachment_url(path)) for path in meta.get("pieces_jointes") or ()]

    # --- Dublin Core: the 15 elements, for oai_dc and the page's <meta> tags

    def dublin_core(self, meta: dict) -> list[tuple[str, str]]:
        centre = self.centre(meta["centre"])
        elements: list[tuple[str, str]] = [("title", meta["titre"])]
        elements += [("creator", name) for name in self.creators(meta)]
        elements += [("subject", term.label) for term in self.terms(meta)]
        elements += [("subject", keyword) for keyword in meta.get("mots_cles") or ()]
        elements.append(("description", meta["resume"]))
        elements.append(("publisher", centre.nom))
        if meta.get("porteur"):
            elements.append(("contributor", meta["porteur"]))
        elements += [("contributor", name) for name in meta.get("partenaires") or ()]
        elements.append(("date", meta["date"]))
        if meta.get("mise_a_jour"):
            elements.append(("date", meta["mise_a_jour"]))
        # DCMI Type Vocabulary: an event or a training cycle is an Event, the rest Text.
        elements.append(("type", DCMI_EVENT if meta.get("evenement") else DCMI_TEXT))
        elements.append(("type", self.label("type", meta["type"])))
        elements.append(("format", "text/html"))
        elements.append(("identifier", self.absolute(meta["url"])))
        elements.append(("source", meta.get("origine") or self.source_url(meta)))
        elements.append(("language", LANGUAGE))
        elements += [("relation", url) for url in self.attachment_urls(meta)]
        elements += [("coverage", place) for place in self.coverage(meta)]
        if meta.get("licence"):
            elements.append(("rights", meta["licence"]))
        return [(name, xml_text(value)) for name, value in elements if str(value).strip()]

    def dublin_core_meta(self, meta: dict) -> list[tuple[str, str]]:
        """`<meta name="DC.x">` pairs: the same elements, dates qualified (DCTERMS)."""
        pairs = []
        for name, value in self.dublin_core(meta):
            if name == "date":
                continue
            pairs.append((f"DC.{name}", value))
        pairs.append(("DCTERMS.issued", meta["date"]))
        if meta.get("mise_a_jour"):
            pairs.append(("DCTERMS.modified", meta["mise_a_jour"]))
        return pairs

    # --- schema.org (JSON-LD) and Open Graph

    def json_ld(self, meta: dict) -> dict[str, Any]:
        url = self.absolute(meta["url"])
        centre = self.centre(meta["centre"])
        publisher = {
            "@type": "Organization",
            "name": centre.nom,
            "url": centre.site or self.centre_page(centre.id),
        }
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": SCHEMA_TYPES.get(meta["type"], "Article"),
            "@id": url,
            "url": url,
            "mainEntityOfPage": url,
            "headline": meta["titre"][:110],
            "name": meta["titre"],
            "description": meta["resume"],
            "inLanguage": "fr-FR",
            "genre": self.label("type", meta["type"]),
            "datePublished": meta["date"],
            "dateModified": updated(meta),
            "isAccessibleForFree": True,
            "publisher": publisher,
            "author": [{"@type": "Person", "name": name} for name in meta.get("auteurs") or ()]
            or [publisher],
            "about": [
                {
                    "@type": "DefinedTerm",
                    "name": term.label,
                    "termCode": term.id,
                    "url": term.scheme + term.id,
                    "inDefinedTermSet": term.scheme,
                }
                for term in self.terms(meta)
            ],
        }
        places = [
            {
                "@type": SCHEMA_PLACE_TYPES[place.kind],
                "name": place.nom,
                "identifier": place.code,
                "additionalType": KIND_LABELS[place.kind],
            }
            for place in self.places(meta)
        ]
        if places:
            data["spatialCoverage"] = places
        periode = meta.get("periode") or {}
        if periode:
            data["temporalCoverage"] = f"{periode.get('debut', '..')}/{periode.get('fin', '..')}"
        if meta.get("mots_cles"):
            data["keywords"] = ", ".join(meta["mots_cles"])
        if meta.get("publics"):
            data["audience"] = [
                {"@type": "Audience", "audienceType": self.label("publics", value)}
                for value in meta["publics"]
            ]
        if meta.get("partenaires"):
            data["contributor"] = [
                {"@type": "Organization", "name": name} for name in meta["partenaires"]
            ]
        if meta.get("licence"):
            data["license"] = meta["licence"]
        if meta.get("pieces_jointes"):
            data["associatedMedia"] = [
                {"@type": "MediaObject", "contentUrl": url} for url in self.attachment_urls(meta)
            ]
        if meta.get("evenement"):
            return event_json_ld(data, meta, publisher)
        return data

    def open_graph(self, meta: dict) -> list[tuple[str, str]]:
        pairs = [
            ("og:type", "article"),
            ("og:title", meta["titre"]),
            ("og:description", meta["resume"]),
            ("og:url", self.absolute(meta["url"])),
            ("og:site_name", "Ressources politique de la ville"),
            ("og:locale", "fr_FR"),
            ("article:published_time", meta["date"]),
            ("article:modified_time", updated(meta)),
            ("article:section", self.label("type", meta["type"])),
        ]
        pairs += [("article:tag", term.label) for term in self.terms(meta, ("thematiques",))]
        return pairs

    # --- citations

    def citation(self, meta: dict, consulted: dt.date) -> str:
        """A plain-text reference (ISO 690 style), with the permanent URL."""
        centre = self.centre(meta["centre"]).nom
        authors = list(meta.get("auteurs") or ())
        parts = [", ".join(authors) if authors else centre]
        parts.append(f"{meta['titre']} [{self.label('type', meta['type']).lower()}]")
        published = date_fr(meta["date"])
        parts.append(f"{centre}, {published}" if authors else published)
        if meta.get("mise_a_jour"):
            parts.append(f"Mis à jour le {date_fr(meta['mise_a_jour'])}")
        link = f"Disponible sur : {self.absolute(meta['url'])} (consulté le {date_fr(consulted)})"
        text = ". ".join(p.rstrip(".") for p in parts) + ". " + link + "."
        return " ".join(text.replace("\u00a0", " ").split())

    def bibtex(self, meta: dict, consulted: dt.date) -> str:
        centre = self.centre(meta["centre"]).nom
        authors = list(meta.get("auteurs") or ())
        author = " and ".join("{" + bibtex_text(a) + "}" for a in authors) or (
            "{" + bibtex_text(centre) + "}"
        )
        fields = [
            ("title", "{" + bibtex_text(meta["titre"]) + "}"),
            ("author", author),
            ("organization", bibtex_text(centre)),
            ("year", meta["date"][:4]),
            ("date", meta["date"]),
            ("howpublished", bibtex_text(self.label("type", meta["type"]))),
            ("url", self.absolute(meta["url"])),
            ("urldate", consulted.isoformat()),
            ("language", "french"),
        ]
        if meta.get("licence"):
            fields.append(("note", f"Licence : {bibtex_text(meta['licence'])}"))
        width = max(len(name) for name, _ in fields)
        body = ",\n".join(f"  {name.ljust(width)} = {{{value}}}" for name, value in fields)
        return f"@misc{{crpv:{meta['id']},\n{body}\n}}"


# schema.org values for events (https://schema.org/Event).
EVENT_STATUS = {
    "programme": "https://schema.org/EventScheduled",
    "annule": "https://schema.org/EventCancelled",
    "reporte": "https://schema.org/EventRescheduled",
}
ATTENDANCE_MODE = {
    "presentiel": "https://schema.org/OfflineEventAttendanceMode",
    "distanciel": "https://schema.org/OnlineEventAttendanceMode",
    "hybride": "https://schema.org/MixedEventAttendanceMode",
}
COURSE_MODE = {"presentiel": "onsite", "distanciel": "online", "hybride": "blended"}


def event_json_ld(article: dict[str, Any], meta: dict, organizer: dict) -> dict[str, Any]:
    """An event as a schema.org `Event`, a training cycle as a `CourseInstance` (a kind
    of Event): dates, status, attendance mode, location, offers."""
    event = meta["evenement"]
    sessions = event.get("sessions") or []
    kept = ("@context", "@id", "url", "name", "description", "inLanguage", "about", "keywords")
    data: dict[str, Any] = {key: article[key] for key in kept if key in article}
    data["@type"] = "CourseInstance" if meta["type"] == "formation" else "Event"
    data["organizer"] = organizer
    if sessions:
        data["startDate"] = sessions[0]["debut"]
        data["endDate"] = sessions[-1]["fin"]
    data["eventStatus"] = EVENT_STATUS.get(event.get("etat") or "programme")
    if event.get("etat") == "reporte" and event.get("date_initiale"):
        data["previousStartDate"] = event["date_initiale"]
    mode = event.get("mode")
    if mode:
        data["eventAttendanceMode"] = ATTENDANCE_MODE[mode]
        if data["@type"] == "CourseInstance":
            data["courseMode"] = COURSE_MODE[mode]
    place = event.get("lieu") or {}
    locations: list[dict[str, Any]] = []
    if place.get("nom") or place.get("adresse") or place.get("commune"):
        physical: dict[str, Any] = {
            "@type": "Place",
            "name": place.get("nom") or place.get("adresse"),
        }
        address: dict[str, Any] = {"@type": "PostalAddress", "addressCountry": "FR"}
        if place.get("adresse"):
            address["streetAddress"] = place["adresse"]
        if place.get("commune"):
            physical["identifier"] = place["commune"]
        physical["address"] = address
        locations.append(physical)
    if place.get("en_ligne"):
        locations.append({"@type": "VirtualLocation", "url": place["en_ligne"]})
    if locations:
        data["location"] = locations[0] if len(locations) == 1 else locations
    if event.get("participants"):
        data["audience"] = {"@type": "Audience", "audienceType": event["participants"]}
    registration = event.get("inscription") or {}
    cost = event.get("cout")
    if cost or registration:
        offer: dict[str, Any] = {"@type": "Offer", "url": registration.get("url") or data["url"]}
        if cost == "gratuit":
            offer.update(price=0, priceCurrency="EUR")
            data["isAccessibleForFree"] = True
        elif cost:
            offer["description"] = cost
        offer["availability"] = (
            "https://schema.org/SoldOut"
            if registration.get("complet")
            else "https://schema.org/InStock"
        )
        if registration.get("cloture"):
            offer["validThrough"] = registration["cloture"]
        data["offers"] = offer
    if registration.get("places"):
        data["maximumAttendeeCapacity"] = registration["places"]
    if len(sessions) > 1:
        data["subEvent"] = [
            {
                "@type": "Event",
                "name": session.get("intitule") or f"{meta['titre']} ({rank}/{len(sessions)})",
                "startDate": session["debut"],
                "endDate": session["fin"],
            }
            for rank, session in enumerate(sessions, start=1)
        ]
    return data

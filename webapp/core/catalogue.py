"""What the web app knows of the knowledge base, in one object per worker.

Everything comes from the live version of the index (one `SearchIndex` per process,
thread-safe, reopened when a publication switches to a new version): searches and
listings, and also the pages of resources and centres, rendered when they were indexed
(kb.pages), and the attachments of published resources. The site therefore shows one
version at a time, whole, and never reads the content folder: a draft, a file in error or
a file that no published resource links to is never served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app

from indexer.build import UpdateReport
from indexer.commands import update_index
from indexer.search import Hit, SearchIndex, SearchRequest, SearchResult
from indexer.statistics import CentreProfile, centre_profiles
from kb import territories
from kb.config import Settings
from kb.model import ID_PATTERN, Resource
from kb.pages import resource_from_page
from kb.schema import QPV_2015_PATTERN, QPV_2024_PATTERN
from kb.vocabulary import Vocabularies, Vocabulary, load_vocabularies

T = TypeVar("T")

# Facet keys whose values come from a controlled vocabulary, and which one.
VOCABULARY_OF = {
    "piliers": "piliers",
    "thematiques": "thematiques",
    "dispositifs": "dispositifs",
    "publics": "publics",
    "type": "types",
    "format": "formats",
    "mode": "modes",
    "region": "regions",
    "departement": "departements",
}


TERRITORY_KEYS = ("commune", "epci", "qpv")


@dataclass(frozen=True)
class TerritoryCodes:
    """The codes a place filter accepts: communes and EPCI of the official geographic code;
    any well-formed QPV code (2015 codes, and codes of a list not imported, are in the
    index all the same)."""

    key: str

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        places = territories.current()
        if self.key == "commune":
            return value in places.communes
        if self.key == "epci":
            return value in places.epci
        return bool(QPV_2024_PATTERN.match(value) or QPV_2015_PATTERN.match(value))


@dataclass(frozen=True)
class CentreInfo:
    id: str
    nom: str
    region: str | None
    site: str | None
    contact: str | None = None
    html: str = ""  # its presentation, rendered and sanitised when indexed


@dataclass(frozen=True)
class Page:
    """A published resource as its page shows it."""

    resource: Resource
    html: str
    headings: tuple[tuple[str, str], ...]
    source: str


@dataclass(frozen=True)
class Attachment:
    path: str
    file: Path  # where its bytes are (an immutable object)
    size: int


@dataclass(frozen=True)
class Location:
    """Where an id asked for leads: the resource itself (`found`), a permanent redirect to
    its current id (`moved`: an alias, another case), a removed resource (`gone`, with what
    the registry remembers of it), or nothing (`unknown`)."""

    status: str
    id: str = ""
    removed: dict | None = None


@dataclass(frozen=True)
class Overview:
    total: int
    counts: dict[str, dict[str, int]]

    def count(self, key: str, value: str) -> int:
        return self.counts.get(key, {}).get(value, 0)


def is_identifier(value: str) -> bool:
    return bool(ID_PATTERN.match(value)) and len(value) <= 120


class Catalogue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = SearchIndex(settings.index)
        self.vocabularies: Vocabularies = load_vocabularies()
        self._memo: dict[str, tuple[str, Any]] = {}
        self._memo_lock = threading.Lock()

    # --- index lifecycle

    def ensure_index(self) -> UpdateReport | None:
        """Build the index when there is none yet (a fresh checkout)."""
        if self.index.folder.exists():
            return None
        if not self.settings.content.is_dir():
            raise RuntimeError(
                f"ni index ni dossier de contenu : {self.settings.content} est introuvable "
                "(réglez KB_CONTENT ou `contenu` dans kb.toml)"
            )
        return update_index(self.settings)

    def stats(self) -> dict:
        return self.index.stats()

    # --- searching

    def search(self, request: SearchRequest) -> SearchResult:
        return self.index.search(request)

    def overview(self, filters: dict[str, tuple[str, ...]] | None = None) -> Overview:
        """How many published resources there are, and carry each value of each facet."""
        result = self.index.search(
            SearchRequest(filters=filters or {}, per_page=1, with_suggestion=False)
        )
        counts = {
            key: {value.valeur: value.nombre for value in values}
            for key, values in result.facets.items()
        }
        return Overview(result.total, counts)

    def centre_profiles(self) -> dict[str, CentreProfile]:
        """What each centre has published (thematics × pillars, newest change)."""
        return centre_profiles(self.index)

    def per_version(self, name: str, compute: Callable[[], T]) -> T:
        """`compute()` once per index version (what a page derives from the whole version,
        the same for every request). The value must not be changed by its users: the
        threads of the worker share it."""
        version = self.index.version()
        with self._memo_lock:
            known = self._memo.get(name)
            if known is not None and known[0] == version:
                return known[1]
        value = compute()
        with self._memo_lock:
            self._memo[name] = (version, value)
        return value

    def version_info(self) -> dict:
        """The live version's description: commit or sources, dates."""
        return self.index.version_info()

    def latest(self, limit: int) -> list[Hit]:
        return self.index.latest(limit)

    def related(self, resource_id: str, limit: int = 4) -> list[Hit]:
        return self.index.more_like_this(resource_id, limit)

    def also_published(self, resource_id: str) -> list[dict[str, str]]:
        """The other members of a resource's group of near-duplicates: id, centre, url."""
        return self.index.also_published(resource_id)

    # --- values and labels

    def vocabulary(self, key: str) -> Vocabulary:
        return self.vocabularies[VOCABULARY_OF[key]]

    def known_values(self, key: str) -> Container[str]:
        """The values a filter may take (years are checked by their form elsewhere)."""
        if key == "centre":
            return self.centres()
        if key in TERRITORY_KEYS:
            return TerritoryCodes(key)
        return self.vocabulary(key).terms

    def label(self, key: str, value: str) -> str:
        if key in VOCABULARY_OF:
            return self.vocabulary(key).label(value)
        if key == "centre":
            return self.index.label("centre", value)
        if key in TERRITORY_KEYS:
            return self.index.label(key, value)
        return value

    def centres(self) -> dict[str, CentreInfo]:
        """The centres with a valid card, as indexed, sorted by name."""
        centres = [
            CentreInfo(
                centre_id,
                data.get("nom") or centre_id,
                data.get("region"),
                data.get("site"),
                data.get("contact"),
                data.get("html") or "",
            )
            for centre_id, data in self.index.centres().items()
        ]
        return {c.id: c for c in sorted(centres, key=lambda c: c.nom.casefold())}

    # --- pages of the live version

    def page(self, resource_id: str) -> Page | None:
        """A published resource's page, or None (unknown, draft, in error, removed)."""
        centre, _, slug = resource_id.partition("/")
        if not (is_identifier(centre) and is_identifier(slug)):
            return None
        stored = self.index.page(resource_id)
        if stored is None:
            return None
        resource = resource_from_page(stored)
        if resource.id != resource_id or not resource.is_published:
            return None
        headings = tuple((str(a), str(b)) for a, b in stored.get("titres") or ())
        return Page(resource, stored.get("html") or "", headings, stored.get("source") or "")

    def resource(self, resource_id: str) -> Resource | None:
        page = self.page(resource_id)
        return page.resource if page else None

    def attachment(self, path: str) -> Attachment | None:
        """A file that a published resource links to, or None for any other path."""
        if not path or len(path) > 500 or "\x00" in path:
            return None
        found = self.index.piece(path)
        if found is None:
            return None
        piece, file = found
        return Attachment(piece.path, file, piece.size)

    def metadata(self, resource_id: str) -> dict | None:
        """The metadata stored in the index for a published resource (what feeds, the API
        and harvesters describe), or None."""
        return self.index.get(resource_id)

    def locate(self, resource_id: str) -> Location:
        """Follow an id as a partner's link may give it: current, former (alias), in
        another case, or removed. Only ids in the index or the registry are followed."""
        raw = resource_id[:300]
        candidates = [raw] + ([raw.lower()] if raw.lower() != raw else [])
        for candidate in candidates:
            centre, _, slug = candidate.partition("/")
            if not (is_identifier(centre) and is_identifier(slug)):
                continue
            if self.index.get(candidate) is not None:
                return Location("found" if candidate == raw else "moved", candidate)
            canonical = self.index.resolve_alias(candidate)
            if canonical:
                return Location("moved", canonical)
        for candidate in candidates:
            centre, _, slug = candidate.partition("/")
            if is_identifier(centre) and is_identifier(slug):
                removed = self.index.removed(candidate)
                if removed:
                    return Location("gone", candidate, removed)
        return Location("unknown")

    def source_link(self, resource: Resource) -> str | None:
        """The configured address of a source file (a forge), or None to serve it here."""
        return self.source_link_for(resource.path)

    def source_link_for(self, path: str) -> str | None:
        template = str(self.settings["url_sources"] or "").strip()
        if not template:
            return None
        if "{chemin}" in template:
            return template.replace("{chemin}", path)
        return f"{template.rstrip('/')}/{path}"

    def permalink(self, path: str) -> str:
        return self.settings.site_url + path

    @property
    def site_url(self) -> str:
        return self.settings.site_url

    # --- whole lists and history, for sitemaps and harvesters

    def all_metadata(self) -> list[dict]:
        """Metadata of every published resource, in id order."""
        return self.index.all_metadata()

    def metadata_of(self, resource_ids: list[str]) -> dict[str, dict]:
        return self.index.get_many(resource_ids)

    def changes(self, **criteria) -> list[dict]:
        """Registry entries (online and removed) by id: see `indexer.store.Registry`."""
        return self.index.changes(**criteria)

    def count_changes(self, **criteria) -> int:
        return self.index.count_changes(**criteria)

    def registry_entry(self, resource_id: str) -> dict | None:
        return self.index.registry_entry(resource_id)

    def earliest_change(self) -> str | None:
        return self.index.earliest_change()


def current_catalogue() -> Catalogue:
    return current_app.extensions["kb_catalogue"]

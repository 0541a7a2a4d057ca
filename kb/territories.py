"""The territorial reference: regions, departments, EPCI and communes of the official
geographic code (shipped with the package), and the list of priority neighbourhoods (QPV)
imported into the instance.

The communes come from `kb/data/territoires/cog.json.gz` (see its README: Etalab's
`@etalab/decoupage-administratif`, converted by `scripts/territoires/convertir_cog.py`).
No package ships the QPV: `kb territoires importer` reads the official open-data file
(`listeqp2024-cog2024.csv` and the overseas lists of the same format) into
`territoires/qpv.json` beside the index folder (kb/qpvimport.py). Everything here is
immutable once loaded, so one instance is shared by threads and forked workers.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from .model import Territoire

QPV_FOLDER = "territoires"
QPV_FILE = "qpv.json"
# A content tree may carry its own QPV list in the official format: used only when the
# instance has imported none (the demo content names its fictional neighbourhoods this way).
CONTENT_QPV_LIST = "_territoires/qpv.csv"


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    nom: str


@dataclass(frozen=True, slots=True)
class Departement:
    code: str
    nom: str
    region: str


@dataclass(frozen=True, slots=True)
class Epci:
    code: str  # SIREN
    nom: str
    nature: str  # CC, CA, CU, METRO, MET69
    communes: tuple[str, ...] = ()


class Commune(NamedTuple):
    # A named tuple, not a dataclass: 35,000 are built at start, three times faster.
    code: str
    nom: str
    departement: str
    epci: str | None
    codes_postaux: tuple[str, ...] = ()
    parent: str | None = None  # a municipal arrondissement's commune (Paris, Lyon, Marseille)


@dataclass(frozen=True, slots=True)
class FormerCommune:
    """A code that no longer names a commune: merged into `actuelle`."""

    code: str
    nom: str
    actuelle: str


@dataclass(frozen=True, slots=True)
class Qpv:
    code: str
    nom: str
    departement: str
    communes: tuple[str, ...]
    epci: str | None = None
    epci_nom: str | None = None


@dataclass(frozen=True, eq=False)
class Reference:
    """The official geographic code (COG) as shipped."""

    source: dict
    regions: dict[str, Region]
    departements: dict[str, Departement]
    epci: dict[str, Epci]
    communes: dict[str, Commune]  # current communes and municipal arrondissements
    anciennes: dict[str, FormerCommune]

    @functools.cached_property
    def postal(self) -> dict[str, tuple[str, ...]]:
        """Postal code -> codes of its communes (to recognise a postal code typed instead
        of an INSEE code)."""
        found: dict[str, list[str]] = {}
        for commune in self.communes.values():
            for postcode in commune.codes_postaux:
                found.setdefault(postcode, []).append(commune.code)
        return {k: tuple(v) for k, v in found.items()}

    @property
    def description(self) -> str:
        return (
            f"Code officiel géographique {self.source.get('cog')} "
            f"({self.source.get('paquet')} {self.source.get('version')}, "
            f"{self.source.get('licence')})"
        )


def _reference_file() -> bytes:
    return (resources.files("kb") / "data" / "territoires" / "cog.json.gz").read_bytes()


@functools.cache
def _reference_digest() -> str:
    return hashlib.sha256(_reference_file()).hexdigest()


@functools.cache
def administrative() -> tuple[dict[str, Region], dict[str, Departement]]:
    """Regions and departments from `administratif.json` (a few KB, written with the
    reference by the same script): indexing a resource that names no commune need not
    read the 35,000 communes."""
    raw = (resources.files("kb") / "data" / "territoires" / "administratif.json").read_text(
        encoding="utf-8"
    )
    data = json.loads(raw)
    regions = {code: Region(code, nom) for code, nom in data["regions"]}
    departements = {
        code: Departement(code, nom, region) for code, nom, region in data["departements"]
    }
    return regions, departements


@functools.cache
def reference() -> Reference:
    """The shipped reference, read once per process (about 0.3 s)."""
    data = json.loads(gzip.decompress(_reference_file()))
    regions = {code: Region(code, nom) for code, nom in data["regions"]}
    departements = {
        code: Departement(code, nom, region) for code, nom, region in data["departements"]
    }
    members: dict[str, list[str]] = {}
    communes: dict[str, Commune] = {}
    for code, nom, departement, epci, codes_postaux in data["communes"]:
        communes[code] = Commune(code, nom, departement, epci or None, tuple(codes_postaux.split()))
        if epci:
            members.setdefault(epci, []).append(code)
    epci = {
        code: Epci(code, nom, nature, tuple(members.get(code, ())))
        for code, nom, nature in data["epci"]
    }
    anciennes: dict[str, FormerCommune] = {}
    for code, nom, actuelle, nature in data["rattachements"]:
        if nature == "arrondissement":
            parent = communes[actuelle]
            communes[code] = Commune(code, nom, parent.departement, parent.epci, (), actuelle)
        else:
            anciennes[code] = FormerCommune(code, nom, actuelle)
    return Reference(
        data["source"],
        regions,
        departements,
        epci,
        communes,
        anciennes,
    )


@dataclass(frozen=True)
class QpvList:
    qpv: dict[str, Qpv]
    source: str  # what was imported, for the pages and `kb territoires`
    imported_at: str = ""

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "importe_le": self.imported_at,
            "qpv": [
                [q.code, q.nom, q.departement, list(q.communes), q.epci, q.epci_nom]
                for q in sorted(self.qpv.values(), key=lambda q: q.code)
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> QpvList:
        qpv = {}
        for code, nom, departement, communes, epci, epci_nom in data["qpv"]:
            qpv[code] = Qpv(code, nom, departement, tuple(communes), epci, epci_nom)
        return cls(qpv, str(data.get("source", "")), str(data.get("importe_le", "")))


EMPTY_QPV = QpvList({}, "")


@dataclass(frozen=True)
class Places:
    """The places a resource is about, by level, each resolved to names."""

    region: Region | None
    departement: Departement | None
    communes: tuple[Commune, ...]
    epci: tuple[Epci, ...]
    qpv: tuple[Qpv | str, ...]  # a code missing from the imported list stays a code

    def names(self) -> list[str]:
        """Every name and code by which the resource can be found."""
        out: list[str] = []
        if self.region:
            out.append(self.region.nom)
        if self.departement:
            out += [self.departement.nom, self.departement.code]
        for commune in self.communes:
            out += [commune.nom, commune.code]
        for epci in self.epci:
            out += [epci.nom, epci.code]
        for qpv in self.qpv:
            out += [qpv.nom, qpv.code] if isinstance(qpv, Qpv) else [qpv]
        return out


# How each level is named for people (pages, feeds, OAI coverage).
KIND_LABELS = {
    "region": "région",
    "departement": "département",
    "commune": "commune",
    "epci": "intercommunalité",
    "qpv": "quartier prioritaire",
}
CODE_LABELS = {
    "region": "code INSEE",
    "departement": "code INSEE",
    "commune": "code INSEE",
    "epci": "SIREN",
    "qpv": "code QPV",
}


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """One place named: kind (`commune`...), code, and its name (the code when unknown)."""

    kind: str
    code: str
    nom: str
    known: bool = True  # False: a code missing from the reference (or the QPV list)

    def describe(self) -> str:
        """`Amiens (commune, code INSEE 80021)`; `Quartier prioritaire QP093028` when the
        code is not in the reference."""
        if not self.known:
            return self.nom
        return f"{self.nom} ({KIND_LABELS[self.kind]}, {CODE_LABELS[self.kind]} {self.code})"


class Territories:
    """The reference and the QPV list in force: names, codes and what contains what."""

    def __init__(self, qpv: QpvList) -> None:
        self.qpv_list = qpv
        self.qpv = qpv.qpv

    @property
    def reference(self) -> Reference:
        # Read on first use: the index's fingerprint, computed before taking the index
        # lock, must not wait for the 35,000 communes.
        return reference()

    @property
    def regions(self) -> dict[str, Region]:
        return administrative()[0]

    @property
    def departements(self) -> dict[str, Departement]:
        return administrative()[1]

    @property
    def epci(self) -> dict[str, Epci]:
        return self.reference.epci

    @property
    def communes(self) -> dict[str, Commune]:
        return self.reference.communes

    @functools.cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(_reference_digest().encode())
        digest.update(json.dumps(self.qpv_list.to_json()["qpv"], ensure_ascii=False).encode())
        return digest.hexdigest()[:16]

    # --- names

    def label(self, kind: str, code: str) -> str:
        """`Amiens`, `Métropole Européenne de Lille`, `Quartier Nord (QN08003M)`; the code
        itself when unknown."""
        if kind == "commune":
            commune = self.communes.get(code)
            return commune.nom if commune else code
        if kind == "epci":
            epci = self.epci.get(code)
            return epci.nom if epci else code
        if kind == "qpv":
            qpv = self.qpv.get(code)
            return qpv.nom if qpv else code
        if kind == "departement":
            departement = self.departements.get(code)
            return departement.nom if departement else code
        if kind == "region":
            region = self.regions.get(code)
            return region.nom if region else code
        raise KeyError(kind)

    def commune_label(self, code: str) -> str:
        """`Amiens (80) ` style label that tells homonyms apart: `Saint-Denis (93)`."""
        commune = self.communes.get(code)
        return f"{commune.nom} ({commune.departement})" if commune else code

    # --- what a resource is about

    def communes_of(self, territoire: Territoire) -> tuple[Commune, ...]:
        return tuple(self.communes[c] for c in territoire.communes if c in self.communes)

    def places(self, territoire: Territoire) -> Places:
        communes = self.communes_of(territoire)
        epci_codes = list(territoire.epci)
        for commune in communes:
            if commune.epci and commune.epci not in epci_codes:
                epci_codes.append(commune.epci)
        return Places(
            self.regions.get(territoire.region or ""),
            self.departements.get(territoire.departement or ""),
            communes,
            tuple(self.epci[c] for c in epci_codes if c in self.epci),
            tuple(self.qpv.get(code, code) for code in territoire.qpv),
        )

    def place_refs(
        self,
        region: str | None = None,
        departement: str | None = None,
        communes: Iterable[str] = (),
        epci: Iterable[str] = (),
        qpv: Iterable[str] = (),
    ) -> list[PlaceRef]:
        """Every place of a territory given by codes, from the largest to the smallest;
        the EPCI of the communes are added."""
        communes = list(communes)
        epci_codes = list(epci)
        for code in communes:
            commune = self.communes.get(code)
            if commune and commune.epci and commune.epci not in epci_codes:
                epci_codes.append(commune.epci)
        refs = [self.place_ref("region", region)] if region else []
        if departement:
            refs.append(self.place_ref("departement", departement))
        refs += [self.place_ref("epci", code) for code in epci_codes]
        refs += [self.place_ref("commune", code) for code in communes]
        refs += [self.place_ref("qpv", code) for code in qpv]
        return refs

    def place_ref(self, kind: str, code: str) -> PlaceRef:
        name = self.label(kind, code)
        if name != code:
            return PlaceRef(kind, code, name)
        # Not in the reference: a QPV of the 2015 geography, or no list imported.
        return PlaceRef(kind, code, f"{KIND_LABELS[kind].capitalize()} {code}", False)

    def facet_codes(self, territoire: Territoire) -> dict[str, list[str]]:
        """Codes by facet: a municipal arrondissement counts for its commune too, a
        commune for its EPCI, a QPV for its communes."""
        communes: list[str] = []
        for code in territoire.communes:
            commune = self.communes.get(code)
            for value in (code, commune.parent if commune else None):
                if value and value not in communes:
                    communes.append(value)
        places = self.places(territoire)
        return {
            "commune": communes,
            "epci": [e.code for e in places.epci],
            "qpv": list(territoire.qpv),
        }

    def suggest_commune(self, code: str, departement: str | None = None) -> str | None:
        """The closest existing code (same department first) for a mistyped one."""
        import difflib

        pool: Iterable[str] = (
            [c for c, v in self.communes.items() if v.departement == departement]
            if departement
            else self.communes
        )
        close = difflib.get_close_matches(code, list(pool), n=1, cutoff=0.6)
        return close[0] if close else None


# --- the territories in force ---------------------------------------------------------------

_lock = threading.Lock()
_configured: tuple[Path | None, Path | None] = (None, None)
_cache: dict[tuple, Territories] = {}


def qpv_file(index: Path) -> Path:
    """Where `kb territoires importer` keeps the QPV list: beside the index folder."""
    return Path(index).parent / QPV_FOLDER / QPV_FILE


def configure(index: Path | None, content: Path | None) -> None:
    """Tell the process where its instance and content are (the `kb` command and the web
    app do it once at start); `current()` then reads the QPV list in force."""
    global _configured
    with _lock:
        _configured = (qpv_file(index) if index else None, Path(content) if content else None)


def _stamp(path: Path | None) -> tuple | None:
    try:
        info = path.stat() if path else None
    except OSError:
        return None
    return (str(path), info.st_mtime_ns, info.st_size) if info else None


def current() -> Territories:
    """The reference with the QPV list in force: the one imported into the instance, else
    the content tree's own (`_territoires/qpv.csv`), else none. Re-read when the file
    changes (an import while the site runs)."""
    imported, content = _configured
    fallback = content / CONTENT_QPV_LIST if content else None
    key = (_stamp(imported), None if _stamp(imported) else _stamp(fallback))
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    qpv = EMPTY_QPV
    if key[0] is not None:
        qpv = read_qpv_file(imported)
    elif key[1] is not None:
        from .qpvimport import QpvImportError, parse_qpv_files

        try:
            qpv = parse_qpv_files([fallback]).qpv_list
        except QpvImportError:
            qpv = EMPTY_QPV  # `kb territoires verifier` reports why
    territories = Territories(qpv)
    with _lock:
        _cache.clear()
        _cache[key] = territories
    return territories


def read_qpv_file(path: Path) -> QpvList:
    try:
        return QpvList.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return EMPTY_QPV  # only `kb territoires importer` writes it, atomically


@dataclass(frozen=True)
class DepartmentShapes:
    """The outlines of the departments for a map (see kb/data/territoires/README.md)."""

    view_box: tuple[float, float, float, float]
    paths: dict[str, str]  # department code -> SVG path data
    insets: dict[str, tuple[float, float, float, float]]  # overseas: x, y, width, height
    attribution: str


@functools.cache
def department_shapes() -> DepartmentShapes:
    raw = (resources.files("kb") / "data" / "territoires" / "carte-departements.json").read_text(
        encoding="utf-8"
    )
    data = json.loads(raw)
    return DepartmentShapes(
        tuple(data["viewBox"]),
        {code: value["d"] for code, value in data["departements"].items()},
        {code: tuple(box) for code, box in data["encarts"].items()},
        data["source"]["attribution"],
    )

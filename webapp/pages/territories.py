"""Browsing by place: /territoires (the map of departments and the regions), then a page per
region, department, intercommunality (EPCI), commune and priority neighbourhood (QPV), each
with its counts, the places it contains that have resources, its resources, breadcrumbs,
and a JSON twin (the same address followed by `.json`).

Names and what contains what come from `kb.territories` (the official geographic code and
the imported QPV list); counts from the index's facets, through the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from kb import territories
from kb.schema import QPV_2015_PATTERN, QPV_2024_PATTERN
from kb.vocabulary import fold

from ..core.catalogue import current_catalogue
from ..core.department_map import department_map
from .browse import listing

bp = Blueprint("territories", __name__)

# Which lower levels each page lists, in order, and how they are titled.
LEVELS = {
    "region": ("departement",),
    "departement": ("epci", "commune", "qpv"),
    "epci": ("commune", "qpv"),
    "commune": ("qpv",),
    "qpv": (),
}
LEVEL_TITLES = {
    "departement": "Départements",
    "epci": "Intercommunalités",
    "commune": "Communes",
    "qpv": "Quartiers prioritaires",
}
KIND_TITLES = {
    "region": "Région",
    "departement": "Département",
    "epci": "Intercommunalité",
    "commune": "Commune",
    "qpv": "Quartier prioritaire",
}
JSON_LISTED = 50  # resources given by a JSON twin (the API pages through the rest)


@dataclass(frozen=True)
class Place:
    kind: str
    code: str
    nom: str
    detail: str = ""  # what to show beside the name (a code, an EPCI's department…)

    @property
    def url(self) -> str:
        return place_url(self.kind, self.code)


@dataclass(frozen=True)
class Sub:
    place: Place
    count: int


def place_url(kind: str, code: str) -> str:
    """The page of a place (the resource pages link their places here)."""
    if kind == "region":
        return url_for("territories.region", region=code)
    return url_for(f"territories.{kind}", code=code)


def _map(counts: dict[str, int]):
    return department_map(
        counts,
        lambda code: url_for("territories.departement", code=code),
        title="Nombre de ressources par département",
        table_caption="Ressources par département (données de la carte)",
    )


@bp.get("/territoires")
def index():
    catalogue = current_catalogue()
    overview = catalogue.overview()
    places = territories.current()
    regions = sorted(
        (
            Sub(Place("region", code, region.nom), overview.count("region", code))
            for code, region in places.regions.items()
            if code in catalogue.vocabularies.regions
        ),
        key=lambda sub: fold(sub.place.nom),
    )
    by_departement = overview.counts.get("departement", {})
    return render_template(
        "territories/index.html",
        regions=regions,
        total=overview.total,
        figure=_map(dict(by_departement)),
        breadcrumbs=[("Accueil", url_for("home.index")), ("Territoires", "")],
    )


@bp.get("/territoires.json")
def index_json():
    catalogue = current_catalogue()
    overview = catalogue.overview()
    places = territories.current()
    return jsonify(
        {
            "type": "territoires",
            "nombre": overview.total,
            "regions": [
                _sub_json(Sub(Place("region", code, r.nom), overview.count("region", code)))
                for code, r in sorted(places.regions.items())
                if code in catalogue.vocabularies.regions
            ],
            "departements": [
                _sub_json(Sub(Place("departement", code, d.nom, code), count))
                for code, d in sorted(places.departements.items())
                if (count := overview.count("departement", code))
            ],
        }
    )


# --- one page per place -------------------------------------------------------------------


def _resolve(kind: str, code: str) -> tuple[Place, list[Place]]:
    """The place and its ancestors (largest first), or 404."""
    places = territories.current()
    if kind == "region":
        region = places.regions.get(code)
        if region is None or code not in current_catalogue().vocabularies.regions:
            abort(404)
        return Place("region", code, region.nom), []
    if kind == "departement":
        departement = places.departements.get(code)
        if departement is None or code not in current_catalogue().vocabularies.departements:
            abort(404)
        return Place("departement", code, departement.nom, code), _region_of(departement.region)
    if kind == "epci":
        epci = places.epci.get(code)
        if epci is None:
            abort(404)
        departement = _main_departement(epci.communes)
        return Place("epci", code, epci.nom), _departement_chain(departement)
    if kind == "commune":
        commune = places.communes.get(code)
        if commune is None:
            abort(404)
        chain = _departement_chain(commune.departement)
        if commune.epci and commune.epci in places.epci:
            chain.append(Place("epci", commune.epci, places.epci[commune.epci].nom))
        if commune.parent:
            chain.append(Place("commune", commune.parent, places.communes[commune.parent].nom))
        return Place("commune", code, commune.nom, commune.departement), chain
    if kind == "qpv":
        if not (QPV_2024_PATTERN.match(code) or QPV_2015_PATTERN.match(code)):
            abort(404)
        qpv = places.qpv.get(code)
        if qpv is None:
            # A code of the resources that no list names (2015 geography): a page all the
            # same, if some resource carries it.
            if not current_catalogue().overview().count("qpv", code):
                abort(404)
            return Place("qpv", code, f"Quartier prioritaire {code}"), []
        chain = _departement_chain(qpv.departement)
        if qpv.epci and qpv.epci in places.epci:
            chain.append(Place("epci", qpv.epci, places.epci[qpv.epci].nom))
        if len(qpv.communes) == 1 and qpv.communes[0] in places.communes:
            chain.append(Place("commune", qpv.communes[0], places.communes[qpv.communes[0]].nom))
        return Place("qpv", code, qpv.nom), chain
    abort(404)


def _region_of(code: str) -> list[Place]:
    region = territories.current().regions.get(code)
    return [Place("region", code, region.nom)] if region else []


def _departement_chain(code: str | None) -> list[Place]:
    departement = territories.current().departements.get(code or "")
    if departement is None:
        return []
    return [*_region_of(departement.region), Place("departement", code, departement.nom, code)]


def _main_departement(communes: tuple[str, ...]) -> str | None:
    """An EPCI's department: the one most of its communes are in."""
    places = territories.current()
    found: dict[str, int] = {}
    for code in communes:
        commune = places.communes.get(code)
        if commune:
            found[commune.departement] = found.get(commune.departement, 0) + 1
    return max(found, key=lambda d: (found[d], d)) if found else None


def _subs(kind: str, result) -> list[Sub]:
    """The places of one lower level that have resources among `result`, by count."""
    places = territories.current()
    subs = []
    for value in result.facets.get(kind) or []:
        if kind == "departement":
            place = Place(kind, value.valeur, places.label(kind, value.valeur), value.valeur)
        elif kind == "commune":
            commune = places.communes.get(value.valeur)
            place = Place(kind, value.valeur, commune.nom if commune else value.valeur)
            place = Place(kind, value.valeur, place.nom, commune.departement if commune else "")
        else:
            ref = places.place_ref(kind, value.valeur)
            place = Place(kind, value.valeur, ref.nom, value.valeur if ref.known else "")
        subs.append(Sub(place, value.nombre))
    subs.sort(key=lambda sub: (-sub.count, fold(sub.place.nom)))
    return subs


def _page(kind: str, code: str):
    place, chain = _resolve(kind, code)
    data = listing(current_catalogue(), kind, code, None)
    levels = [(LEVEL_TITLES[level], _subs(level, data["result"])) for level in LEVELS[kind]]
    if kind == "region":
        # A region lists all its departments, those without resources too.
        listed = {sub.place.code for sub in levels[0][1]}
        places = territories.current()
        levels[0][1].extend(
            Sub(Place("departement", d.code, d.nom, d.code), 0)
            for d in sorted(places.departements.values(), key=lambda d: fold(d.nom))
            if d.region == code and d.code not in listed
        )
    return place, chain, levels, data


def _breadcrumbs(place: Place, chain: list[Place]) -> list[tuple[str, str]]:
    return [
        ("Accueil", url_for("home.index")),
        ("Territoires", url_for("territories.index")),
        *[(p.nom, p.url) for p in chain],
        (place.nom, ""),
    ]


def _html(kind: str, code: str):
    place, chain, levels, data = _page(kind, code)
    figure = None
    if kind == "region":
        counts = {s.place.code: s.count for s in levels[0][1]}
        figure = _map(counts)
    return render_template(
        "territories/place.html",
        place=place,
        kind_title=KIND_TITLES[kind],
        chain=chain,
        levels=levels,
        details=_details(place),
        breadcrumbs=_breadcrumbs(place, chain),
        json_url=place_json_url(kind, code),
        figure=figure,
        **data,
    )


def _details(place: Place) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """A few facts about the place (code, communes…): (term, [(text, link or None)])."""
    places = territories.current()
    facts: list[tuple[str, list[tuple[str, str | None]]]] = []
    if place.kind in ("region", "departement", "commune"):
        facts.append(("Code INSEE", [(place.code, None)]))
    if place.kind == "epci":
        epci = places.epci[place.code]
        facts.append(("Numéro SIREN", [(place.code, None)]))
        facts.append(("Communes membres", [(str(len(epci.communes)), None)]))
    if place.kind == "commune":
        commune = places.communes[place.code]
        if commune.codes_postaux:
            facts.append(("Codes postaux", [(", ".join(commune.codes_postaux), None)]))
    if place.kind == "qpv":
        facts.append(("Code du quartier", [(place.code, None)]))
        qpv = places.qpv.get(place.code)
        if qpv:
            links = [
                (
                    places.label("commune", c),
                    place_url("commune", c) if c in places.communes else None,
                )
                for c in qpv.communes
            ]
            facts.append(("Communes" if len(links) > 1 else "Commune", links))
        else:
            facts.append(
                ("Nom", [("absent de la liste des quartiers prioritaires en vigueur", None)])
            )
    return facts


def place_json_url(kind: str, code: str) -> str:
    if kind == "region":
        return url_for("territories.region_json", region=code)
    return url_for(f"territories.{kind}_json", code=code)


def _json(kind: str, code: str):
    place, chain, levels, data = _page(kind, code)
    result = data["result"]
    return jsonify(
        {
            "type": kind,
            "code": place.code,
            "nom": place.nom,
            "url": request.url_root.rstrip("/") + place.url,
            "fil": [{"type": p.kind, "code": p.code, "nom": p.nom, "url": p.url} for p in chain],
            "nombre": result.total,
            "sous_territoires": {
                level: [_sub_json(sub) for sub in subs]
                for level, (_, subs) in zip(LEVELS[kind], levels, strict=True)
            },
            "ressources": [
                {"id": hit.id, "titre": hit.titre, "url": hit.url, "date": hit.date}
                for hit in data["hits"][:JSON_LISTED]
            ],
            "page": data["pagination"].page if data["pagination"] else 1,
            "pages": result.pages,
            "recherche": data["search_url"],
        }
    )


def _sub_json(sub: Sub) -> dict:
    return {
        "type": sub.place.kind,
        "code": sub.place.code,
        "nom": sub.place.nom,
        "nombre": sub.count,
        "url": sub.place.url,
    }


@bp.get("/territoires/<region>")
def region(region: str):
    return _html("region", region)


@bp.get("/territoires/<region>.json")
def region_json(region: str):
    return _json("region", region)


def _register(kind: str, folder: str) -> None:
    def html(code: str):
        return _html(kind, code)

    def as_json(code: str):
        return _json(kind, code)

    bp.add_url_rule(f"/territoires/{folder}/<code>", kind, html, methods=["GET"])
    bp.add_url_rule(f"/territoires/{folder}/<code>.json", f"{kind}_json", as_json, methods=["GET"])


for _kind, _folder in (
    ("departement", "departements"),
    ("epci", "epci"),
    ("commune", "communes"),
    ("qpv", "qpv"),
):
    _register(_kind, _folder)

"""The front-matter fields, declared once: name, kind, requirement, French description.

Each field has a checker that turns the raw YAML value into a typed value and reports
problems at the line of the offending value. `kb check`, the indexer and the git hook all
go through this table (via the loader); `docs/format.md` is tested against it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, SequenceNode

from . import territories
from .french import shorten
from .model import ID_PATTERN, Moisson, Periode, Territoire
from .problems import Problem, Severity
from .vocabulary import Vocabularies, fold

COMMUNE_PATTERN = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
QPV_2024_PATTERN = re.compile(r"^QN(\d{2}[0-9AB])\d{2}[NMI]$")
QPV_2015_PATTERN = re.compile(r"^QP(\d{2}[0-9AB])\d{3}$")
ALIAS_PATTERN = re.compile(r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*/)?[a-z0-9]+(?:-[a-z0-9]+)*$")
PLACEHOLDER = "À compléter"
# Sections recommended for practice sheets and write-ups (kb new's template, docs/format.md).
RECOMMENDED_SECTIONS = (
    "Contexte",
    "Objectifs",
    "Mise en œuvre",
    "Partenaires et moyens",
    "Résultats",
    "Enseignements",
    "Pour aller plus loin",
)
# The types of resource those sections are recommended for.
SECTION_TYPES = ("fiche-pratique", "retour-experimentation")
# A summary long enough to say what the resource is, short enough to read in a result
# list (characters; the field accepts up to 1000).
SUMMARY_LENGTH = (100, 500)


# Invisible control characters (C0 but tab and line breaks, DEL, C1): refused in the header
# and in the text. They come from PDFs and word processors, show nowhere, and are not allowed
# in the XML of feeds and OAI-PMH.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CHARACTER_NAMES = {
    0x00: "caractère nul",
    0x08: "retour arrière",
    0x0B: "tabulation verticale",
    0x0C: "saut de page",
    0x1B: "échappement",
    0x7F: "suppression",
}


def forbidden_character_message(character: str) -> str:
    code = ord(character)
    name = _CHARACTER_NAMES.get(code, "caractère de contrôle")
    return (
        f"caractère invisible interdit (U+{code:04X}, {name}), souvent venu d'un copier-coller : "
        "supprimez-le"
    )


def placeholder_message(name: str) -> str:
    return f"« {name} » contient encore « {PLACEHOLDER} »"


class FieldContext:
    """What a checker needs: where the value is, and how to report about it."""

    def __init__(
        self,
        path: str,
        name: str,
        node: Node,
        line_offset: int,
        vocabularies: Vocabularies,
        problems: list[Problem],
    ) -> None:
        self.path = path
        self.name = name
        self.node = node
        self.line_offset = line_offset
        self.vocabularies = vocabularies
        self.problems = problems

    def line_of(self, node: Node | None) -> int:
        return (node or self.node).start_mark.line + self.line_offset

    def item_node(self, index: int) -> Node | None:
        if isinstance(self.node, SequenceNode) and index < len(self.node.value):
            return self.node.value[index]
        return None

    def sub_node(self, key: str) -> Node | None:
        if isinstance(self.node, MappingNode):
            for key_node, value_node in self.node.value:
                if key_node.value == key:
                    return value_node
        return None

    def error(self, message: str, node: Node | None = None, suggestion: str | None = None):
        self.problems.append(
            Problem(self.path, self.line_of(node), Severity.ERROR, message, suggestion)
        )

    def warning(self, message: str, node: Node | None = None, suggestion: str | None = None):
        self.problems.append(
            Problem(self.path, self.line_of(node), Severity.WARNING, message, suggestion)
        )


Checker = Callable[[FieldContext, Any], Any]


@dataclass(frozen=True)
class Field:
    name: str
    check: Checker
    description: str
    required: bool = False
    optional_when_harvested: bool = False  # not required in a resource marked `moisson`


# --- value checkers -------------------------------------------------------------------------

_YAML_TYPE_NAMES = {
    bool: "un booléen (oui/non)",
    int: "un nombre",
    float: "un nombre",
    dt.date: "une date",
    dt.datetime: "une date et heure",
    list: "une liste",
    dict: "un dictionnaire (clé: valeur)",
    type(None): "une valeur vide",
}


def _type_name(value: Any) -> str:
    return _YAML_TYPE_NAMES.get(type(value), type(value).__name__)


def _written(node: Node | None) -> str:
    """The text the author typed for a scalar, e.g. `NO` that YAML read as False."""
    value = getattr(node, "value", None)
    return value if isinstance(value, str) else ""


def _wrong_type(ctx: FieldContext, expected: str, value: Any, node: Node | None = None) -> None:
    written = shorten(_written(node or ctx.node))
    if written and isinstance(value, (bool, int, float, dt.date)) and "texte" in expected:
        ctx.error(
            f"« {ctx.name} » : {expected} est attendu, mais YAML lit « {written} » comme "
            f'{_type_name(value)} : mettez la valeur entre guillemets : "{written}"',
            node,
        )
        return
    shown = f" (« {written} »)" if written else ""
    ctx.error(f"« {ctx.name} » : {expected} est attendu, pas {_type_name(value)}{shown}", node)


def text(max_length: int | None = None, single_line: bool = False) -> Checker:
    def check(ctx: FieldContext, value: Any, node: Node | None = None) -> str | None:
        if not isinstance(value, str):
            _wrong_type(ctx, "un texte", value, node)
            return None
        value = value.strip()
        if not value:
            ctx.error(f"« {ctx.name} » est vide", node)
            return None
        if max_length and len(value) > max_length:
            ctx.error(
                f"« {ctx.name} » est trop long ({len(value)} caractères, maximum {max_length})",
                node,
            )
        if single_line and "\n" in value:
            ctx.warning(f"« {ctx.name} » tient normalement sur une ligne", node)
        if PLACEHOLDER.lower() in value.lower():
            ctx.warning(placeholder_message(ctx.name), node)
        return value

    return check


def date(ctx: FieldContext, value: Any, node: Node | None = None) -> dt.date | None:
    if isinstance(value, dt.datetime):
        ctx.error(f"« {ctx.name} » : une date sans heure est attendue (AAAA-MM-JJ)", node)
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        ctx.error(
            f"« {ctx.name} » : date invalide « {shorten(value)} » (format AAAA-MM-JJ)",
            node,
            suggestion=_iso_date(value),
        )
        return None
    _wrong_type(ctx, "une date AAAA-MM-JJ", value, node)
    return None


_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YEAR_FIRST = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})")


def _iso_date(written: str) -> str | None:
    """`12/03/2025`, `12-03-2025`, `12.03.2025` (French order: day first) or `2025/03/12`
    -> `2025-03-12`, when that date exists."""
    written = written.strip()
    if match := _DAY_FIRST.fullmatch(written):
        day, month, year = (int(g) for g in match.groups())
    elif match := _YEAR_FIRST.fullmatch(written):
        year, month, day = (int(g) for g in match.groups())
    else:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _as_list(ctx: FieldContext, value: Any) -> list | None:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        ctx.warning(
            f"« {ctx.name} » est une liste : écrivez chaque valeur sur une ligne commençant par « - »"
        )
        return [value]
    if value is None:
        return []
    _wrong_type(ctx, "une liste", value)
    return None


def text_list(max_length: int = 300) -> Checker:
    item_check = text(max_length)

    def check(ctx: FieldContext, value: Any) -> tuple[str, ...]:
        items = _as_list(ctx, value)
        if items is None:
            return ()
        result = []
        for index, item in enumerate(items):
            checked = item_check(ctx, item, ctx.item_node(index))
            if checked is not None:
                result.append(checked)
        return tuple(result)

    return check


def _check_term(ctx: FieldContext, vocabulary: str, value: Any, node: Node | None) -> str | None:
    vocab = ctx.vocabularies[vocabulary]
    if not isinstance(value, str):
        _wrong_type(ctx, "un identifiant du vocabulaire", value, node)
        return None
    value = value.strip()
    if value in vocab:
        return value
    ctx.error(
        f"« {shorten(value)} » n'est pas une valeur connue de « {ctx.name} » "
        f"(vocabulaire {vocabulary})",
        node,
        suggestion=vocab.suggest(value),
    )
    return None


def term(vocabulary: str) -> Checker:
    def check(ctx: FieldContext, value: Any) -> str | None:
        return _check_term(ctx, vocabulary, value, None)

    return check


def term_list(vocabulary: str, minimum: int = 0) -> Checker:
    def check(ctx: FieldContext, value: Any) -> tuple[str, ...]:
        items = _as_list(ctx, value)
        if items is None:
            return ()
        result: list[str] = []
        for index, item in enumerate(items):
            checked = _check_term(ctx, vocabulary, item, ctx.item_node(index))
            if checked is None:
                continue
            if checked in result:
                ctx.warning(
                    f"« {checked} » figure deux fois dans « {ctx.name} »", ctx.item_node(index)
                )
                continue
            result.append(checked)
        if len(items) < minimum:
            ctx.error(f"« {ctx.name} » est vide : indiquez au moins une valeur")
        return tuple(result)

    return check


def _code(ctx: FieldContext, key: str, value: Any, node: Node | None) -> str | None:
    if not isinstance(value, str):
        hint = ' (un code INSEE s\'écrit entre guillemets, ex. "05")'
        shown = shorten(_written(node) or str(value))
        ctx.error(f"« {key} » : code « {shown} » lu comme {_type_name(value)}{hint}", node)
        return None
    return value.strip()


def territoire(ctx: FieldContext, value: Any) -> Territoire:
    if not isinstance(value, dict):
        _wrong_type(ctx, "un dictionnaire (region, departement, communes, epci, qpv)", value)
        return Territoire()
    vocab = ctx.vocabularies
    known = ("region", "departement", "communes", "epci", "qpv")
    for key in value:
        if key not in known:
            suggestion = difflib.get_close_matches(str(key), known, n=1)
            ctx.warning(
                f"clé inconnue « {key} » dans « territoire »",
                ctx.sub_node(str(key)),
                suggestion[0] if suggestion else None,
            )
    region = departement = None
    if value.get("region") is not None:
        node = ctx.sub_node("region")
        region = _code(ctx, "region", value["region"], node)
        if region is not None and region not in vocab.regions:
            ctx.error(
                f"code de région INSEE inconnu « {region} »", node, vocab.regions.suggest(region)
            )
            region = None
    if value.get("departement") is not None:
        node = ctx.sub_node("departement")
        departement = _code(ctx, "departement", value["departement"], node)
        if departement is not None and departement not in vocab.departements:
            ctx.error(f"code de département INSEE inconnu « {departement} »", node)
            departement = None
        if departement and region:
            expected_region = vocab.departements.terms[departement].get("region")
            if expected_region != region:
                ctx.error(
                    f"le département {departement} ({vocab.departements.label(departement)}) "
                    f"n'est pas dans la région {region} ({vocab.regions.label(region)})",
                    node,
                )
        if departement and not region:
            region = vocab.departements.terms[departement].get("region")
    places = territories.current()
    communes = _check_communes(ctx, value.get("communes"), places, region, departement)
    if communes and not departement:
        # Communes of one department tell where the resource is: pages and filters by
        # department then find it.
        found = {places.communes[c].departement for c in communes}
        if len(found) == 1:
            departement = found.pop()
            region = region or places.departements[departement].region
    epci = _check_epci(ctx, value.get("epci"), places)
    qpv = _codes(ctx, "qpv", value.get("qpv"), None, "")
    for code, node in zip(qpv, _item_nodes(ctx.sub_node("qpv")), strict=False):
        match = QPV_2024_PATTERN.match(code) or QPV_2015_PATTERN.match(code)
        if not match:
            ctx.error(
                f"code QPV invalide « {code} » (ex. QN05912M depuis 2024, QP093028 avant)", node
            )
            continue
        dept = match.group(1).lstrip("0") if match.group(1)[:2] != "97" else match.group(1)
        dept = dept.zfill(2) if dept[:1].isdigit() else dept
        if dept not in vocab.departements:
            ctx.error(f"code QPV « {code} » : département « {match.group(1)} » inconnu", node)
            continue
        _check_qpv(ctx, code, node, places, departement)
    return Territoire(region, departement, communes, tuple(q for q in qpv), epci)


def _check_communes(ctx, value, places, region, departement) -> tuple[str, ...]:
    """Codes of existing communes: a former commune's code becomes the current one (with a
    warning); a postal code, an unknown code or a commune outside the stated department or
    region is an error."""
    items = _code_items(
        ctx,
        "communes",
        value,
        COMMUNE_PATTERN,
        "code commune INSEE invalide « {} » (5 caractères, ex. 59350 ou 2A004)",
    )
    result: list[str] = []
    for code, node in items:
        commune = places.communes.get(code)
        former = places.reference.anciennes.get(code)
        if commune is None and former is not None:
            commune = places.communes[former.actuelle]
            name = f" ({former.nom})" if former.nom else ""
            ctx.warning(
                f"« {code} »{name} est le code d'une ancienne commune, fusionnée dans "
                f"{commune.nom} : la fiche est rattachée au code actuel {commune.code}",
                node,
                commune.code,
            )
        elif commune is None:
            postal = places.reference.postal.get(code)
            if postal:
                names = ", ".join(f"{places.communes[c].nom} ({c})" for c in postal[:3]) + (
                    " …" if len(postal) > 3 else ""
                )
                ctx.error(
                    f"« {code} » est un code postal, pas un code commune INSEE : "
                    f"{'code INSEE de la commune' if len(postal) == 1 else 'codes INSEE des communes'} "
                    f"de ce code postal : {names}",
                    node,
                    postal[0] if len(postal) == 1 else None,
                )
            else:
                suggestion = places.suggest_commune(code, departement)
                hint = (
                    f" ; vouliez-vous dire {suggestion} ({places.communes[suggestion].nom}) ?"
                    if suggestion
                    else ""
                )
                ctx.error(
                    f"code commune INSEE inconnu « {code} » ({places.reference.description}){hint}",
                    node,
                    suggestion,
                )
            continue
        if departement and commune.departement != departement:
            ctx.error(
                f"la commune {commune.code} ({commune.nom}) est dans le département "
                f"{commune.departement} ({places.label('departement', commune.departement)}), "
                f"pas dans le département indiqué {departement} "
                f"({places.label('departement', departement)})",
                node,
            )
            continue
        commune_region = places.departements[commune.departement].region
        if region and not departement and commune_region != region:
            ctx.error(
                f"la commune {commune.code} ({commune.nom}) est dans la région "
                f"{commune_region} ({places.label('region', commune_region)}), pas dans la "
                f"région indiquée {region} ({places.label('region', region)})",
                node,
            )
            continue
        if commune.code in result:
            ctx.warning(f"« {commune.code} » figure deux fois dans « communes »", node)
            continue
        result.append(commune.code)
    return tuple(result)


def _check_epci(ctx, value, places) -> tuple[str, ...]:
    result: list[str] = []
    for code, node in _code_items(ctx, "epci", value, None, ""):
        if code in places.epci:
            if code not in result:
                result.append(code)
            continue
        folded = fold(code)
        by_name = [e.code for e in places.epci.values() if fold(e.nom) == folded]
        if by_name:
            ctx.error(
                f"« epci » : indiquez le numéro SIREN de l'intercommunalité, pas son nom : "
                f"{by_name[0]} pour « {code} »",
                node,
                by_name[0],
            )
        else:
            ctx.error(
                f"« epci » : numéro SIREN d'EPCI inconnu « {code} » "
                f"({places.reference.description})",
                node,
            )
    return tuple(result)


def _check_qpv(ctx, code, node, places, departement) -> None:
    if not places.qpv:
        return  # no list imported: nothing to check against
    qpv = places.qpv.get(code)
    if qpv is None:
        if code.startswith("QP"):
            return  # 2015 geography: the list in force (2024) cannot know it
        ctx.warning(
            f"code QPV « {code} » absent de la liste des quartiers prioritaires importée "
            f"({places.qpv_list.source}) : vérifiez le code",
            node,
        )
    elif departement and qpv.departement != departement:
        ctx.warning(
            f"le quartier {code} ({qpv.nom}) est dans le département {qpv.departement}, "
            f"pas dans le département indiqué {departement}",
            node,
        )


def _item_nodes(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _codes(ctx, key, value, pattern, message) -> tuple[str, ...]:
    return tuple(code for code, _ in _code_items(ctx, key, value, pattern, message))


def _code_items(ctx, key, value, pattern, message) -> list[tuple[str, Node | None]]:
    """The well-formed codes of a list, each with its YAML node (for line numbers)."""
    if value is None:
        return []
    node = ctx.sub_node(key)
    if not isinstance(value, list):
        value = [value]
    nodes = _item_nodes(node) or [node] * len(value)
    result = []
    for item, item_node in zip(value, nodes, strict=False):
        code = _code(ctx, key, item, item_node)
        if code is None:
            continue
        if pattern and not pattern.match(code):
            ctx.error(message.format(code), item_node)
            continue
        result.append((code, item_node))
    return result


def _bound(ctx: FieldContext, key: str, value: Any, node: Node | None) -> dt.date | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        _wrong_type(ctx, "une date ou une année", value, node)
        return None
    if isinstance(value, int):
        if 1900 <= value <= 2100:
            return value
        ctx.error(f"« periode.{key} » : année invalide « {value} »", node)
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}", value.strip()):
        return int(value)
    return date(ctx, value, node)


def periode(ctx: FieldContext, value: Any) -> Periode | None:
    if not isinstance(value, dict):
        _wrong_type(ctx, "un dictionnaire (debut, fin)", value)
        return None
    for key in value:
        if key not in ("debut", "fin"):
            ctx.warning(
                f"clé inconnue « {key} » dans « periode » (debut ou fin)", ctx.sub_node(str(key))
            )
    debut = _bound(ctx, "debut", value.get("debut"), ctx.sub_node("debut"))
    fin = _bound(ctx, "fin", value.get("fin"), ctx.sub_node("fin"))

    def year(bound):
        return bound if isinstance(bound, int) else bound.year

    if debut is not None and fin is not None:
        if (isinstance(debut, int) or isinstance(fin, int)) and year(fin) < year(debut):
            ctx.error("« periode » : la fin précède le début", ctx.sub_node("fin"))
        elif isinstance(debut, dt.date) and isinstance(fin, dt.date) and fin < debut:
            ctx.error("« periode » : la fin précède le début", ctx.sub_node("fin"))
    return Periode(debut, fin)


def alias(ctx: FieldContext, value: Any) -> tuple[str, ...]:
    items = _as_list(ctx, value)
    result = []
    for index, item in enumerate(items or ()):
        node = ctx.item_node(index)
        if not isinstance(item, str) or not ALIAS_PATTERN.match(item.strip()):
            ctx.error(
                f"alias invalide « {shorten(str(item))} » : un ancien identifiant (ancien-slug ou centre/ancien-slug)",
                node,
            )
            continue
        result.append(item.strip())
    return tuple(result)


def url(ctx: FieldContext, value: Any) -> str | None:
    checked = text(500)(ctx, value)
    if checked and not re.match(r"^https?://[^\s/]+", checked):
        ctx.error(f"« {ctx.name} » : adresse web invalide « {shorten(checked)} » (https://...)")
        return None
    return checked


HARVEST_KEYS = ("entrepot", "identifiant", "recolte_le")


def moisson(ctx: FieldContext, value: Any) -> Moisson | None:
    """The harvester's mark: where the resource was harvested from, and when."""
    if not isinstance(value, dict):
        _wrong_type(ctx, "un dictionnaire (entrepot, identifiant, recolte_le)", value)
        return None
    for key in value:
        if key not in HARVEST_KEYS:
            ctx.warning(
                f"clé inconnue « {shorten(str(key))} » dans « moisson » "
                "(entrepot, identifiant, recolte_le)",
                ctx.sub_node(str(key)),
            )
    missing = [key for key in HARVEST_KEYS if value.get(key) is None]
    if missing:
        ctx.error(f"« moisson » : il manque {', '.join(missing)}")
        return None
    entrepot = text(500)(ctx, value["entrepot"], ctx.sub_node("entrepot"))
    if entrepot and not re.match(r"^https?://[^\s/]+", entrepot):
        ctx.error(
            f"« moisson.entrepot » : adresse web invalide « {shorten(entrepot)} »",
            ctx.sub_node("entrepot"),
        )
        entrepot = None
    identifiant = text(500, single_line=True)(
        ctx, value["identifiant"], ctx.sub_node("identifiant")
    )
    recolte = date(ctx, value["recolte_le"], ctx.sub_node("recolte_le"))
    if entrepot is None or identifiant is None or recolte is None:
        return None
    return Moisson(entrepot, identifiant, recolte)


# --- the tables ------------------------------------------------------------------------------

RESOURCE_FIELDS: tuple[Field, ...] = (
    Field(
        "titre",
        text(200, single_line=True),
        "Titre de la ressource (200 caractères au plus).",
        True,
    ),
    Field("type", term("types"), "Type de ressource (vocabulaire « types »).", True),
    Field("date", date, "Date de publication, AAAA-MM-JJ.", True),
    Field(
        "piliers",
        term_list("piliers", minimum=1),
        "Pilier(s) du contrat de ville (au moins un ; facultatif dans une notice moissonnée).",
        True,
        optional_when_harvested=True,
    ),
    Field("resume", text(1000), "Résumé en texte simple (1000 caractères au plus).", True),
    Field("thematiques", term_list("thematiques"), "Thématiques (vocabulaire « thematiques »)."),
    Field(
        "dispositifs",
        term_list("dispositifs"),
        "Dispositifs de la politique de la ville concernés.",
    ),
    Field("publics", term_list("publics"), "Publics visés."),
    Field(
        "territoire",
        territoire,
        "Territoire : region, departement, communes, epci, qpv (codes INSEE, SIREN et QPV).",
    ),
    Field("porteur", text(300), "Structure qui porte l'action."),
    Field("partenaires", text_list(), "Partenaires de l'action."),
    Field("auteurs", text_list(), "Auteurs de la fiche."),
    Field("mots_cles", text_list(100), "Mots-clés libres."),
    Field("periode", periode, "Période de l'action : debut et fin (date ou année)."),
    Field("mise_a_jour", date, "Date de la dernière mise à jour, AAAA-MM-JJ."),
    Field("statut", term("statuts"), "« publie » (par défaut) ou « brouillon » (jamais publié)."),
    Field(
        "alias", alias, "Anciens identifiants de la ressource (redirigés vers l'adresse actuelle)."
    ),
    Field("licence", text(200), "Licence de réutilisation, ex. « CC BY-SA 4.0 »."),
)

# Written by the harvester (`kb moissonner`), never by hand: a push that adds or changes a
# file carrying `moisson` is refused to centre accounts (kb/publication.py).
HARVEST_FIELDS: tuple[Field, ...] = (
    Field("origine", url, "Adresse de la ressource sur le site d'où elle a été moissonnée."),
    Field(
        "moisson",
        moisson,
        "Marque d'une ressource moissonnée : entrepot (adresse OAI-PMH), identifiant (OAI), "
        "recolte_le (date).",
    ),
)

CENTRE_FIELDS: tuple[Field, ...] = (
    Field("nom", text(200, single_line=True), "Nom du centre de ressources.", True),
    Field("region", term("regions"), "Code INSEE de la région du centre."),
    Field("site", url, "Adresse du site web du centre."),
    Field("contact", text(300), "Adresse de contact."),
)


def check_identifier(value: str) -> bool:
    return bool(ID_PATTERN.match(value))

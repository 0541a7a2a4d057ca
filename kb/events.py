"""Events and training cycles: their front-matter fields, their rules, and their times.

The field checkers plug into the table of kb/schema.py (`EVENT_FIELDS`); the rules that
involve several fields run once a file's fields are read (`check_event`), and the links
between resources (`productions`, `issu_de`) are checked against the whole tree
(`check_links`). Times are written in local time; `fuseau` (Europe/Paris by default)
says which.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import MappingNode, Node, SequenceNode

from . import schema
from .model import (
    DEFAULT_TIMEZONE,
    EVENT_TYPES,
    POSTPONED,
    Inscription,
    Lieu,
    Resource,
    Session,
)
from .problems import Problem, Severity

FULL_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{1,2})[:h](\d{2})(?::(\d{2}))?$")
_TIME = re.compile(r"^(\d{1,2})[:h](\d{2})$")
URL_PATTERN = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$|^https?://localhost\b\S*$")
FREE = "gratuit"

# Fields that only mean something for an event or a training cycle.
EVENT_ONLY = (
    "format",
    "sessions",
    "fuseau",
    "mode",
    "lieu",
    "participants",
    "inscription",
    "cout",
    "etat",
    "date_initiale",
    "productions",
)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# --- small checkers ---------------------------------------------------------------------------


def _child(node: Node | None, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node
    return None


def _unknown_keys(ctx, value: dict, known: tuple[str, ...], node: Node | None, where: str) -> None:
    for key in value:
        if key not in known:
            ctx.warning(
                f"clé inconnue « {key} » dans « {where} » (attendu : {', '.join(known)})",
                _child(node, str(key)) or node,
            )


def check_url(ctx, value: Any, node: Node | None, name: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        ctx.error(f"« {name} » : une adresse web est attendue (https://…)", node)
        return None
    value = value.strip()
    if not URL_PATTERN.match(value):
        ctx.error(f"« {name} » : adresse web invalide « {value} » (https://…)", node)
        return None
    return value


def normalise_email(value: str) -> str | None:
    """The address in normal form, or None when it is not a well-formed address."""
    # Imported here: it takes longer to load than the rest of `kb check` (git hook).
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except (EmailNotValidError, AttributeError):
        return None


def check_email(ctx, value: Any, node: Node | None, name: str) -> str | None:
    if isinstance(value, str) and value.strip().lower().startswith("mailto:"):
        value = value.strip()[len("mailto:") :]
    checked = normalise_email(value) if isinstance(value, str) else None
    if checked is None:
        ctx.error(f"« {name} » : adresse électronique invalide « {value} »", node)
    return checked


def _local_time(ctx, value: Any, node: Node | None, name: str, day: dt.date | None):
    """A date (whole day) or a naive local date-time; `day` allows a bare `"17:00"`."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            ctx.error(
                f"« {name} » : écrivez l'heure locale sans décalage horaire "
                "(le fuseau se règle avec « fuseau »)",
                node,
            )
            return None
        return value.replace(second=0, microsecond=0)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and day is not None:
        ctx.error(f'« {name} » : mettez l\'heure entre guillemets, ex. "17:00"', node)
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        match = _DATETIME.match(text)
        time_match = _TIME.match(text)
        try:
            if match:
                day_part = dt.date.fromisoformat(match.group(1))
                hour, minute = int(match.group(2)), int(match.group(3))
                return dt.datetime.combine(day_part, dt.time(hour, minute))
            if time_match and day is not None:
                hour, minute = int(time_match.group(1)), int(time_match.group(2))
                return dt.datetime.combine(day, dt.time(hour, minute))
        except ValueError:
            pass
        ctx.error(
            f"« {name} » : date ou heure invalide « {text} » "
            "(AAAA-MM-JJ pour une journée entière, AAAA-MM-JJ HH:MM sinon)",
            node,
        )
        return None
    ctx.error(
        f"« {name} » : une date AAAA-MM-JJ ou une date et heure AAAA-MM-JJ HH:MM est attendue",
        node,
    )
    return None


# --- field checkers (kb/schema.py's table) ----------------------------------------------------


def sessions(ctx, value: Any) -> tuple[Session, ...]:
    if isinstance(value, dict):
        value = [value]  # a single session written without "- "
    if not isinstance(value, list):
        ctx.error("« sessions » : une liste de sessions (debut, fin) est attendue")
        return ()
    result: list[Session] = []
    previous: Session | None = None
    for index, item in enumerate(value):
        node = ctx.item_node(index) if isinstance(ctx.node, SequenceNode) else ctx.node
        where = f"sessions[{index + 1}]"
        if not isinstance(item, dict):
            ctx.error(f"« {where} » : une session s'écrit « - debut: … » puis « fin: … »", node)
            continue
        _unknown_keys(ctx, item, ("debut", "fin", "intitule"), node, where)
        if item.get("debut") is None:
            ctx.error(f"« {where} » : « debut » manque", node)
            continue
        debut = _local_time(ctx, item["debut"], _child(node, "debut"), f"{where}.debut", None)
        if debut is None:
            continue
        fin_node = _child(node, "fin")
        if item.get("fin") is None:
            if isinstance(debut, dt.datetime):
                ctx.error(f"« {where} » : indiquez l'heure de fin (« fin »)", node)
                continue
            fin = debut
        else:
            day = debut.date() if isinstance(debut, dt.datetime) else None
            fin = _local_time(ctx, item["fin"], fin_node, f"{where}.fin", day)
            if fin is None:
                continue
        if isinstance(debut, dt.datetime) != isinstance(fin, dt.datetime):
            ctx.error(
                f"« {where} » : « debut » et « fin » doivent être tous deux des dates (journées "
                "entières) ou tous deux des dates et heures",
                fin_node,
            )
            continue
        if fin < debut or (isinstance(fin, dt.datetime) and fin == debut):
            ctx.error(
                f"« {where} » : la fin ({_show(fin)}) doit être après le début ({_show(debut)})",
                fin_node,
            )
            continue
        intitule = None
        if item.get("intitule") is not None:
            intitule = schema.text(200, single_line=True)(
                ctx, item["intitule"], _child(node, "intitule")
            )
        session = Session(debut, fin, intitule)
        if previous is not None and sort_key(session) < sort_key(previous):
            ctx.error(
                f"« {where} » : les sessions doivent être dans l'ordre chronologique (celle-ci "
                f"commence le {_show(debut)}, avant la précédente)",
                _child(node, "debut"),
            )
        previous = session
        result.append(session)
    if not value:
        ctx.error("« sessions » est vide : indiquez au moins une session")
    return tuple(result)


def _show(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def sort_key(session: Session) -> dt.datetime:
    debut = session.debut
    return debut if isinstance(debut, dt.datetime) else dt.datetime.combine(debut, dt.time())


def fuseau(ctx, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        ctx.error("« fuseau » : un fuseau horaire est attendu, ex. Europe/Paris ou Indian/Reunion")
        return None
    name = value.strip()
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.error(
            f"« fuseau » : fuseau horaire inconnu « {name} » (ex. Europe/Paris, Indian/Reunion, "
            "America/Cayenne)"
        )
        return None
    return name


def lieu(ctx, value: Any) -> Lieu | None:
    if isinstance(value, str):
        value = {"adresse": value}
    if not isinstance(value, dict):
        ctx.error("« lieu » : un dictionnaire est attendu (nom, adresse, commune, en_ligne)")
        return None
    _unknown_keys(ctx, value, ("nom", "adresse", "commune", "en_ligne"), ctx.node, "lieu")
    found: dict[str, Any] = {}
    for key in ("nom", "adresse"):
        if value.get(key) is not None:
            found[key] = schema.text(300)(ctx, value[key], ctx.sub_node(key))
    if value.get("commune") is not None:
        node = ctx.sub_node("commune")
        code = value["commune"]
        if not isinstance(code, str) or not schema.COMMUNE_PATTERN.match(code.strip()):
            ctx.error(
                f"« lieu.commune » : code commune INSEE invalide « {code} » (5 caractères entre "
                'guillemets, ex. "59350" ou "2A004")',
                node,
            )
        else:
            found["commune"] = code.strip()
    if value.get("en_ligne") is not None:
        found["en_ligne"] = check_url(
            ctx, value["en_ligne"], ctx.sub_node("en_ligne"), "lieu.en_ligne"
        )
    return Lieu(**{k: v for k, v in found.items() if v is not None})


def inscription(ctx, value: Any) -> Inscription | None:
    if isinstance(value, str):  # the registration link alone
        value = {"courriel" if "@" in value and "://" not in value else "url": value}
    if not isinstance(value, dict):
        ctx.error(
            "« inscription » : un dictionnaire est attendu (url, courriel, cloture, places, complet)"
        )
        return None
    known = ("url", "courriel", "cloture", "places", "complet")
    _unknown_keys(ctx, value, known, ctx.node, "inscription")
    found: dict[str, Any] = {}
    if value.get("url") is not None:
        found["url"] = check_url(ctx, value["url"], ctx.sub_node("url"), "inscription.url")
    if value.get("courriel") is not None:
        found["courriel"] = check_email(
            ctx, value["courriel"], ctx.sub_node("courriel"), "inscription.courriel"
        )
    if value.get("cloture") is not None:
        saved = ctx.name
        ctx.name = "inscription.cloture"
        found["cloture"] = schema.date(ctx, value["cloture"], ctx.sub_node("cloture"))
        ctx.name = saved
    if value.get("places") is not None:
        places = value["places"]
        if isinstance(places, bool) or not isinstance(places, int) or places < 1:
            ctx.error(
                f"« inscription.places » : un nombre de places positif est attendu, pas « {places} »",
                ctx.sub_node("places"),
            )
        else:
            found["places"] = places
    if value.get("complet") is not None:
        complete = value["complet"]
        if isinstance(complete, str) and complete.strip().lower() in ("oui", "non"):
            value["complet"] = complete.strip().lower() == "oui"
        if not isinstance(value["complet"], bool):
            ctx.error("« inscription.complet » : oui ou non est attendu", ctx.sub_node("complet"))
        else:
            found["complet"] = value["complet"]
    return Inscription(**{k: v for k, v in found.items() if v is not None})


def cout(ctx, value: Any) -> str | None:
    if value is False or value == 0:
        return FREE
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            ctx.error(f"« cout » : montant négatif « {value} »")
            return None
        return f"{value:g} €"
    checked = schema.text(300, single_line=True)(ctx, value)
    if checked is not None and checked.lower() in (FREE, "gratuite", "gratuité"):
        return FREE
    return checked


def _resource_id(ctx, value: Any, node: Node | None) -> tuple[str, int] | None:
    if not isinstance(value, str) or not FULL_ID_PATTERN.match(value.strip()):
        ctx.error(
            f"« {ctx.name} » : identifiant de ressource invalide « {value} » (centre/slug, "
            "ex. crpv-exemple/compte-rendu-rencontre)",
            node,
        )
        return None
    return value.strip(), ctx.line_of(node)


def productions(ctx, value: Any) -> tuple[tuple[str, int], ...]:
    """Ids with their lines (turned into plain ids by `check_event`)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        ctx.error("« productions » : une liste d'identifiants centre/slug est attendue")
        return ()
    result: list[tuple[str, int]] = []
    for index, item in enumerate(value):
        checked = _resource_id(ctx, item, ctx.item_node(index))
        if checked and checked[0] not in [r[0] for r in result]:
            result.append(checked)
    return tuple(result)


def issu_de(ctx, value: Any) -> tuple[str, int] | None:
    return _resource_id(ctx, value, None)


EVENT_FIELDS: tuple[schema.Field, ...] = (
    schema.Field(
        "format",
        schema.term("formats"),
        "Événements et formations : format (vocabulaire « formats »).",
    ),
    schema.Field(
        "sessions",
        sessions,
        "Événements et formations (obligatoire pour eux) : sessions, chacune avec debut et "
        "fin (AAAA-MM-JJ pour une journée entière, AAAA-MM-JJ HH:MM sinon), dans l'ordre.",
    ),
    schema.Field(
        "fuseau",
        fuseau,
        "Fuseau horaire des heures des sessions (défaut : Europe/Paris).",
    ),
    schema.Field("mode", schema.term("modes"), "Présentiel, à distance ou hybride."),
    schema.Field("lieu", lieu, "Lieu : nom, adresse, commune (code INSEE), en_ligne (lien)."),
    schema.Field("participants", schema.text(500), "Public auquel s'adresse l'événement."),
    schema.Field(
        "inscription",
        inscription,
        "Inscription : url ou courriel, cloture (date), places, complet (oui/non).",
    ),
    schema.Field("cout", cout, "Coût : « gratuit », un montant ou un texte."),
    schema.Field("etat", schema.term("etats"), "« annule » ou « reporte » (défaut : programmé)."),
    schema.Field(
        "date_initiale",
        schema.date,
        "Pour un événement reporté : la date initialement prévue.",
    ),
    schema.Field(
        "productions",
        productions,
        "Ressources produites par l'événement (identifiants centre/slug).",
    ),
    schema.Field(
        "issu_de",
        issu_de,
        "Toute ressource : l'événement ou la formation dont elle est issue (centre/slug).",
    ),
)


# --- rules across fields (one file) -----------------------------------------------------------


def check_event(path: str, values: dict[str, Any], lines: dict[str, int], problems: list) -> None:
    """Rules that involve several fields of one file; normalises `productions`/`issu_de`."""

    def report(severity: Severity, key: str, message: str) -> None:
        problems.append(Problem(path, lines.get(key, 1), severity, message))

    is_event = values.get("type") in EVENT_TYPES
    if not is_event and values.get("type") is not None:
        for key in EVENT_ONLY:
            if key in lines:
                report(
                    Severity.WARNING,
                    key,
                    f"« {key} » ne sert que pour un événement ou une formation (type "
                    "evenement ou formation) : ignoré",
                )
                values.pop(key, None)
    links = list(values.get("productions") or ())
    values["productions"] = tuple(target for target, _ in links)
    if values.get("issu_de"):
        links.append(values["issu_de"])
        values["issu_de"] = values["issu_de"][0]
    values["link_lines"] = tuple(links)
    if not is_event:
        return
    if "sessions" not in lines:
        report(
            Severity.ERROR,
            "type",
            "champ obligatoire manquant pour un événement ou une formation : « sessions »",
        )
    if values.get("etat") == POSTPONED:
        initial = values.get("date_initiale")
        first = values.get("sessions") or ()
        if initial is None:
            report(
                Severity.ERROR,
                "etat",
                "événement reporté : indiquez la date initialement prévue (« date_initiale ») "
                "et la nouvelle date dans « sessions »",
            )
        elif first and _day(first[0].debut) == initial:
            report(
                Severity.ERROR,
                "sessions",
                f"événement reporté : la nouvelle date de « sessions » ({initial.isoformat()}) "
                "est celle de « date_initiale » : indiquez la nouvelle date",
            )
    elif values.get("date_initiale") is not None:
        report(
            Severity.WARNING,
            "date_initiale",
            "« date_initiale » ne sert que pour un événement reporté (etat: reporte)",
        )
    registration = values.get("inscription")
    all_sessions = values.get("sessions") or ()
    if registration and registration.cloture and all_sessions:
        last_day = _day(all_sessions[-1].fin)
        if registration.cloture > last_day:
            report(
                Severity.WARNING,
                "inscription",
                f"« inscription.cloture » ({registration.cloture.isoformat()}) est après la "
                f"dernière session ({last_day.isoformat()})",
            )
    place = values.get("lieu")
    if values.get("mode") in ("presentiel", "hybride") and not (
        place and (place.adresse or place.commune or place.nom)
    ):
        report(
            Severity.WARNING,
            "mode",
            "événement en présentiel : indiquez le lieu (« lieu » : nom, adresse, commune)",
        )


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# --- links across the tree --------------------------------------------------------------------


def check_links(
    resources: Iterable[Resource],
    known: dict[str, Resource],
    in_error: frozenset[str] | set[str] = frozenset(),
) -> list[Problem]:
    """`productions` and `issu_de` must name resources of the tree (ids or aliases), and
    `issu_de` an event or a training cycle."""
    by_alias = {alias: r for r in known.values() for alias in r.alias_ids}
    problems = []
    for resource in resources:
        for target, line in resource.link_lines:
            field = "issu_de" if target == resource.issu_de else "productions"
            found = known.get(target) or by_alias.get(target)
            if found is None and target in in_error:
                problems.append(
                    Problem(
                        resource.path,
                        line,
                        Severity.ERROR,
                        f"« {field} » : la fiche « {target} » contient des erreurs (voir ses "
                        "messages) : le lien ne peut être vérifié",
                    )
                )
            elif found is None:
                problems.append(
                    Problem(
                        resource.path,
                        line,
                        Severity.ERROR,
                        f"« {field} » : aucune ressource « {target} » dans la base "
                        "(identifiant centre/slug d'une fiche existante)",
                    )
                )
            elif field == "issu_de" and not found.is_event:
                problems.append(
                    Problem(
                        resource.path,
                        line,
                        Severity.ERROR,
                        f"« issu_de » : « {target} » n'est ni un événement ni une formation",
                    )
                )
            elif found.id == resource.id:
                problems.append(
                    Problem(
                        resource.path,
                        line,
                        Severity.ERROR,
                        f"« {field} » : la ressource se cite elle-même",
                    )
                )
    return problems


# --- times --------------------------------------------------------------------------------------


def bounds(session: Session, timezone: str = DEFAULT_TIMEZONE) -> tuple[dt.datetime, dt.datetime]:
    """Aware start and (exclusive) end of a session; a whole day runs midnight to midnight."""
    tz = zone(timezone)
    if session.all_day:
        start = dt.datetime.combine(session.debut, dt.time(), tz)
        end = dt.datetime.combine(session.fin + dt.timedelta(days=1), dt.time(), tz)
        return start, end
    return session.debut.replace(tzinfo=tz), session.fin.replace(tzinfo=tz)


def next_session(resource: Resource, now: dt.datetime) -> Session | None:
    """The first session not yet over at `now` (aware), None when all are past."""
    for session in resource.sessions:
        if bounds(session, resource.fuseau)[1] > now:
            return session
    return None


# --- description (index metadata, API) ----------------------------------------------------------


def _iso(value: dt.date | dt.datetime) -> str:
    return (
        value.isoformat(timespec="minutes") if isinstance(value, dt.datetime) else value.isoformat()
    )


def describe(resource: Resource) -> dict[str, Any] | None:
    """The event part of a resource as plain JSON values (None for other types).

    Session bounds keep the author's local form (a date for whole days, a date-time with
    the zone's offset otherwise); `horaires` are their UTC [start, end) in seconds, for
    ordering and filtering.
    """
    if not resource.is_event:
        return None
    place = resource.lieu
    registration = resource.inscription
    tz = zone(resource.fuseau)
    sessions_json = []
    for session in resource.sessions:
        start, end = bounds(session, resource.fuseau)
        item: dict[str, Any] = {
            "debut": session.debut.isoformat()
            if session.all_day
            else session.debut.replace(tzinfo=tz).isoformat(timespec="minutes"),
            "fin": session.fin.isoformat()
            if session.all_day
            else session.fin.replace(tzinfo=tz).isoformat(timespec="minutes"),
            "journee_entiere": session.all_day,
            "horaires": [int(start.timestamp()), int(end.timestamp())],
        }
        if session.intitule:
            item["intitule"] = session.intitule
        sessions_json.append(item)
    return {
        "format": resource.format,
        "mode": resource.mode,
        "fuseau": resource.fuseau,
        "etat": resource.etat or "programme",
        "date_initiale": resource.date_initiale.isoformat() if resource.date_initiale else None,
        "sessions": sessions_json,
        "lieu": None
        if place is None
        else {k: getattr(place, k) for k in ("nom", "adresse", "commune", "en_ligne")},
        "participants": resource.participants,
        "inscription": None
        if registration is None
        else {
            "url": registration.url,
            "courriel": registration.courriel,
            "cloture": registration.cloture.isoformat() if registration.cloture else None,
            "places": registration.places,
            "complet": registration.complet,
        },
        "cout": resource.cout,
    }

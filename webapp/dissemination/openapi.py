"""The OpenAPI 3.1 description of the JSON API (`/api/v1/openapi.json`).

Built at request time so that the accepted values of each filter are the vocabularies and
the centres of the running site: a client (or a test generator) sees exactly what the API
accepts.
"""

from __future__ import annotations

from typing import Any

from indexer.agenda import PERIODS
from indexer.documents import FILTER_KEYS
from indexer.keys import FILTER_NAMES
from indexer.query import MAX_QUERY_LENGTH
from indexer.search import MAX_PER_PAGE, SORTS

from ..core.catalogue import VOCABULARY_OF, Catalogue
from ..core.params import MAX_PAGE, MAX_VALUES_PER_FILTER

YEAR_PATTERN = r"^(\d{4}|\d{4}-|-\d{4}|\d{4}-\d{4})$"
ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

NULLABLE_STRING = {"type": ["string", "null"]}
STRINGS = {"type": "array", "items": {"type": "string"}}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


CACHE_HEADERS = {
    "ETag": {
        "description": "Version de la réponse, à renvoyer dans `If-None-Match`.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"schema": {"type": "string"}},
    "Access-Control-Allow-Origin": {
        "description": "Toute page web peut lire l'API (`*`).",
        "schema": {"type": "string", "const": "*"},
    },
}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return _json(ref("Erreur"), description)


NOT_MODIFIED = {"description": "Non modifiée depuis la version indiquée par `If-None-Match`."}


def _schemas() -> dict[str, Any]:
    hit_properties = {
        "id": {"type": "string", "examples": ["centre-alpha/diagnostic-en-marchant"]},
        "titre": {"type": "string"},
        "url": {"type": "string", "description": "Chemin de la page, sur le site."},
        "type": {"type": "string"},
        "centre": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "piliers": STRINGS,
        "resume": {"type": "string"},
        "extrait": {
            "type": "string",
            "description": "Extrait en HTML échappé, les mots trouvés entre <mark>.",
        },
        "score": {"type": ["number", "null"]},
        "egalement": {
            "type": "array",
            "items": _object(
                {"id": {"type": "string"}, "centre": {"type": "string"}, "url": {"type": "string"}}
            ),
            "description": "Les autres ressources du même groupe de quasi-doublons (la même "
            "pratique publiée par un autre centre, ou moissonnée et aussi publiée) : le groupe "
            "n'apparaît qu'une fois dans les résultats, par son membre le mieux classé.",
        },
    }
    hit = _object(hit_properties)
    approximate = _object(
        {
            **hit_properties,
            "mots_absents": {
                **STRINGS,
                "description": "Les mots de la recherche (tels que saisis) que la ressource "
                "ne contient pas.",
            },
        }
    )
    facet_value = _object(
        {
            "valeur": {"type": "string"},
            "libelle": {"type": "string"},
            "nombre": {"type": "integer", "minimum": 0},
        }
    )
    page_link = {"type": ["string", "null"], "format": "uri"}
    search = _object(
        {
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "Nombre de résultats : ressources qui contiennent tous les mots "
                "de la recherche (ou un équivalent : sigle, synonyme du thésaurus, mot de la "
                "même famille), un groupe de quasi-doublons comptant pour un.",
            },
            "ressources": {
                "type": "integer",
                "minimum": 0,
                "description": "Nombre de ressources qui répondent, chaque membre d'un groupe "
                "de quasi-doublons compté (ce que comptent aussi les facettes).",
            },
            "corrigee": {
                "type": "boolean",
                "description": "Vrai quand un mot absent de la base a été remplacé par sa "
                "correction (donnée dans `suggestion`).",
            },
            "resultats": {
                "type": "array",
                "items": ref("Resultat"),
                "description": "Les ressources qui contiennent tous les mots de la recherche.",
            },
            "approchants": {
                "type": "array",
                "items": ref("Approchant"),
                "maxItems": 5,
                "description": "Quand moins de 3 ressources contiennent tous les mots d'une "
                "recherche de plusieurs mots : quelques ressources qui n'en contiennent "
                "qu'une partie, à part des résultats (en première page seulement).",
            },
            "facettes": {
                "type": "object",
                "properties": {
                    key: {"type": "array", "items": ref("ValeurFacette")} for key in FILTER_KEYS
                },
                "additionalProperties": False,
            },
            "suggestion": NULLABLE_STRING,
            "pagination": _object(
                {
                    "page": {"type": "integer", "minimum": 1},
                    "par_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                    "pages": {"type": "integer", "minimum": 1},
                    "premiere": {"type": "string", "format": "uri"},
                    "precedente": page_link,
                    "suivante": page_link,
                    "derniere": {"type": "string", "format": "uri"},
                }
            ),
        }
    )
    resource = _object(
        {
            "id": {"type": "string"},
            "centre": {"type": "string"},
            "fiche": {"type": "string"},
            "titre": {"type": "string"},
            "type": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "mise_a_jour": {"type": ["string", "null"], "format": "date"},
            "piliers": STRINGS,
            "thematiques": STRINGS,
            "dispositifs": STRINGS,
            "publics": STRINGS,
            "territoire": _object(
                {
                    "region": NULLABLE_STRING,
                    "departement": NULLABLE_STRING,
                    "communes": {**STRINGS, "description": "Codes commune INSEE."},
                    "epci": {**STRINGS, "description": "Numéros SIREN d'intercommunalités."},
                    "qpv": {**STRINGS, "description": "Codes de quartiers prioritaires."},
                }
            ),
            "lieux": {
                "type": "array",
                "description": "Les lieux de la fiche par leur nom, de la région au quartier "
                "(les intercommunalités des communes comprises).",
                "items": _object(
                    {
                        "type": {
                            "type": "string",
                            "enum": ["region", "departement", "epci", "commune", "qpv"],
                        },
                        "code": {"type": "string"},
                        "nom": {"type": "string"},
                    }
                ),
            },
            "porteur": NULLABLE_STRING,
            "partenaires": STRINGS,
            "auteurs": STRINGS,
            "mots_cles": STRINGS,
            "periode": {
                "oneOf": [
                    {"type": "null"},
                    _object({"debut": NULLABLE_STRING, "fin": NULLABLE_STRING}),
                ]
            },
            "licence": NULLABLE_STRING,
            "alias": {**STRINGS, "description": "Anciens identifiants, redirigés ici."},
            "egalement": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "string"},
                        "centre": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                    }
                ),
                "description": "La même pratique publiée ailleurs dans la base (quasi-doublons : "
                "publiée par un autre centre, ou moissonnée et aussi publiée).",
            },
            "resume": {"type": "string"},
            "libelles": _object(
                {
                    "type": {"type": "string"},
                    "centre": {"type": "string"},
                    "piliers": LABELS,
                    "thematiques": LABELS,
                    "dispositifs": LABELS,
                    "publics": LABELS,
                    "region": NULLABLE_STRING,
                    "departement": NULLABLE_STRING,
                    "communes": LABELS,
                    "epci": LABELS,
                    "qpv": LABELS,
                }
            ),
            "corps_html": {
                "type": "string",
                "description": "Texte de la fiche en HTML assaini (liens absolus).",
            },
            "pieces_jointes": {
                "type": "array",
                "items": _object(
                    {
                        "nom": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                        "type_mime": {"type": "string"},
                        "taille": {"type": "integer", "minimum": 0},
                    }
                ),
            },
            "liens": _object(
                {
                    name: {"type": "string", "format": "uri"}
                    for name in ("page", "api", "source", "centre", "flux_centre")
                }
            ),
        }
    )
    centre = _object(
        {
            "id": {"type": "string"},
            "nom": {"type": "string"},
            "region": NULLABLE_STRING,
            "site": NULLABLE_STRING,
            "ressources": {"type": "integer", "minimum": 0},
            "url": {"type": "string", "format": "uri"},
            "recherche": {"type": "string", "format": "uri"},
            "flux": {"type": "string", "format": "uri"},
        }
    )
    term = {
        "type": "object",
        "required": ["id", "libelle"],
        "properties": {"id": {"type": "string"}, "libelle": {"type": "string"}},
        "additionalProperties": True,
    }
    error = _object(
        {
            "erreur": _object(
                {
                    "statut": {"type": "integer", "minimum": 400, "maximum": 599},
                    "titre": {"type": "string"},
                    "messages": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                }
            ),
            "ressource": _object(
                {
                    "id": {"type": "string"},
                    "titre": NULLABLE_STRING,
                    "date": NULLABLE_STRING,
                    "retiree_le": NULLABLE_STRING,
                }
            ),
            "recherche_proche": {"type": "string", "format": "uri"},
        },
        optional=("ressource", "recherche_proche"),
    )
    count = _object(
        {
            "valeur": {"type": "string"},
            "libelle": {"type": "string"},
            "nombre": {"type": "integer", "minimum": 0},
        }
    )
    counts = {"type": "array", "items": count}
    statistics = _object(
        {
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "Ressources distinctes de la sélection.",
            },
            "annees_selon": {
                "type": "string",
                "enum": ["annee", "entree"],
                "description": "Années de la date des fiches (`annee`) ou de leur entrée "
                "dans la base (`entree`) : celles des tendances.",
            },
            "selection": {"type": "string", "description": "La sélection, en mots."},
            "repartitions": {
                "type": "object",
                "description": "Par axe, le nombre de ressources distinctes de chaque valeur. "
                "Une ressource à plusieurs valeurs (deux piliers) compte une fois dans "
                "chacune : `somme_des_valeurs` peut dépasser `total`.",
                "additionalProperties": _object(
                    {
                        "valeurs": counts,
                        "sans_valeur": {"type": "integer", "minimum": 0},
                        "somme_des_valeurs": {"type": "integer", "minimum": 0},
                    }
                ),
            },
            "tendances": {
                "type": "object",
                "description": "Par axe, le nombre de ressources de chaque valeur (lignes) "
                "par année (colonnes).",
                "additionalProperties": _object(
                    {
                        "lignes": counts,
                        "colonnes": counts,
                        "valeurs": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "items": {"type": "integer", "minimum": 0},
                            },
                        },
                    }
                ),
            },
            "qualite": {
                "type": "array",
                "items": _object(
                    {
                        "centre": {"type": "string"},
                        "libelle": {"type": "string"},
                        "ressources": {"type": "integer", "minimum": 0},
                        "avec_territoire": {"type": "integer", "minimum": 0},
                        "intertitres_attendus": {"type": "integer", "minimum": 0},
                        "avec_tous_les_intertitres": {"type": "integer", "minimum": 0},
                        "avec_resume_de_bonne_longueur": {"type": "integer", "minimum": 0},
                    }
                ),
            },
            "liens": _object(
                {
                    name: {"type": "string", "format": "uri"}
                    for name in ("page", "csv", "ods", "recherche")
                }
            ),
        }
    )
    return {
        "Statistiques": statistics,
        "Resultat": hit,
        "Approchant": approximate,
        "ValeurFacette": facet_value,
        "Recherche": search,
        "Ressource": resource,
        "Centre": centre,
        "Terme": term,
        "Erreur": error,
    }


# Place filters: too many values for an enum (35,000 communes); a code unknown to the
# official geographic code gets a 400 answer.
PLACE_FILTERS = {
    "commune": (
        r"^(?:\d{5}|2[AB]\d{3})$",
        "Code commune INSEE (80021 pour Amiens) ; les arrondissements de Paris, Lyon et "
        "Marseille comptent aussi pour leur commune.",
    ),
    "epci": (r"^\d{9}$", "Numéro SIREN d'une intercommunalité (200093201)."),
    "qpv": (
        r"^(?:QN\d{2}[0-9AB]\d{2}[NMI]|QP\d{2}[0-9AB]\d{3})$",
        "Code de quartier prioritaire (QN08003M ; QP093028 pour la géographie 2015).",
    ),
}


def _search_parameters(catalogue: Catalogue) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": "q",
            "in": "query",
            "description": 'Mots recherchés ; une expression entre guillemets ("diagnostic '
            'en marchant") doit être trouvée telle quelle. Vide : toutes les ressources.',
            "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        }
    ]
    for key in FILTER_KEYS:
        if key == "annee":
            values: dict[str, Any] = {"type": "string", "pattern": YEAR_PATTERN}
            description = "Année (2021) ou période (2018-2022, -2019, 2021-)."
        elif key in PLACE_FILTERS:
            pattern, description = PLACE_FILTERS[key]
            values = {"type": "string", "pattern": pattern}
        else:
            known = catalogue.centres() if key == "centre" else catalogue.vocabulary(key).terms
            values = {"type": "string", "enum": sorted(known)}
            description = f"Filtre « {FILTER_NAMES[key].lower()} »" + (
                f" (vocabulaire `{VOCABULARY_OF[key]}`)." if key in VOCABULARY_OF else "."
            )
        parameters.append(
            {
                "name": key,
                "in": "query",
                "description": description
                + " Plusieurs valeurs : le paramètre répété, ou séparées par des virgules.",
                "style": "form",
                "explode": True,
                "schema": {"type": "array", "items": values, "maxItems": MAX_VALUES_PER_FILTER},
            }
        )
    parameters += [
        {
            "name": "tri",
            "in": "query",
            "description": "Ordre des résultats : pertinence (par défaut ; sans mots, la date), "
            "date (de la fiche) ou ajout (entrée dans la base, derniers ajouts d'abord).",
            "schema": {"type": "string", "enum": list(SORTS)},
        },
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "par_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 10},
        },
    ]
    return parameters


def _agenda_parameters(catalogue: Catalogue) -> list[dict[str, Any]]:
    parameters = [p for p in _search_parameters(catalogue) if p["name"] not in ("tri", "par_page")]
    day = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    return parameters + [
        {
            "name": "periode",
            "in": "query",
            "description": "« a-venir » (par défaut), « passes », ou « tout » (par défaut "
            "quand `du` ou `au` est donné).",
            "schema": {"type": "string", "enum": list(PERIODS)},
        },
        {
            "name": "du",
            "in": "query",
            "description": "Premier jour (AAAA-MM-JJ, compris).",
            "schema": day,
        },
        {
            "name": "au",
            "in": "query",
            "description": "Dernier jour (AAAA-MM-JJ, compris).",
            "schema": day,
        },
        {
            "name": "par_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
    ]


def _agenda_schemas() -> dict[str, Any]:
    nullable_text = {"type": ["string", "null"]}
    session = _object(
        {
            "debut": {
                "type": "string",
                "description": "Date (journée entière) ou date et heure ISO 8601 avec décalage.",
            },
            "fin": {
                "type": "string",
                "description": "Dernier jour compris, ou date et heure de fin.",
            },
            "journee_entiere": {"type": "boolean"},
            "intitule": {"type": "string"},
        },
        optional=("intitule",),
    )
    event = {
        "type": "object",
        "required": [
            "id",
            "titre",
            "url",
            "type",
            "centre",
            "sessions",
            "etat",
            "calendrier",
            "termine",
        ],
        "properties": {
            "id": {"type": "string"},
            "titre": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "calendrier": {
                "type": "string",
                "format": "uri",
                "description": "Fichier iCalendar de l'événement.",
            },
            "type": {"type": "string", "enum": ["evenement", "formation"]},
            "centre": {"type": "string"},
            "date": {"type": "string", "description": "Date de publication de l'annonce."},
            "prochaine_session": {
                "type": ["string", "null"],
                "description": "Début de la prochaine session (ou de celle en cours) ; null pour un événement passé.",
            },
            "termine": {"type": "boolean"},
            "format": nullable_text,
            "mode": nullable_text,
            "fuseau": {"type": "string"},
            "etat": {"type": "string", "enum": ["programme", "annule", "reporte"]},
            "date_initiale": nullable_text,
            "sessions": {"type": "array", "items": session},
            "lieu": {"type": ["object", "null"]},
            "participants": nullable_text,
            "inscription": {"type": ["object", "null"]},
            "cout": nullable_text,
        },
    }
    return {
        "Evenement": event,
        "Agenda": _object(
            {
                "total": {"type": "integer", "minimum": 0},
                "periode": {"type": "string", "enum": list(PERIODS)},
                "du": nullable_text,
                "au": nullable_text,
                "evenements": {"type": "array", "items": ref("Evenement")},
                "facettes": {"type": "object"},
                "pagination": {"type": "object"},
                "calendrier": {"type": "string", "format": "uri"},
            }
        ),
    }


def describe_api(catalogue: Catalogue) -> dict[str, Any]:
    path_parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": {"type": "string", "maxLength": 120},
            "examples": {"exemple": {"value": example}},
        }
        for name, description, example in (
            ("centre", "Identifiant du centre (nom de son dossier).", "centre-alpha"),
            ("fiche", "Nom de la fiche (nom de son fichier sans .md).", "diagnostic"),
        )
    ]
    search_link = {
        "description": "Liens de pagination (RFC 8288) : first, prev, next, last.",
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API de la base de connaissances des centres de ressources politique "
            "de la ville",
            "version": "1.0.0",
            "description": "Accès en lecture, sans clé, aux ressources publiées : recherche "
            "avec filtres et facettes, fiche complète, centres et vocabulaires. Toutes les "
            "réponses portent un ETag (revalidation par `If-None-Match`) et sont lisibles "
            "depuis n'importe quelle page web (CORS). Les erreurs sont en JSON, avec des "
            "messages en français.",
            "license": {"name": "Contenus : licence indiquée par chaque fiche"},
        },
        "servers": [{"url": catalogue.site_url + "/api/v1"}],
        "externalDocs": {
            "description": "Mode d'emploi (flux, API, OAI-PMH, intégration)",
            "url": catalogue.site_url + "/a-propos#api",
        },
        "paths": {
            "/": {
                "get": {
                    "operationId": "accueil",
                    "summary": "Liens vers les points d'accès de l'API",
                    "responses": {
                        "200": _json({"type": "object"}, "Points d'accès", CACHE_HEADERS),
                        "304": NOT_MODIFIED,
                    },
                }
            },
            "/recherche": {
                "get": {
                    "operationId": "rechercher",
                    "summary": "Rechercher des ressources (mêmes paramètres que /recherche)",
                    "description": "Réponse de même forme que `kb search --json`, plus la "
                    "pagination. Toutes les pages sont accessibles.",
                    "parameters": _search_parameters(catalogue),
                    "responses": {
                        "200": _json(
                            ref("Recherche"),
                            "Résultats, facettes et pagination",
                            {**CACHE_HEADERS, "Link": search_link},
                        ),
                        "304": NOT_MODIFIED,
                        "400": _error("Paramètres invalides (messages en français)"),
                        "404": _error("Page au-delà de la dernière"),
                    },
                }
            },
            "/statistiques": {
                "get": {
                    "operationId": "statistiques",
                    "summary": "Statistiques d'une recherche (mêmes paramètres que /statistiques)",
                    "description": "Ressources distinctes par centre, pilier, thématique, type, "
                    "année, région et département, tendances par année et qualité par "
                    "centre, pour la sélection donnée par les paramètres de la recherche.",
                    "parameters": [
                        p
                        for p in _search_parameters(catalogue)
                        if p["name"] not in ("tri", "page", "par_page")
                    ]
                    + [
                        {
                            "name": "annees",
                            "in": "query",
                            "description": "Années des tendances : date de la fiche "
                            "(`fiche`, par défaut) ou entrée dans la base (`entree`).",
                            "schema": {"type": "string", "enum": ["fiche", "entree"]},
                        }
                    ],
                    "responses": {
                        "200": _json(ref("Statistiques"), "Les statistiques", CACHE_HEADERS),
                        "304": NOT_MODIFIED,
                        "400": _error("Paramètres invalides (messages en français)"),
                    },
                }
            },
            "/agenda": {
                "get": {
                    "operationId": "agenda",
                    "summary": "Événements et formations par date (mêmes paramètres que /agenda)",
                    "description": "À venir par défaut, dans l'ordre de leur prochaine session "
                    "(une session en cours compte) ; `periode=passes` : les passés, du plus "
                    "récent au plus ancien ; `du` et `au` gardent les événements dont une "
                    "session tombe entre ces dates. Le même agenda existe en iCalendar "
                    "(`/agenda.ics`, lien `calendrier`) et en Atom (`/agenda.atom`).",
                    "parameters": _agenda_parameters(catalogue),
                    "responses": {
                        "200": _json(
                            ref("Agenda"), "Événements, facettes et pagination", CACHE_HEADERS
                        ),
                        "304": NOT_MODIFIED,
                        "400": _error("Paramètres invalides (messages en français)"),
                        "404": _error("Page au-delà de la dernière"),
                    },
                }
            },
            "/ressources/{centre}/{fiche}": {
                "get": {
                    "operationId": "ressource",
                    "summary": "Une ressource : métadonnées, texte HTML, pièces jointes, liens",
                    "parameters": path_parameters,
                    "responses": {
                        "200": _json(ref("Ressource"), "La ressource", CACHE_HEADERS),
                        "301": {
                            "description": "Ancien identifiant (alias) ou variante de casse : "
                            "redirection vers l'adresse actuelle.",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                        },
                        "304": NOT_MODIFIED,
                        "404": _error("Ressource inconnue"),
                        "410": _error("Ressource retirée (titre et date rappelés)"),
                    },
                }
            },
            "/centres": {
                "get": {
                    "operationId": "centres",
                    "summary": "Les centres de ressources, avec leur nombre de ressources",
                    "responses": {
                        "200": _json(
                            _object({"centres": {"type": "array", "items": ref("Centre")}}),
                            "Les centres",
                            CACHE_HEADERS,
                        ),
                        "304": NOT_MODIFIED,
                        "400": _error("Paramètre inattendu"),
                    },
                }
            },
            "/vocabulaires": {
                "get": {
                    "operationId": "vocabulaires",
                    "summary": "Les vocabulaires contrôlés (identifiants et libellés)",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "array",
                                    "items": ref("Terme"),
                                },
                            },
                            "Chaque vocabulaire : liste de termes",
                            CACHE_HEADERS,
                        ),
                        "304": NOT_MODIFIED,
                        "400": _error("Paramètre inattendu"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "description",
                    "summary": "Cette description (OpenAPI 3.1)",
                    "responses": {
                        "200": _json({"type": "object"}, "Description OpenAPI", CACHE_HEADERS),
                        "304": NOT_MODIFIED,
                    },
                }
            },
        },
        "components": {"schemas": {**_schemas(), **_agenda_schemas()}},
    }

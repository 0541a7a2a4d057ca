"""The index schema and the mapping from a kb Resource to an index document."""

from __future__ import annotations

import json
from dataclasses import dataclass

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, FieldType, Schema
from whoosh.formats import Existence

from kb import territories
from kb.events import bounds
from kb.events import describe as describe_event
from kb.model import Centre, Resource
from kb.quality import quality_marks
from kb.render import plain_text
from kb.vocabulary import Vocabularies

from .analysis import french_analyzer, spelling_analyzer, spelling_form_analyzer, terms
from .engine import Codec  # noqa: F401  (the index's codec; TOCs pickle this path)
from .glossary import glossary
from .keys import FILTER_KEYS  # noqa: F401  (re-exported)

# Searchable text fields and their weights: the title; the description (summary, keywords
# and the labels of the resource's vocabulary terms); and all the text (description and
# body). A word of the description is thus scored twice, in `descriptif` and in `texte`.
# Three fields per query term rather than one per part of the resource (five): each field
# costs one posting list per term at query time.
# The names and codes of the resource's places have a field of their own (`lieux`): words
# of a place name match there, without lengthening the other fields.
TEXT_FIELDS = {"titre": 3.0, "descriptif": 1.5, "texte": 1.0, "lieux": 0.5}


def _lexicon(analyzer) -> FieldType:
    """A word list: which documents hold a word, nothing more (no scores, no positions)."""
    return FieldType(Existence(), analyzer, scorable=False)


def build_schema() -> Schema:
    french = french_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        alias=KEYWORD(commas=True),
        titre=TEXT(analyzer=french, stored=True),
        descriptif=TEXT(analyzer=french),
        texte=TEXT(analyzer=french),
        lieux=TEXT(analyzer=french),
        corps=STORED(),
        # Dispositifs and thesaurus classes a resource names, each repeated by where it is
        # named (see `_weighted`): scored like words, a title counting more than the body.
        glossaire=KEYWORD(commas=True, scorable=True),
        concepts=KEYWORD(commas=True, scorable=True),
        orth=_lexicon(spelling_analyzer()),
        graphie=_lexicon(spelling_form_analyzer()),
        jour=NUMERIC(int, bits=32, sortable=True),
        entree=NUMERIC(int, bits=64, sortable=True),  # first publication, seconds (UTC)
        meta=STORED(),
        qualite=KEYWORD(commas=True),  # kb.quality's marks, for the statistics
        # Events: the UTC [start, end) seconds of each session (the agenda's order and
        # date filters), and the ids a resource links to (`productions`, `issu_de`), to
        # find the resources that link to a given one.
        horaires=STORED(),
        liens=KEYWORD(commas=True),
        **{key: KEYWORD(commas=True) for key in FILTER_KEYS},
    )


@dataclass(frozen=True)
class DocumentContext:
    vocabularies: Vocabularies
    centres: dict[str, Centre]


def resource_region(resource: Resource, context: DocumentContext) -> str | None:
    """The territory's region, else the department's region, else the centre's region."""
    territoire = resource.territoire
    if territoire.region:
        return territoire.region
    if territoire.departement:
        return context.vocabularies.departements.terms[territoire.departement].get("region")
    centre = context.centres.get(resource.centre)
    return centre.region if centre else None


def facet_values(resource: Resource, context: DocumentContext) -> dict[str, list[str]]:
    region = resource_region(resource, context)
    places = territories.current().facet_codes(resource.territoire)
    return {
        "piliers": list(resource.piliers),
        "thematiques": list(resource.thematiques),
        "dispositifs": list(resource.dispositifs),
        "publics": list(resource.publics),
        "type": [resource.type],
        "centre": [resource.centre],
        "format": [resource.format] if resource.format else [],
        "mode": [resource.mode] if resource.mode else [],
        "region": [region] if region else [],
        "departement": [resource.territoire.departement] if resource.territoire.departement else [],
        "commune": places["commune"],
        "epci": places["epci"],
        "qpv": places["qpv"],
        "annee": [str(resource.date.year)],
    }


def keyword_text(resource: Resource, context: DocumentContext) -> str:
    """Keywords and the labels of the resource's vocabulary terms, searchable as words."""
    vocab = context.vocabularies
    parts = list(resource.mots_cles)
    if resource.is_event:
        parts += [vocab.formats.label(resource.format)] if resource.format else []
        parts += [vocab.modes.label(resource.mode)] if resource.mode else []
        if resource.lieu:
            parts += [resource.lieu.nom or "", resource.lieu.adresse or ""]
        parts += [resource.participants or ""]
    parts += [vocab.thematiques.label(t) for t in resource.thematiques]
    parts += [vocab.publics.label(p) for p in resource.publics]
    for dispositif_id in resource.dispositifs:
        term = vocab.dispositifs.terms[dispositif_id]
        parts += [term.libelle, str(term.get("sigle") or "")]
    return " ; ".join(p for p in parts if p)


def metadata(resource: Resource, context: DocumentContext) -> str:
    """What a result listing needs, stored with the document (JSON)."""
    return json.dumps(
        {
            "id": resource.id,
            "titre": resource.titre,
            "url": resource.url,
            "type": resource.type,
            "centre": resource.centre,
            "date": resource.date.isoformat(),
            "mise_a_jour": resource.mise_a_jour.isoformat() if resource.mise_a_jour else None,
            "piliers": list(resource.piliers),
            "thematiques": list(resource.thematiques),
            "dispositifs": list(resource.dispositifs),
            "publics": list(resource.publics),
            "region": resource_region(resource, context),
            "departement": resource.territoire.departement,
            "resume": resource.resume,
            "path": resource.path,
            # For the descriptions given to others (feeds, API, OAI-PMH, sitemap).
            "communes": list(resource.territoire.communes),
            "epci": list(resource.territoire.epci),
            "qpv": list(resource.territoire.qpv),
            "porteur": resource.porteur,
            "partenaires": list(resource.partenaires),
            "auteurs": list(resource.auteurs),
            "mots_cles": list(resource.mots_cles),
            "periode": _periode(resource),
            "licence": resource.licence,
            "pieces_jointes": [a.path for a in resource.attachments],
            # Events and training cycles (kb/events.py), and the capitalisation chain.
            "evenement": describe_event(resource),
            "productions": list(resource.productions),
            "issu_de": resource.issu_de,
            "origine": resource.origine,
            "moisson": _harvest(resource),
        },
        ensure_ascii=False,
    )


def _harvest(resource: Resource) -> dict[str, str] | None:
    if resource.moisson is None:
        return None
    return {
        "entrepot": resource.moisson.entrepot,
        "identifiant": resource.moisson.identifiant,
        "recolte_le": resource.moisson.recolte_le.isoformat(),
    }


def _periode(resource: Resource) -> dict[str, str] | None:
    if resource.periode is None:
        return None
    bounds = {"debut": resource.periode.debut, "fin": resource.periode.fin}
    return {key: str(value) for key, value in bounds.items() if value is not None} or None


# How many times a dispositif or a thesaurus class counts when named in the title, the
# description, the body, or (dispositifs) the resource's metadata.
PART_WEIGHTS = (3, 2, 1, 2)


def _weighted(found_by_part: list[set[str]]) -> str:
    """`a,a,a,b`: each concept repeated by the weights of the parts that name it."""
    counts: dict[str, int] = {}
    for weight, found in zip(PART_WEIGHTS, found_by_part, strict=False):
        for concept in found:
            counts[concept] = counts.get(concept, 0) + weight
    return ",".join(c for c in sorted(counts) for _ in range(counts[c]))


def to_document(resource: Resource, context: DocumentContext) -> dict:
    body = resource.body_text or plain_text(resource.body)
    keywords = keyword_text(resource, context)
    description = "\n".join((resource.resume, keywords))
    # The names and codes of its places (region, department, EPCI, commune, QPV).
    places = " ; ".join(territories.current().places(resource.territoire).names())
    text = "\n".join((description, body))
    # The spelling lexicon comes from the descriptive fields only: they hold the words people
    # search for, and indexing whole bodies twice more (folded and accented) tripled the cost.
    spelling = "\n".join((resource.titre, resource.resume, keywords, places))
    parts = [terms(resource.titre), terms(description), terms(body)]
    named = [glossary().detect(part) for part in parts]
    named.append(set(resource.dispositifs))
    classes = [glossary().concepts(part) for part in parts]
    document = {
        "id": resource.id,
        "path": resource.path,
        "alias": ",".join(resource.alias_ids),
        "titre": resource.titre,
        "descriptif": description,
        "texte": text,
        "lieux": places,
        "corps": body,
        "glossaire": _weighted(named),
        "concepts": _weighted(classes),
        "orth": spelling,
        "graphie": spelling,
        "jour": resource.date.toordinal(),
        "meta": metadata(resource, context),
        "qualite": ",".join(quality_marks(resource)),
        "liens": ",".join(
            (*resource.productions, *((resource.issu_de,) if resource.issu_de else ()))
        ),
    }
    if resource.is_event:
        document["horaires"] = [
            [int(start.timestamp()), int(end.timestamp())]
            for start, end in (bounds(s, resource.fuseau) for s in resource.sessions)
        ]
    for key, values in facet_values(resource, context).items():
        document[key] = ",".join(values)
    return document

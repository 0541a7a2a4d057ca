"""Write the vocabulary tables and the table of limits of docs/format.md from kb/.

    python3 scripts/gen_format_doc.py           # rewrite the generated part of the doc
    python3 scripts/gen_format_doc.py --check   # exit 1 if the doc is out of date

Only the parts between their markers are generated; the rest of the doc is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.french import number  # noqa: E402
from kb.limits import LIMITS  # noqa: E402
from kb.vocabulary import Vocabularies, Vocabulary, load_vocabularies  # noqa: E402

DOC = ROOT / "docs" / "format.md"
START = (
    "<!-- vocabulaires : début. Partie générée par scripts/gen_format_doc.py "
    "à partir de kb/vocabularies/ : ne pas modifier à la main. -->"
)
END = "<!-- vocabulaires : fin -->"
LIMITS_START = (
    "<!-- limites : début. Partie générée par scripts/gen_format_doc.py "
    "à partir de kb/limits.py : ne pas modifier à la main. -->"
)
LIMITS_END = "<!-- limites : fin -->"


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _id_table(vocabulary: Vocabulary) -> list[str]:
    return _table(["Identifiant", "Libellé"], [[f"`{t.id}`", t.libelle] for t in vocabulary])


def _sigles(term) -> str:
    sigle = term.get("sigle") or ""
    variants = [v for v in term.get("variantes") or () if v != sigle]
    if sigle and variants:
        return f"{sigle} (aussi {', '.join(variants)})"
    return sigle or ", ".join(variants)


def vocabulary_markdown(vocabularies: Vocabularies) -> str:
    """The generated part of docs/format.md."""
    lines: list[str] = []

    def section(title: str, intro: str, table: list[str]) -> None:
        lines.extend(["", f"### {title}", "", intro, "", *table])

    section(
        "Piliers (`piliers`)",
        "Les trois piliers des contrats de ville. Au moins un par ressource.",
        _id_table(vocabularies.piliers),
    )
    section(
        "Types de ressources (`type`)", "Un seul type par ressource.", _id_table(vocabularies.types)
    )
    section(
        "Thématiques (`thematiques`)", "Autant que nécessaire.", _id_table(vocabularies.thematiques)
    )
    section(
        "Dispositifs (`dispositifs`)",
        "Les dispositifs nationaux de la politique de la ville. Le sigle et le libellé servent "
        "aussi à la recherche : une recherche sur « GUP » trouve les fiches marquées `gusp`.",
        _table(
            ["Identifiant", "Sigle et autres graphies", "Libellé", "Définition"],
            [
                [f"`{t.id}`", _sigles(t), t.libelle, t.get("definition") or ""]
                for t in vocabularies.dispositifs
            ],
        ),
    )
    section(
        "Publics (`publics`)", "Les publics visés par l'action.", _id_table(vocabularies.publics)
    )
    section(
        "Statuts (`statut`)",
        "Sans `statut`, une ressource est publiée.",
        _id_table(vocabularies.statuts),
    )
    section(
        "Formats d'événements (`format`)",
        "Pour un événement ou une formation : sa forme.",
        _id_table(vocabularies.formats),
    )
    section(
        "Modes de participation (`mode`)",
        "Pour un événement ou une formation.",
        _id_table(vocabularies.modes),
    )
    section(
        "États d'un événement (`etat`)",
        "Sans `etat`, un événement est programmé.",
        _id_table(vocabularies.etats),
    )
    section(
        "Régions (`territoire.region`, et `region` de la fiche du centre)",
        "Codes officiels de l'INSEE (régions en vigueur depuis 2016), toujours entre guillemets.",
        _table(["Code", "Région"], [[f'`"{t.id}"`', t.libelle] for t in vocabularies.regions]),
    )
    section(
        "Départements (`territoire.departement`)",
        'Codes officiels de l\'INSEE, toujours entre guillemets (`"05"`, `"2A"`, `"974"`). '
        "Le département doit appartenir à la région indiquée.",
        _table(
            ["Code", "Département", "Région"],
            [
                [
                    f'`"{t.id}"`',
                    t.libelle,
                    f"{vocabularies.regions.label(t.get('region'))} ({t.get('region')})",
                ]
                for t in vocabularies.departements
            ],
        ),
    )
    return "\n".join(lines).strip("\n")


def limits_markdown() -> str:
    """The table of limits of docs/format.md."""
    return "\n".join(
        _table(
            ["Au plus", "Quoi", "Que faire au-delà"],
            [[number(limit.maximum), limit.counted, limit.advice] for limit in LIMITS],
        )
    )


def update(text: str, generated: str, start: str = START, end: str = END) -> str:
    """`text` with the part between the markers replaced by `generated`."""
    before, found, rest = text.partition(start)
    if not found or end not in rest:
        raise SystemExit(f"{DOC} : marqueurs de la partie générée introuvables")
    after = rest.split(end, 1)[1]
    return f"{before}{start}\n\n{generated}\n\n{end}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Génère les vocabulaires de docs/format.md.")
    parser.add_argument(
        "--check", action="store_true", help="vérifier sans écrire (code 1 si périmé)"
    )
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = update(current, vocabulary_markdown(load_vocabularies()))
    wanted = update(wanted, limits_markdown(), LIMITS_START, LIMITS_END)
    if args.check:
        if wanted != current:
            print(f"{DOC} est périmé : lancez python3 scripts/gen_format_doc.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"{DOC} mis à jour")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`kb territoires`: the territorial reference in force, and importing the QPV lists."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import Settings
from .french import plural
from .qpvimport import QpvImportError, merge, parse_qpv_files, save_qpv_list
from .territories import CONTENT_QPV_LIST, qpv_file, read_qpv_file, reference


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    command = subparsers.add_parser(
        "territoires",
        parents=[parent],
        help="référentiel territorial et liste des QPV",
        description="Sans argument : affiche le référentiel territorial en vigueur (communes, "
        "EPCI, quartiers prioritaires). « importer » : importe la liste officielle des QPV.",
    )
    command.set_defaults(handler=run_status)
    actions = command.add_subparsers(dest="action", metavar="ACTION")
    importer = actions.add_parser(
        "importer",
        parents=[parent],
        help="importer la liste officielle des quartiers prioritaires",
        description="Importe un ou plusieurs fichiers de la liste officielle des QPV "
        "(listeqp2024-cog2024.csv et listes d'outre-mer au même format : séparateur « ; », "
        "UTF-8) dans le dossier de l'instance. Un fichier en erreur n'importe rien.",
    )
    importer.add_argument("fichiers", nargs="+", metavar="FICHIER", type=Path)
    importer.add_argument(
        "--ajouter",
        action="store_true",
        help="ajouter à la liste déjà importée au lieu de la remplacer",
    )
    importer.set_defaults(handler=run_import)


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    ref = reference()
    print(f"Référentiel : {ref.description}")
    print(
        f"  {len(ref.regions)} régions, {len(ref.departements)} départements, "
        f"{len(ref.epci)} EPCI, {sum(1 for c in ref.communes.values() if not c.parent)} "
        f"communes, {len(ref.anciennes)} anciens codes de communes"
    )
    target = qpv_file(settings.index)
    if target.is_file():
        qpv = read_qpv_file(target)
        print(
            f"Quartiers prioritaires : {len(qpv.qpv)} (importés de {qpv.source}, {qpv.imported_at})"
        )
        print(f"  fichier : {target}")
        return 0
    demo = settings.content / CONTENT_QPV_LIST
    if demo.is_file():
        try:
            parsed = parse_qpv_files([demo])
        except QpvImportError as exc:
            for error in exc.errors:
                print(error, file=sys.stderr)
            return 1
        print(
            f"Quartiers prioritaires : {len(parsed.qpv_list.qpv)}, liste du dossier de "
            f"contenu ({demo}) : aucune liste importée dans l'instance"
        )
        return 0
    print(
        "Quartiers prioritaires : aucune liste importée (kb territoires importer FICHIER) ; "
        "les codes QPV des fiches ne sont pas vérifiés"
    )
    return 0


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        parsed = parse_qpv_files(args.fichiers)
    except QpvImportError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print("Rien n'a été importé : la liste en vigueur est inchangée.", file=sys.stderr)
        return 1
    for warning in parsed.warnings:
        print(warning, file=sys.stderr)
    target = qpv_file(settings.index)
    qpv_list = parsed.qpv_list
    if args.ajouter and target.is_file():
        qpv_list = merge(read_qpv_file(target), qpv_list)
    save_qpv_list(qpv_list, target)
    print(
        f"{plural(len(parsed.qpv_list.qpv), 'quartier importé', 'quartiers importés')} ; "
        f"{len(qpv_list.qpv)} dans la liste "
        f"en vigueur ({target}). Lancez « kb index » pour mettre les noms à jour dans l'index."
    )
    return 0

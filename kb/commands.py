"""`kb check` and `kb new`: the documentalist's commands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from importlib import resources
from pathlib import Path

from .config import Settings
from .french import plural
from .loader import CENTRE_CARD, check_published, load_tree, read_centre, slugify
from .model import EVENT_TYPES, ID_PATTERN
from .problems import Severity, sort_key
from .vocabulary import load_vocabularies


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    vocabularies = load_vocabularies()
    check = subparsers.add_parser(
        "check",
        parents=[parent],
        help="vérifier le contenu",
        description="Vérifie tous les fichiers du contenu et signale les problèmes "
        "(fichier:ligne: gravité : message). Code de sortie 1 s'il y a des erreurs.",
    )
    check.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="format de sortie (défaut : text)",
    )
    check.set_defaults(handler=run_check)

    new = subparsers.add_parser(
        "new",
        parents=[parent],
        help="créer une nouvelle fiche",
        description="Crée une ressource à partir du modèle, avec un nom de fichier tiré du titre.",
    )
    new.add_argument("--centre", required=True, help="identifiant du centre (nom de son dossier)")
    new.add_argument(
        "--type", required=True, choices=list(vocabularies.types.terms), help="type de ressource"
    )
    new.add_argument("--titre", required=True, help="titre de la ressource")
    new.add_argument(
        "--pilier",
        action="append",
        choices=list(vocabularies.piliers.terms),
        help="pilier (répétable)",
    )
    new.set_defaults(handler=run_new)

    depot = subparsers.add_parser(
        "depot",
        help="modèle du dépôt de contenu",
        description="Prépare le dépôt de contenu des centres (voir docs/publier.md).",
    )
    actions = depot.add_subparsers(dest="depot_action", metavar="ACTION", parser_class=type(depot))
    actions.required = True
    init = actions.add_parser(
        "init",
        parents=[parent],
        help="créer le dépôt de contenu à partir du modèle",
        description="Fait de DOSSIER un dépôt git (s'il ne l'est pas) et y écrit le modèle : "
        "un .gitignore (index, environnements Python, fichiers d'éditeurs) et un README.md. "
        "Les fichiers existants sont gardés ; un .gitignore existant est complété.",
    )
    init.add_argument("folder", metavar="DOSSIER", help="dossier du dépôt (créé s'il manque)")
    init.add_argument("--branche", default="main", help="branche publiée (défaut : main)")
    init.set_defaults(handler=run_depot_init)


def _content_folder(settings: Settings) -> Path | None:
    if not settings.content.is_dir():
        print(f"erreur : dossier de contenu introuvable : {settings.content}", file=sys.stderr)
        return None
    return settings.content


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    root = _content_folder(settings)
    if root is None:
        return 2
    result = load_tree(root)
    # The ids online now, when the command layer knows where they are kept (the index's
    # registry, plugged in by indexer/commands.py): warn before a permanent link breaks.
    published_ids = getattr(args, "published_ids", None)
    if published_ids is not None:
        result.problems.extend(check_published(result, published_ids(settings)))
        result.problems.sort(key=sort_key)
    if args.format == "json":
        json.dump([p.as_json() for p in result.problems], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for problem in result.problems:
            print(problem.format())
        errors = len(result.errors)
        warnings = sum(1 for p in result.problems if p.severity is Severity.WARNING)
        published = len(result.published)
        drafts = len(result.resources) - published
        print(
            f"{plural(published, 'ressource publiable', 'ressources publiables')}, "
            f"{plural(drafts, 'brouillon')}, {plural(len(result.centres), 'centre')} ; "
            f"{plural(errors, 'erreur')}, {plural(warnings, 'avertissement')}.",
            file=sys.stderr,
        )
    return 1 if result.errors else 0


def render_template(titre: str, type_id: str, piliers: list[str], region: str | None) -> str:
    vocabularies = load_vocabularies()
    name = "evenement.md" if type_id in EVENT_TYPES else "ressource.md"
    template = (resources.files("kb") / "templates" / name).read_text(encoding="utf-8")
    today = dt.date.today()
    first_day = today + dt.timedelta(days=30)  # a date to replace, valid as it stands
    return template.format(
        titre=json.dumps(titre, ensure_ascii=False),  # a JSON string is a valid YAML string
        type=type_id,
        date=today.isoformat(),
        piliers="[" + ", ".join(piliers) + "]",
        piliers_choix=", ".join(vocabularies.piliers.terms),
        territoire=f'territoire:\n  region: "{region}"' if region else "# territoire:",
        format="cycle-qualification" if type_id == "formation" else "rencontre",
        formats_choix=", ".join(vocabularies.formats.terms),
        debut=f"{first_day.isoformat()} 09:30",
        fin=f"{first_day.isoformat()} 17:00",
    )


def run_new(args: argparse.Namespace, settings: Settings) -> int:
    root = _content_folder(settings)
    if root is None:
        return 2
    centre_dir = root / args.centre
    if not ID_PATTERN.match(args.centre) or not (centre_dir / CENTRE_CARD).is_file():
        known = sorted(p.parent.name for p in root.glob(f"*/{CENTRE_CARD}"))
        print(
            f"erreur : centre inconnu « {args.centre} » (pas de {args.centre}/{CENTRE_CARD}). "
            f"Centres : {', '.join(known) or 'aucun'}",
            file=sys.stderr,
        )
        return 1
    titre = " ".join(args.titre.split())
    slug = slugify(titre)
    if not titre or len(titre) > 200 or not slug:
        print(
            "erreur : le titre doit contenir des lettres et 200 caractères au plus", file=sys.stderr
        )
        return 1
    existing = [p for p in centre_dir.rglob(f"{slug}.md")]
    if existing:
        print(
            f"erreur : la ressource {args.centre}/{slug} existe déjà "
            f"({existing[0].relative_to(root).as_posix()}) : rien n'a été écrit",
            file=sys.stderr,
        )
        return 1
    centre = read_centre(root, args.centre)
    target = centre_dir / f"{slug}.md"
    with open(target, "x", encoding="utf-8") as handle:  # "x": never overwrite
        handle.write(
            render_template(titre, args.type, args.pilier or [], centre.region if centre else None)
        )
    print(f"Ressource créée : {target} (brouillon : elle ne sera pas publiée)")
    print(
        "Complétez les champs « À compléter », passez « statut » à « publie », puis lancez : "
        "kb check"
    )
    return 0


def run_depot_init(args: argparse.Namespace, settings: Settings) -> int:
    from .depot import init_repository
    from .gitsource import GitError

    folder = Path(args.folder)
    try:
        done = init_repository(folder, args.branche)
    except (GitError, OSError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    for line in done or ["rien à faire : le modèle est déjà en place"]:
        print(f"{folder} : {line}")
    print(
        "Ajoutez les dossiers des centres (chacun avec son _centre.md), puis envoyez avec le "
        "compte administrateur : git add -A && git commit && git push origin "
        f"HEAD:{args.branche}"
    )
    return 0

"""`kb index` and `kb search`."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kb.config import Settings
from kb.french import plural

from .keys import FILTER_KEYS, SORTS
from .store import IndexLocked, published_ids

if TYPE_CHECKING:
    from .build import UpdateReport
    from .search import SearchIndex


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    index = subparsers.add_parser(
        "index",
        parents=[parent],
        help="construire ou mettre à jour l'index de recherche",
        description="Met à jour l'index (seuls les fichiers modifiés sont relus). Les fichiers "
        "en erreur sont signalés et ignorés (code de sortie 1).",
    )
    index.add_argument(
        "--rebuild", action="store_true", help="reconstruire entièrement l'index (bascule atomique)"
    )
    index.add_argument(
        "fichiers",
        nargs="*",
        metavar="FICHIER",
        help="ne relire que ces fichiers (chemins relatifs au contenu)",
    )
    index.set_defaults(handler=run_index)

    search = subparsers.add_parser(
        "search",
        parents=[parent],
        help="rechercher dans l'index",
        description="Recherche plein texte. Filtres : " + ", ".join(FILTER_KEYS) + ".",
    )
    search.add_argument("query", nargs="?", default="", metavar="REQUÊTE")
    search.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="CLÉ=VALEUR",
        help="filtre (répétable), ex. --filter piliers=cadre-de-vie --filter annee=2018-2022",
    )
    search.add_argument("--sort", choices=SORTS, default="pertinence")
    search.add_argument("--limit", type=int, default=10, help="résultats par page (1 à 100)")
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--json", action="store_true", help="sortie JSON")
    search.add_argument(
        "--explain",
        action="store_true",
        help="expliquer le classement : score de chaque mot, champ, thésaurus, proximité, date",
    )
    search.set_defaults(handler=run_search)

    doubles = subparsers.add_parser(
        "doublons",
        parents=[parent],
        help="lister les groupes de quasi-doublons (même pratique publiée deux fois)",
        description="Les groupes de ressources quasi identiques trouvés à l'indexation : même "
        "pratique publiée par deux centres, ou moissonnée et aussi publiée. La recherche "
        "n'en montre qu'une par groupe. Règle : docs/recherche.md, « Doublons ».",
    )
    doubles.add_argument("--centre", metavar="ID", help="seulement les groupes de ce centre")
    doubles.add_argument("--json", action="store_true", help="sortie JSON")
    doubles.set_defaults(handler=run_duplicates)

    # `kb check` (kb/commands.py) warns when a published id would disappear without an
    # alias; the ids online are in this index's registry, which kb itself does not know.
    check = subparsers.choices.get("check")
    if check is not None:
        check.set_defaults(published_ids=lambda settings: published_ids(settings.index))


@contextlib.contextmanager
def _no_online_content(settings: Settings) -> Iterator[None]:
    yield None


class _Progress:
    """A progress bar on long runs, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 200 or (done % 50 and done != total):
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class ContentUnavailable(Exception):
    """The content to index cannot be read (French message): raised by an
    `online_content` provider (a mirror missing, a publication holding the lock)."""


class IndexInContent(Exception):
    """The index would be written inside the content folder (French message)."""


def check_index_placement(settings: Settings) -> None:
    """Refuse an index inside the content folder: in a clone of the content repository it
    would be pushed with the sheets (and refused by the server)."""
    content, index = settings.content.resolve(), settings.index.resolve()
    if index == content or content in index.parents:
        raise IndexInContent(
            f"l'index ({settings.index}) serait écrit dans le dossier de contenu "
            f"({settings.content}) et partirait avec vos fiches au prochain envoi. Pour voir "
            "un clone du dépôt comme sur le site, utilisez « kb apercu » (qui n'écrit rien "
            "dans le contenu) ; sinon indiquez --index hors du dossier de contenu"
        )


def update_index(
    settings: Settings, rebuild: bool = False, paths=None, online: tuple | None = None
) -> UpdateReport:
    """Index the content folder; or, with `online` (a content source and the origin to
    record: an instance with several git sources, publishing/sources.py), the version
    online read again from its commits."""
    from .build import Indexer  # the engine is loaded only when a command needs it

    origin = None
    if online is None:
        check_index_placement(settings)
        content = settings.content
    else:
        content, origin = online
    indexer = Indexer(content, settings.index, settings["attente_verrou"])
    if rebuild:
        return indexer.rebuild(_Progress(), origin=origin)
    return indexer.update(paths, _Progress(), origin=origin)


def run_index(args: argparse.Namespace, settings: Settings) -> int:
    # An instance with several git sources: the version online is read from its commits
    # (the publishing layer knows where they are and sets `online_content`).
    online_content = getattr(args, "online_content", None) or _no_online_content
    try:
        with online_content(settings) as online:
            if online is None and not settings.content.is_dir():
                print(
                    f"erreur : dossier de contenu introuvable : {settings.content}",
                    file=sys.stderr,
                )
                return 2
            if online is not None:
                print(
                    "Instance à plusieurs dépôts ([[sources]]) : contenu lu dans la version "
                    "en ligne de chaque source, pas dans le dossier de contenu."
                )
            report = update_index(settings, args.rebuild, args.fichiers or None, online)
    except (IndexLocked, IndexInContent, ContentUnavailable) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    for problem in report.problems:
        print(problem.format(), file=sys.stderr)
    if report.reason:
        print(f"Reconstruction complète : {report.reason}.")
    print(("Index reconstruit : " if report.rebuilt else "Index mis à jour : ") + report.summary())
    return 0 if report.ok else 1


def parse_filters(pairs: list[str]) -> dict[str, tuple[str, ...]] | str:
    raw: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in FILTER_KEYS:
            return f"filtre invalide « {pair} » : CLÉ=VALEUR avec CLÉ parmi " + ", ".join(
                FILTER_KEYS
            )
        raw.setdefault(key, []).append(value)
    from .search import normalise_filters

    return normalise_filters(raw)


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    filters = parse_filters(args.filter)
    if isinstance(filters, str):
        print(f"erreur : {filters}", file=sys.stderr)
        return 2
    if not 1 <= args.limit <= 100 or args.page < 1:
        print("erreur : --limit doit être entre 1 et 100 et --page au moins 1", file=sys.stderr)
        return 2
    from .search import SearchIndex, SearchRequest

    index = SearchIndex(settings.index)
    if not index.folder.exists():
        if not settings.content.is_dir():
            print(
                f"erreur : pas d'index et dossier de contenu introuvable : {settings.content}",
                file=sys.stderr,
            )
            return 2
        try:
            report = update_index(settings)
        except (IndexLocked, IndexInContent) as exc:
            print(f"erreur : {exc}", file=sys.stderr)
            return 1
        print(f"Index construit : {report.summary()}", file=sys.stderr)
    request = SearchRequest(
        q=args.query,
        filters=filters,
        sort=args.sort,
        page=args.page,
        per_page=args.limit,
        explain=args.explain,
        collapse=True,
    )
    result = index.search(request)
    if args.json:
        json.dump(result.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print_listing(result, index)
    return 0


def run_duplicates(args: argparse.Namespace, settings: Settings) -> int:
    from .search import SearchIndex

    index = SearchIndex(settings.index)
    if not index.folder.exists():
        print(
            f"erreur : aucun index dans {settings.index} : lancez d'abord « kb index »",
            file=sys.stderr,
        )
        return 2
    centres = index.centres()
    if args.centre and args.centre not in centres:
        print(f"erreur : centre inconnu : {args.centre}", file=sys.stderr)
        return 2
    groups = [
        group
        for group in index.duplicate_groups()
        if not args.centre or args.centre in group.centres
    ]
    if args.json:
        data = {"groupes": [group.as_json() for group in groups], "nombre": len(groups)}
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    where = f" pour {index.label('centre', args.centre)}" if args.centre else ""
    if not groups:
        print(f"Aucun groupe de quasi-doublons{where}.")
        return 0
    print(f"{plural(len(groups), 'groupe')} de quasi-doublons{where} :")
    for number, group in enumerate(groups, 1):
        print(f"\n{number}. {group.members[0].titre}")
        for member in group.members:
            print(f"   - {index.label('centre', member.centre)} : {member.titre}")
            print(f"     {member.url}")
        for pair in group.pairs:
            print(
                f"   {pair.a} ~ {pair.b} : titres semblables à {pair.titre:.0%}, "
                f"résumés à {pair.resume:.0%}".replace("%", " %")
            )
    return 0


def print_listing(result, index: SearchIndex) -> None:
    if result.corrected:
        print(
            f"Aucun résultat pour « {result.request.q} » ; résultats pour « {result.suggestion} » :"
        )
    elif result.suggestion:
        print(f"Vouliez-vous dire « {result.suggestion} » ?")
    if result.nothing_matches_every_word:
        print("Aucune ressource ne correspond à tous ces mots.")
    elif result.resources is not None and result.resources != result.total:
        print(
            f"{plural(result.total, 'résultat')} ({plural(result.resources, 'ressource')} : "
            "les quasi-doublons d'un même groupe comptent pour un)"
        )
    else:
        print(plural(result.total, "résultat"))
    first = (result.request.page - 1) * result.request.per_page
    for number, hit in enumerate(result.hits, first + 1):
        _print_hit(f"{number}.", hit, index)
    if result.approximate:
        print("\nRésultats approchants (ne contiennent pas tous les mots) :")
        for number, hit in enumerate(result.approximate, 1):
            _print_hit(f"~{number}.", hit, index)


def _print_hit(number: str, hit, index: SearchIndex) -> None:
    import html
    import re

    extract = html.unescape(re.sub(r"</?mark>", "*", hit.extrait))
    centre = index.label("centre", hit.centre)
    print(
        f"\n{number} {hit.titre}\n   {hit.date} · {index.label('type', hit.type)} · {centre}"
        f"\n   {hit.url}\n   {extract}"
    )
    if hit.also:
        others = ", ".join(f"{index.label('centre', a['centre'])} ({a['url']})" for a in hit.also)
        print(f"   Également publié par : {others}")
    if hit.missing:
        print("   Mots absents : " + ", ".join(f"« {word} »" for word in hit.missing))
    if hit.explanation:
        for line in explanation_lines(hit.explanation):
            print("   " + line)


def explanation_lines(explanation: dict) -> list[str]:
    """`kb search --explain`: the score of a result, word by word."""
    lines = [
        f"Score {explanation['score']} = pertinence {explanation['pertinence']}"
        f" × (1 + bonus de proximité {explanation['bonus_proximite']})"
    ]
    for concept in explanation["concepts"]:
        if not concept["trouve"]:
            lines.append(f"  « {concept['mot']} » : absent")
            continue
        parts = ", ".join(f"{d['source']} {d['score']}" for d in concept["detail"])
        lines.append(f"  « {concept['mot']} » : {concept['score']} ({parts})")
    lines.append(f"  À score égal, la plus récente d'abord : {explanation['date']}")
    return lines

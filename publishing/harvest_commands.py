"""`kb moissonner`: harvest OAI-PMH catalogues (publishing/harvest.py), show their state."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from kb.config import ConfigError, Settings
from kb.model import ID_PATTERN


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    harvest = subparsers.add_parser(
        "moissonner",
        parents=[parent],
        help="moissonner un catalogue OAI-PMH (notices ou ressources d'une autre instance)",
        description="Moissonne un entrepôt OAI-PMH 2.0. Une autre instance de ce logiciel est "
        "moissonnée sans perte (format « kb ») et chaque ressource garde son centre ; tout "
        "autre entrepôt donne des notices (oai_dc) rangées dans le centre indiqué par "
        "--centre. Sans ADRESSE : les tables [[moissons]] de la configuration. La moisson "
        "est incrémentale (depuis la dernière réussie). Voir docs/deploiement.md.",
    )
    harvest.add_argument("url", nargs="?", metavar="ADRESSE", help="adresse OAI-PMH (…/oai)")
    harvest.add_argument("--centre", metavar="ID", help="centre qui reçoit les notices")
    harvest.add_argument(
        "--nom",
        metavar="NOM",
        help="nom de la moisson (son état, son dépôt) ; sans ADRESSE : la moisson de la "
        "configuration à lancer",
    )
    harvest.add_argument("--ensemble", metavar="SET", help="ensemble OAI-PMH (set) à moissonner")
    harvest.add_argument(
        "--correspondances", metavar="FICHIER", help="table de correspondance des sujets"
    )
    harvest.add_argument(
        "--sortie",
        metavar="DOSSIER",
        help="écrire les fiches dans ce dossier de contenu (à indexer par kb index) au lieu "
        "du dépôt de la moisson",
    )
    harvest.add_argument(
        "--complet",
        action="store_true",
        help="tout moissonner à nouveau (sans « from ») ; les notices absentes sont retirées",
    )
    harvest.add_argument(
        "--etat", action="store_true", help="afficher l'état des moissons et quitter"
    )
    harvest.add_argument("--json", action="store_true", help="avec --etat : en JSON")
    harvest.set_defaults(handler=run_harvest)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def configured_harvests(settings: Settings) -> list:
    """The `[[moissons]]` tables, checked (ConfigError in French)."""
    from .harvest import HarvestSettings, valid_name

    found = []
    names: set[str] = set()
    base = settings.config_file.parent if settings.config_file else Path.cwd()
    for number, table in enumerate(settings["moissons"], 1):
        where = f"[[moissons]] n° {number}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} : une table est attendue")
        unknown = set(table) - {"nom", "url", "centre", "ensemble", "correspondances", "format"}
        if unknown:
            raise ConfigError(f"{where} : clé inconnue « {sorted(unknown)[0]} »")
        nom, url = table.get("nom"), table.get("url")
        if not isinstance(nom, str) or not valid_name(nom):
            raise ConfigError(f"{where} : « nom » manquant ou invalide (minuscules, tirets)")
        if nom in names:
            raise ConfigError(f"{where} : deux moissons s'appellent « {nom} »")
        names.add(nom)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where} ({nom}) : « url » manquante ou invalide (https://…/oai)")
        centre = table.get("centre")
        if centre is not None and (not isinstance(centre, str) or not ID_PATTERN.match(centre)):
            raise ConfigError(f"{where} ({nom}) : identifiant de centre invalide « {centre} »")
        mapping = table.get("correspondances")
        found.append(
            HarvestSettings(
                nom=nom,
                url=url,
                centre=centre,
                ensemble=str(table["ensemble"]) if table.get("ensemble") else None,
                correspondances=(base / str(mapping)) if mapping else None,
                format=str(table["format"]) if table.get("format") else None,
            )
        )
    return found


def other_claims(settings: Settings, harvests: list, nom: str) -> set[str]:
    """Centres another harvest or a declared source provides."""
    claimed = {h.centre for h in harvests if h.nom != nom and h.centre}
    for source in getattr(settings, "sources", None) or ():  # [[sources]], when declared
        if isinstance(source, Mapping):
            claimed |= {c for c in source.get("centres") or () if isinstance(c, str)}
    return claimed


def online_centres(index: Path) -> set[str]:
    from indexer.build import CENTRES_FILE
    from indexer.store import IndexFolder

    folder = IndexFolder(index)
    if not folder.exists():
        return set()
    try:
        data = json.loads((folder.current() / CENTRES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data) if isinstance(data, dict) else set()


def run_harvest(args: argparse.Namespace, settings: Settings) -> int:
    from .harvest import (
        FolderOutput,
        GitOutput,
        Harvester,
        HarvestSettings,
        publish_harvest,
        read_state,
        repository_path,
        valid_name,
    )
    from .notices import MappingError

    index = settings.index
    harvests = configured_harvests(settings)
    if args.etat:
        return show_state(index, harvests, args.json)
    if args.url:
        nom = args.nom or _name_for(args.url)
        if not valid_name(nom):
            _say(f"erreur : nom de moisson invalide « {nom} » (minuscules, chiffres, tirets)")
            return 2
        if args.centre and not ID_PATTERN.match(args.centre):
            _say(f"erreur : identifiant de centre invalide « {args.centre} »")
            return 2
        chosen = [
            HarvestSettings(
                nom=nom,
                url=args.url,
                centre=args.centre,
                ensemble=args.ensemble,
                correspondances=Path(args.correspondances) if args.correspondances else None,
            )
        ]
    else:
        chosen = [h for h in harvests if not args.nom or h.nom == args.nom]
        if not chosen:
            _say(
                "erreur : aucune moisson à lancer : indiquez l'ADRESSE OAI-PMH, ou déclarez des "
                "tables [[moissons]] dans la configuration (voir docs/deploiement.md)"
            )
            return 2
    code = 0
    for harvest in chosen:
        claims = other_claims(settings, harvests, harvest.nom)
        if args.sortie:
            output = FolderOutput(Path(args.sortie))
        else:
            output = GitOutput(repository_path(index, harvest.nom))
            own = set(
                (read_state(index, harvest.nom).get("dernier_succes") or {}).get("centres") or []
            )
            claims |= online_centres(index) - own
        if harvest.centre and harvest.centre in claims and not args.sortie:
            _say(
                f"erreur : moisson « {harvest.nom} » : le centre « {harvest.centre} » est déjà "
                "publié par une autre source de cette instance"
            )
            code = 1
            continue
        try:
            report = Harvester(harvest, index, output, frozenset(claims)).run(full=args.complet)
        except MappingError as exc:
            _say(str(exc))
            code = 1
            continue
        for line in report.kept + report.refused:
            _say(f"{harvest.nom} : {line}")
        if not report.ok:
            _say(f"erreur : moisson « {harvest.nom} » ({harvest.url}) : {report.error}")
            _say("Rien n'a été écrit ; la prochaine moisson reprendra au même point.")
            code = 1
            continue
        print(f"Moisson « {harvest.nom} » ({report.format}) : {report.summary()}.")
        if args.sortie:
            print(
                f"Fiches écrites dans {args.sortie} : lancez « kb index --content … » pour les publier."
            )
        elif report.commit:
            print(publish_harvest(settings, harvest.nom, output.path, report.centres))
        if report.refused or report.kept:
            code = 1
    return code


def _name_for(url: str) -> str:
    from urllib.parse import urlsplit

    from kb.loader import slugify

    host = urlsplit(url).hostname or "moisson"
    return slugify(host, 60) or "moisson"


def show_state(index: Path, harvests: list, as_json: bool) -> int:
    from .harvest import all_states, counts_text

    states = all_states(index)
    for harvest in harvests:
        states.setdefault(harvest.nom, {"nom": harvest.nom, "url": harvest.url})
    if as_json:
        print(json.dumps(states, ensure_ascii=False, indent=1))
        return 0
    if not states:
        print("Aucune moisson.")
        return 0
    for nom, state in sorted(states.items()):
        success = state.get("dernier_succes") or {}
        runs = state.get("executions") or []
        print(f"{nom} — {state.get('url', '?')}")
        print(f"  dernière moisson réussie : {success.get('date') or 'jamais'}")
        if runs:
            last = runs[-1]
            print(
                f"  dernière tentative : {last.get('fin')} : {last.get('resultat')} — "
                + counts_text(
                    int(last.get("ajoutees") or 0),
                    int(last.get("modifiees") or 0),
                    int(last.get("supprimees") or 0),
                    int(last.get("refusees") or 0),
                )
            )
            for line in (last.get("erreurs") or [])[:10]:
                print(f"    {line}")
    return 0

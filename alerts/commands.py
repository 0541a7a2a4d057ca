"""`kb alertes envoyer`: send the due digests (for cron)."""

from __future__ import annotations

import argparse
import sys

from kb.config import Settings
from kb.french import plural


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    alerts = subparsers.add_parser(
        "alertes",
        help="alertes par courriel",
        description="Alertes par courriel des abonnés aux recherches et à l'agenda.",
    )
    actions = alerts.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    send = actions.add_parser(
        "envoyer",
        parents=[parent],
        help="envoyer les alertes dues (tâche cron)",
        description="Envoie à chaque abonné confirmé les ressources et événements entrés "
        "dans la base depuis sa dernière alerte et trouvés par sa recherche (chaque jour ou "
        "chaque semaine selon son choix). Sans risque de doublon : relancer la commande, ou "
        "l'interrompre, n'envoie jamais deux fois la même ressource à la même personne. "
        "Code de sortie 1 si des envois ont échoué (ils seront repris au prochain lancement).",
    )
    send.set_defaults(handler=run_send)


def run_send(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import IndexMissing

    from .digest import AlreadyRunning, send_digests
    from .mailer import MailError

    try:
        report = send_digests(settings)
    except AlreadyRunning:
        print("kb alertes envoyer : un autre envoi est en cours, rien à faire", file=sys.stderr)
        return 0
    except MailError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    except IndexMissing:
        print(f"erreur : pas d'index dans {settings.index} : lancez kb index", file=sys.stderr)
        return 1
    for failure in report.failed:
        print(f"avertissement : {failure}", file=sys.stderr)
    if report.stopped:
        print(
            f"erreur : envoi interrompu ({report.stopped}) ; les alertes restantes partiront "
            "au prochain lancement",
            file=sys.stderr,
        )
    print(
        f"{plural(report.sent, 'alerte envoyée', 'alertes envoyées')}, "
        f"{plural(report.items, 'ressource')} ; "
        f"{plural(report.purged, 'demande non confirmée effacée', 'demandes non confirmées effacées')}.",
        file=sys.stderr,
    )
    return 0 if report.ok else 1

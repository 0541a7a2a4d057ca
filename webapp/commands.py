"""`kb serve`: update the index, then serve the web app (werkzeug, threaded)."""

from __future__ import annotations

import argparse
import sys

from indexer.commands import update_index
from indexer.store import IndexLocked
from kb.config import Settings


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    serve = subparsers.add_parser(
        "serve",
        parents=[parent],
        help="mettre à jour l'index et lancer le site web",
        description="Met à jour l'index de recherche puis sert le site sur http://HÔTE:PORT. "
        "Pour la production, utilisez gunicorn (voir docs/deploiement.md).",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", metavar="HÔTE", help="adresse d'écoute (défaut : 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=5000, help="port d'écoute (défaut : 5000 ; 0 : un port libre)"
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.content.is_dir():
        print(f"erreur : dossier de contenu introuvable : {settings.content}", file=sys.stderr)
        return 2
    if not 0 <= args.port < 65536:
        print("erreur : --port doit être compris entre 0 et 65535", file=sys.stderr)
        return 2
    # Flask and werkzeug are only needed here, not by the other `kb` commands.
    from . import config_from_settings, create_app
    from .serving import bind_problem, build_server

    problem = bind_problem(args.host, args.port)
    if problem:
        print(
            f"erreur : impossible d'écouter sur {args.host}:{args.port} ({problem}) ; "
            "le port est peut-être déjà utilisé : essayez --port 5001",
            file=sys.stderr,
        )
        return 1
    try:
        report = update_index(settings)
    except IndexLocked as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    print(("Index reconstruit : " if report.rebuilt else "Index mis à jour : ") + report.summary())
    if report.skipped:
        print(
            f"avertissement : {len(report.skipped)} fichier(s) en erreur ne sont pas publiés "
            "(détails : kb check)",
            file=sys.stderr,
        )

    app = create_app(config_from_settings(settings))
    server = build_server(app, args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Base de connaissances disponible sur http://{host}:{server.server_port}/")
    print("(Ctrl+C pour arrêter)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0

"""`kb serve`: update the index, then serve the web app (werkzeug, threaded); `kb apercu`:
the same for a clone of the content repository, with the index outside it."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
from pathlib import Path

from indexer.commands import ContentUnavailable, IndexInContent, update_index
from indexer.store import IndexLocked
from kb.config import Settings
from kb.french import plural


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    serve = subparsers.add_parser(
        "serve",
        parents=[parent],
        help="mettre à jour l'index et lancer le site web",
        description="Met à jour l'index de recherche puis sert le site sur http://HÔTE:PORT. "
        "Pour la production, utilisez gunicorn (voir docs/deploiement.md).",
    )
    serve.set_defaults(handler=run_serve)

    preview = subparsers.add_parser(
        "apercu",
        parents=[parent],
        help="voir un clone du dépôt de contenu comme sur le site, sans rien y écrire",
        description="Indexe le dossier de contenu (par défaut ./content, ou --content .) dans "
        "le cache de l'utilisateur, hors du dossier, puis sert le site sur http://HÔTE:PORT. "
        "Rien n'est écrit dans le dossier de contenu : le prochain envoi n'emporte rien de "
        "plus. Les brouillons n'apparaissent pas, comme en ligne.",
    )
    for command in (serve, preview):
        command.add_argument(
            "--host",
            default="127.0.0.1",
            metavar="HÔTE",
            help="adresse d'écoute (défaut : 127.0.0.1)",
        )
    serve.add_argument(
        "--port", type=int, default=5000, help="port d'écoute (défaut : 5000 ; 0 : un port libre)"
    )
    preview.add_argument(
        "--port", type=int, default=0, help="port d'écoute (défaut : 0, un port libre)"
    )
    preview.set_defaults(handler=run_preview)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.content.is_dir():
        print(f"erreur : dossier de contenu introuvable : {settings.content}", file=sys.stderr)
        return 2
    if not 0 <= args.port < 65536:
        print("erreur : --port doit être compris entre 0 et 65535", file=sys.stderr)
        return 2
    # Flask and werkzeug are only needed here, not by the other `kb` commands.
    from . import config_from_settings, create_app
    from .serving import bind_problem, build_server, is_wildcard, served_url

    problem = bind_problem(args.host, args.port)
    if problem:
        print(
            f"erreur : impossible d'écouter sur {args.host}:{args.port} ({problem}) ; "
            "le port est peut-être déjà utilisé : essayez --port 5001",
            file=sys.stderr,
        )
        return 1
    from publishing.sources import online_content

    try:
        # With [[sources]], the version online is read from its commits, not the folder.
        with online_content(settings) as online:
            report = update_index(settings, online=online)
    except (IndexLocked, IndexInContent, ContentUnavailable) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 1
    print(("Index reconstruit : " if report.rebuilt else "Index mis à jour : ") + report.summary())
    if report.skipped:
        print(
            f"avertissement : {plural(len(report.skipped), 'fichier', 'fichiers')} en erreur "
            f"{'n’est pas publié' if len(report.skipped) == 1 else 'ne sont pas publiés'} "
            "(détails : kb check)",
            file=sys.stderr,
        )

    # Bound before the app is made, so that the absolute links (feeds, API, OAI-PMH) use
    # the port actually served when no public address is configured (`--port 0` too).
    server = build_server(None, args.host, args.port)
    config = config_from_settings(settings)
    if not settings.is_set("url_site"):
        config["KB_SITE_URL"] = served_url(args.host, server.server_port)
        if is_wildcard(args.host):
            print(
                f"avertissement : le site écoute sur toutes les interfaces ({args.host}) ; "
                f"les liens absolus (flux, API, OAI-PMH) utilisent {config['KB_SITE_URL']} : "
                "indiquez l'adresse publique du site avec url_site (KB_SITE_URL)",
                file=sys.stderr,
            )
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        server.app = create_app(config)
        print(f"Base de connaissances disponible sur http://{host}:{server.server_port}/")
        print("(Ctrl+C pour arrêter)", flush=True)
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def preview_index(content: Path) -> Path:
    """Where `kb apercu` keeps the index of a content folder: the user's cache, one folder
    per content folder (kept between runs, so the next preview only reads what changed)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(str(content.resolve()).encode("utf-8")).hexdigest()[:16]
    return Path(cache) / "crpv-kb" / "apercu" / key / "index"


def run_preview(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.content.is_dir():
        print(f"erreur : dossier de contenu introuvable : {settings.content}", file=sys.stderr)
        return 2
    index = preview_index(settings.content)
    settings = dataclasses.replace(settings, values={**settings.values, "index": index})
    print(f"Aperçu de {settings.content.resolve()} : rien n'est écrit dans ce dossier.")
    print(f"(index de l'aperçu : {index})")
    return run_serve(args, settings)

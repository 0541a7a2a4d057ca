"""`kb hooks` (install, and the pre-receive/post-receive hooks git runs), `kb sync` and
`kb publication` (work the queue, show it).

What git's hooks print reaches the pusher as `remote:` lines: everything goes to stderr,
in French. The pre-receive hook only needs `kb/` (the validator and the push policy);
the index is imported when something is published. Every publication goes through the
queue (publishing/queue.py). What the post-receive hook needs when the publication service
runs (the settings, the queue) is imported at the top; the rest where it is used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import traceback
from pathlib import Path

from kb.config import ConfigError, Settings
from kb.gitsource import Git, is_null
from kb.hooks import HookInstallError, install_hooks, plan_hooks, protect_history
from kb.publication_settings import PublicationSettings, append_log, read_updates

HOOK_STATES = {
    "nouveau": "installé",
    "identique": "déjà installé, inchangé",
    "mis à jour": "mis à jour",
    "chaîné": "installé ; le crochet existant est conservé sous {previous} et exécuté avant",
}


def register(subparsers, parent: argparse.ArgumentParser) -> None:
    hooks = subparsers.add_parser(
        "hooks",
        help="crochets git du dépôt de contenu (publication par git push)",
        description="Installe les crochets pre-receive et post-receive dans un dépôt nu : "
        "les poussées sur la branche publiée sont vérifiées (droits, fichiers, contenu) "
        "puis mises en ligne. Voir docs/publier.md.",
    )
    actions = hooks.add_subparsers(dest="hooks_action", metavar="ACTION", parser_class=type(hooks))
    actions.required = True
    install = actions.add_parser(
        "install",
        parents=[parent],
        help="installer les crochets dans un dépôt nu",
        description="Installe (ou met à jour) les crochets pre-receive et post-receive du "
        "dépôt nu DÉPÔT. Les crochets appellent kb avec ce même interpréteur Python et des "
        "chemins absolus. --config est obligatoire : il contient les comptes autorisés.",
    )
    install.add_argument(
        "repository", metavar="DÉPÔT", help="dépôt git nu (ex. /srv/git/contenu.git)"
    )
    install.add_argument(
        "--deploy",
        metavar="DOSSIER",
        help="dossier où le contenu publié est extrait, celui que lit le site "
        "(défaut : le réglage contenu)",
    )
    install.add_argument(
        "--chainer",
        action="store_true",
        help="conserver un crochet existant qui n'est pas de kb et l'exécuter aussi",
    )
    install.set_defaults(handler=run_install)
    for name, handler, role in (
        ("pre-receive", run_pre_receive, "vérifier une poussée avant de l'accepter"),
        ("post-receive", run_post_receive, "publier une poussée acceptée"),
    ):
        hook = actions.add_parser(
            name,
            parents=[parent],
            help=f"(lancé par git) {role}",
            description=f"Lancé par git dans le dépôt nu : {role}. Lit sur l'entrée standard "
            "les lignes « ancien nouveau référence ».",
        )
        hook.add_argument(
            "--precedent",
            metavar="CROCHET",
            help="crochet préexistant, exécuté aussi avec la même entrée",
        )
        hook.set_defaults(handler=handler)

    sync = subparsers.add_parser(
        "sync",
        parents=[parent],
        help="récupérer le dépôt de contenu, le vérifier et le publier",
        description="Récupère la branche publiée du dépôt, la vérifie comme kb check, puis "
        "met à jour le dossier de contenu et l'index. Si la vérification échoue, la version "
        "en ligne reste inchangée. Avec des sources [[sources]], chaque source est "
        "récupérée et publiée à part : une source refusée garde sa version précédente en "
        "ligne sans bloquer les autres. Code de sortie 0 si tout est en ligne, 1 sinon. "
        "Pour une tâche planifiée (cron) ou pour relancer une publication.",
    )
    sync.add_argument(
        "--remote",
        metavar="ADRESSE",
        help="adresse ou chemin du dépôt (défaut : le réglage publication.depot)",
    )
    sync.add_argument(
        "--branch",
        metavar="BRANCHE",
        help="branche à publier (défaut : le réglage publication.branche)",
    )
    sync.add_argument(
        "--source",
        metavar="NOM",
        help="instance à plusieurs dépôts ([[sources]]) : ne publier que cette source "
        "(défaut : toutes les sources, et le dépôt principal si publication.depot est réglé)",
    )
    sync.add_argument(
        "--toutes-echeances",
        action="store_true",
        help="ne publier que les sources dont l'« horaire » (minutes) est écoulé depuis leur "
        "dernière tentative (pour une tâche cron lancée souvent)",
    )
    sync.set_defaults(handler=run_sync)

    queue = subparsers.add_parser(
        "publication",
        help="file des publications : la traiter, la consulter",
        description="Les publications demandées (poussée, webhook, kb sync) sont mises en "
        "file sur disque puis traitées une à une. « traiter » publie ce qui attend (tâche "
        "planifiée de secours : une publication interrompue est reprise) ; « etat » affiche "
        "la version en ligne et les dernières demandes.",
    )
    queue_actions = queue.add_subparsers(
        dest="publication_action", metavar="ACTION", parser_class=type(queue)
    )
    queue_actions.required = True
    work = queue_actions.add_parser(
        "traiter", parents=[parent], help="publier les demandes en attente"
    )
    work.set_defaults(handler=run_work)
    service = queue_actions.add_parser(
        "service",
        parents=[parent],
        help="service résident qui publie les demandes dès leur arrivée (facultatif)",
        description="Reste au premier plan et publie chaque demande de la file dès son "
        "arrivée (le processus qui la met en file le réveille ; il regarde aussi la file "
        "toutes les 50 ms) ; les demandes en échec sont "
        "reprises toutes les minutes. Les crochets de git et kb sync se contentent alors de "
        "mettre leur demande en file et d'attendre son résultat, sans charger l'indexeur : "
        "une poussée rend la main plus vite. Un seul service par index ; arrêt propre par "
        "SIGTERM ou Ctrl+C (la publication en cours est terminée). Journal en français sur "
        "la sortie d'erreur. Voir docs/deploiement.md (unité systemd).",
    )
    service.set_defaults(handler=run_service)
    show = queue_actions.add_parser(
        "etat", parents=[parent], help="version en ligne et dernières demandes"
    )
    show.set_defaults(handler=run_show)

    # `kb index` (indexer/commands.py) on an instance with [[sources]] reads the version
    # online from each source's commit, not the content folder; the indexer does not know
    # where sources live.
    index = subparsers.choices.get("index")
    if index is not None:
        index.set_defaults(online_content=_online_content)


def _online_content(settings: Settings):
    from .sources import online_content

    return online_content(settings)


def _say(text: str = "") -> None:
    print(text, file=sys.stderr, flush=True)


# --- kb hooks install -----------------------------------------------------------------------


def run_install(args: argparse.Namespace, settings: Settings) -> int:
    repository = Path(args.repository).resolve()
    content = Path(args.deploy).resolve() if args.deploy else settings.content.resolve()
    index = settings.index.resolve()
    if settings.config_file is None:
        _say(
            "erreur : indiquez le fichier de configuration du serveur avec --config FICHIER : "
            "il déclare les comptes autorisés ([publication.comptes])"
        )
        return 2
    config = settings.config_file.resolve()
    publication = PublicationSettings.from_settings(settings)
    from .publisher import PublicationError, Publisher  # checks where the folders are

    try:
        Publisher(content, index, publication)
        plans = plan_hooks(repository, content, index, config, chain=args.chainer)
        install_hooks(plans)
        protected = protect_history(repository)
    except (HookInstallError, PublicationError) as exc:
        _say(f"erreur : {exc}")
        return 1
    except OSError as exc:
        _say(f"erreur : écriture impossible ({exc})")
        return 1
    for plan in plans:
        state = HOOK_STATES[plan.state].format(previous=plan.previous)
        print(f"{plan.name} : {state} ({plan.target})")
    if protected:
        print(
            f"Historique protégé ({', '.join(protected)}) : git refuse les poussées forcées "
            "et les suppressions de branches (voir docs/publier.md pour une réécriture voulue)."
        )
    print(
        f"Les poussées sur la branche « {publication.branch} » seront vérifiées puis publiées "
        f"dans {content} (index : {index}, configuration : {config})."
    )
    if not publication.accounts:
        _say(
            f"avertissement : aucun compte dans [publication.comptes] de {config} : "
            "personne ne peut publier"
        )
    repository_git = Git(repository)
    if not repository_git.run("for-each-ref", "--count=1", "refs/heads/").strip():
        # An empty repository: make clones check out the published branch.
        repository_git.run("symbolic-ref", "HEAD", publication.ref)
    if repository_git.resolve_commit(publication.ref):
        print(
            "Pour publier dès maintenant le contenu déjà présent dans le dépôt :\n  "
            + " ".join(
                [
                    "kb sync --remote",
                    str(repository),
                    "--content",
                    str(content),
                    "--index",
                    str(index),
                    "--config",
                    str(config),
                ]
            )
        )
    return 0


# --- the hooks --------------------------------------------------------------------------------


def _run_previous(path: str | None, data: bytes) -> int:
    """Run a chained, pre-existing hook with the same input; its exit code."""
    if not path:
        return 0
    try:
        return subprocess.run([path], input=data, check=False).returncode
    except OSError as exc:
        _say(f"erreur : le crochet {path} n'a pas pu être lancé ({exc.strerror or exc})")
        return 1


def _repository() -> Path:
    # git runs hooks from the repository, with GIT_DIR set (often to ".").
    return Path(os.environ.get("GIT_DIR", ".")).resolve()


def run_pre_receive(args: argparse.Namespace, settings: Settings) -> int:
    data = sys.stdin.buffer.read()
    code = _run_previous(args.precedent, data)
    if code != 0:
        return code
    publication = None
    try:
        publication = PublicationSettings.from_settings(settings)
        updates = read_updates(data.decode("utf-8", errors="replace").splitlines())
        state = None
        if any(ref == publication.ref for _old, _new, ref in updates):
            from indexer.published import published_state

            state = published_state(settings.index)
        from kb.publication import pre_receive

        git = Git(_repository())
        return pre_receive(updates, git, publication, os.environ, sys.stderr, state)
    except ConfigError as exc:
        _say(f"erreur : configuration du serveur invalide ({exc}) : poussée refusée")
        return 1
    except Exception as exc:  # refuse rather than let anything through unchecked
        _say(
            f"erreur : la vérification n'a pas pu se faire ({type(exc).__name__}) : poussée "
            "refusée ; le détail est dans le journal de publication du serveur"
        )
        if publication is not None:
            append_log(publication.log_file, "pre-receive : " + traceback.format_exc())
        return 1


def run_post_receive(args: argparse.Namespace, settings: Settings) -> int:
    data = sys.stdin.buffer.read()
    code = 0
    try:
        publication = PublicationSettings.from_settings(settings)
    except ConfigError as exc:
        _say(f"erreur : configuration du serveur invalide ({exc}) : rien n'a été publié")
        publication, code = None, 1
    updates = read_updates(data.decode("utf-8", errors="replace").splitlines())
    pushed = [
        new
        for _old, new, ref in updates
        if publication and ref == publication.ref and not is_null(new)
    ]
    if publication is not None and pushed:
        code = _publish_push(settings, publication, pushed[-1])
    _run_previous(args.precedent, data)  # after publishing: the pusher waits for us first
    return code


def _publisher(settings: Settings, publication: PublicationSettings):
    from .publisher import Publisher
    from .sources import load_sources

    return Publisher(
        settings.content,
        settings.index,
        publication,
        settings["attente_verrou"],
        sources=load_sources(settings),
    )


def _publish_requests(settings: Settings, publication: PublicationSettings, asks: list[dict]):
    """Put requests in the queue, have them worked, and wait for each: the requests as
    they ended (their `lines` and `message` say what became of them); None when no
    publisher can be made (the French reason is printed).

    When the publication service runs (publishing/service.py), it works them: this process
    only waits, without importing the publisher. If the service stops meanwhile (killed,
    stopped), the queue is worked here, as without it."""
    from .queue import FINAL, PublicationQueue
    from .results import PUBLICATION_WAIT, PublicationError
    from .service import is_running, wake

    queue = PublicationQueue(settings.index)
    requests = None
    if is_running(settings.index):
        requests = [queue.add(**ask) for ask in asks]
        wake(settings.index)

        def alive() -> bool:
            return is_running(settings.index)

        waited = [queue.wait_for(r.id, PUBLICATION_WAIT, alive) or r for r in requests]
        if all(r.state in FINAL for r in waited) or alive():
            return waited
        # The service is gone before the end: what it left is worked here.
    try:
        publisher = _publisher(settings, publication)
    except PublicationError as exc:
        _say(f"erreur : {exc}")
        return None
    if requests is None:
        requests = [queue.add(**ask) for ask in asks]
    queue.work(publisher, wait=PUBLICATION_WAIT)
    return [queue.wait_for(request.id, PUBLICATION_WAIT) or request for request in requests]


def _publish_push(settings: Settings, publication: PublicationSettings, commit: str) -> int:
    from .queue import DONE

    ask = dict(
        source="post-receive",
        remote=str(_repository()),
        branch=publication.branch,
        commit=commit,
        validate=False,
    )
    done = _publish_requests(settings, publication, [ask])
    if done is None:
        return 1
    [request] = done
    for line in request.lines:
        _say(line)
    if request.state == DONE:
        _say(f"Publication : {request.message} (version {commit[:10]}).")
        return 0
    _say(
        f"erreur : la publication n'est pas terminée ({request.message or request.state}). "
        "Les fichiers sont bien dans le dépôt et la version précédente reste en ligne ; elle "
        "sera reprise à la prochaine poussée ou par « kb publication traiter » (voir "
        "docs/publier.md)."
    )
    return 1


# --- kb sync ----------------------------------------------------------------------------------


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    from .sources import load_sources

    publication = PublicationSettings.from_settings(settings)
    sources = load_sources(settings)
    if args.source or args.toutes_echeances or (sources and not args.remote):
        return _sync_sources(args, settings, publication, sources)
    remote = args.remote or publication.remote
    if not remote:
        _say(
            "erreur : aucun dépôt à récupérer : indiquez --remote ADRESSE ou le réglage "
            "publication.depot"
        )
        return 2
    ask = dict(source="kb sync", remote=remote, branch=args.branch or publication.branch)
    done = _publish_requests(settings, publication, [ask])
    if done is None:
        return 2
    return 0 if _report(done[0], label="") else 1


def _report(request, label: str) -> bool:
    """Print what became of one request of `kb sync`; whether it is online."""
    from .queue import DONE

    for line in request.lines:
        _say(line)
    if request.state == DONE:
        print(f"{label}Publication : {request.message}.")
        return True
    _say(f"erreur : {label}{request.message or 'publication non terminée'}")
    return False


def _sync_sources(args, settings: Settings, publication: PublicationSettings, sources) -> int:
    """`kb sync` with `[[sources]]`: every source (and the main repository, if
    publication.depot is set), one source, or those whose schedule is due."""
    if not sources:
        _say(
            "erreur : aucune source [[sources]] dans la configuration : --source et "
            "--toutes-echeances ne s'appliquent qu'à une instance à plusieurs dépôts "
            "(voir docs/deploiement.md)"
        )
        return 2
    if args.remote or args.branch:
        _say("erreur : --remote et --branch ne se combinent pas avec les sources [[sources]]")
        return 2
    main = bool(publication.remote) and not args.source and not args.toutes_echeances
    if args.source:
        chosen = [s for s in sources if s.nom == args.source]
        if not chosen:
            names = ", ".join(s.nom for s in sources)
            _say(f"erreur : source « {args.source} » inconnue (sources : {names})")
            return 2
    elif args.toutes_echeances:
        chosen = [s for s in sources if _due(settings, s)]
        if not chosen:
            print("Aucune source à récupérer maintenant (voir « horaire » dans [[sources]]).")
            return 0
    else:
        chosen = sources
    asks = [dict(source="kb sync", remote=s.depot, branch=s.branche, target=s) for s in chosen]
    if main:
        asks.append(dict(source="kb sync", remote=publication.remote, branch=publication.branch))
    done = _publish_requests(settings, publication, asks)
    if done is None:
        return 2
    labels = [f"source « {s.nom} » : " for s in chosen] + ["dépôt principal : "] * main
    failed = [
        label for request, label in zip(done, labels, strict=True) if not _report(request, label)
    ]
    if failed and len(done) > 1:
        _say(f"{len(failed)} publication(s) sur {len(done)} non faite(s) : voir ci-dessus.")
    return 1 if failed else 0


def _due(settings: Settings, source) -> bool:
    """Whether a source's schedule (`horaire`, minutes) has come since its last attempt."""
    import datetime as dt

    from .sources import read_attempt

    if not source.horaire:
        return False
    last = read_attempt(settings.index, source.nom).get("date")
    try:
        when = dt.datetime.fromisoformat(str(last))
    except ValueError:
        return True
    elapsed = dt.datetime.now(dt.UTC) - when
    # A minute's slack: a cron line every N minutes with horaire = N must not skip a turn.
    return elapsed >= dt.timedelta(minutes=source.horaire) - dt.timedelta(minutes=1)


# --- kb publication ---------------------------------------------------------------------------


def _queue_publisher(settings: Settings):
    """The publisher that works the queue (`traiter`, `service`); None, the French reason
    printed, when the settings do not allow one."""
    from .publisher import PublicationError

    try:
        return _publisher(settings, PublicationSettings.from_settings(settings))
    except (ConfigError, PublicationError) as exc:
        _say(f"erreur : {exc}")
        return None


def run_work(args: argparse.Namespace, settings: Settings) -> int:
    from .queue import PublicationQueue

    publisher = _queue_publisher(settings)
    if publisher is None:
        return 2
    worked = PublicationQueue(settings.index).work(publisher)
    for request, result in worked:
        print(f"demande {request.id} ({request.source}) : {result.outcome} — {result.summary()}")
    return 0 if all(result.ok for _request, result in worked) else 1


def run_service(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import signal
    import threading

    from .queue import PublicationQueue
    from .service import ServiceRunning, is_running, serve

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
        force=True,
    )
    for level, name in ((logging.INFO, "info"), (logging.WARNING, "avertissement")):
        logging.addLevelName(level, name)
    logging.addLevelName(logging.ERROR, "erreur")
    if is_running(settings.index):  # said at once, before loading the publisher
        _say(
            f"erreur : un service de publication tourne déjà pour l'index {settings.index} : "
            "un seul service par index"
        )
        return 1
    publisher = _queue_publisher(settings)
    if publisher is None:
        return 2
    stop = threading.Event()

    def on_signal(number: int, _frame) -> None:
        if not stop.is_set():
            logging.getLogger(__name__).info(
                "signal %s reçu : arrêt après la publication en cours", signal.Signals(number).name
            )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        serve(PublicationQueue(settings.index), publisher, stop)
    except ServiceRunning as exc:
        _say(f"erreur : {exc}")
        return 1
    except OSError as exc:  # the index folder cannot be written (rights, disk)
        _say(
            f"erreur : le service de publication ne peut pas écrire dans l'index "
            f"{settings.index} ({exc.strerror or exc}) : lancez-le sous le compte des crochets"
        )
        return 2
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    from .publisher import publication_status
    from .queue import PublicationQueue
    from .service import is_running
    from .sources import load_sources, source_statuses

    status = publication_status(settings.index) or {}
    sources = source_statuses(settings.index, load_sources(settings))
    print(
        "Service de publication : "
        + (
            "en marche"
            if is_running(settings.index)
            else "arrêté (chaque demande est traitée par le processus qui la fait)"
        )
    )
    if status.get("commit") or not sources:
        print(f"En ligne : {status.get('commit') or 'aucune version publiée depuis git'}")
    for source in sources:
        online = source["commit"] or "rien de publié"
        print(f"Source « {source['nom']} » ({', '.join(source['centres'])}) : en ligne {online}")
        attempt = source["derniere_tentative"]
        if attempt:
            print(
                f"  dernière tentative {attempt['date']} : {attempt['resultat']} — {attempt['message']}"
            )
            for line in attempt.get("erreurs", [])[:10]:
                print(f"    {line}")
    for request in PublicationQueue(settings.index).recent(10):
        commit = (request.commit or "dernière")[:10]
        target = f" [{request.target}]" if request.target else ""
        print(
            f"{request.id} {request.received} {request.source}{target} {commit} {request.state}"
            f" — {request.message}"
        )
    return 0

"""The `kb` command. Each area registers its own sub-commands (kb/commands.py,
indexer/commands.py, webapp/commands.py); this module only assembles them.

Exit codes: 0 success, 1 the content or the operation has errors, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import config, territories

# Each command and the module that registers it. A command line naming one of them loads
# that module only: the git hooks start `kb hooks …` on every push, and importing every
# area (the indexer, Flask, the alerts) would cost them a quarter of a second. `kb`,
# `kb --help` and unknown commands load them all. tests/test_cli.py checks this table.
COMMANDS = {
    "check": "kb.commands",
    "new": "kb.commands",
    "depot": "kb.commands",
    "territoires": "kb.territory_commands",
    "index": "indexer.commands",
    "search": "indexer.commands",
    "doublons": "indexer.commands",
    "hooks": "publishing.commands",
    "sync": "publishing.commands",
    "publication": "publishing.commands",
    "moissonner": "publishing.harvest_commands",
    "serve": "webapp.commands",
    "apercu": "webapp.commands",
    "alertes": "alerts.commands",
}
# Commands that another area completes (set_defaults on the parser another module made).
EXTENDED_BY = {
    "check": ("indexer.commands",),  # the ids online, from the index's registry
    "index": ("publishing.commands",),  # the version online of a [[sources]] instance
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))

# argparse's own messages, in French (argparse looks them up through gettext).
_ARGPARSE_FR = {
    "usage: ": "usage : ",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (choisir parmi %(choices)s)"
    ),
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "expected one argument": "une valeur est attendue",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "show this help message and exit": "afficher cette aide et quitter",
    "positional arguments": "arguments",
    "options": "options",
}


def _install_french_argparse() -> None:
    original = argparse._  # type: ignore[attr-defined]

    def translate(message: str) -> str:
        return _ARGPARSE_FR.get(message, original(message))

    argparse._ = translate  # type: ignore[attr-defined]


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # French prefix, exit code 2 (usage error)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def common_options() -> argparse.ArgumentParser:
    """Options shared by every sub-command."""
    parent = Parser(add_help=False)
    group = parent.add_argument_group("options communes")
    group.add_argument(
        "--content",
        metavar="DOSSIER",
        help="dossier du contenu (défaut : ./content, ou $KB_CONTENT)",
    )
    group.add_argument(
        "--index",
        metavar="DOSSIER",
        help="dossier de l'index (défaut : ./instance/index, ou $KB_INDEX)",
    )
    group.add_argument(
        "--config",
        metavar="FICHIER",
        help="fichier de configuration TOML (défaut : ./kb.toml s'il existe, ou $KB_CONFIG)",
    )
    return parent


def settings_from(args: argparse.Namespace) -> config.Settings:
    """Resolve settings for a parsed command line; prints configuration warnings."""
    options = {}
    for setting in config.SETTINGS:
        if setting.option:
            options[setting.key] = getattr(args, setting.option.lstrip("-").replace("-", "_"), None)
    settings = config.load_settings(options, config_file=getattr(args, "config", None))
    territories.configure(settings.index, settings.content)
    for warning in settings.warnings:
        print(f"avertissement : {warning}", file=sys.stderr)
    return settings


_BROKEN: dict[str, str] = {}


def _unavailable(module_name: str, exc: ImportError) -> None:
    _BROKEN[module_name] = f"{type(exc).__name__}: {exc}"


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules a command line needs (all of them unless it names a command)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in COMMANDS and not any(a in ("-h", "--help") for a in argv[: argv.index(first)]):
        wanted = {COMMANDS[first], *EXTENDED_BY.get(first, ())}
        return tuple(m for m in COMMAND_MODULES if m in wanted)
    return COMMAND_MODULES


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    _install_french_argparse()
    parser = Parser(
        prog="kb",
        description="Base de connaissances des centres de ressources politique de la ville.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMANDE", parser_class=Parser)
    subparsers.required = True
    parent = common_options()
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if module_name == "kb.commands":
                raise
            # `kb check` (and the git hook that runs it) must keep working even if another
            # area cannot be imported; its commands then explain why they are unavailable.
            _unavailable(module_name, exc)
            continue
        module.register(subparsers, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(modules_for(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        if _BROKEN:
            for module_name, reason in _BROKEN.items():
                print(
                    f"avertissement : commandes de {module_name} indisponibles ({reason})",
                    file=sys.stderr,
                )
        raise
    try:
        settings = settings_from(args)
        return int(args.handler(args, settings) or 0)
    except config.ConfigError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrompu", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kb search ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

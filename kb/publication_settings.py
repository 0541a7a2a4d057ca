"""The server's publication settings (`[publication]` of kb.toml), the pusher's identity,
the lines git gives its hooks, and the publication log.

Apart from kb/publication.py (the validator, which loads content): the post-receive hook,
which only queues a publication, reads these without importing the loader.
"""

from __future__ import annotations

import datetime as dt
import fcntl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, Settings
from .model import ID_PATTERN

# Where git servers put the authenticated account, in the order they are looked up:
# gitolite, Gitea/Forgejo, GitLab, and a plain SSH server's forced command.
PUSHER_VARIABLES = ("GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "KB_PUSHER")
ALL_CENTRES = "*"
LOG_FILE = "publication.log"


@dataclass(frozen=True)
class PublicationSettings:
    """The `[publication]` table of the server's configuration file, checked."""

    branch: str = "main"
    accounts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_size: int = 10 * 1024 * 1024
    extra_files: tuple[str, ...] = (".gitignore", ".gitattributes")
    log_file: Path | None = None
    remote: str = ""
    webhook_secret: str = ""
    # Centre folders that a `[[sources]]` repository provides -> its name: the main
    # repository (this one) may not touch them.
    claimed: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @classmethod
    def from_settings(cls, settings: Settings) -> PublicationSettings:
        branch = str(settings["publication.branche"]).strip()
        if not branch or branch.startswith(("refs/", "-")) or " " in branch:
            raise ConfigError(
                f"réglage « publication.branche » : nom de branche invalide « {branch} » "
                "(ex. « main »)"
            )
        accounts: dict[str, frozenset[str]] = {}
        for account, centres in settings["publication.comptes"].items():
            if isinstance(centres, str):
                centres = [centres]
            if not isinstance(centres, list) or not all(isinstance(c, str) for c in centres):
                raise ConfigError(
                    f"réglage « publication.comptes » : le compte « {account} » doit avoir une "
                    'liste de centres, ex. ["crpv-demo-nord"] ou ["*"]'
                )
            bad = [c for c in centres if c != ALL_CENTRES and not ID_PATTERN.match(c)]
            if bad:
                raise ConfigError(
                    f"réglage « publication.comptes » : identifiant de centre invalide "
                    f"« {bad[0]} » pour le compte « {account} »"
                )
            accounts[str(account)] = frozenset(centres)
        size = float(settings["publication.taille_max_mio"])
        if size <= 0:
            raise ConfigError("réglage « publication.taille_max_mio » : un nombre positif")
        extra = settings["publication.fichiers_annexes"]
        if not all(isinstance(name, str) for name in extra):
            raise ConfigError("réglage « publication.fichiers_annexes » : une liste de noms")
        log_file = settings["publication.journal"] or settings.index / LOG_FILE
        return cls(
            branch=branch,
            accounts=accounts,
            max_size=int(size * 1024 * 1024),
            extra_files=tuple(extra),
            log_file=Path(log_file),
            remote=str(settings["publication.depot"] or "").strip(),
            webhook_secret=str(settings["publication.secret_webhook"] or ""),
            claimed={c: s["nom"] for s in settings.sources for c in s["centres"]},
        )


def pusher_identity(environ: Mapping[str, str]) -> str | None:
    """The account the git server authenticated, or None."""
    for name in PUSHER_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def append_log(log_file: Path | None, message: str) -> None:
    """One dated line (or several) in the publication log; never fails the caller."""
    if log_file is None:
        return
    stamp = dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    text = "".join(f"{stamp} {line}\n" for line in message.splitlines() or [""])
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(text)
    except OSError:
        pass


def read_updates(lines: Iterable[str]) -> list[tuple[str, str, str]]:
    """`old new ref` lines, as git gives them to pre-receive and post-receive."""
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    return updates

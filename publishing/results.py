"""What a publication comes to, without the machinery that does it.

The processes that only queue a request and wait for its outcome (the post-receive hook
when the publication service runs, the webhook) read these names without importing the
publisher, and through it the indexer, Whoosh and the rest: publishing/publisher.py
re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kb.french import plural

if TYPE_CHECKING:
    from indexer.build import UpdateReport

PUBLISHED, UNCHANGED, REFUSED, FAILED = "publiee", "inchangee", "refusee", "erreur"
PUBLICATION_WAIT = 300.0  # seconds to wait for a publication already running


class PublicationError(Exception):
    """A publication that cannot run (French message)."""


@dataclass
class PublishResult:
    outcome: str  # PUBLISHED, UNCHANGED, REFUSED or FAILED
    commit: str | None = None
    report: UpdateReport | None = None
    lines: list[str] = field(default_factory=list)  # problems found, in French
    message: str = ""
    checked: int | None = None  # files validated (None: not validated here)

    @property
    def ok(self) -> bool:
        return self.outcome in (PUBLISHED, UNCHANGED)

    def summary(self) -> str:
        """The one line the pusher reads."""
        if self.outcome == PUBLISHED and self.report is not None:
            report = self.report
            return (
                f"{plural(len(report.added), 'ressource publiée', 'ressources publiées')}, "
                f"{plural(len(report.updated), 'mise à jour', 'mises à jour')}, "
                f"{plural(len(report.deleted), 'retirée', 'retirées')}"
            )
        return self.message

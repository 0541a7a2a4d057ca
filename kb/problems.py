"""Problems found in content: values, not exceptions, so one bad file never hides the others."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "erreur"
    WARNING = "avertissement"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about one file. `path` is relative to the content root (POSIX form)."""

    path: str
    line: int | None
    severity: Severity
    message: str
    suggestion: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """`path:line: erreur: message` — the form editors and CI logs understand."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.severity.value}: {self.message}"
        if self.suggestion:
            text += f" (vouliez-vous dire « {self.suggestion} » ?)"
        return text

    def as_json(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        return {
            "fichier": data["path"],
            "ligne": data["line"],
            "gravite": data["severity"],
            "message": data["message"],
            "suggestion": data["suggestion"],
        }


def sort_key(problem: Problem) -> tuple:
    return (problem.path, problem.line or 0, problem.severity != Severity.ERROR, problem.message)

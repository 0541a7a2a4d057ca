"""Problems found in content: values, not exceptions, so one bad file never hides the others."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum

from .french import plural

# Beyond this many lines with the same problem in one file, the rest is summed up.
MAX_REPEATS = 5


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
        """`path:line: erreur : message` — the form editors and CI logs understand (with the
        space French typography puts before a colon)."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.severity.value} : {self.message}"
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


def condense(problems: Iterable[Problem], max_repeats: int = MAX_REPEATS) -> list[Problem]:
    """The problems of one file without repeats: one problem per line, and at most
    `max_repeats` lines for the same message, then one summary problem
    (`… et 39 999 autres avertissements identiques`). Order is kept."""
    kept: list[Problem] = []
    lines_seen: dict[tuple, set[int | None]] = defaultdict(set)
    dropped: dict[tuple, int] = defaultdict(int)
    last_kept: dict[tuple, Problem] = {}
    for problem in problems:
        key = (problem.path, problem.severity, problem.message, problem.suggestion)
        lines = lines_seen[key]
        if problem.line in lines or len(lines) >= max_repeats:
            dropped[key] += 1
            continue
        lines.add(problem.line)
        kept.append(problem)
        last_kept[key] = problem
    for key, count in dropped.items():
        last = last_kept[key]
        others = (
            plural(count, "autre erreur identique", "autres erreurs identiques")
            if last.is_error
            else plural(count, "autre avertissement identique", "autres avertissements identiques")
        )
        kept.insert(
            kept.index(last) + 1, Problem(last.path, last.line, last.severity, f"… et {others}")
        )
    return kept

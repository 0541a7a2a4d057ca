"""French wording for messages: counts with the right plural, numbers with French spacing.

One place, so that every command writes `1 ressource publiable`, `2 ressources publiables`
and `12 000` the same way.
"""

from __future__ import annotations

NARROW_NO_BREAK_SPACE = "\u202f"  # the French thousands separator
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def number(value: int) -> str:
    """`39999` -> `39 999` (narrow no-break space, as in French typography)."""
    return f"{value:,}".replace(",", NARROW_NO_BREAK_SPACE)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` followed by the right form: singular for 0 and 1, as French does.

    `plural_form` defaults to `singular` + "s", which suits one word (`erreur`); give it for
    anything else: `plural(n, "ressource publiable", "ressources publiables")`.
    """
    if plural_form is None:
        if " " in singular:
            raise ValueError(f"plural form needed for {singular!r}")
        plural_form = singular + "s"
    return f"{number(count)} {singular if abs(count) < 2 else plural_form}"


def shorten(text: str, width: int = 80) -> str:
    """A value quoted in a message, cut with `…` when it is long (a 5,000-digit number...)."""
    return text if len(text) <= width else text[: width - 1] + "…"

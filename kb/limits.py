"""What one sheet's text may contain, declared once: each limit has its value, what it
counts and the advice given when it is passed.

Rendering a body costs time in proportion to its lines, table cells and Markdown signs, and
some constructs cost more than that (a paragraph of `[[[[…` is quadratic). The loader checks
these limits before parsing the inline content, so that `kb check`, the indexer and the git
hook refuse, with a French error at the line concerned, any text whose rendering could cost
more than a fraction of a second; whatever they accept renders within the budget measured in
docs/performance.md (« Rendu d'une fiche »). The table of docs/format.md is generated from
LIMITS (scripts/gen_format_doc.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it.token import Token

from .french import number
from .problems import Problem, Severity
from .render import BodyLink, block_tokens


@dataclass(frozen=True)
class Limit:
    maximum: int
    counted: str  # what is counted, in French, for the documentation table
    advice: str  # what to do, in French

    def message(self, found: str, count: int) -> str:
        """`tableau de plus de 2 000 lignes (2 345) : découpez-le ou joignez-le en CSV`"""
        return f"{found} ({number(count)}) : {self.advice}"


TEXT_CHARACTERS = Limit(
    200_000,
    "caractères dans le texte de la fiche",
    "placez le document complet en pièce jointe (PDF) et gardez-en un résumé",
)
TEXT_LINES = Limit(
    5_000,
    "lignes dans le texte de la fiche",
    "placez le document complet en pièce jointe (PDF) et gardez-en un résumé",
)
PARAGRAPH_CHARACTERS = Limit(
    10_000,
    "caractères dans un paragraphe, un intertitre ou une cellule de tableau",
    "coupez-le en plusieurs paragraphes séparés par une ligne vide",
)
TABLE_ROWS = Limit(
    2_000,
    "lignes dans un tableau",
    "découpez-le ou joignez-le en CSV",
)
TABLE_CELLS = Limit(
    10_000,
    "cellules dans l'ensemble des tableaux de la fiche",
    "joignez les données en CSV et gardez-en un extrait",
)
NESTING = Limit(
    8,
    "niveaux de listes et de citations imbriquées",
    "simplifiez la structure de la liste ou de la citation",
)
LINKS = Limit(
    2_000,
    "liens et images dans la fiche",
    "regroupez-les dans une pièce jointe (CSV ou PDF)",
)
SIGNS = Limit(
    10_000,
    "signes de ponctuation et de mise en forme (`*`, `_`, `[`, `]`, `<`, `>`, `&`, `\\`, "
    "`!`, `~`, `:`, `-`, `#`, accent grave…) hors blocs de code",
    "ce texte ressemble à des données : joignez-le en pièce jointe, ou placez-le dans un bloc "
    "de code",
)

LIMITS: tuple[Limit, ...] = (
    TEXT_CHARACTERS,
    TEXT_LINES,
    PARAGRAPH_CHARACTERS,
    TABLE_ROWS,
    TABLE_CELLS,
    NESTING,
    LINKS,
    SIGNS,
)

# The characters that make the inline parser leave its fast path (markdown-it's terminators).
_SIGNS = frozenset("!#$%&*+-:<=>@[\\]^_`{}~")
_CONTAINERS = frozenset({"blockquote_open", "bullet_list_open", "ordered_list_open"})
_CONTAINER_ENDS = frozenset({"blockquote_close", "bullet_list_close", "ordered_list_close"})


def _count_signs(text: str) -> int:
    return sum(text.count(sign) for sign in _SIGNS)


def check_body(path: str, body: str, body_line: int, problems: list[Problem]) -> bool:
    """Check a body against LIMITS (links excepted: see check_links); errors go to
    `problems` with their file line. True when the body may be parsed and rendered."""

    def error(line: int, message: str) -> None:
        problems.append(Problem(path, line, Severity.ERROR, message))

    if len(body) > TEXT_CHARACTERS.maximum:
        line = body_line + body.count("\n", 0, TEXT_CHARACTERS.maximum)
        found = f"texte de plus de {number(TEXT_CHARACTERS.maximum)} caractères"
        error(line, TEXT_CHARACTERS.message(found, len(body)))
        return False
    lines = body.count("\n") + 1
    if lines > TEXT_LINES.maximum:
        found = f"texte de plus de {number(TEXT_LINES.maximum)} lignes"
        error(body_line + TEXT_LINES.maximum, TEXT_LINES.message(found, lines))
        return False
    within = True
    for line, message in _block_problems(block_tokens(body)):
        error(body_line + line, message)
        within = False
    return within


def _block_problems(tokens: list[Token]) -> list[tuple[int, str]]:
    """(0-based body line, message) for each limit the block structure passes."""
    found: list[tuple[int, str]] = []
    depth = cells = signs = rows = 0
    table_line = 0
    reported: set[Limit] = set()

    def once(limit: Limit, line: int, message: str) -> None:
        if limit not in reported:
            reported.add(limit)
            found.append((line, message))

    line = 0
    for token in tokens:
        if token.map:  # cells have no map of their own: they take their row's
            line = token.map[0]
        if token.type in _CONTAINERS:
            depth += 1
            if depth > NESTING.maximum:
                once(
                    NESTING,
                    line,
                    f"listes ou citations imbriquées sur plus de {NESTING.maximum} niveaux : "
                    + NESTING.advice,
                )
        elif token.type in _CONTAINER_ENDS:
            depth -= 1
        elif token.type == "table_open":
            table_line, rows = line, 0
        elif token.type == "tr_open":
            rows += 1
        elif token.type == "table_close" and rows - 1 > TABLE_ROWS.maximum:
            found.append(
                (
                    table_line,
                    TABLE_ROWS.message(
                        f"tableau de plus de {number(TABLE_ROWS.maximum)} lignes", rows - 1
                    ),
                )
            )
        elif token.type in ("td_open", "th_open"):
            cells += 1
            if cells > TABLE_CELLS.maximum:
                once(
                    TABLE_CELLS,
                    line,
                    f"tableaux de plus de {number(TABLE_CELLS.maximum)} cellules au total : "
                    + TABLE_CELLS.advice,
                )
        elif token.type == "inline":
            if len(token.content) > PARAGRAPH_CHARACTERS.maximum:
                found.append(
                    (
                        line,
                        PARAGRAPH_CHARACTERS.message(
                            "paragraphe de plus de "
                            f"{number(PARAGRAPH_CHARACTERS.maximum)} caractères",
                            len(token.content),
                        ),
                    )
                )
            signs += _count_signs(token.content)
            if signs > SIGNS.maximum:
                once(
                    SIGNS,
                    line,
                    f"plus de {number(SIGNS.maximum)} signes de ponctuation et de mise en forme "
                    f"(* _ ` [ ] < & …) : {SIGNS.advice}",
                )
    return found


def check_links(path: str, links: list[BodyLink], body_line: int, problems: list[Problem]) -> bool:
    """Whether a body's links and images are within LINKS (an error at the first one over)."""
    if len(links) <= LINKS.maximum:
        return True
    found = f"plus de {number(LINKS.maximum)} liens et images"
    line = body_line + links[LINKS.maximum].line
    problems.append(Problem(path, line, Severity.ERROR, LINKS.message(found, len(links))))
    return False

"""The most expensive bodies the validator accepts, and what their first rendering costs.

Each case sits at one or several limits of kb/limits.py (the most rows, cells, lines,
nesting, links, Markdown signs, the longest paragraphs of `[`...); `worst_cases()` builds
them and tests/test_render.py checks that they are accepted and render within a bound.

    python -m bench.render_limits          # table of CPU times for docs/performance.md
"""

from __future__ import annotations

import argparse
import time

from kb import limits
from kb.render import render_markdown

PARAGRAPH = limits.PARAGRAPH_CHARACTERS.maximum
SIGNS = limits.SIGNS.maximum
LINES = limits.TEXT_LINES.maximum
CHARACTERS = limits.TEXT_CHARACTERS.maximum


def _paragraphs(unit: str, signs_per_unit: int) -> str:
    """Paragraphs as long as allowed, made of `unit`, up to the number of signs allowed."""
    per_paragraph = (PARAGRAPH - 2) // len(unit)
    units = min(SIGNS // signs_per_unit, (CHARACTERS - 2_000) // len(unit))
    paragraphs = []
    while units > 0:
        count = min(per_paragraph, units)
        paragraphs.append("a " + unit * count)  # "a ": never a rule, a fence or a list
        units -= count
    return "\n\n".join(paragraphs) + "\n"


def _table(rows: int, columns: int, cell: str) -> str:
    header = "|" + "|".join(f"c{n}" for n in range(columns)) + "|\n"
    rule = "|" + "|".join("-" for _ in range(columns)) + "|\n"
    return header + rule + ("|" + "|".join([cell] * columns) + "|\n") * rows


def _prose() -> str:
    sentence = (
        "Les habitants du quartier ont préparé l'atelier avec le centre social, "
        "la médiathèque et les associations de locataires. "
    )
    paragraph = sentence * 7  # ~840 characters
    count = CHARACTERS // (len(paragraph) + 2)
    return "\n\n".join([paragraph] * count) + "\n"


def worst_cases() -> dict[str, str]:
    """Name -> body, each accepted by kb.limits and as costly as the limits allow."""
    cells = limits.TABLE_CELLS.maximum
    rows = limits.TABLE_ROWS.maximum
    columns = cells // (rows + 1)  # the header row counts as cells
    nested = "".join("  " * level + "- élément\n" for level in range(limits.NESTING.maximum))
    return {
        "tableau : 2 000 lignes": _table(rows, columns, "valeur"),
        "tableau : 10 000 cellules dont 5 000 *a*": _table(rows, SIGNS // 2 // rows, "*a*")
        + "\n"
        + _table((cells - (SIGNS // 2 // rows) * (rows + 1)) // 3 - 1, 3, "valeur"),
        "tout à la fois : tableau, listes, ![": _table(rows, columns, "valeur")
        + "\n"
        + "".join(
            "  " * (n % limits.NESTING.maximum) + "- a\n" for n in range(LINES - (rows + 2) - 8)
        )
        + "\n"
        + _paragraphs("![", 2),
        "5 000 éléments de liste": "- a\n" * (LINES - 1),
        "5 000 lignes de listes imbriquées (8 niveaux)": nested * ((LINES - 1) // 8),
        "2 500 paragraphes": "a\n\n" * ((LINES - 1) // 2),
        "200 000 caractères de texte": _prose(),
        "crochets [ (paragraphes de 10 000)": _paragraphs("[", 1),
        "images ![ (paragraphes de 10 000)": _paragraphs("![", 2),
        "crochets et parenthèses [](": _paragraphs("[](", 2),
        "liens [a](b : non fermés": _paragraphs("[a](b ", 2),
        "astérisques *": _paragraphs("*", 1),
        "emphase *a": _paragraphs("*a", 1),
        "emphase forte **a": _paragraphs("**a", 2),
        "soulignés _a_": _paragraphs("_a_", 2),
        "chevrons <": _paragraphs("<", 1),
        "accents graves `": _paragraphs("`", 1),
        "entités &amp;": _paragraphs("&amp;", 1),
        "barres obliques inverses \\": _paragraphs("\\", 1),
        "2 000 liens": "\n\n".join(["[lien](https://example.org/page) " * 200] * 10) + "\n",
        "2 000 liens relatifs": "\n\n".join(["[bilan](bilan.pdf) " * 200] * 10) + "\n",
        "définitions de liens [a]: /b": "".join(f"[r{n}]: /x{n}\n" for n in range(LINES - 2))
        + "[a][r1]\n",
        "bloc de code de 200 000 caractères": "```\n" + ("x <b> & y " * 4 + "\n") * 4_800 + "```\n",
    }


def measure(body: str, repeat: int = 1) -> float:
    """Seconds of CPU for the first rendering (the best of `repeat`)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        render_markdown(body, lambda url: "/fichiers/c/" + url)
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="mesures par cas (défaut : 3)")
    args = parser.parse_args(argv)
    print("| Cas | Taille | Rendu (CPU) |\n|---|---|---|")
    for name, body in worst_cases().items():
        seconds = measure(body, args.repeat)
        print(f"| {name} | {len(body) / 1000:.0f} ko | {seconds * 1000:.0f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

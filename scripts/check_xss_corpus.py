"""Local check: render an external corpus of XSS payloads and report anything dangerous.

Not part of the test suite (which must not depend on files outside the project): run it by
hand, from anywhere,

    python3 scripts/check_xss_corpus.py [FOLDER]

FOLDER defaults to `../shared/testdata/xss/` beside the project. Every non-empty line of every
`.txt` file, and every whole file, goes through `kb.render.render_markdown` (with and without
a link resolver) and through `kb.render.sanitize_html`; an output holding a forbidden element,
an event-handler attribute or a javascript:/vbscript:/data: URL is reported. Exit code 0 when
nothing got through, 1 otherwise, 2 when the folder holds no payload.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from htmlcheck import dangers  # noqa: E402  (the same check as the test suite)

from kb.render import render_markdown, sanitize_html  # noqa: E402

DEFAULT_FOLDER = ROOT.parent / "shared" / "testdata" / "xss"

RENDERERS: dict[str, Callable[[str], str]] = {
    "render_markdown": lambda text: render_markdown(text).html,
    "render_markdown+resolver": lambda text: render_markdown(text, lambda url: "/f/" + url).html,
    "sanitize_html": sanitize_html,
}


def payloads(folder: Path) -> Iterator[tuple[str, str]]:
    """(where, payload): each non-empty line of each .txt file, then the whole file."""
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path.name}:{number}", line
        yield f"{path.name} (fichier entier)", text


def check(folder: Path) -> tuple[int, list[str]]:
    """Number of payloads checked, and one report line per dangerous output."""
    count, reports = 0, []
    for where, payload in payloads(folder):
        count += 1
        for name, render in RENDERERS.items():
            try:
                html = render(payload)
            except Exception as exc:  # a crash is a finding too
                reports.append(f"{where}: {name} : exception {exc!r}")
                continue
            for danger in dangers(html):
                reports.append(f"{where}: {name} : {danger} -- entrée {payload[:120]!r}")
    return count, reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dossier", nargs="?", type=Path, default=DEFAULT_FOLDER)
    args = parser.parse_args(argv)
    count, reports = check(args.dossier)
    if count == 0:
        print(f"aucune charge trouvée dans {args.dossier}", file=sys.stderr)
        return 2
    for report in reports:
        print(report)
    renderings = count * len(RENDERERS)
    print(
        f"{count} charges, {renderings} rendus : {len(reports)} problème(s).",
        file=sys.stderr,
    )
    return 1 if reports else 0


if __name__ == "__main__":
    sys.exit(main())

"""A map of the departments coloured by a count, drawn on the server as SVG, with its data
table: no JavaScript, every department a link, a keyboard path, and the same figures as a
table for those who cannot read the colours.

Reusable by any page (territories, statistics):

    from webapp.core.department_map import department_map

    figure = department_map(
        counts={"80": 3, "59": 7},                    # department code -> count
        link=lambda code: f"/territoires/departements/{code}",  # None: no link
        title="Ressources par département",
    )
    # in a template: {{ figure }}  (a Markup: the <figure> with the SVG, legend and table)

The geometry (mainland and overseas insets) is `kb.territories.department_shapes()`, under
CC BY 4.0: the figure carries its attribution. Colours come from classes styled in
site.css (`.dmap-0` … `.dmap-5`), with the same fill as an SVG attribute so that the map
also reads without the stylesheet. Everything written is escaped; the output is cached by
its arguments (it is the same for every visitor until the counts change).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from kb.french import plural
from kb.territories import department_shapes, reference

# A sequential palette (light to dark blue); level 0 is "none". The darkest levels carry
# white-on-dark contrast for the focus outline only: no text is drawn on fills.
FILLS = ("#eef1f6", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
LEVELS = len(FILLS) - 1


@dataclass(frozen=True)
class Band:
    level: int
    low: int
    high: int

    def label(self, unit: tuple[str, str]) -> str:
        if self.level == 0:
            return f"0 {unit[0]}"  # the unit's gender is unknown: no « aucun(e) »
        if self.low == self.high:
            return f"{self.low} {unit[0] if self.low == 1 else unit[1]}"
        return f"{self.low} à {self.high} {unit[1]}"


def bands(maximum: int) -> list[Band]:
    """Up to five bands of counts (1…max) of near-equal width, plus 0: `1`, `2 à 3`…"""
    result = [Band(0, 0, 0)]
    if maximum <= 0:
        return result
    levels = min(LEVELS, maximum)
    low = 1
    for level in range(1, levels + 1):
        high = round(maximum * level / levels)
        if high < low:
            continue
        result.append(Band(level, low, high))
        low = high + 1
    return result


def level_of(count: int, scale: list[Band]) -> int:
    for band in scale:
        if band.low <= count <= band.high:
            return band.level
    return scale[-1].level


def department_map(
    counts: Mapping[str, int],
    link: Callable[[str], str | None],
    title: str,
    unit: tuple[str, str] = ("ressource", "ressources"),
    ident: str = "carte-departements",
    table_caption: str | None = None,
    zero_rows: bool = False,
) -> Markup:
    """The figure: a heading-less <figure> holding a skip link, the SVG map (each
    department an <a> with a <title> naming it and its count), the legend and the data
    table. `ident` prefixes the ids (two maps on one page need two). Departments absent
    from `counts` count 0; the table lists only departments with a count unless
    `zero_rows`."""
    links = tuple((code, link(code)) for code in sorted(department_shapes().paths))
    return _render(
        tuple(sorted((c, int(n)) for c, n in counts.items())),
        links,
        title,
        unit,
        ident,
        table_caption or title,
        zero_rows,
    )


@functools.lru_cache(maxsize=64)
def _render(counts, links, title, unit, ident, table_caption, zero_rows) -> Markup:
    shapes = department_shapes()
    departements = reference().departements
    count_of = dict(counts)
    scale = bands(max(count_of.values(), default=0))
    ident = "".join(c for c in ident if c.isalnum() or c in "-_") or "carte"

    def name(code: str) -> str:
        return departements[code].nom if code in departements else code

    def amount(count: int) -> str:
        return plural(count, unit[0], unit[1])

    x, y, width, height = shapes.view_box
    parts = [
        f'<figure class="dmap" id="{ident}" aria-labelledby="{ident}-titre">',
        f'<figcaption id="{ident}-titre" class="dmap-title">{escape(title)}</figcaption>',
        f'<a class="skip-link dmap-skip" href="#{ident}-tableau">Passer la carte : aller au '
        "tableau des données</a>",
        # No role on the <svg>: the figure (named by its caption) groups the links.
        f'<svg class="dmap-svg" viewBox="{x:g} {y:g} {width:g} {height:g}" '
        'xmlns="http://www.w3.org/2000/svg">',
    ]
    for code, (bx, by, bw, bh) in sorted(shapes.insets.items()):
        parts.append(
            f'<rect class="dmap-inset" x="{bx:g}" y="{by:g}" width="{bw:g}" height="{bh:g}" '
            'fill="none" stroke="#8a8a8a" stroke-width="0.8" aria-hidden="true"/>'
        )
        parts.append(
            f'<text class="dmap-inset-name" x="{bx + bw / 2:g}" y="{by + bh + 13:g}" '
            f'text-anchor="middle" font-size="11" aria-hidden="true">{escape(name(code))}</text>'
        )
    for code, url in links:
        count = count_of.get(code, 0)
        level = level_of(count, scale)
        label = f"{name(code)} ({code}) : {amount(count)}"
        path = (
            f'<path class="dmap-area dmap-{level}" d="{shapes.paths[code]}" '
            f'fill="{FILLS[level]}" stroke="#8d97a8" stroke-width="0.5"/>'
        )
        if url:
            parts.append(
                f'<a href="{escape(url)}" aria-label="{escape(label)}">'
                f"<title>{escape(label)}</title>{path}</a>"
            )
        else:
            parts.append(f"<g><title>{escape(label)}</title>{path}</g>")
    parts.append("</svg>")
    parts.append(f'<p class="dmap-legend-title" id="{ident}-legende">Légende</p>')
    parts.append('<ul class="dmap-legend">')
    for band in scale:
        parts.append(
            f'<li><svg class="dmap-swatch" viewBox="0 0 14 14" width="14" height="14" '
            f'aria-hidden="true" focusable="false"><rect class="dmap-{band.level}" width="14" '
            f'height="14" fill="{FILLS[band.level]}" stroke="#6b6b6b"/></svg> '
            f"{escape(band.label(unit))}</li>"
        )
    parts.append("</ul>")
    rows = [(code, url) for code, url in links if zero_rows or count_of.get(code, 0)]
    rows.sort(key=lambda row: (-count_of.get(row[0], 0), row[0]))
    parts.append(
        f'<table class="dmap-table" id="{ident}-tableau"><caption>{escape(table_caption)}'
        '</caption><thead><tr><th scope="col">Département</th><th scope="col">Code</th>'
        f'<th scope="col">{escape(unit[1].capitalize())}</th></tr></thead><tbody>'
    )
    for code, url in rows:
        cell = f'<a href="{escape(url)}">{escape(name(code))}</a>' if url else escape(name(code))
        parts.append(
            f'<tr><th scope="row">{cell}</th><td>{escape(code)}</td>'
            f'<td class="number">{count_of.get(code, 0)}</td></tr>'
        )
    if not rows:
        parts.append(f'<tr><td colspan="3">0 {escape(unit[0])}.</td></tr>')
    parts.append("</tbody></table>")
    others = [c for c, _ in links if not count_of.get(c, 0)] if not zero_rows else []
    if others and rows:
        parts.append(f'<p class="dmap-note">Autres départements : 0 {escape(unit[0])}.</p>')
    parts.append(f'<p class="dmap-credit">{escape(shapes.attribution)}.</p>')
    parts.append("</figure>")
    return Markup("".join(parts))

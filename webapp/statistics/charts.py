"""Charts drawn on the server: the geometry of bar, column and line charts, computed here
and written as SVG by templates/statistics/_charts.html. No script: the page works as it
is served, and each chart sits beside the table of its data (the accessible version).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from indexer.statistics import Count, CrossTable

WIDTH = 640
LABEL_HEIGHT = 20  # a bar's label line, above the bar
BAR_HEIGHT = 16
BAR_GAP = 10
VALUE_ROOM = 60  # right of the longest bar, for its number
# Colours of the lines (at least 3:1 against white, told apart by their marks too).
SERIES_STYLES = (
    ("#000091", "rond"),
    ("#c9191e", "carre"),
    ("#18753c", "triangle"),
    ("#7d4e00", "losange"),
    ("#6e445a", "croix"),
    ("#006a6f", "rond-vide"),
)


def number(value: int | float) -> str:
    """French digit grouping (narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str
    label_y: float
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    hidden: int  # values left out of the chart (all are in the table)


def bar_chart(title: str, counts: list[Count], limit: int = 12) -> BarChart:
    shown = counts[:limit]
    top = max((c.count for c in shown), default=0) or 1
    room = WIDTH - VALUE_ROOM
    bars = []
    y = 0.0
    for count in shown:
        label_y = y + LABEL_HEIGHT - 5
        bar_y = y + LABEL_HEIGHT
        width = max(1.0, room * count.count / top) if count.count else 0.0
        bars.append(Bar(count.label, count.count, number(count.count), label_y, bar_y, width))
        y = bar_y + BAR_HEIGHT + BAR_GAP
    return BarChart(title, WIDTH, max(1, math.ceil(y)), bars, len(counts) - len(shown))


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    year: str


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    marker: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points)
        )


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    hidden: int


def _nice_step(top: int, wanted: int = 5) -> int:
    raw = max(1, top) / wanted
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return max(1, int(factor * magnitude))
    return max(1, int(10 * magnitude))


def line_chart(title: str, table: CrossTable, limit: int = len(SERIES_STYLES)) -> LineChart:
    """One line per row of the table (the `limit` largest), years across."""
    rows = list(zip(table.rows, table.cells, strict=True))[:limit]
    years = [c.value for c in table.columns]
    left, right, top, bottom = 48.0, WIDTH - 16.0, 12.0, 230.0
    height = 262
    highest = max((max(cells, default=0) for _, cells in rows), default=0)
    step = _nice_step(highest)
    ceiling = max(step, math.ceil(highest / step) * step)

    def x_of(index: int) -> float:
        if len(years) == 1:
            return (left + right) / 2
        return left + (right - left) * index / (len(years) - 1)

    def y_of(value: int) -> float:
        return bottom - (bottom - top) * value / ceiling

    every = max(1, math.ceil(len(years) / 12))  # at most a dozen year labels
    x_ticks = [Tick(x_of(i), year) for i, year in enumerate(years) if i % every == 0]
    y_ticks = [Tick(y_of(v), number(v)) for v in range(0, ceiling + 1, step)]
    series = []
    for (row, cells), (colour, marker) in zip(rows, SERIES_STYLES, strict=False):
        points = [Point(x_of(i), y_of(v), v, years[i]) for i, v in enumerate(cells)]
        series.append(Series(row.label, colour, marker, points))
    return LineChart(
        title,
        WIDTH,
        height,
        left,
        right,
        top,
        bottom,
        x_ticks,
        y_ticks,
        series,
        len(table.rows) - len(rows),
    )


@dataclass(frozen=True)
class Column:
    year: str
    value: int
    text: str
    x: float
    y: float
    width: float
    height: float
    labelled: bool  # its year written below (not all, when there are many)


@dataclass(frozen=True)
class ColumnChart:
    title: str
    width: int
    height: int
    bottom: float
    columns: list[Column]


def column_chart(title: str, counts: list[Count]) -> ColumnChart:
    """Resources per year, one column each."""
    top_value = max((c.count for c in counts), default=0) or 1
    bottom, room = 200.0, 170.0
    slot = WIDTH / max(1, len(counts))
    width = min(48.0, slot * 0.7)
    every = max(1, math.ceil(len(counts) / 14))
    columns = []
    for index, count in enumerate(counts):
        height = room * count.count / top_value
        x = index * slot + (slot - width) / 2
        columns.append(
            Column(
                count.value,
                count.count,
                number(count.count),
                x,
                bottom - height,
                width,
                height,
                index % every == 0 or index == len(counts) - 1,
            )
        )
    return ColumnChart(title, WIDTH, 226, bottom, columns)

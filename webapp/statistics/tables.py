"""The statistics as tables: one description of each table, rendered as an HTML table
beside its chart, as CSV, as a sheet of the ODS workbook and (through
`Statistics.as_json`) as JSON."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.statistics import AxisCounts, CrossTable, QualityRow, Statistics

from .spreadsheets import Sheet, Value

AXIS_TITLES = {
    "centre": "Centres de ressources",
    "piliers": "Piliers",
    "thematiques": "Thématiques",
    "type": "Types de ressource",
    "annee": "Années (date de la fiche)",
    "entree": "Années d'entrée dans la base",
    "region": "Régions",
    "departement": "Départements",
    "epci": "Intercommunalités (EPCI)",
    "commune": "Communes",
    "qpv": "Quartiers prioritaires (QPV)",
}
# What a resource without a value is, per axis (a resource always has a centre, a
# pillar, a type and a year).
MISSING_LABELS = {
    "thematiques": "Sans thématique",
    "region": "Sans région",
    "departement": "Sans département",
    "epci": "Sans intercommunalité",
    "commune": "Sans commune",
    "qpv": "Sans quartier prioritaire",
    "entree": "Date d'entrée inconnue",
}
MULTI_VALUED = ("piliers", "thematiques", "epci", "commune", "qpv")
YEAR_AXIS_LABELS = {"annee": "date de la fiche", "entree": "entrée dans la base"}
TREND_TITLES = {
    "piliers": "Piliers par année",
    "type": "Types de ressource par année",
    "centre": "Centres par année",
}
MULTI_VALUED_NOTE = (
    "Chaque ressource est comptée une seule fois dans le total. Une ressource qui relève de "
    "plusieurs piliers ou de plusieurs thématiques est comptée une fois dans chacun d'eux : "
    "la somme des lignes de ces tableaux peut donc dépasser le total."
)


def share(part: int, whole: int) -> float | None:
    """A percentage rounded to one decimal, None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


def percent_text(part: int, whole: int) -> str:
    value = share(part, whole)
    return "–" if value is None else f"{value:.1f}\u202f%".replace(".", ",")


def axis_sheet(axis: str, counts: AxisCounts, total: int) -> Sheet:
    rows: list[tuple[Value, ...]] = [
        (c.value, c.label, c.count, share(c.count, total)) for c in counts.values
    ]
    if counts.missing and axis in MISSING_LABELS:
        rows.append(("", MISSING_LABELS[axis], counts.missing, share(counts.missing, total)))
    return Sheet(AXIS_TITLES[axis], ("Code", "Libellé", "Ressources", "Part du total (%)"), rows)


def trend_sheet(axis: str, table: CrossTable, year_axis: str) -> Sheet:
    years = tuple(c.value for c in table.columns)
    rows: list[tuple[Value, ...]] = [
        (row.value, row.label, *cells, row.count)
        for row, cells in zip(table.rows, table.cells, strict=True)
    ]
    rows.append(("", "Toutes les ressources", *(c.count for c in table.columns), None))
    title = f"{TREND_TITLES[axis]} ({YEAR_AXIS_LABELS[year_axis]})"
    return Sheet(title, ("Code", "Libellé", *years, "Total"), rows)


QUALITY_HEADER = (
    "Code",
    "Centre",
    "Ressources",
    "Avec un territoire",
    "Avec un territoire (%)",
    "Concernées par les intertitres",
    "Avec tous les intertitres",
    "Avec tous les intertitres (%)",
    "Résumé de bonne longueur",
    "Résumé de bonne longueur (%)",
)


def quality_sheet(rows: list[QualityRow]) -> Sheet:
    return Sheet(
        "Qualité par centre",
        QUALITY_HEADER,
        [
            (
                r.centre,
                r.label,
                r.total,
                r.with_territory,
                share(r.with_territory, r.total),
                r.sections_expected,
                r.with_sections,
                share(r.with_sections, r.sections_expected),
                r.with_summary,
                share(r.with_summary, r.total),
            )
            for r in rows
        ],
    )


@dataclass(frozen=True)
class Summary:
    """What a workbook's first sheet says of the selection."""

    title: str
    selection: str
    total: int
    year_axis: str
    extracted: str  # when the figures were taken (French date and time)
    source: str  # the page's address

    def sheet(self) -> Sheet:
        return Sheet(
            "Synthèse",
            ("Rubrique", "Valeur"),
            [
                ("Titre", self.title),
                ("Sélection", self.selection or "toutes les ressources publiées"),
                ("Ressources distinctes", self.total),
                ("Années selon", YEAR_AXIS_LABELS[self.year_axis]),
                ("Chiffres extraits le", self.extracted),
                ("Adresse", self.source),
                ("À savoir", MULTI_VALUED_NOTE),
            ],
        )


def statistics_sheets(stats: Statistics, summary: Summary) -> list[Sheet]:
    sheets = [summary.sheet()]
    for axis, counts in stats.counts.items():
        sheets.append(axis_sheet(axis, counts, stats.total))
    for axis, table in stats.trends.items():
        sheets.append(trend_sheet(axis, table, stats.year_axis))
    sheets.append(quality_sheet(stats.quality))
    return sheets


def distribution_sheet(stats: Statistics) -> Sheet:
    """Every axis in one long table (the CSV export's default)."""
    rows: list[tuple[Value, ...]] = []
    for axis, counts in stats.counts.items():
        for row in axis_sheet(axis, counts, stats.total).rows:
            rows.append((AXIS_TITLES[axis], *row))
    return Sheet(
        "Répartitions",
        ("Répartition", "Code", "Libellé", "Ressources", "Part du total (%)"),
        rows,
    )


def trends_long_sheet(stats: Statistics) -> Sheet:
    """Every trend in one long table: one line per (value, year)."""
    rows: list[tuple[Value, ...]] = []
    for axis, table in stats.trends.items():
        for row, cells in zip(table.rows, table.cells, strict=True):
            for column, count in zip(table.columns, cells, strict=True):
                rows.append((AXIS_TITLES[axis], row.value, row.label, column.value, count))
    return Sheet(
        "Tendances",
        (
            "Répartition",
            "Code",
            "Libellé",
            f"Année ({YEAR_AXIS_LABELS[stats.year_axis]})",
            "Ressources",
        ),
        rows,
    )

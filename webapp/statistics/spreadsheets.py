"""Tables as files a spreadsheet opens: CSV (one table) and OpenDocument (ODS, a sheet per
table), safe to open.

A spreadsheet turns a CSV field beginning with `=`, `+`, `-` or `@` (or a tab or carriage
return, which some strip first) into a formula: a resource title like
`=HYPERLINK("http://…")` would run when a director opens the export. Such text fields get
a leading apostrophe in CSV, which spreadsheets read as "this is text". In ODS every text
is written as a string cell (`office:value-type="string"`): never a formula, shown as typed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from odfdo import Cell, Document, Row, Table

Value = str | int | float | None
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_MIMETYPE = "text/csv; charset=utf-8"
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
SHEET_NAME_LENGTH = 31  # what every spreadsheet accepts


@dataclass(frozen=True)
class Sheet:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[Value, ...]] = field(default_factory=list)


def inert(text: str) -> str:
    """Text that no spreadsheet reads as a formula (CSV)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def to_csv(sheet: Sheet) -> bytes:
    """`;`-separated, UTF-8 with a byte-order mark: what French spreadsheets open directly
    with accents and decimal commas intact."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([inert(name) for name in sheet.header])
    for row in sheet.rows:
        writer.writerow(["" if v is None else inert(v) if isinstance(v, str) else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(title: str, used: set[str]) -> str:
    # ODS forbids some characters in sheet names ([]*?:/\), and names must be unique.
    cleaned = "".join(" " if c in "[]*?:/\\'" else c for c in title).strip()[:SHEET_NAME_LENGTH]
    name, number = cleaned or "Feuille", 2
    while name in used:
        suffix = f" ({number})"
        name, number = cleaned[: SHEET_NAME_LENGTH - len(suffix)] + suffix, number + 1
    used.add(name)
    return name


def _cell(value: Value) -> Cell:
    if value is None:
        return Cell()
    if isinstance(value, bool):
        value = "oui" if value else "non"
    if isinstance(value, int | float):
        return Cell(value, cell_type="float")
    return Cell(str(value), cell_type="string")


def to_ods(sheets: Sequence[Sheet], title: str = "") -> bytes:
    document = Document("spreadsheet")
    body = document.body
    body.clear()
    used: set[str] = set()
    for sheet in sheets:
        table = Table(_sheet_name(sheet.title, used))
        for values in (sheet.header, *sheet.rows):
            row = Row()
            for value in values:
                row.append_cell(_cell(value))
            table.append_row(row)
        body.append(table)
    if title:
        document.meta.set_title(title)
    document.meta.set_language("fr-FR")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

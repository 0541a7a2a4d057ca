"""Reading the official lists of priority neighbourhoods (QPV) and keeping one in the instance.

The format is the open-data file of the 2024 neighbourhoods, `listeqp2024-cog2024.csv`, and
the overseas lists shaped the same way: `;`-separated, UTF-8 (a BOM is usual), one QPV per
line with the columns `code_qp`, `lib_qp`, `insee_reg`, `insee_dep`, `insee_com` (several
communes joined by `; `, leading zeros sometimes dropped), `siren_epci`, `lib_epci`. Other
columns are ignored. A file with any error is refused whole: the list in force stays as
it was (the new one is written beside it and renamed over it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .french import plural
from .territories import Qpv, QpvList, reference

REQUIRED_COLUMNS = ("code_qp", "lib_qp", "insee_dep", "insee_com")
OPTIONAL_COLUMNS = ("insee_reg", "siren_epci", "lib_epci")
MAX_FILE_SIZE = 20 * 1024 * 1024  # the national list is about 200 Kio
MAX_LINE_LENGTH = 4000
MAX_ERRORS = 20
QPV_CODE = re.compile(r"^QN(\d{2}[0-9AB]|97\d)\d{2}[NMI]$")
_DEPARTEMENT_IN_CODE = re.compile(r"^QN(97\d|\d[0-9AB])")
# A cell a spreadsheet would run as a formula, or a control character: refused, since the
# names end up in pages and in exported tables.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class QpvImportError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ParsedQpv:
    qpv_list: QpvList
    warnings: list[str] = field(default_factory=list)


def _decode(path: Path, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise QpvImportError(
            [
                f"{path}:{line}: erreur : le fichier n'est pas encodé en UTF-8 (octet illisible) : "
                "enregistrez-le en « CSV UTF-8 » depuis le tableur"
            ]
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise QpvImportError(
            [f"{path}:{line}: erreur : octet nul : ce n'est pas un fichier texte CSV"]
        )
    return text


def _commune_code(raw: str) -> str:
    """`1053` -> `01053` (the file drops leading zeros); `2A004` stays."""
    raw = raw.strip()
    return raw.zfill(5) if raw.isdigit() else raw.upper()


def _departement_code(raw: str) -> str:
    raw = raw.strip().upper()
    return raw.zfill(2) if raw.isdigit() and len(raw) < 2 else raw


def parse_qpv_file(path: Path, data: bytes, found: dict[str, tuple[Qpv, str]]) -> list[str]:
    """Read one file into `found` (code -> (QPV, where)); returns warnings, raises the
    errors (French, `fichier:ligne: erreur : …`)."""
    if len(data) > MAX_FILE_SIZE:
        raise QpvImportError(
            [
                f"{path}: erreur : fichier trop volumineux ({len(data) // (1024 * 1024)} Mio ; "
                f"{MAX_FILE_SIZE // (1024 * 1024)} Mio au plus)"
            ]
        )
    text = _decode(path, data)
    lines = text.splitlines()
    errors: list[str] = []
    warnings: list[str] = []
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_LENGTH:
            errors.append(
                f"{path}:{number}: erreur : ligne trop longue ({len(line)} caractères ; "
                f"{MAX_LINE_LENGTH} au plus)"
            )
    if errors:
        raise QpvImportError(errors[:MAX_ERRORS])
    if not text.strip():
        raise QpvImportError([f"{path}:1: erreur : le fichier est vide"])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise QpvImportError([f"{path}:1: erreur : en-tête illisible ({exc})"]) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        hint = ""
        if len(header) == 1 and ("," in header[0] or "\t" in header[0]):
            hint = " ; le séparateur attendu est le point-virgule « ; »"
        raise QpvImportError(
            [
                f"{path}:1: erreur : {'colonne manquante' if len(missing) == 1 else 'colonnes manquantes'} : {', '.join(missing)} "
                f"(colonnes lues : {', '.join(header) or 'aucune'}){hint}"
            ]
        )
    position = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }
    ref = reference()
    count = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{path}:{reader.line_num}: erreur : ligne CSV illisible ({exc})")
            break
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            errors.append(
                f"{path}:{number}: erreur : {plural(len(row), 'colonne')} au lieu de {len(header)}"
            )
            continue

        def cell(name: str, row=row) -> str:
            return row[position[name]].strip() if name in position else ""

        bad = False
        for name, index in position.items():
            value = row[index].strip()
            if value.startswith(_FORMULA_START) or _CONTROL.search(value):
                errors.append(
                    f"{path}:{number}: erreur : colonne {name} : valeur refusée « {value[:40]} » "
                    "(formule de tableur ou caractère de contrôle)"
                )
                bad = True
        if bad:
            continue
        code = cell("code_qp").upper()
        if not QPV_CODE.match(code):
            errors.append(f"{path}:{number}: erreur : code_qp invalide « {code} » (ex. QN05912M)")
            continue
        nom = cell("lib_qp")
        if not nom or len(nom) > 200:
            errors.append(f"{path}:{number}: erreur : lib_qp vide ou trop long pour {code}")
            continue
        departement = _departement_code(cell("insee_dep"))
        if departement not in ref.departements:
            errors.append(
                f"{path}:{number}: erreur : insee_dep inconnu « {cell('insee_dep')} » pour {code}"
            )
            continue
        communes = []
        for raw in re.split(r"\s*[;,]\s*", cell("insee_com")):
            if not raw:
                continue
            commune = _commune_code(raw)
            if commune in ref.anciennes:
                commune = ref.anciennes[commune].actuelle
            if commune not in ref.communes:
                if not re.fullmatch(r"\d{5}|2[AB]\d{3}", commune):
                    errors.append(
                        f"{path}:{number}: erreur : insee_com invalide « {raw} » pour {code}"
                    )
                    bad = True
                    continue
                warnings.append(
                    f"{path}:{number}: avertissement : commune {commune} de {code} absente du "
                    f"{ref.description} : conservée telle quelle"
                )
            if commune not in communes:
                communes.append(commune)
        if bad:
            continue
        if not communes:
            errors.append(f"{path}:{number}: erreur : insee_com vide pour {code}")
            continue
        if code in found:
            errors.append(f"{path}:{number}: erreur : {code} en double (déjà {found[code][1]})")
            continue
        epci = cell("siren_epci") or None
        if epci is not None and not re.fullmatch(r"\d{9}", epci):
            errors.append(f"{path}:{number}: erreur : siren_epci invalide « {epci} » pour {code}")
            continue
        epci_nom = cell("lib_epci") or (ref.epci[epci].nom if epci in ref.epci else None)
        found[code] = (
            Qpv(code, nom, departement, tuple(communes), epci, epci_nom),
            f"{path.name}:{number}",
        )
        count += 1
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise QpvImportError(errors[:MAX_ERRORS])
    if count == 0:
        raise QpvImportError([f"{path}:2: erreur : aucun quartier dans le fichier"])
    return warnings


def parse_qpv_files(paths: list[Path]) -> ParsedQpv:
    """Read several lists (mainland and overseas) into one; raises on any error."""
    found: dict[str, tuple[Qpv, str]] = {}
    warnings: list[str] = []
    errors: list[str] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            errors.append(f"{path}: erreur : lecture impossible ({exc.strerror})")
            continue
        try:
            warnings += parse_qpv_file(Path(path), data, found)
        except QpvImportError as exc:
            errors += exc.errors
    if errors:
        raise QpvImportError(errors)
    source = ", ".join(Path(p).name for p in paths)
    qpv = {code: value[0] for code, value in found.items()}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return ParsedQpv(QpvList(qpv, source, now), warnings)


def merge(old: QpvList, new: QpvList) -> QpvList:
    qpv = dict(old.qpv)
    qpv.update(new.qpv)
    sources = ", ".join(s for s in (old.source, new.source) if s)
    return QpvList(qpv, sources, new.imported_at)


def save_qpv_list(qpv_list: QpvList, target: Path) -> None:
    """Write the list atomically: a temporary file in the same folder, synced, renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(qpv_list.to_json(), ensure_ascii=False, indent=0).encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=".qpv-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

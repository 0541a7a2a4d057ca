"""Harvesting one instance from another (`kb moissonner`, format `kb`), measured.

A synthetic corpus (bench/corpus.py) is indexed and served by a real threaded HTTP server
on loopback (OAI-PMH pages of 100 records, as in production); the harvester reads it
into a content folder, which is then indexed. Measured: the first (complete) harvest,
a second one with nothing changed (incremental: `from`), one after ten changes, and the
indexing of what was harvested; checked: every published resource arrives with the same
facets.

    python -m bench.harvest --resources 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.corpus import CorpusGenerator
from indexer.build import Indexer
from indexer.search import SearchIndex
from publishing.harvest import FolderOutput, Harvester, HarvestSettings
from webapp import create_app
from webapp.serving import ServerThread

FACETS = ("type", "centre", "piliers", "thematiques", "dispositifs", "publics", "region")


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesure le moissonnage d'une instance.")
    parser.add_argument("--resources", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-moisson-") as folder:
        root = Path(folder)
        regional, national = root / "regional", root / "national"
        CorpusGenerator(42).write(regional / "contenu", args.resources)
        Indexer(regional / "contenu", regional / "index").update()
        app = create_app(
            {
                "KB_CONTENT": str(regional / "contenu"),
                "KB_INDEX": str(regional / "index"),
                "KB_SITE_URL": "https://regional.example.org",
                "KB_BUILD_INDEX": False,
            }
        )
        server = ServerThread(app)
        url = server.start() + "/oai"
        try:
            settings = HarvestSettings(nom="regional", url=url)
            output = FolderOutput(national / "contenu")

            def run():
                return Harvester(settings, national / "index", output).run()

            first, first_time = timed(run)
            assert first.ok, first.error
            time.sleep(1.1)  # OAI-PMH dates are in seconds
            again, again_time = timed(run)
            assert again.ok and not (again.added or again.changed), again.summary()
            changed = sorted((regional / "contenu").rglob("*.md"))
            changed = [p for p in changed if p.name != "_centre.md"][:10]
            for path in changed:
                path.write_text(path.read_text("utf-8") + "\nAjout.\n", "utf-8")
            Indexer(regional / "contenu", regional / "index").update()
            ten, ten_time = timed(run)
            assert ten.ok and len(ten.changed) == len(changed), ten.summary()
        finally:
            server.stop()
        report, index_time = timed(
            lambda: Indexer(national / "contenu", national / "index").update()
        )
        original = {m["id"]: m for m in SearchIndex(regional / "index").all_metadata()}
        copied = {m["id"]: m for m in SearchIndex(national / "index").all_metadata()}
        same = all(
            {k: copied[i][k] for k in FACETS} == {k: m[k] for k in FACETS}
            for i, m in original.items()
            if i in copied
        )
        print(f"ressources publiées : {len(original)} ; moissonnées et indexées : {len(copied)}")
        print(f"facettes identiques : {'oui' if same and set(copied) == set(original) else 'NON'}")
        print(
            f"première moisson : {first_time:.1f} s ({len(first.added)} fiches, "
            f"{len(original) / first_time:.0f} fiches/s)"
        )
        print(f"moisson sans changement : {again_time:.2f} s")
        print(f"moisson après 10 modifications : {ten_time:.2f} s")
        print(f"indexation de la moisson : {index_time:.1f} s ({report.summary()})")


if __name__ == "__main__":
    main()

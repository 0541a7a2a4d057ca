"""Two instances of this software: a regional one serves the demonstration content over
real HTTP (threaded werkzeug server on loopback, small OAI-PMH pages so that resumption
tokens are followed), a national one harvests it with `kb moissonner` (format `kb`),
indexes what it wrote, and must then hold every published resource with its facets.
Changes and deletions on the regional side reach the national one at the next run."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from indexer.build import Indexer
from indexer.search import SearchIndex, SearchRequest
from kb import cli
from publishing.harvest import read_state, repository_path
from webapp import create_app
from webapp.dissemination import oai
from webapp.serving import ServerThread

DEMO = Path(__file__).parent.parent / "content"
REGIONAL_URL = "https://regional.example.org"
COMPARED = (
    "titre",
    "type",
    "centre",
    "date",
    "mise_a_jour",
    "piliers",
    "thematiques",
    "dispositifs",
    "publics",
    "region",
    "departement",
    "communes",
    "epci",
    "qpv",
    "porteur",
    "partenaires",
    "auteurs",
    "mots_cles",
    "periode",
    "licence",
    "resume",
    "evenement",
    "productions",
    "issu_de",
)


class Regional:
    """The harvested instance: its own content, index and web server."""

    def __init__(self, root: Path) -> None:
        self.content = root / "regional" / "contenu"
        self.index = root / "regional" / "index"
        shutil.copytree(DEMO, self.content)
        self.reindex()
        app = create_app(
            {
                "KB_CONTENT": str(self.content),
                "KB_INDEX": str(self.index),
                "KB_SITE_URL": REGIONAL_URL,
                "KB_BUILD_INDEX": False,
            }
        )
        self.server = ServerThread(app)
        self.url = self.server.start() + "/oai"

    def reindex(self) -> None:
        Indexer(self.content, self.index).update()

    def metadata(self) -> dict[str, dict]:
        return {m["id"]: m for m in SearchIndex(self.index).all_metadata()}


@pytest.fixture
def regional(tmp_path, monkeypatch):
    monkeypatch.setattr(oai, "PAGE_SIZE", 7)  # about fifty resources: several resumption tokens
    instance = Regional(tmp_path)
    yield instance
    instance.server.stop()


def harvest(url: str, national: Path, *options: str) -> int:
    return cli.main(
        [
            "moissonner",
            url,
            "--nom",
            "regional",
            "--index",
            str(national / "index"),
            "--content",
            str(national / "contenu"),
            *options,
        ]
    )


def facets(index: Path) -> dict[str, dict[str, int]]:
    result = SearchIndex(index).search(SearchRequest(per_page=1, with_suggestion=False))
    return {
        key: {value.valeur: value.nombre for value in values}
        for key, values in result.facets.items()
    }


def test_national_instance_holds_every_resource_with_its_facets(regional, tmp_path, capsys):
    national = tmp_path / "national"
    assert harvest(regional.url, national, "--sortie", str(national / "contenu")) == 0
    assert f"{len(regional.metadata())} ajoutées" in capsys.readouterr().out
    report = Indexer(national / "contenu", national / "index").update()
    assert report.ok, [p.format() for p in report.problems]

    original = regional.metadata()
    harvested = {m["id"]: m for m in SearchIndex(national / "index").all_metadata()}
    assert set(harvested) == set(original) and len(original) > 40
    for resource_id, meta in original.items():
        copy = harvested[resource_id]
        assert {k: copy[k] for k in COMPARED} == {k: meta[k] for k in COMPARED}, resource_id
        assert copy["origine"] == f"{REGIONAL_URL}/ressources/{resource_id}"
        assert copy["moisson"]["identifiant"] == f"oai:regional.example.org:{resource_id}"
    # The same facets, value by value, count by count.
    assert facets(national / "index") == facets(regional.index)
    # Found by their words.
    searcher = SearchIndex(national / "index")
    for resource_id in ("crpv-demo-nord/aide-aux-devoirs-clas",):
        title = original[resource_id]["titre"]
        hits = searcher.search(SearchRequest(q=title, with_suggestion=False)).hits
        assert hits and hits[0].id == resource_id
    # Aliases survive: an old address of the regional instance leads to the resource.
    aliased = [r for r in (national / "contenu").rglob("*.md") if "alias:" in r.read_text()]
    assert aliased, "the demonstration content has aliases"


def test_changes_and_deletions_reach_the_national_instance(regional, tmp_path, capsys):
    national = tmp_path / "national"
    output = national / "contenu"
    # OAI-PMH dates are in seconds and `from` is inclusive: what the regional instance
    # indexed in the same second as the first harvest would be listed again.
    time.sleep(1.1)
    assert harvest(regional.url, national, "--sortie", str(output)) == 0
    first = read_state(national / "index", "regional")["dernier_succes"]
    assert first["format"] == "kb"

    # On the regional side: one resource removed, one changed.
    removed = next(
        p for p in regional.content.glob("crpv-demo-nord/*.md") if p.name != "_centre.md"
    )
    removed_id = f"crpv-demo-nord/{removed.stem}"
    removed.unlink()
    changed = next(p for p in regional.content.glob("crpv-demo-idf/*.md") if p.name != "_centre.md")
    changed_id = f"crpv-demo-idf/{changed.stem}"
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text + "\nUn paragraphe ajouté par le centre.\n", encoding="utf-8")
    regional.reindex()
    capsys.readouterr()

    assert harvest(regional.url, national, "--sortie", str(output)) == 0
    out = capsys.readouterr().out
    assert "1 modifiée, 1 supprimée" in out, out
    state = read_state(national / "index", "regional")
    run = state["executions"][-1]
    assert run["depuis"] == first["depuis"]  # incremental: only what changed since
    assert (run["ajoutees"], run["modifiees"], run["supprimees"]) == (0, 1, 1)
    assert not list(output.rglob(f"{removed.stem}.md"))
    copy = next(output.rglob(changed.name)).read_text(encoding="utf-8")
    assert copy.endswith("Un paragraphe ajouté par le centre.\n")
    Indexer(output, national / "index").update()
    ids = {m["id"] for m in SearchIndex(national / "index").all_metadata()}
    assert removed_id not in ids and len(ids) == len(regional.metadata())
    site = create_app(
        {"KB_CONTENT": str(output), "KB_INDEX": str(national / "index"), "KB_BUILD_INDEX": False}
    )
    client = site.test_client()
    page = client.get(f"/ressources/{changed_id}").get_data(as_text=True)
    assert "Ressource moissonnée le" in page
    assert f'href="{REGIONAL_URL}/ressources/{changed_id}"' in page
    record = client.get(
        f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:{changed_id}"
    ).get_data(as_text=True)
    assert f"<dc:source>{REGIONAL_URL}/ressources/{changed_id}</dc:source>" in record
    # Harvested again from here (a national instance of national instances), the
    # resource keeps its first origin.
    kb_record = client.get(
        f"/oai?verb=GetRecord&metadataPrefix=kb&identifier=oai:127.0.0.1:{changed_id}"
    ).get_data(as_text=True)
    assert f'<kb:champ nom="origine">{REGIONAL_URL}/ressources/{changed_id}</kb:champ>' in kb_record
    health = client.get("/healthz").get_json()
    assert health["moissons"]["regional"]["resultat"] == "reussie"
    assert health["moissons"]["regional"]["url"] == regional.url


def test_git_repository_of_the_harvest_gets_one_commit_per_run(regional, tmp_path, capsys):
    national = tmp_path / "national"
    time.sleep(1.1)  # OAI-PMH dates are in seconds (see above)
    assert harvest(regional.url, national) == 0
    repository = repository_path(national / "index", "regional")
    log = subprocess.run(
        ["git", f"--git-dir={repository}", "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    published = len(regional.metadata())
    assert len(log) == 1 and f"{published} ajoutées" in log[0]
    files = subprocess.run(
        ["git", f"--git-dir={repository}", "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len([f for f in files if not f.endswith("_centre.md")]) == published
    # Nothing changed: no new commit.
    assert harvest(regional.url, national) == 0
    log = subprocess.run(
        ["git", f"--git-dir={repository}", "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(log) == 1
    # A deletion: a second commit, without the file.
    removed = next(
        p for p in regional.content.glob("crpv-demo-nord/*.md") if p.name != "_centre.md"
    )
    removed.unlink()
    regional.reindex()
    assert harvest(regional.url, national) == 0
    tree = subprocess.run(
        ["git", f"--git-dir={repository}", "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert (
        f"crpv-demo-nord/{removed.name}" in files and f"crpv-demo-nord/{removed.name}" not in tree
    )
    assert len(tree) == len(files) - 1
    capsys.readouterr()
    assert cli.main(["moissonner", "--etat", "--json", "--index", str(national / "index")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [run["resultat"] for run in shown["regional"]["executions"]] == ["reussie"] * 3


def test_harvest_repository_is_published_as_one_of_the_sources(regional, tmp_path, capsys):
    """Without --sortie, the harvest repository is published as a source of the instance
    (publishing/sources.py), for the centres it holds; deletions follow."""
    if importlib.util.find_spec("publishing.sources") is None:
        # An instance without several sources says how to publish instead.
        assert harvest(regional.url, tmp_path / "national") == 0
        assert "--sortie" in capsys.readouterr().out
        return
    from publishing.sources import live_info

    national = tmp_path / "national"
    time.sleep(1.1)  # OAI-PMH dates are in seconds (see above)
    assert harvest(regional.url, national) == 0
    assert "Publication (" in capsys.readouterr().out
    original = regional.metadata()
    harvested = {m["id"]: m for m in SearchIndex(national / "index").all_metadata()}
    assert set(harvested) == set(original)
    for resource_id, meta in original.items():
        copy = harvested[resource_id]
        assert {k: copy[k] for k in COMPARED} == {k: meta[k] for k in COMPARED}, resource_id
    assert facets(national / "index") == facets(regional.index)
    record = live_info(national / "index")["sources"]["moisson-regional"]
    assert sorted(record["centres"]) == sorted({m["centre"] for m in original.values()})

    removed = next(
        p for p in regional.content.glob("crpv-demo-aura/*.md") if p.name != "_centre.md"
    )
    removed.unlink()
    regional.reindex()
    assert harvest(regional.url, national) == 0
    ids = {m["id"] for m in SearchIndex(national / "index").all_metadata()}
    assert f"crpv-demo-aura/{removed.stem}" not in ids
    assert ids == set(regional.metadata())

"""A generic OAI-PMH repository (`oai_dc` only; hand-written responses in
tests/fixtures/oai-dc served over local HTTP): its records become notices of one centre,
subjects map to the vocabularies, deletions apply, hand-written files are never replaced,
and a centre cannot push a file that carries the harvest mark."""

from __future__ import annotations

from pathlib import Path

import pytest
from harvest_support import OAIServer, Scenario
from publication_support import published_server

from kb import cli
from kb.loader import load_tree
from publishing.harvest import FolderOutput, Harvester, HarvestSettings, read_state
from publishing.notices import MappingError, SubjectMapping, notice_slug

FIXTURES = Path(__file__).parent / "fixtures" / "oai-dc"
CENTRE_CARD = '---\nnom: Centre de test\nregion: "32"\n---\n\nUn centre.\n'


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def catalogue():
    with OAIServer() as server:

        def records(args):
            if args.get("resumptionToken") == "page-2":
                return fixture("page-2.xml")
            if args.get("from"):
                return fixture("suite.xml")
            return fixture("page-1.xml")

        server.scenarios["catalogue"] = Scenario(
            {
                "Identify": fixture("identify.xml"),
                "ListMetadataFormats": fixture("formats.xml"),
                "ListRecords": records,
            }
        )
        yield server


def harvest(server, tmp_path, mapping: str | None = "correspondances.toml"):
    content = tmp_path / "contenu"
    return cli.main(
        [
            "moissonner",
            server.url("catalogue"),
            "--centre",
            "crpv-test",
            "--nom",
            "observatoire",
            "--sortie",
            str(content),
            "--index",
            str(tmp_path / "index"),
            "--content",
            str(content),
            *(["--correspondances", str(FIXTURES / mapping)] if mapping else []),
        ]
    )


def notices(content: Path) -> dict:
    result = load_tree(content)
    assert not result.errors, [p.format() for p in result.errors]
    harvested = [r for r in result.resources.values() if r.moisson]
    return {r.moisson.identifiant.rsplit(":", 1)[-1]: r for r in harvested}


def hand_written(tmp_path) -> Path:
    content = tmp_path / "contenu"
    slug = notice_slug("oai:catalogue.example.org:doc/104")
    path = content / "crpv-test" / "a-la-main" / f"{slug}.md"
    path.parent.mkdir(parents=True)
    (content / "crpv-test" / "_centre.md").write_text(CENTRE_CARD, encoding="utf-8")
    path.write_text(
        "---\ntitre: Écrite à la main\ntype: guide\ndate: 2024-01-01\n"
        "piliers: [cadre-de-vie]\nresume: Une fiche du centre.\n---\n\nTexte.\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("mapping", ["correspondances.toml", "correspondances.csv"])
def test_records_become_notices_with_mapped_subjects(catalogue, tmp_path, capsys, mapping):
    kept = hand_written(tmp_path)
    before = kept.read_bytes()
    assert harvest(catalogue, tmp_path, mapping) == 1  # one record could not be written
    captured = capsys.readouterr()
    assert "3 ajoutées" in captured.out
    assert "n'a pas été moissonné" in captured.err and "doc/104" in captured.err
    assert kept.read_bytes() == before  # never replaced

    found = notices(tmp_path / "contenu")
    assert set(found) == {"doc/101", "doc/102", "doc/103"}
    jardins = found["doc/101"]
    assert jardins.type == "notice" and jardins.centre == "crpv-test"
    assert jardins.date.isoformat() == "2024-05-14"
    assert jardins.auteurs == ("Martin, Claire", "Observatoire fictif des quartiers")
    # By label (Cohésion sociale, Transition écologique, Habitants) and by the table.
    assert jardins.piliers == ("cohesion-sociale",)
    assert jardins.thematiques == ("transition-ecologique",)
    assert jardins.publics == ("habitants",)
    assert jardins.mots_cles == ()
    assert jardins.territoire.departement == "59"
    assert jardins.origine == "https://catalogue.example.org/doc/101"
    assert jardins.licence == "Licence Ouverte 2.0"
    assert jardins.moisson.entrepot == catalogue.url("catalogue")
    clauses = found["doc/102"]
    assert clauses.piliers == ("developpement-economique",)
    assert clauses.thematiques == ("emploi-insertion",)
    assert clauses.territoire.region == "76"
    assert clauses.date.isoformat() == "2023-01-01"
    guide = found["doc/103"]
    assert guide.dispositifs == ("gusp",)  # by acronym
    assert guide.mots_cles == ("Propreté",)  # unmapped: a keyword
    assert guide.piliers == ()  # a notice may have none
    card = (tmp_path / "contenu" / "crpv-test" / "_centre.md").read_text(encoding="utf-8")
    assert card == CENTRE_CARD  # the centre's own card is kept


def test_second_run_is_incremental_and_applies_deletions(catalogue, tmp_path, capsys):
    assert harvest(catalogue, tmp_path, None) == 0
    first = read_state(tmp_path / "index", "observatoire")["dernier_succes"]
    assert first["depuis"] == "2026-12-01T10:00:00Z"  # the repository's clock
    card = (tmp_path / "contenu" / "crpv-test" / "_centre.md").read_text(encoding="utf-8")
    assert "Observatoire fictif des quartiers" in card  # named after the repository
    capsys.readouterr()

    assert harvest(catalogue, tmp_path, None) == 0
    assert "0 ajoutée, 1 modifiée, 1 supprimée" in capsys.readouterr().out
    calls = catalogue.scenarios["catalogue"].calls
    assert calls[-1]["from"] == "2026-12-01"  # day granularity, from Identify
    found = notices(tmp_path / "contenu")
    assert set(found) == {"doc/101", "doc/103", "doc/104"}
    assert found["doc/103"].titre.endswith("(2e édition)")
    assert "moisson-observatoire" in found["doc/103"].path

    assert cli.main(["moissonner", "--etat", "--index", str(tmp_path / "index")]) == 0
    shown = capsys.readouterr().out
    assert "observatoire" in shown and "1 supprimée" in shown


def test_a_broken_mapping_table_is_reported_at_its_line(tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("sujet;vocabulaire;identifiant\nJardins;thematiques;jardinage\n", "utf-8")
    with pytest.raises(MappingError) as raised:
        SubjectMapping.load(table)
    assert str(raised.value).startswith(f"{table}:2: erreur : « jardinage »")


def test_without_a_centre_a_generic_repository_is_refused(catalogue, tmp_path):
    settings = HarvestSettings(nom="observatoire", url=catalogue.url("catalogue"))
    output = FolderOutput(tmp_path / "sortie")
    report = Harvester(settings, tmp_path / "index", output).run()
    assert not report.ok and "--centre" in report.error
    assert not (tmp_path / "sortie").exists()


HARVESTED = """---
titre: Une notice moissonnée
type: notice
date: 2024-01-01
resume: Notice venue d'un autre catalogue.
moisson:
  entrepot: https://catalogue.example.org/oai
  identifiant: oai:catalogue.example.org:1
  recolte_le: 2026-12-01
---

Texte.
"""


def test_centres_cannot_push_harvested_files(tmp_path):
    server = published_server(tmp_path)
    clone = server.clone()
    clone.write("centre-alpha/notice.md", HARVESTED)
    clone.commit("Une notice contrefaite")
    push = clone.push("doc-alpha")
    assert not push.accepted
    assert "centre-alpha/notice.md: erreur : ressource moissonnée" in push.output

    # An administrator may (it is how a harvest lands in a single-repository instance).
    assert clone.push("admin-reseau").accepted
    assert "centre-alpha/notice" in server.search_ids()
    # A centre can neither change it, even by removing the mark, nor delete it.
    edit = server.clone()
    edit.write("centre-alpha/notice.md", HARVESTED.replace("moisson:", "ancienne:"))
    edit.commit("Retouche")
    assert "ressource moissonnée" in edit.push("doc-alpha").output
    edit.update()
    edit.remove("centre-alpha/notice.md")
    edit.commit("Suppression")
    refused = edit.push("doc-alpha")
    assert not refused.accepted and "ressource moissonnée" in refused.output


def test_configured_harvests_run_one_after_the_other(catalogue, tmp_path, capsys):
    catalogue.scenarios["panne"] = Scenario({"Identify": (404, {}, b"introuvable")})
    config = tmp_path / "kb.toml"
    config.write_text(
        f"""
[[moissons]]
nom = "panne"
url = "{catalogue.url("panne")}"
centre = "crpv-panne"

[[moissons]]
nom = "observatoire"
url = "{catalogue.url("catalogue")}"
centre = "crpv-test"
correspondances = "{FIXTURES / "correspondances.toml"}"
""",
        encoding="utf-8",
    )
    content = tmp_path / "contenu"
    options = ["--config", str(config), "--index", str(tmp_path / "index")]
    assert cli.main(["moissonner", "--sortie", str(content), *options]) == 1
    captured = capsys.readouterr()
    assert "moisson « panne »" in captured.err and "HTTP 404" in captured.err
    assert "Moisson « observatoire » (oai_dc) : 4 ajoutées" in captured.out
    assert set(notices(content)) == {"doc/101", "doc/102", "doc/103", "doc/104"}
    assert notices(content)["doc/101"].thematiques == ("transition-ecologique",)
    assert cli.main(["moissonner", "--etat", *options]) == 0
    shown = capsys.readouterr().out
    assert "panne" in shown and "echec" in shown and "reussie" in shown


def test_a_configuration_error_is_reported_in_french(tmp_path, capsys):
    config = tmp_path / "kb.toml"
    config.write_text('[[moissons]]\nnom = "Mauvais Nom"\nurl = "ftp://x"\n', encoding="utf-8")
    assert cli.main(["moissonner", "--config", str(config), "--index", str(tmp_path)]) == 2
    assert "« nom » manquant ou invalide" in capsys.readouterr().err

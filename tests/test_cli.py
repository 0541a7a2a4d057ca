"""The `kb` command: `kb check` (exit codes, text and JSON output), `kb new`, and settings."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

from kb.config import ConfigError, load_settings
from kb.french import plural
from kb.loader import load_tree

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"

CENTRE = '---\nnom: Centre A\nregion: "32"\n---\n\nPrésentation.\n'
RESOURCE = """---
titre: Titre
type: guide
date: 2024-01-15
piliers: [cadre-de-vie]
resume: Un résumé.
{extra}---

Texte.
"""
# `path:line: gravité : message`, the line being absent when it cannot be known.
PROBLEM_LINE = re.compile(
    r"^(?P<path>[^:\s][^:]*?)(?::(?P<line>[1-9]\d*))?: (?P<severity>erreur|avertissement) : "
    r"(?P<message>\S.*)$"
)
SECTIONS = [
    "Contexte",
    "Objectifs",
    "Mise en œuvre",
    "Partenaires et moyens",
    "Résultats",
    "Enseignements",
    "Pour aller plus loin",
]


def line_of(file: Path, needle: str) -> int:
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {file}")


# --- kb check: exit codes ----------------------------------------------------------------------


def test_check_clean_tree(run_kb) -> None:
    run = run_kb("check", "--content", VALID)
    assert run.code == 0
    assert run.out == ""
    assert run.err == (
        "4 ressources publiables, 1 brouillon, 2 centres ; 0 erreur, 0 avertissement.\n"
    )


def test_check_with_warnings_only_succeeds(run_kb, make_tree) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": RESOURCE.format(extra="thematique: [sante]\n")}
    )
    run = run_kb("check", "--content", root)
    assert run.code == 0
    assert run.out == (
        "ca/fiche.md:7: avertissement : clé inconnue « thematique » (ignorée) "
        "(vouliez-vous dire « thematiques » ?)\n"
    )
    assert "0 erreur, 1 avertissement." in run.err


def test_check_with_errors_fails(run_kb, make_tree) -> None:
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/bonne.md": RESOURCE.format(extra=""),
            "ca/fiche.md": RESOURCE.format(extra="").replace("2024-01-15", "2024-13-45"),
        }
    )
    run = run_kb("check", "--content", root)
    assert run.code == 1
    assert run.out == (
        "ca/fiche.md:4: erreur : « date » : date invalide « 2024-13-45 » "
        "(format attendu AAAA-MM-JJ, date existante)\n"
    )
    assert run.err == (
        "1 ressource publiable, 0 brouillon, 1 centre ; 1 erreur, 0 avertissement.\n"
    )


def test_check_summary_uses_french_plurals(run_kb, make_tree) -> None:
    one = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": RESOURCE.format(extra="")})
    run = run_kb("check", "--content", one)
    assert run.err == "1 ressource publiable, 0 brouillon, 1 centre ; 0 erreur, 0 avertissement.\n"
    two = make_tree(
        {
            "cb/_centre.md": CENTRE,
            "cb/autre.md": RESOURCE.format(extra="statut: brouillon\n"),
            "cb/brouillon.md": RESOURCE.format(extra="statut: brouillon\n"),
            "cb/fiche.md": RESOURCE.format(extra="thematique: x\nmot_cles: y\n"),
            "cb/vide.md": "",
            "cb/autre-vide.md": "",
        }
    )
    run = run_kb("check", "--content", two)
    assert run.err == (
        "2 ressources publiables, 2 brouillons, 2 centres ; 2 erreurs, 2 avertissements.\n"
    )


def test_french_counts() -> None:
    assert plural(0, "erreur") == "0 erreur"
    assert plural(1, "ressource publiée", "ressources publiées") == "1 ressource publiée"
    assert plural(2, "ressource publiée", "ressources publiées") == "2 ressources publiées"
    assert plural(39_999, "avertissement") == "39\u202f999 avertissements"
    with pytest.raises(ValueError):
        plural(2, "mise à jour")  # a phrase needs its plural form


def test_check_repeated_problems_are_summed_up(run_kb, make_tree) -> None:
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/fiche.md": RESOURCE.format(extra="") + "[b](bilan.pdf) " * 600 + "\n",
            # 40,000 times: more than a sheet may hold, one error instead of 40,000 warnings
            "ca/enorme.md": RESOURCE.format(extra="") + "[b](bilan.pdf) " * 40_000 + "\n",
        }
    )
    run = run_kb("check", "--content", root)
    assert run.out == (
        "ca/enorme.md:10: erreur : texte de plus de 200\u202f000 caractères (600\u202f008) : "
        "placez le document complet en pièce jointe (PDF) et gardez-en un résumé\n"
        "ca/fiche.md:10: avertissement : lien « bilan.pdf » : fichier introuvable (ca/bilan.pdf)\n"
        "ca/fiche.md:10: avertissement : … et 599 autres avertissements identiques\n"
    )
    assert run.err.endswith("1 erreur, 2 avertissements.\n")


def test_check_problem_without_a_line(run_kb, make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/vide.md": ""})
    run = run_kb("check", "--content", root)
    assert run.code == 1
    assert run.out == "ca/vide.md: erreur : le fichier est vide\n"


def test_check_text_output_on_the_broken_tree(run_kb) -> None:
    run = run_kb("check", "--content", BROKEN)
    assert run.code == 1
    lines = run.out.splitlines()
    expected = load_tree(BROKEN).problems
    assert len(lines) == len(expected)
    for line, problem in zip(lines, expected, strict=True):
        match = PROBLEM_LINE.match(line)
        assert match, line
        assert match["path"] == problem.path
        assert match["line"] == (str(problem.line) if problem.line else None)
        assert match["severity"] == problem.severity.value
        assert match["message"].startswith(problem.message)
    assert (
        "centre-test/vocabulaire-faute.md:5: erreur : « cohesion-social » n'est pas une valeur "
        "connue de « piliers » (vocabulaire piliers) (vouliez-vous dire « cohesion-sociale » ?)"
    ) in lines


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--format", "xml"],
        ["check", "--inconnue"],
        ["frobnicate"],
        [],
        ["new", "--centre", "ca"],
    ],
    ids=["format", "option", "commande", "rien", "new-incomplet"],
)
def test_usage_errors_exit_2(run_kb, args: list[str]) -> None:
    run = run_kb(*args)
    assert run.code == 2
    assert "erreur" in run.err
    assert run.out == ""


def test_check_missing_content_folder_exits_2(run_kb, tmp_path: Path) -> None:
    run = run_kb("check", "--content", tmp_path / "absent")
    assert run.code == 2
    assert run.err == f"erreur : dossier de contenu introuvable : {tmp_path / 'absent'}\n"


# --- kb check --format json --------------------------------------------------------------------


def test_check_json_output(run_kb) -> None:
    run = run_kb("check", "--content", BROKEN, "--format", "json")
    assert run.code == 1
    problems = json.loads(run.out)  # stdout holds the JSON and nothing else
    assert isinstance(problems, list) and problems
    for item in problems:
        assert set(item) == {"fichier", "ligne", "gravite", "message", "suggestion"}
        assert item["gravite"] in ("erreur", "avertissement")
        assert item["ligne"] is None or isinstance(item["ligne"], int)
    assert {
        "fichier": "centre-test/vocabulaire-faute.md",
        "ligne": 5,
        "gravite": "erreur",
        "message": "« cohesion-social » n'est pas une valeur connue de « piliers » "
        "(vocabulaire piliers)",
        "suggestion": "cohesion-sociale",
    } in problems
    assert {
        "fichier": "centre-test/a/doublon.md",
        "ligne": None,
        "gravite": "erreur",
        "message": "identifiant « centre-test/doublon » en double (aussi : "
        "centre-test/b/doublon.md) : deux fichiers d'un même centre ne peuvent avoir le même nom",
        "suggestion": None,
    } in problems
    assert problems == [p.as_json() for p in load_tree(BROKEN).problems]


def test_check_json_output_keeps_french_characters(run_kb) -> None:
    run = run_kb("check", "--content", BROKEN, "--format", "json")
    assert "« cohesion-social »" in run.out  # not \u00ab escapes


def test_check_json_clean_tree(run_kb) -> None:
    run = run_kb("check", "--content", VALID, "--format", "json")
    assert run.code == 0
    assert json.loads(run.out) == []


def test_check_json_warnings_only(run_kb, make_tree) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": RESOURCE.format(extra="thematique: [sante]\n")}
    )
    run = run_kb("check", "--content", root, "--format", "json")
    assert run.code == 0
    assert json.loads(run.out) == [
        {
            "fichier": "ca/fiche.md",
            "ligne": 7,
            "gravite": "avertissement",
            "message": "clé inconnue « thematique » (ignorée)",
            "suggestion": "thematiques",
        }
    ]


# --- kb new --------------------------------------------------------------------------------------


@pytest.fixture
def content(make_tree) -> Path:
    return make_tree({"ca/_centre.md": CENTRE, "ca/sous/existante.md": RESOURCE.format(extra="")})


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_new_creates_a_resource_from_the_title(run_kb, content: Path) -> None:
    titre = "Réussite éducative : l'été des « quartiers » !"
    run = run_kb("new", "--content", content, "--centre", "ca", "--type", "guide", "--titre", titre)
    target = content / "ca" / "reussite-educative-l-ete-des-quartiers.md"
    assert run.code == 0, run.err
    assert run.out == (
        f"Ressource créée : {target} (brouillon : elle ne sera pas publiée)\n"
        "Complétez les champs « À compléter », passez « statut » à « publie », puis lancez : "
        "kb check\n"
    )
    meta = _front_matter(target)
    assert meta["titre"] == titre
    assert meta["type"] == "guide"
    assert meta["date"] == dt.date.today()
    assert meta["piliers"] == []
    assert "resume" in meta
    assert meta["statut"] == "brouillon"  # never online before it is completed
    assert meta["territoire"] == {"region": "32"}  # taken from the centre card
    body = target.read_text(encoding="utf-8").split("---\n", 2)[2]
    assert re.findall(r"^## (.+)$", body, re.MULTILINE) == SECTIONS


def test_new_file_gives_exactly_the_expected_problems(run_kb, content: Path) -> None:
    run_kb("new", "--content", content, "--centre", "ca", "--type", "etude", "--titre", "Mon étude")
    target = content / "ca" / "mon-etude.md"
    expected_error = {
        "fichier": "ca/mon-etude.md",
        "ligne": line_of(target, "piliers:"),
        "gravite": "erreur",
        "message": "« piliers » est vide : indiquez au moins une valeur",
        "suggestion": None,
    }
    run = run_kb("check", "--content", content, "--format", "json")
    assert run.code == 1
    assert json.loads(run.out) == [expected_error]  # a draft: placeholders are expected
    # Once marked for publication, the placeholders left are pointed out (an error only
    # on the published branch, see tests/test_publication_drafts.py).
    target.write_text(
        target.read_text(encoding="utf-8").replace("statut: brouillon", "statut: publie")
    )
    run = run_kb("check", "--content", content, "--format", "json")
    assert json.loads(run.out) == [expected_error] + [
        {
            "fichier": "ca/mon-etude.md",
            "ligne": line,
            "gravite": "avertissement",
            "message": message,
            "suggestion": None,
        }
        for line, message in [
            (line_of(target, "resume:"), "« resume » contient encore « À compléter »"),
            (line_of(target, "porteur:"), "« porteur » contient encore « À compléter »"),
            (line_of(target, "À compléter."), "« texte » contient encore « À compléter »"),
        ]
    ]


def test_new_file_passes_once_completed(run_kb, content: Path) -> None:
    run_kb("new", "--content", content, "--centre", "ca", "--type", "etude", "--titre", "Mon étude")
    target = content / "ca" / "mon-etude.md"
    text = target.read_text(encoding="utf-8")
    text = text.replace("piliers: []", "piliers: [cohesion-sociale]")
    text = re.sub(r"À compléter[^\n]*", "Texte rédigé.", text)
    text = text.replace("statut: brouillon", "statut: publie")
    target.write_text(text, encoding="utf-8")
    run = run_kb("check", "--content", content)
    assert (run.code, run.out) == (0, "")
    assert load_tree(content).resources["ca/mon-etude"].titre == "Mon étude"
    assert load_tree(content).resources["ca/mon-etude"].is_published


def test_new_with_piliers_option(run_kb, content: Path) -> None:
    run = run_kb(
        "new",
        *("--content", content, "--centre", "ca", "--type", "guide", "--titre", "Deux piliers"),
        *("--pilier", "cadre-de-vie", "--pilier", "developpement-economique"),
    )
    assert run.code == 0
    assert _front_matter(content / "ca" / "deux-piliers.md")["piliers"] == [
        "cadre-de-vie",
        "developpement-economique",
    ]
    check = run_kb("check", "--content", content, "--format", "json")
    assert (check.code, json.loads(check.out)) == (0, [])  # a valid draft


def test_new_refuses_to_overwrite(run_kb, content: Path) -> None:
    args = ("new", "--content", content, "--centre", "ca", "--type", "guide", "--titre", "Fiche")
    assert run_kb(*args).code == 0
    target = content / "ca" / "fiche.md"
    target.write_text("déjà modifiée", encoding="utf-8")
    run = run_kb(*args)
    assert run.code == 1
    assert run.err == (
        "erreur : la ressource ca/fiche existe déjà (ca/fiche.md) : rien n'a été écrit\n"
    )
    assert target.read_text(encoding="utf-8") == "déjà modifiée"


def test_new_refuses_a_slug_existing_in_a_sub_folder(run_kb, content: Path) -> None:
    run = run_kb(
        "new", "--content", content, "--centre", "ca", "--type", "guide", "--titre", "Existante !"
    )
    assert run.code == 1
    assert run.err == (
        "erreur : la ressource ca/existante existe déjà (ca/sous/existante.md) : "
        "rien n'a été écrit\n"
    )
    assert not (content / "ca" / "existante.md").exists()


@pytest.mark.parametrize("centre", ["zz", "../ca", "CA"])
def test_new_unknown_centre(run_kb, content: Path, centre: str) -> None:
    run = run_kb(
        "new", "--content", content, "--centre", centre, "--type", "guide", "--titre", "Fiche"
    )
    assert run.code == 1
    assert run.err == (
        f"erreur : centre inconnu « {centre} » (pas de {centre}/_centre.md). Centres : ca\n"
    )
    assert sorted(p.name for p in content.rglob("*.md")) == ["_centre.md", "existante.md"]


@pytest.mark.parametrize("titre", ["!!!", "   ", "a" * 201])
def test_new_rejects_unusable_titles(run_kb, content: Path, titre: str) -> None:
    run = run_kb("new", "--content", content, "--centre", "ca", "--type", "guide", "--titre", titre)
    assert run.code == 1
    assert run.err == "erreur : le titre doit contenir des lettres et 200 caractères au plus\n"


def test_new_unknown_type_is_a_usage_error(run_kb, content: Path) -> None:
    run = run_kb("new", "--content", content, "--centre", "ca", "--type", "roman", "--titre", "X")
    assert run.code == 2
    assert "choix invalide : 'roman'" in run.err


def test_new_title_with_yaml_special_characters_round_trips(run_kb, content: Path) -> None:
    titre = 'Tarif: 10 % # "citation" [note] {x} & *y'
    run = run_kb("new", "--content", content, "--centre", "ca", "--type", "guide", "--titre", titre)
    assert run.code == 0
    meta = _front_matter(content / "ca" / "tarif-10-citation-note-x-y.md")
    assert meta["titre"] == titre


# --- settings: command line > environment > kb.toml > default ----------------------------------


def test_default_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.content == Path("content")
    assert settings.index == Path("instance/index")
    assert settings.config_file is None
    assert settings.warnings == ()


def test_settings_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kb.toml").write_text('contenu = "du-fichier"\nindex = "index-du-fichier"\n')
    from_file = load_settings(environ={})
    assert from_file.config_file == Path("kb.toml")
    assert (from_file.content, from_file.index) == (Path("du-fichier"), Path("index-du-fichier"))
    env = {"KB_CONTENT": "de-l-environnement"}
    from_env = load_settings(environ=env)
    assert from_env.content == Path("de-l-environnement")
    assert from_env.index == Path("index-du-fichier")
    from_option = load_settings({"contenu": "de-l-option", "index": None}, environ=env)
    assert from_option.content == Path("de-l-option")
    assert from_option.index == Path("index-du-fichier")


def test_config_file_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "kb.toml"
    config.parent.mkdir()
    config.write_text('contenu = "../arbre"\n')
    settings = load_settings(environ={}, config_file=config)
    assert settings.content == tmp_path / "conf" / "../arbre"


def test_config_file_from_environment_and_option(tmp_path: Path) -> None:
    (tmp_path / "env.toml").write_text('url_site = "https://env.example.org/"\n')
    (tmp_path / "opt.toml").write_text('url_site = "https://opt.example.org"\n')
    environ = {"KB_CONFIG": str(tmp_path / "env.toml")}
    assert load_settings(environ=environ).site_url == "https://env.example.org"
    chosen = load_settings(environ=environ, config_file=tmp_path / "opt.toml")
    assert chosen.site_url == "https://opt.example.org"


def test_unknown_config_keys_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text('contenu = "c"\ncouleur = "bleu"\n[publication]\nbranch = "main"\n')
    settings = load_settings(environ={}, config_file=config)
    assert settings.warnings == (
        f"{config} : clé de configuration inconnue « couleur » (ignorée)",
        f"{config} : clé de configuration inconnue « publication.branch » (ignorée)",
    )
    assert settings.content == tmp_path / "c"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contenu = [", "configuration TOML invalide"),
        (None, "fichier de configuration introuvable"),
    ],
)
def test_unusable_config_file(tmp_path: Path, text: str | None, message: str) -> None:
    config = tmp_path / "kb.toml"
    if text is not None:
        config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, config_file=config)


def test_cli_uses_the_same_precedence(
    run_kb, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kb.toml").write_text(f'contenu = "{BROKEN.as_posix()}"\n')
    assert run_kb("check").code == 1  # kb.toml -> the broken tree
    monkeypatch.setenv("KB_CONTENT", str(VALID))
    assert run_kb("check").code == 0  # the environment wins over the file
    assert run_kb("check", "--content", BROKEN).code == 1  # the option wins over both
    assert run_kb("check", "--content", tmp_path / "absent").code == 2


def test_cli_reports_unknown_config_keys_on_stderr(run_kb, tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text(f'contenu = "{VALID.as_posix()}"\ncontneu = "x"\n')
    run = run_kb("check", "--config", config)
    assert run.code == 0
    assert run.err.startswith(
        f"avertissement : {config} : clé de configuration inconnue « contneu » (ignorée)\n"
    )


def test_cli_invalid_config_file_exits_2(run_kb, tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text("contenu = \n")
    run = run_kb("check", "--config", config)
    assert run.code == 2
    assert run.err.startswith(f"erreur : {config} : configuration TOML invalide")


def test_recommended_sections_are_those_of_the_format():
    from kb.schema import RECOMMENDED_SECTIONS

    assert list(RECOMMENDED_SECTIONS) == SECTIONS


def test_check_with_a_relative_index_folder(
    run_kb, copy_fixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `kb serve` then `kb check` in a fresh checkout: the default index is relative
    # (instance/index), and comparing with the published ids used to raise a traceback.
    copy_fixture("valid")
    monkeypatch.chdir(tmp_path)
    assert run_kb("index", "--content", "valid", "--index", "instance/index").code == 0
    run = run_kb("check", "--content", "valid", "--index", "instance/index")
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert "4 ressources publiables" in run.err
    monkeypatch.setenv("KB_CONTENT", "valid")  # the defaults: ./instance/index
    run = run_kb("check")
    assert run.code == 0, run.err


def test_settings_tell_which_values_were_given(tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text('url_sources = "https://forge.example.org/{chemin}"\n')
    settings = load_settings({"index": "ailleurs"}, environ={}, config_file=config)
    assert settings.is_set("index") and settings.is_set("url_sources")
    assert not settings.is_set("url_site") and not settings.is_set("contenu")
    assert settings.site_url == "http://127.0.0.1:5000"
    from_env = load_settings(environ={"KB_SITE_URL": "https://kb.example.org/"})
    assert from_env.is_set("url_site") and from_env.site_url == "https://kb.example.org"


def test_each_command_loads_only_its_module() -> None:
    """`kb.cli.COMMANDS` names, for every command, the one module that registers it: a
    command line then imports that module alone (the git hooks start `kb hooks` on each
    push), and the table cannot drift from what the modules register."""
    import argparse
    import subprocess
    import sys

    from kb import cli

    registered: dict[str, str] = {}
    for module_name in cli.COMMAND_MODULES:
        parser = cli.build_parser([module_name])
        [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for name in action.choices:
            registered[name] = module_name
    assert registered == cli.COMMANDS

    # With only the modules it loads, each command is set up as with all of them.
    def defaults(parser: argparse.ArgumentParser) -> dict[str, dict]:
        [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return {
            name: {
                key: getattr(value, "__qualname__", value) for key, value in sub._defaults.items()
            }
            for name, sub in action.choices.items()
        }

    complete = defaults(cli.build_parser())
    for name in cli.COMMANDS:
        assert defaults(cli.build_parser(cli.modules_for([name])))[name] == complete[name], name
    assert cli.modules_for(["hooks", "pre-receive", "--index", "x"]) == ("publishing.commands",)
    assert cli.modules_for(["--help"]) == cli.COMMAND_MODULES
    assert cli.modules_for(["inconnue"]) == cli.COMMAND_MODULES
    # A hook's command line does not import the search engine, Flask or the alerts.
    probe = (
        "import sys\nfrom kb import cli\ncli.build_parser(cli.modules_for(['hooks', 'x']))\n"
        "print(sorted(m for m in ('whoosh', 'flask', 'alerts', 'webapp') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

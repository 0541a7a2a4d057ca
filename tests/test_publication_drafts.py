"""Drafts and previews: `kb new` writes a draft, the template's placeholders cannot go
online, the content repository's template keeps workstation files out of pushes, and
`kb apercu` previews a clone without writing inside it. Real git, real hooks."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from publication_support import GitServer, git, git_environment, published_server, resource

from kb import cli
from kb.loader import slugify
from kb.publication import PUSHER_VARIABLES


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> GitServer:
    return published_server(tmp_path)


def new_sheet(clone: Path, titre: str) -> Path:
    code = cli.main(
        ["new", "--content", str(clone), "--centre", "centre-alpha", "--type", "guide"]
        + ["--pilier", "cohesion-sociale", "--titre", titre]
    )
    assert code == 0
    return clone / "centre-alpha" / f"{slugify(titre)}.md"


def test_a_new_sheet_is_a_draft_and_placeholders_cannot_go_online(server: GitServer) -> None:
    alpha = server.clone()
    sheet = new_sheet(alpha.path, "Un guide des jardins d'hiver")
    assert "statut: brouillon" in sheet.read_text(encoding="utf-8")
    alpha.commit("Brouillon")

    push = alpha.push("doc-alpha")  # a draft is accepted, and stays offline
    assert push.accepted, push.output
    assert server.search_ids("hiver") == set()

    sheet.write_text(
        sheet.read_text(encoding="utf-8").replace("statut: brouillon", "statut: publie")
    )
    alpha.commit("Publication trop rapide")
    before = server.main_commit()
    push = alpha.push("doc-alpha")
    assert not push.accepted
    relative = sheet.relative_to(alpha.path).as_posix()
    for field in ("resume", "porteur", "texte"):
        assert (
            f"erreur : « {field} » contient encore « À compléter » : une fiche publiée ne peut "
            "pas garder les textes du modèle ; complétez-la, ou laissez-la en « statut: "
            "brouillon »" in push.output
        ), field
    assert f"remote: {relative}:" in push.output
    assert server.main_commit() == before
    assert server.search_ids("hiver") == set()

    text = sheet.read_text(encoding="utf-8")
    text = text.replace("porteur: À compléter", "porteur: Centre alpha")
    text = text.replace(
        "À compléter : deux à cinq phrases en texte simple qui disent ce que l'action apporte.",
        "Un guide pour jardiner en hiver.",
    )
    text = text.replace("À compléter.", "Les jardins d'hiver du quartier.")
    sheet.write_text(text, encoding="utf-8")
    alpha.commit("Fiche complétée")
    push = alpha.push("doc-alpha")
    assert push.accepted, push.output
    assert server.search_ids("hiver") == {f"centre-alpha/{sheet.stem}"}


def test_a_sentence_saying_a_compléter_is_not_a_placeholder(server: GitServer) -> None:
    alpha = server.clone()
    alpha.write(
        "centre-alpha/bilan.md",
        resource("Un bilan d'étape", body="À compléter avec le bilan de la deuxième année."),
    )
    alpha.commit()
    push = alpha.push("doc-alpha")
    assert push.accepted, push.output
    assert "avertissement : « texte » contient encore « À compléter »" in push.output


def test_the_repository_template_keeps_a_local_index_out_of_pushes(run_kb, tmp_path: Path) -> None:
    depot = tmp_path / "contenu"
    run = run_kb("depot", "init", depot)
    assert run.code == 0, run.err
    assert (depot / ".git").is_dir()
    ignored = (depot / ".gitignore").read_text(encoding="utf-8").splitlines()
    for entry in ("instance/", ".venv/", "__pycache__/", ".DS_Store"):
        assert entry in ignored
    (depot / "instance" / "index").mkdir(parents=True)
    (depot / "instance" / "index" / "ACTUEL").write_text("gen-000001\n")
    status = git("status", "--porcelain", "--untracked-files=all", cwd=depot)
    assert "instance" not in status and ".gitignore" in status

    # An existing .gitignore is completed, never replaced.
    (depot / ".gitignore").write_text("*.bak\n", encoding="utf-8")
    assert run_kb("depot", "init", depot).code == 0
    lines = (depot / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "*.bak" and "instance/" in lines


def test_an_index_inside_the_content_folder_is_refused(run_kb, tmp_path: Path) -> None:
    content = tmp_path / "clone"
    (content / "centre-alpha").mkdir(parents=True)
    (content / "centre-alpha" / "_centre.md").write_text("---\nnom: Alpha\n---\n")
    for command in ("index", "search"):
        run = run_kb(command, "--content", content, "--index", content / "instance" / "index")
        assert run.code == 1
        assert "serait écrit dans le dossier de contenu" in run.err
        assert "kb apercu" in run.err
    assert not (content / "instance").exists()


def test_apercu_serves_a_clone_without_writing_inside_it(server: GitServer, tmp_path: Path) -> None:
    alpha = server.clone()
    alpha.write("centre-alpha/patinoire.md", resource("Une patinoire éphémère au quartier"))
    before = git("status", "--porcelain", "--ignored", "--untracked-files=all", cwd=alpha.path)
    cache = tmp_path / "cache"
    env = git_environment(XDG_CACHE_HOME=str(cache))
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "apercu", "--content", str(alpha.path)],
        cwd=alpha.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "kb apercu s'est arrêté"
            if "disponible sur " in line:
                url = line.split("disponible sur ", 1)[1].strip()
        assert url is not None and url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "recherche?q=patinoire", timeout=30) as response:
            page = response.read().decode("utf-8")
        assert "/ressources/centre-alpha/patinoire" in page
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    after = git("status", "--porcelain", "--ignored", "--untracked-files=all", cwd=alpha.path)
    assert after == before  # nothing written in the clone
    assert list(cache.glob("crpv-kb/apercu/*/index/ACTUEL"))

"""`kb hooks install`, the git tree source, the `[publication]` settings and their docs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from publication_support import GitServer, git, git_environment, resource

from kb.config import SETTINGS, ConfigError, load_settings
from kb.gitsource import Git, GitTreeSource
from kb.loader import Loader, load_tree
from kb.publication import PUSHER_VARIABLES, PublicationSettings

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


def install(run_kb, server: GitServer, *extra: str):
    return run_kb(
        "hooks",
        "install",
        server.bare,
        "--deploy",
        server.deploy,
        "--index",
        server.index,
        "--config",
        server.config,
        *extra,
    )


def test_install_writes_executable_hooks_with_absolute_paths(run_kb, tmp_path: Path) -> None:
    server = GitServer(tmp_path).create()
    run = install(run_kb, server)
    assert run.code == 0, run.err
    assert "pre-receive : installé" in run.out and "post-receive : installé" in run.out
    assert f"kb sync --remote {server.bare}" in run.out  # main already holds content
    for name in ("pre-receive", "post-receive"):
        hook = server.bare / "hooks" / name
        assert hook.stat().st_mode & stat.S_IXUSR
        text = hook.read_text(encoding="utf-8")
        assert f"exec {sys.executable} -P -m kb.cli hooks {name} " in text
        for path in (server.deploy, server.index, server.config):
            assert str(path.resolve()) in text


def test_install_is_idempotent(run_kb, tmp_path: Path) -> None:
    server = GitServer(tmp_path).create()
    assert install(run_kb, server).code == 0
    before = {p.name: p.read_bytes() for p in (server.bare / "hooks").iterdir()}
    again = install(run_kb, server)
    assert again.code == 0
    assert again.out.count("déjà installé, inchangé") == 2
    assert {p.name: p.read_bytes() for p in (server.bare / "hooks").iterdir()} == before


def test_install_refuses_a_foreign_hook_unless_asked_to_chain_it(run_kb, tmp_path: Path) -> None:
    server = GitServer(tmp_path).create()
    foreign = server.bare / "hooks" / "pre-receive"
    ran = tmp_path / "ancien-crochet-lance"
    foreign.write_text(
        "#!/bin/sh\n"
        f"cat > {ran}\n"
        f"read old new ref < {ran}\n"
        'if [ "$(git log --format=%s -1 "$new")" = INTERDIT ]; then\n'
        '  echo "refusé par le crochet maison"; exit 1\n'
        "fi\n",
        encoding="utf-8",
    )
    foreign.chmod(0o755)
    original = foreign.read_bytes()

    refused = install(run_kb, server)
    assert refused.code == 1
    assert "un crochet existe déjà et n'a pas été installé par kb" in refused.err
    assert "--chainer" in refused.err
    assert foreign.read_bytes() == original
    assert not (server.bare / "hooks" / "post-receive").exists()  # nothing half-installed

    chained = install(run_kb, server, "--chainer")
    assert chained.code == 0, chained.err
    kept = server.bare / "hooks" / "pre-receive.avant-kb"
    assert kept.read_bytes() == original
    assert f"conservé sous {kept}" in chained.out
    assert f"--precedent {kept}" in foreign.read_text(encoding="utf-8")
    assert install(run_kb, server, "--chainer").out.count("déjà installé, inchangé") == 2
    assert run_kb("sync", "--remote", server.bare, *server.kb_options()).code == 0

    clone = server.clone()
    clone.write("centre-alpha/fiche-maison.md", resource("Une fiche sur le chant"))
    clone.commit("INTERDIT")
    push = clone.push("doc-alpha")
    assert not push.accepted
    assert "refusé par le crochet maison" in push.output
    assert ran.read_text().endswith(" refs/heads/main\n")  # same input as ours

    git("commit", "-q", "--amend", "-m", "Autorisé", cwd=clone.path)
    push = clone.push("doc-alpha")
    assert push.accepted, push.output
    assert "1 ressource publiée" in push.output


def test_forges_with_hook_folders_get_a_script_in_them(run_kb, tmp_path: Path) -> None:
    server = GitServer(tmp_path).create()
    hooks = server.bare / "hooks"
    for name in ("pre-receive", "post-receive"):
        (hooks / f"{name}.d").mkdir()
        (hooks / name).write_text("#!/bin/sh\n# crochet de la forge\n", encoding="utf-8")
    run = install(run_kb, server)
    assert run.code == 0, run.err
    assert (hooks / "pre-receive.d" / "kb").read_text().count("hooks pre-receive") == 1
    assert (hooks / "post-receive.d" / "kb").is_file()
    assert (hooks / "pre-receive").read_text() == "#!/bin/sh\n# crochet de la forge\n"


def test_install_needs_a_bare_repository_and_a_configuration(
    run_kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = GitServer(tmp_path).create()
    not_bare = run_kb("hooks", "install", tmp_path, "--config", server.config)
    assert not_bare.code == 1
    assert "n'est pas un dépôt git nu" in not_bare.err
    monkeypatch.chdir(server.bare)  # no kb.toml here
    no_config = run_kb("hooks", "install", server.bare, "--deploy", server.deploy)
    assert no_config.code == 2
    assert "indiquez le fichier de configuration du serveur avec --config" in no_config.err
    nested = run_kb(
        "hooks",
        "install",
        server.bare,
        "--deploy",
        tmp_path / "site",
        "--index",
        tmp_path / "site" / "index",
        "--config",
        server.config,
    )
    assert nested.code == 1
    assert "ne doit pas être dans le dossier de déploiement" in nested.err


def test_install_warns_when_no_account_may_publish(run_kb, tmp_path: Path) -> None:
    server = GitServer(tmp_path).create()
    server.config.write_text('[publication]\nbranche = "main"\n', encoding="utf-8")
    run = install(run_kb, server)
    assert run.code == 0
    assert "aucun compte dans [publication.comptes]" in run.err


# --- the git tree source: the same validator as `kb check` ----------------------------------


@pytest.mark.parametrize("fixture", ["valid", "broken", "recherche"])
def test_a_git_tree_loads_exactly_like_the_folder(fixture: str, tmp_path: Path) -> None:
    server = GitServer(tmp_path).create(fixture)
    from_folder = load_tree(FIXTURES / fixture)
    git_repo = Git(server.bare)
    with GitTreeSource(git_repo, server.main_commit()) as source:
        from_git = Loader(source).load()
    assert [p.format() for p in from_git.problems] == [p.format() for p in from_folder.problems]
    assert from_git.resources.keys() == from_folder.resources.keys()
    assert from_git.centres.keys() == from_folder.centres.keys()


def test_symlinks_in_a_git_tree_are_judged_like_on_disk(tmp_path: Path) -> None:
    tree = tmp_path / "arbre"
    (tree / "centre-alpha").mkdir(parents=True)
    for name in ("_centre.md", "jardins-partages.md"):
        (tree / "centre-alpha" / name).write_bytes(
            (FIXTURES / "valid" / "centre-alpha" / name).read_bytes()
        )
    (tree / "centre-alpha" / "dedans.md").symlink_to("jardins-partages.md")
    (tree / "centre-alpha" / "dehors.md").symlink_to("/etc/passwd")
    (tree / "centre-alpha" / "remonte.md").symlink_to("../../secret.md")
    git("init", "-q", tree, cwd=tmp_path)
    git("add", "-A", cwd=tree)
    git("commit", "-q", "-m", "liens", cwd=tree)
    on_disk = load_tree(tree)
    git_repo = Git(tree / ".git")
    with GitTreeSource(git_repo, git_repo.resolve_commit("HEAD")) as source:
        in_git = Loader(source).load()
    wanted = [p.format() for p in on_disk.problems if "lien symbolique" in p.message]
    assert len(wanted) == 3
    assert [p.format() for p in in_git.problems if "lien symbolique" in p.message] == wanted

    # Looked up by name (a push's changed files), without listing the whole tree: the same
    # entries, the same judgement.
    only = [
        "centre-alpha/dedans.md",
        "centre-alpha/dehors.md",
        "centre-alpha/remonte.md",
        "centre-alpha/jardins-partages.md",
        "centre-alpha/absent.md",
        ".cache/x.md",
    ]
    with GitTreeSource(git_repo, git_repo.resolve_commit("HEAD")) as full:
        listed = [e for e in full.entries() if e.path in only]
    with GitTreeSource(git_repo, git_repo.resolve_commit("HEAD"), only) as source:
        assert list(source.entries()) == listed
        assert source._entries is None  # the tree was not listed
        assert source.read("centre-alpha/jardins-partages.md").startswith(b"---")
        with pytest.raises(FileNotFoundError):
            source.read("centre-alpha/dedans.md")  # a link is not read through


# --- settings -------------------------------------------------------------------------------


def test_publication_settings_are_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text(
        '[publication]\nbranche = "publie"\ntaille_max_mio = 2\njournal = "journal.log"\n'
        '[publication.comptes]\n"a" = ["centre-a", "centre-b"]\n"admin" = ["*"]\n',
        encoding="utf-8",
    )
    settings = PublicationSettings.from_settings(load_settings(environ={}, config_file=config))
    assert settings.ref == "refs/heads/publie"
    assert settings.accounts == {
        "a": frozenset({"centre-a", "centre-b"}),
        "admin": frozenset({"*"}),
    }
    assert settings.max_size == 2 * 1024 * 1024
    assert settings.log_file == tmp_path / "journal.log"
    default = PublicationSettings.from_settings(load_settings({"index": "idx"}, environ={}))
    assert default.log_file == Path("idx") / "publication.log"
    assert default.branch == "main" and default.accounts == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[publication]\ncomptes = "tous"\n', "une table est attendue"),
        ('[publication.comptes]\n"a" = 3\n', "doit avoir une liste de centres"),
        ('[publication.comptes]\n"a" = ["Centre A"]\n', "identifiant de centre invalide"),
        ('[publication]\nbranche = "refs/heads/main"\n', "nom de branche invalide"),
        ('[publication]\nfichiers_annexes = "LICENCE"\n', "une liste est attendue"),
    ],
)
def test_bad_publication_settings_are_reported(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "kb.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        PublicationSettings.from_settings(load_settings(environ={}, config_file=config))


def test_accounts_cannot_come_from_the_environment() -> None:
    accounts = next(s for s in SETTINGS if s.key == "publication.comptes")
    assert accounts.env is None and accounts.option is None


# --- documentation ----------------------------------------------------------------------------

GUIDE = (ROOT / "docs" / "publier.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "setting", [s for s in SETTINGS if s.key.startswith("publication.")], ids=lambda s: s.key
)
def test_every_publication_setting_is_documented(setting) -> None:
    assert f"`{setting.key.removeprefix('publication.')}`" in GUIDE
    if setting.env:
        assert f"`{setting.env}`" in GUIDE


def test_the_guide_documents_commands_identities_and_options() -> None:
    for text in (
        "kb hooks install",
        "--deploy",
        "--chainer",
        "kb sync",
        "--remote",
        "--branch",
        "kb check",
        "kb new",
        'command="KB_PUSHER=',
        "restrict",
        "/hooks/git",
        "X-Hub-Signature-256",
        "X-Gitlab-Token",
        "/healthz",
        "kb index --rebuild",
        *PUSHER_VARIABLES,
    ):
        assert text in GUIDE, text


def test_the_local_trial_of_the_guide_works_as_written(tmp_path: Path) -> None:
    """Run the « Essai en local » commands, as written, with `kb` and git on PATH."""
    script = GUIDE.split("<!-- essai-local -->\n```sh\n", 1)[1].split("```", 1)[0]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kb = bin_dir / "kb"
    kb.write_text(f'#!/bin/sh\nexec {sys.executable} -m kb.cli "$@"\n', encoding="utf-8")
    kb.chmod(0o755)
    env = git_environment(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "remote: Publication : 1 ressource publiée, 0 mise à jour, 0 retirée" in output
    assert "Un jardin partagé au pied des tours" in completed.stdout
    assert "/ressources/crpv-demo-nord/un-jardin-partage-au-pied-des-tours" in completed.stdout

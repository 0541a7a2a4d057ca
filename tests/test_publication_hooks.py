"""Publishing by `git push` to a bare repository with kb's hooks (real git, real hooks).

Two centres (`doc-alpha`, `doc-beta`) and an administrator push from their clones; the
tests read what the pusher sees, the deployed checkout, the index and the web app.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publication_support import GitServer, git, git_environment, resource, without_hook

from indexer.search import SearchIndex
from kb import cli
from kb.loader import load_tree
from kb.publication import PUSHER_VARIABLES

SEARCH_DELAY = 2.0  # seconds between `git push` returning and the resource being found


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> GitServer:
    """The `valid` fixture on main, hooks installed, published and indexed."""
    server = GitServer(tmp_path).create()
    install = [
        "hooks",
        "install",
        str(server.bare),
        "--deploy",
        str(server.deploy),
        "--index",
        str(server.index),
        "--config",
        str(server.config),
    ]
    assert cli.main(install) == 0
    assert cli.main(["sync", "--remote", str(server.bare), *server.kb_options()]) == 0
    capsys.readouterr()
    return server


def deployed_ids(server: GitServer) -> set[str]:
    return {r.id for r in load_tree(server.deploy).published}


def test_the_fixture_is_online(server: GitServer) -> None:
    assert server.published_commit() == server.main_commit()
    assert (
        server.search_ids()
        == deployed_ids(server)
        == {
            "centre-alpha/jardins-partages",
            "centre-alpha/aide-aux-devoirs",
            "centre-beta/mobilite-solidaire",
            "centre-beta/clauses-insertion",
        }
    )


def web_client(server: GitServer):
    """The web app on the deployed content, or None when webapp cannot be imported."""
    try:
        from webapp import create_app
    except ImportError:
        return None
    config = {"KB_CONTENT": server.deploy, "KB_INDEX": server.index, "KB_CONFIG": server.config}
    return create_app(config).test_client()


def test_a_valid_push_is_searchable_within_two_seconds(server: GitServer) -> None:
    readers = SearchIndex(server.index)  # a long-running reader, opened before the push
    assert server.search_ids("apiculture", readers) == set()
    client = web_client(server)
    alpha = server.clone()
    alpha.write(
        "centre-alpha/ruchers-partages.md",
        resource("Des ruchers partagés en pied d'immeuble", body="Apiculture urbaine."),
    )
    alpha.commit("Nouvelle fiche")

    push = alpha.push("doc-alpha")
    returned = time.monotonic()

    assert push.accepted, push.output
    assert "remote: Vérification réussie" in push.output
    assert "1 ressource publiée, 0 mise à jour, 0 retirée" in push.output
    assert server.search_ids("apiculture", readers) == {"centre-alpha/ruchers-partages"}
    if client is not None:
        page = client.get("/recherche?q=apiculture")
        assert "/ressources/centre-alpha/ruchers-partages" in page.get_data(as_text=True)
        assert client.get("/ressources/centre-alpha/ruchers-partages").status_code == 200
    assert time.monotonic() - returned < SEARCH_DELAY
    assert server.published_commit() == alpha.head() == server.main_commit()
    assert (server.deploy / "centre-alpha" / "ruchers-partages.md").is_file()
    if client is not None:
        health = client.get("/healthz").get_json()
        assert health["publication"]["commit"] == alpha.head()
        assert health["publication"]["derniere_tentative"]["source"] == "post-receive"
    assert "compte=doc-alpha" in server.log.read_text(encoding="utf-8")


def test_an_invalid_file_is_refused_with_its_line_and_nothing_is_published(
    server: GitServer,
) -> None:
    before = server.main_commit()
    alpha = server.clone()
    alpha.write("centre-alpha/bonne-fiche.md", resource("Une fiche correcte sur le compostage"))
    alpha.write(
        "centre-alpha/fiche-cassee.md",
        resource("Fiche cassée").replace("2024-03-12", "2024-13-45"),
    )
    alpha.commit()

    push = alpha.push("doc-alpha")

    assert not push.accepted
    assert (
        "remote: centre-alpha/fiche-cassee.md:4: erreur : « date » : date invalide « 2024-13-45 »"
        in push.output
    )
    assert "Poussée refusée : 1 erreur. Rien n'a été publié." in push.output
    assert "pre-receive hook declined" in push.output
    assert server.main_commit() == before == server.published_commit()
    assert server.search_ids("compostage") == set()
    assert not (server.deploy / "centre-alpha" / "bonne-fiche.md").exists()
    assert "refusée (1 erreur)" in server.log.read_text(encoding="utf-8")


def test_warnings_are_shown_but_do_not_block(server: GitServer) -> None:
    alpha = server.clone()
    alpha.write(
        "centre-alpha/fiche-a-relire.md",
        resource("Une fiche sur les fresques").replace("type:", "thematique: culture\ntype:"),
    )
    alpha.commit()
    push = alpha.push("doc-alpha")
    assert push.accepted, push.output
    assert (
        "remote: centre-alpha/fiche-a-relire.md:3: avertissement : clé inconnue « thematique »"
        in push.output
    )
    assert server.search_ids("fresques") == {"centre-alpha/fiche-a-relire"}


def test_a_push_into_another_centre_is_refused_naming_the_files(server: GitServer) -> None:
    before = server.main_commit()
    alpha = server.clone()
    alpha.write("centre-alpha/ma-fiche.md", resource("Fiche du centre alpha sur le théâtre"))
    alpha.write("centre-beta/intrusion.md", resource("Fiche glissée chez le voisin"))
    alpha.remove("centre-beta/emploi/clauses-insertion.md")
    alpha.write("README.md", "Modifié par un centre.\n")
    alpha.commit()

    push = alpha.push("doc-alpha")

    assert not push.accepted
    assert (
        "remote: erreur : le compte « doc-alpha » ne peut modifier que les dossiers : "
        "centre-alpha/" in push.output
    )
    for listed in (
        "centre-beta/intrusion.md (ajouté)",
        "centre-beta/emploi/clauses-insertion.md (supprimé)",
        "README.md (modifié)",
    ):
        assert f"remote:   - {listed}" in push.output
    assert "centre-alpha/ma-fiche.md (" not in push.output
    assert server.main_commit() == before == server.published_commit()
    assert server.search_ids("théâtre") == set()

    # The same change by the administrator, who may change anything, goes online.
    push = alpha.push("admin-reseau")
    assert push.accepted, push.output
    assert "2 ressources publiées, 0 mise à jour, 1 retirée" in push.output
    assert "centre-beta/intrusion" in server.search_ids()
    assert "centre-beta/clauses-insertion" not in server.search_ids()


def test_unlisted_or_unknown_accounts_may_not_publish(server: GitServer) -> None:
    before = server.main_commit()
    clone = server.clone()
    clone.write("centre-alpha/fiche-anonyme.md", resource("Fiche d'un compte inconnu"))
    clone.commit()

    unlisted = clone.push("stagiaire")
    assert not unlisted.accepted
    assert "le compte « stagiaire » n'est pas autorisé à publier" in unlisted.output

    anonymous = clone.push(None)
    assert not anonymous.accepted
    assert "compte inconnu : le serveur git n'a pas indiqué qui pousse" in anonymous.output

    # The author of a commit is not an identity: only the server's variable counts.
    env = git_environment(GIT_AUTHOR_NAME="admin-reseau", GIT_COMMITTER_NAME="admin-reseau")
    git("commit", "-q", "--allow-empty", "-m", "Je suis l'admin", cwd=clone.path, env=env)
    assert not clone.push("stagiaire").accepted
    assert server.main_commit() == before == server.published_commit()


def test_another_branch_is_accepted_but_changes_nothing_online(server: GitServer) -> None:
    online = server.published_commit()
    ids = server.search_ids()
    alpha = server.clone()
    alpha.write("centre-alpha/brouillon-partage.md", "pas d'en-tête : invalide\n")
    alpha.write("centre-beta/chez-le-voisin.md", resource("Une fiche sur la voile"))
    alpha.commit("Brouillon à relire ensemble")

    push = alpha.push("doc-alpha", "relecture-alpha")

    assert push.accepted, push.output
    assert "Branche « relecture-alpha » reçue : elle n'est pas publiée" in push.output
    assert "ressources publiées" not in push.output
    assert server.published_commit() == online == server.main_commit()
    assert git("rev-parse", "HEAD", cwd=server.deploy).strip() == online
    assert server.search_ids() == ids
    assert server.search_ids("voile") == set()


def test_deleting_the_published_branch_is_refused(server: GitServer) -> None:
    clone = server.clone()

    def delete() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "push", "origin", ":main"],
            cwd=clone.path,
            env=git_environment(KB_PUSHER="admin-reseau"),
            capture_output=True,
            text=True,
            check=False,
        )

    push = delete()
    assert push.returncode != 0
    assert "la branche publiée « main » ne peut pas être supprimée" in push.stderr
    # Without the hook, git itself refuses (receive.denyDeletes, set by kb hooks install).
    with without_hook(server, "pre-receive"):
        push = delete()
    assert push.returncode != 0
    assert "deletion prohibited" in push.stderr
    assert server.main_commit() == server.published_commit()


def test_deletions_and_renames_unpublish_and_republish_with_an_alias_hint(
    server: GitServer,
) -> None:
    beta = server.clone()
    beta.move("centre-beta/mobilite-solidaire.md", "centre-beta/mobilite-partagee.md")
    beta.remove("centre-beta/emploi/clauses-insertion.md")
    beta.commit("Renommage et retrait")

    push = beta.push("doc-beta")

    assert push.accepted, push.output
    assert (
        "remote: centre-beta/mobilite-partagee.md: avertissement : la ressource "
        "« centre-beta/mobilite-solidaire » disparaît (centre-beta/mobilite-solidaire.md "
        "renommé en centre-beta/mobilite-partagee.md) : pour que son ancienne adresse "
        "/ressources/centre-beta/mobilite-solidaire mène à la nouvelle, ajoutez "
        "« mobilite-solidaire » au champ alias de centre-beta/mobilite-partagee.md"
    ) in push.output
    assert (
        "la ressource « centre-beta/clauses-insertion » est retirée "
        "(centre-beta/emploi/clauses-insertion.md supprimé)" in push.output
    )
    assert "1 ressource publiée, 0 mise à jour, 2 retirées" in push.output
    ids = server.search_ids()
    assert "centre-beta/mobilite-partagee" in ids
    assert not {"centre-beta/mobilite-solidaire", "centre-beta/clauses-insertion"} & ids

    # Following the hint: the old address leads to the new page.
    path = beta.path / "centre-beta" / "mobilite-partagee.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("statut: publie", "alias: [mobilite-solidaire]"),
        encoding="utf-8",
    )
    beta.commit("Alias")
    push = beta.push("doc-beta")
    assert push.accepted, push.output
    assert "disparaît" not in push.output
    assert "0 ressource publiée, 1 mise à jour, 0 retirée" in push.output
    client = web_client(server)
    if client is None:
        return
    response = client.get("/ressources/centre-beta/mobilite-solidaire")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/ressources/centre-beta/mobilite-partagee")


def test_moving_a_file_to_a_sub_folder_keeps_its_id_without_a_hint(server: GitServer) -> None:
    alpha = server.clone()
    alpha.move("centre-alpha/jardins-partages.md", "centre-alpha/nature/jardins-partages.md")
    alpha.move("centre-alpha/bilan-jardins.csv", "centre-alpha/nature/bilan-jardins.csv")
    alpha.move("centre-alpha/plan-jardin.png", "centre-alpha/nature/plan-jardin.png")
    alpha.commit("Rangement")
    push = alpha.push("doc-alpha")
    assert push.accepted, push.output
    assert "alias" not in push.output
    assert "centre-alpha/jardins-partages" in server.search_ids("jardins")


def test_two_pushes_in_quick_succession_end_with_the_last_commit_online(
    server: GitServer,
) -> None:
    alpha = server.clone()
    alpha.write("centre-alpha/premiere.md", resource("Première version sur la lecture"))
    first = alpha.commit("Premier envoi")
    env = git_environment(KB_PUSHER="doc-alpha")
    pushing = subprocess.Popen(
        ["git", "push", "origin", "HEAD:main"],
        cwd=alpha.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while server.main_commit() != first:  # accepted: its post-receive is starting
            assert time.monotonic() < deadline and pushing.poll() in (None, 0)
            time.sleep(0.01)
        alpha.remove("centre-alpha/premiere.md")
        alpha.write("centre-alpha/seconde.md", resource("Seconde version sur l'écriture"))
        alpha.write(
            "centre-alpha/education/aide-aux-devoirs.md", resource("Aide aux devoirs revue")
        )
        second = alpha.commit("Second envoi")
        push = alpha.push("doc-alpha")
    finally:
        assert pushing.wait(timeout=60) == 0
    assert push.accepted, push.output

    assert server.main_commit() == second == server.published_commit()
    assert git("rev-parse", "HEAD", cwd=server.deploy).strip() == second
    assert server.search_ids() == deployed_ids(server)
    assert "centre-alpha/seconde" in server.search_ids("écriture")
    assert server.search_ids("lecture première") == set()
    assert server.search_ids("revue") == {"centre-alpha/aide-aux-devoirs"}


def test_symlinks_submodules_oversize_files_and_other_types_are_refused(
    server: GitServer,
) -> None:
    before = server.main_commit()
    admin = server.clone()
    admin.write("centre-alpha/grand-plan.png", b"\x89PNG" + b"0" * 60_000)
    admin.write("centre-alpha/outil.exe", b"MZ")
    admin.write("centre-alpha/page.html", "<script>alert(1)</script>")
    admin.write(".gitignore", "*.tmp\n")  # an allowed extra file
    (admin.path / "centre-alpha" / "raccourci.md").symlink_to("jardins-partages.md")
    git("add", "-A", cwd=admin.path)
    git(
        "update-index",
        "--add",
        "--cacheinfo",
        f"160000,{before},centre-alpha/module",
        cwd=admin.path,
    )
    git("commit", "-q", "-m", "Fichiers refusés", cwd=admin.path)

    push = admin.push("admin-reseau")

    assert not push.accepted
    for line in (
        "centre-alpha/grand-plan.png: erreur : fichier trop volumineux (59 Kio ; 51 Kio au plus)",
        "centre-alpha/outil.exe: erreur : type de fichier refusé",
        "centre-alpha/page.html: erreur : type de fichier refusé",
        "centre-alpha/raccourci.md: erreur : lien symbolique refusé",
        "centre-alpha/module: erreur : sous-module git refusé",
    ):
        assert f"remote: {line}" in push.output
    assert ".gitignore" not in push.output
    assert server.main_commit() == before == server.published_commit()


def test_an_error_already_there_does_not_block_other_centres(server: GitServer) -> None:
    # A broken file reaches main without the hooks (pushed before they were installed).
    hooks = server.bare / "hooks"
    saved = {name: (hooks / name).read_bytes() for name in ("pre-receive", "post-receive")}
    for name in saved:
        (hooks / name).unlink()
    beta = server.clone()
    beta.write("centre-beta/ancienne.md", resource("Ancienne").replace("2024-03-12", "hier"))
    beta.commit()
    assert beta.push(None).accepted
    for name, data in saved.items():
        (hooks / name).write_bytes(data)
        (hooks / name).chmod(0o755)

    alpha = server.clone()
    alpha.write("centre-alpha/nouvelle.md", resource("Une fiche sur la danse"))
    alpha.commit()
    push = alpha.push("doc-alpha")

    assert push.accepted, push.output
    assert "1 erreur déjà présente avant cette mise à jour" in push.output
    assert "remote:   - centre-beta/ancienne.md:4: erreur : « date »" in push.output
    assert server.search_ids("danse") == {"centre-alpha/nouvelle"}
    assert "centre-beta/ancienne" not in server.search_ids()

    # Whoever touches the broken file must fix it.
    beta.update()
    beta.write(
        "centre-beta/ancienne.md", resource("Ancienne retouchée").replace("2024-03-12", "hier")
    )
    beta.commit()
    push = beta.push("doc-beta")
    assert not push.accepted
    assert "remote: centre-beta/ancienne.md:4: erreur : « date »" in push.output


def test_deleting_a_centre_card_is_refused_for_the_resources_it_breaks(
    server: GitServer,
) -> None:
    beta = server.clone()
    beta.remove("centre-beta/_centre.md")
    beta.commit()
    push = beta.push("doc-beta")
    assert not push.accepted
    # The resources online are not read: the card names them.
    assert (
        "remote: centre-beta/_centre.md: erreur : la fiche du centre « centre-beta/_centre.md » "
        "serait absente : les 2 ressources en ligne du centre ne pourraient plus être "
        "publiées (centre-beta/emploi/clauses-insertion.md, centre-beta/mobilite-solidaire.md)"
    ) in push.output


def test_the_documented_authorized_keys_line_sets_the_account(
    server: GitServer, tmp_path: Path
) -> None:
    """The guide's forced command, run as sshd would run it (the client's environment is
    not passed on; its command goes to SSH_ORIGINAL_COMMAND)."""
    guide = (Path(__file__).resolve().parent.parent / "docs" / "publier.md").read_text()
    lines = (x.strip() for x in guide.splitlines())
    line = next(x for x in lines if x.startswith('command="KB_PUSHER='))
    forced = re.match(r'command="((?:[^"\\]|\\.)*)"', line).group(1).replace('\\"', '"')
    account = re.search(r"KB_PUSHER=([\w-]+)", forced).group(1)
    config = server.config.read_text(encoding="utf-8")
    server.config.write_text(config.replace('"doc-alpha"', f'"{account}"'), encoding="utf-8")
    ssh = tmp_path / "faux-ssh"
    ssh.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"env = {{k: v for k, v in os.environ.items() if k not in {PUSHER_VARIABLES!r}}}\n"
        'env["SSH_ORIGINAL_COMMAND"] = sys.argv[-1]\n'
        f'os.execve("/bin/sh", ["sh", "-c", {forced!r}], env)\n',
        encoding="utf-8",
    )
    ssh.chmod(0o755)
    clone = server.clone()
    clone.write("centre-alpha/par-ssh.md", resource("Une fiche envoyée par SSH sur la pétanque"))
    clone.commit()

    def push_over_ssh() -> subprocess.CompletedProcess:
        env = git_environment(
            GIT_SSH_COMMAND=str(ssh), GIT_SSH_VARIANT="simple", KB_PUSHER="admin-reseau"
        )
        url = f"ssh://depot.example.org{server.bare}"
        return subprocess.run(
            ["git", "push", url, "HEAD:main"],
            cwd=clone.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    pushed = push_over_ssh()
    assert pushed.returncode == 0, pushed.stderr
    assert f"(compte : {account})" in pushed.stderr
    assert server.search_ids("pétanque") == {"centre-alpha/par-ssh"}

    clone.write("centre-beta/par-ssh-chez-beta.md", resource("Chez le voisin"))
    clone.commit()
    refused = push_over_ssh()
    assert refused.returncode != 0
    assert f"le compte « {account} » ne peut modifier que les dossiers" in refused.stderr


# --- several centres at the same moment ------------------------------------------------------


def test_five_pushes_at_the_same_moment_all_end_online(server: GitServer) -> None:
    """Every push is published or refused with its reason; none is lost; the site ends at
    the last commit."""
    import threading

    accounts = ["doc-alpha", "doc-beta", "doc-alpha", "doc-beta", "admin-reseau"]
    centres = ["centre-alpha", "centre-beta", "centre-alpha", "centre-beta", "centre-beta"]
    clones = [server.clone() for _ in accounts]
    outputs: list[list[str]] = [[] for _ in accounts]
    start = threading.Barrier(len(accounts))

    def push(number: int) -> None:
        clone = clones[number]
        clone.write(
            f"{centres[number]}/simultanee-{number}.md",
            resource(f"Envoi simultané numéro {number}", body=f"Le mot repere{number}."),
        )
        clone.commit(f"Envoi {number}")
        start.wait()
        for _attempt in range(15):
            result = clone.push(accounts[number])
            outputs[number].append(result.output)
            if result.accepted:
                return
            # Refused because another push came first: git says so; fetch and try again.
            assert (
                "rejected" in result.output
                or "failed to update ref" in result.output
                or ("cannot lock ref" in result.output)
            ), result.output
            git("pull", "-q", "--rebase", "origin", "main", cwd=clone.path)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(len(accounts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for number, tries in enumerate(outputs):
        assert tries and "Publication :" in tries[-1], (number, tries[-1:])
    assert server.published_commit() == server.main_commit()
    for number in range(len(accounts)):
        assert server.search_ids(f"repere{number}") == {f"{centres[number]}/simultanee-{number}"}


def _deployed_files(server: GitServer) -> dict[str, bytes]:
    return {
        p.relative_to(server.deploy).as_posix(): p.read_bytes()
        for p in server.deploy.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(server.deploy).parts
    }


def _tree_files(server: GitServer, commit: str) -> dict[str, bytes]:
    names = git("ls-tree", "-r", "-z", "--name-only", commit, cwd=server.bare).split("\0")
    return {
        name: subprocess.run(
            ["git", "show", f"{commit}:{name}"], cwd=server.bare, capture_output=True, check=True
        ).stdout
        for name in names
        if name
    }


def test_the_deployed_folder_follows_each_commit_exactly(server: GitServer) -> None:
    """Only the changed files are brought to the deployed folder; a folder changed by hand
    is brought back whole."""
    alpha = server.clone()
    alpha.write("centre-alpha/ruchers.md", resource("Des ruchers partagés"))
    alpha.write("centre-alpha/vergers.md", resource("Des vergers partagés"))
    alpha.commit()
    assert alpha.push("doc-alpha").accepted
    alpha.write("centre-alpha/ruchers.md", resource("Des ruchers partagés et fleuris"))
    alpha.remove("centre-alpha/vergers.md")
    alpha.commit()
    assert alpha.push("doc-alpha").accepted
    assert _deployed_files(server) == _tree_files(server, alpha.head())
    # A deployment killed midway left git's lock: the next one goes on.
    (server.deploy / ".git" / "index.lock").write_text("")
    alpha.write("centre-alpha/vergers.md", resource("Des vergers revenus"))
    alpha.commit()
    assert alpha.push("doc-alpha").accepted
    assert _deployed_files(server) == _tree_files(server, alpha.head())
    # An operator edits a file the next push changes, and leaves a file of their own.
    (server.deploy / "centre-alpha" / "ruchers.md").write_text("modifié à la main\n")
    (server.deploy / "notes.txt").write_text("brouillon\n")
    alpha.write("centre-alpha/ruchers.md", resource("Des ruchers"))
    alpha.commit()
    assert alpha.push("doc-alpha").accepted
    assert _deployed_files(server) == _tree_files(server, alpha.head())
    assert git("rev-parse", "HEAD", cwd=server.deploy).strip() == alpha.head()

"""Git hygiene: centre accounts cannot push git control files nor rewrite the published
history; `kb hooks install` makes git itself refuse force-pushes and deletions.
Real git, real hooks (tests/publication_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from publication_support import GitServer, git, published_server, resource

from kb.publication import PUSHER_VARIABLES


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> GitServer:
    return published_server(tmp_path)


def test_install_makes_git_refuse_force_pushes_and_deletions(server: GitServer) -> None:
    for key in ("receive.denyNonFastForwards", "receive.denyDeletes"):
        assert git("config", "--get", key, cwd=server.bare).strip() == "true"


def test_a_centre_cannot_push_git_control_files(server: GitServer) -> None:
    before = server.main_commit()
    alpha = server.clone()
    alpha.write("centre-alpha/nature/.gitignore", "*.md\n")
    alpha.write("centre-alpha/.gitmodules", '[submodule "x"]\n\tpath = x\n')
    alpha.write("centre-alpha/encodage.md", resource("Une fiche sur les encodages"))
    git("add", "-A", cwd=alpha.path)
    # The trick: once checked out with this, the sheets would be re-encoded.
    alpha.write("centre-alpha/.gitattributes", "*.md working-tree-encoding=UTF-16LE\n")
    git("add", "centre-alpha/.gitattributes", cwd=alpha.path)
    git("commit", "-q", "-m", "Attributs git", cwd=alpha.path)

    push = alpha.push("doc-alpha")

    assert not push.accepted
    for path in (
        "centre-alpha/.gitattributes",
        "centre-alpha/.gitmodules",
        "centre-alpha/nature/.gitignore",
    ):
        assert (
            f"remote: {path}: erreur : fichier de contrôle git refusé : seul un compte "
            "administrateur peut ajouter, modifier ou supprimer les fichiers « .git… »"
        ) in push.output
    assert server.main_commit() == before
    assert server.search_ids("encodages") == set()

    # An administrator may (git's attributes are never applied to what is published).
    admin = server.clone()
    admin.write(".gitattributes", "*.md text eol=lf\n")
    admin.commit()
    push = admin.push("admin-reseau")
    assert push.accepted, push.output


def orphan_commit(clone) -> None:
    git("checkout", "-q", "--orphan", "reecriture", cwd=clone.path)
    git("rm", "-q", "-r", "--cached", ".", cwd=clone.path)
    clone.write("centre-alpha/_centre.md", "---\nnom: Centre alpha, seul au monde\n---\n")
    git("add", "centre-alpha/_centre.md", cwd=clone.path)
    git("commit", "-q", "-m", "Histoire effacée", cwd=clone.path)


def test_a_centre_cannot_rewrite_the_published_history(server: GitServer) -> None:
    before = server.main_commit()
    alpha = server.clone()
    orphan_commit(alpha)

    push = alpha.push("doc-alpha", "main", "--force")  # the hook refuses a centre
    assert not push.accepted
    assert (
        "remote: erreur : le compte « doc-alpha » ne peut pas réécrire l'historique de la "
        "branche publiée « main » (poussée forcée)" in push.output
    )
    assert server.main_commit() == before

    # The hook lets an administrator through, but git's setting refuses the rewrite.
    push = alpha.push("admin-reseau", "main", "--force")
    assert not push.accepted
    assert "non-fast-forward" in push.output
    assert server.main_commit() == before

    # The documented deliberate rewrite: the administrator, setting lifted, with a lease.
    git("config", "receive.denyNonFastForwards", "false", cwd=server.bare)
    push = alpha.push("admin-reseau", "main", f"--force-with-lease=main:{before}")
    assert push.accepted, push.output
    assert server.main_commit() == alpha.head() == server.published_commit()
    git("config", "receive.denyNonFastForwards", "true", cwd=server.bare)

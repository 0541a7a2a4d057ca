"""Addresses belong to their centre: a centre account declares aliases in its own folders
only, and an address once published stays attached to the centre that published it.
Real git, real hooks (tests/publication_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from publication_support import GitServer, published_server, resource

from indexer.published import published_state
from kb.publication import PUSHER_VARIABLES


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> GitServer:
    return published_server(tmp_path)


def with_alias(text: str, *aliases: str) -> str:
    return text.replace("type:", f"alias: [{', '.join(aliases)}]\ntype:", 1)


def test_a_centre_cannot_squat_another_centres_addresses(server: GitServer) -> None:
    """The issue's doc-nord/doc-sud scenario, with centre-alpha and centre-beta."""
    before = server.main_commit()
    alpha = server.clone()
    alpha.write(
        "centre-alpha/projet.md",
        with_alias(
            resource("Le projet du centre alpha"),
            "centre-beta/projet-2025",
            "centre-beta/fiche-beta",
        ),
    )
    alpha.commit("Alias chez le voisin")

    push = alpha.push("doc-alpha")

    assert not push.accepted
    for alias in ("centre-beta/projet-2025", "centre-beta/fiche-beta"):
        assert (
            f"remote: centre-alpha/projet.md: erreur : alias « {alias} » refusé : un centre ne "
            "peut déclarer d'alias que dans ses propres dossiers (centre-alpha/) ; "
            "« centre-beta » est un autre centre" in push.output
        )
    assert server.main_commit() == before

    # doc-beta's own later push of that address is accepted and goes online.
    beta = server.clone()
    beta.write("centre-beta/projet-2025.md", resource("Le projet 2025 du centre beta"))
    beta.commit()
    push = beta.push("doc-beta")
    assert push.accepted, push.output
    assert "centre-beta/projet-2025" in server.search_ids("projet")


def test_an_address_stays_attached_to_the_centre_that_published_it(server: GitServer) -> None:
    # The administrator moves an old address of centre-beta to a page of centre-alpha.
    admin = server.clone()
    admin.write(
        "centre-alpha/mobilite-douce.md",
        with_alias(resource("Mobilité douce, reprise par alpha"), "centre-beta/ancien-projet"),
    )
    admin.commit()
    push = admin.push("admin-reseau")
    assert push.accepted, push.output
    state = published_state(server.index)
    assert state.aliases["centre-beta/ancien-projet"] == "centre-alpha/mobilite-douce"

    beta = server.clone()
    beta.write("centre-beta/ancien-projet.md", resource("Un nouveau projet à cette adresse"))
    beta.commit()
    push = beta.push("doc-beta")
    assert not push.accepted
    assert (
        "l'identifiant « centre-beta/ancien-projet » est déjà l'alias en ligne de "
        "« centre-alpha/mobilite-douce »" in push.output
    )

    beta.update()
    path = beta.path / "centre-beta" / "mobilite-solidaire.md"
    path.write_text(with_alias(path.read_text(encoding="utf-8"), "ancien-projet"))
    beta.commit()
    push = beta.push("doc-beta")
    assert not push.accepted
    assert (
        "remote: centre-beta/mobilite-solidaire.md: erreur : l'alias « centre-beta/ancien-projet » "
        "est déjà l'ancienne adresse de « centre-alpha/mobilite-douce »" in push.output
    )

"""A push is checked by what it changes: only its files are read, and the rules across
files (ids, aliases) are checked against what is online (the index), never by re-reading
the corpus. Real git, real hooks (tests/publication_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from publication_support import GitServer, published_server, resource, without_hook

from indexer.published import published_state
from kb.config import load_settings
from kb.gitsource import Git
from kb.publication import PUSHER_VARIABLES, validate_tree


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> GitServer:
    return published_server(tmp_path)


def with_alias(text: str, *aliases: str) -> str:
    return text.replace("type:", f"alias: [{', '.join(aliases)}]\ntype:", 1)


def test_the_published_state_is_read_from_the_index(server: GitServer) -> None:
    state = published_state(server.index)
    assert state.known and state.commit == server.main_commit()
    assert state.online == {
        "centre-alpha/jardins-partages": "centre-alpha/jardins-partages.md",
        "centre-alpha/aide-aux-devoirs": "centre-alpha/education/aide-aux-devoirs.md",
        "centre-beta/mobilite-solidaire": "centre-beta/mobilite-solidaire.md",
        "centre-beta/clauses-insertion": "centre-beta/emploi/clauses-insertion.md",
    }
    assert state.aliases == {
        "centre-alpha/jardins-collectifs": "centre-alpha/jardins-partages",
        "centre-beta/ancienne-fiche-clauses": "centre-beta/clauses-insertion",
    }
    assert state.owners["centre-beta/mobilite-solidaire"] == "centre-beta"
    assert state.owners["centre-alpha/jardins-collectifs"] == "centre-alpha"
    assert not published_state(server.root / "nulle-part").known


def test_a_push_reads_only_the_files_it_changes(server: GitServer) -> None:
    alpha = server.clone()
    old = alpha.head()
    alpha.write("centre-alpha/compostage.md", resource("Un composteur de quartier"))
    new = alpha.commit()
    git = Git(alpha.path / ".git")
    state = published_state(server.index)

    check = validate_tree(git, new, old, state=state, scope=frozenset({"centre-alpha"}))

    assert check.ok, check.lines()
    assert set(check.result.resources) == {"centre-alpha/compostage"}
    assert set(check.result.centres) == {"centre-alpha"}  # the card it needs, nothing else
    assert check.checked == 1
    # Without the published state the whole tree is read, as before.
    whole = validate_tree(git, new, old)
    assert len(whole.result.resources) == 6


def test_a_push_looks_up_the_published_state_by_key(
    server: GitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state is not loaded whole (100,000 ids online): the push's own ids and aliases
    are looked up one by one, and the rules still hold."""
    from indexer import published

    def whole(self):
        raise AssertionError("the whole published state was read")

    monkeypatch.setattr(published._Lookup, "__iter__", whole)
    monkeypatch.setattr(published._Lookup, "items", whole)
    alpha = server.clone()
    old = alpha.head()
    alpha.write("centre-alpha/compostage.md", resource("Un composteur de quartier"))
    alpha.write(
        "centre-alpha/doublon.md",
        with_alias(resource("Un doublon"), "centre-alpha/jardins-collectifs"),
    )
    new = alpha.commit()
    state = published_state(server.index)
    check = validate_tree(
        Git(alpha.path / ".git"), new, old, state=state, scope=frozenset({"centre-alpha"})
    )
    assert [p.path for p in check.blocking] == ["centre-alpha/doublon.md"]
    assert check.lines() == [
        "centre-alpha/doublon.md: erreur : l'alias « centre-alpha/jardins-collectifs » est "
        "déjà l'ancienne adresse de « centre-alpha/jardins-partages » (en ligne)"
    ]


def test_an_error_online_in_an_untouched_file_is_a_warning_not_a_refusal(
    server: GitServer,
) -> None:
    # A broken file went online unchecked (pushed while the check was away).
    beta = server.clone()
    beta.write("centre-beta/ancienne.md", resource("Ancienne").replace("2024-03-12", "hier"))
    beta.commit()
    with without_hook(server, "pre-receive"):
        assert beta.push(None).accepted
    assert server.published_commit() == server.main_commit()
    assert "centre-beta/ancienne.md" in published_state(server.index).invalid_paths

    alpha = server.clone()
    alpha.write("centre-alpha/danse.md", resource("Une fiche sur la danse"))
    alpha.commit()
    push = alpha.push("doc-alpha")
    assert push.accepted, push.output
    assert "1 autre fichier en erreur dans la version en ligne" in push.output
    assert server.search_ids("danse") == {"centre-alpha/danse"}

    beta.update()
    beta.write("centre-beta/voile.md", resource("Une fiche sur la voile"))
    beta.commit()
    push = beta.push("doc-beta")
    assert push.accepted, push.output
    assert (
        "remote: centre-beta/ancienne.md: avertissement : ce fichier est en erreur dans la "
        "version en ligne ; cette poussée ne le modifie pas, il reste hors ligne" in push.output
    )


def test_ids_and_aliases_are_checked_against_what_is_online(server: GitServer) -> None:
    alpha = server.clone()
    jardins = alpha.path / "centre-alpha" / "jardins-partages.md"
    text = jardins.read_text(encoding="utf-8")
    jardins.write_text(text.replace("[jardins-collectifs]", "[jardins-collectifs, ancien-jardin]"))
    alpha.commit("Alias")
    assert alpha.push("doc-alpha").accepted
    aliases = published_state(server.index).aliases
    assert aliases["centre-alpha/ancien-jardin"] == "centre-alpha/jardins-partages"
    before = server.main_commit()

    refusals = {
        "centre-alpha/nature/jardins-partages.md": (
            resource("Le même nom dans un sous-dossier"),
            "identifiant « centre-alpha/jardins-partages » en double (aussi : "
            "centre-alpha/jardins-partages.md, en ligne)",
        ),
        "centre-alpha/ancien-jardin.md": (
            resource("Une fiche à l'adresse d'un alias"),
            "l'identifiant « centre-alpha/ancien-jardin » est déjà l'alias en ligne de "
            "« centre-alpha/jardins-partages »",
        ),
        "centre-alpha/soutien.md": (
            with_alias(resource("Une fiche qui prend une adresse"), "aide-aux-devoirs"),
            "l'alias « centre-alpha/aide-aux-devoirs » est l'identifiant d'une ressource en "
            "ligne (centre-alpha/education/aide-aux-devoirs.md)",
        ),
        "centre-alpha/vergers.md": (
            with_alias(resource("Une fiche qui prend un alias"), "ancien-jardin"),
            "l'alias « centre-alpha/ancien-jardin » est déjà l'ancienne adresse de "
            "« centre-alpha/jardins-partages »",
        ),
    }
    for path, (text, message) in refusals.items():
        alpha.update()
        alpha.write(path, text)
        alpha.commit()
        push = alpha.push("doc-alpha")
        assert not push.accepted, path
        assert f"remote: {path}: erreur : {message}" in push.output, push.output
        assert server.main_commit() == before


def test_a_rename_with_its_alias_is_accepted(server: GitServer) -> None:
    alpha = server.clone()
    alpha.move("centre-alpha/jardins-partages.md", "centre-alpha/jardins-familiaux.md")
    path = alpha.path / "centre-alpha" / "jardins-familiaux.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[jardins-collectifs]", "[jardins-collectifs, jardins-partages]"))
    alpha.commit("Renommage")
    push = alpha.push("doc-alpha")
    assert push.accepted, push.output
    assert "disparaît" not in push.output
    aliases = published_state(server.index).aliases
    assert aliases["centre-alpha/jardins-partages"] == "centre-alpha/jardins-familiaux"
    assert aliases["centre-alpha/jardins-collectifs"] == "centre-alpha/jardins-familiaux"


def test_accepted_pushes_not_yet_published_are_taken_into_account(server: GitServer) -> None:
    alpha = server.clone()
    with without_hook(server, "post-receive"):  # the publisher is late
        alpha.write("centre-alpha/lecture.md", resource("Une fiche sur la lecture"))
        alpha.commit()
        assert alpha.push("doc-alpha").accepted
        assert server.published_commit() != server.main_commit()
        alpha.write("centre-alpha/livres/lecture.md", resource("La même, ailleurs"))
        alpha.commit()
        push = alpha.push("doc-alpha")
    assert not push.accepted
    assert (
        "remote: centre-alpha/livres/lecture.md: erreur : identifiant « centre-alpha/lecture » "
        "en double (aussi : centre-alpha/lecture.md)" in push.output
    )


def test_a_sync_reads_only_what_changed_and_checks_ids_against_what_is_online(
    server: GitServer,
) -> None:
    """`kb sync` and the webhook validate like the hook: the changed files only, the rules
    across files against the version online."""
    from kb.publication import PublicationSettings
    from publishing.publisher import PUBLISHED, REFUSED, Publisher

    publication = PublicationSettings.from_settings(load_settings(config_file=server.config))
    publisher = Publisher(None, server.index, publication)
    alpha = server.clone()
    with without_hook(server, "post-receive"), without_hook(server, "pre-receive"):
        alpha.write("centre-alpha/compostage.md", resource("Un composteur de quartier"))
        alpha.commit()
        assert alpha.push("doc-alpha").accepted
        result = publisher.publish(str(server.bare), validate=True)
        assert result.outcome == PUBLISHED, result.lines
        assert result.checked == 1
        # An id already online elsewhere is found without reading the other files.
        alpha.write("centre-alpha/autre/compostage.md", resource("Le même identifiant"))
        alpha.commit()
        assert alpha.push("doc-alpha").accepted
        refused = publisher.publish(str(server.bare), validate=True)
    assert refused.outcome == REFUSED and refused.checked == 1
    assert any("« centre-alpha/compostage » en double" in line for line in refused.lines)
    assert server.published_commit() != server.main_commit()  # the last good one stays


def test_the_queue_answers_first_then_deploys_and_collects(
    server: GitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request is marked done before the deployed folder is updated and unused objects
    are collected (the pusher waits for the former only); both then happen."""
    import os
    import time

    from indexer import build
    from indexer.store import IndexFolder
    from kb.publication import PublicationSettings
    from publishing.publisher import Publisher
    from publishing.queue import DONE, PublicationQueue

    monkeypatch.setattr(build, "COLLECT_EVERY", 1)
    folder = IndexFolder(server.index)
    stale = folder.objects.put(b"une page que plus aucune version ne nomme")
    old = time.time() - 7200
    os.utime(folder.objects.path(stale), (old, old))
    publication = PublicationSettings.from_settings(load_settings(config_file=server.config))
    publisher = Publisher(server.deploy, server.index, publication)
    queue = PublicationQueue(server.index)
    seen = []
    finish = publisher.finish_pending

    def finishing() -> None:
        seen.append(
            (
                [r.state for r in queue.recent(1)],
                (server.deploy / "centre-alpha" / "compostage.md").exists(),
                folder.objects.get(stale) is not None,
            )
        )
        finish()

    monkeypatch.setattr(publisher, "finish_pending", finishing)
    alpha = server.clone()
    with without_hook(server, "post-receive"):
        alpha.write("centre-alpha/compostage.md", resource("Un composteur de quartier"))
        alpha.commit()
        assert alpha.push("doc-alpha").accepted
    request = queue.add("kb sync", str(server.bare), "main")
    queue.work(publisher)
    assert queue.get(request.id).state == DONE
    assert seen == [([DONE], False, True)]  # answered before deploying and collecting
    assert (server.deploy / "centre-alpha" / "compostage.md").is_file()
    assert folder.objects.get(stale) is None

"""The forge's webhook (`POST /hooks/git`) and `kb sync`: fetch, validate, publish.

The "forge" is a bare repository without hooks; the web app fetches from it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
import uuid
from pathlib import Path

import pytest
from publication_support import GitServer, git, resource

from kb import cli
from kb.publication import PUSHER_VARIABLES, PublicationSettings
from publishing.publisher import Publisher, read_status
from publishing.queue import DONE, FINAL, PublicationQueue, Request

pytest.importorskip("webapp")

SECRET = "un secret partagé"


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


def write_config(server: GitServer, secret: str = SECRET, remote: str | None = None) -> None:
    remote = str(server.bare) if remote is None else remote
    server.config.write_text(
        "[publication]\n"
        'branche = "main"\n'
        f"depot = {json.dumps(remote)}\n"
        f"secret_webhook = {json.dumps(secret)}\n"
        'journal = "journal/publication.log"\n',
        encoding="utf-8",
    )


@pytest.fixture
def forge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> GitServer:
    """The `valid` fixture on the forge's main, published once by `kb sync`."""
    server = GitServer(tmp_path).create()
    write_config(server)
    assert cli.main(["sync", *server.kb_options()]) == 0
    capsys.readouterr()
    return server


def make_app(server: GitServer):
    from webapp import create_app

    return create_app(
        {
            "KB_CONTENT": server.deploy,
            "KB_INDEX": server.index,
            "KB_CONFIG": server.config,
            "TESTING": True,
        }
    )


def push_to_forge(server: GitServer, files: dict[str, str], branch: str = "main") -> str:
    clone = server.clone()
    for path, text in files.items():
        clone.write(path, text)
    sha = clone.commit("Sur la forge")
    assert clone.push(None, branch).accepted  # the forge checks its own permissions
    return sha


def signed(body: bytes, style: str, secret: str = SECRET, delivery: str | None = None) -> dict:
    delivery = delivery or str(uuid.uuid4())
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if style == "github":
        return {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": f"sha256={digest}",
        }
    if style == "gitea":
        return {
            "X-Gitea-Event": "push",
            "X-Gitea-Delivery": delivery,
            "X-Gitea-Signature": digest,
        }
    assert style == "gitlab"
    return {
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Event-UUID": delivery,
        "X-Gitlab-Token": secret,
    }


def payload(ref: str = "refs/heads/main", after: str = "1" * 40) -> bytes:
    # What forges send, trimmed; only `ref` and `after` (the pushed commit) are read.
    return json.dumps(
        {"ref": ref, "after": after, "commits": [{"added": ["../../etc/passwd"]}]}
    ).encode()


def post(client, body: bytes, headers: dict):
    return client.post(
        "/hooks/git", data=body, headers={**headers, "Content-Type": "application/json"}
    )


def wait_for_sync(app) -> Request | None:
    """The newest request of the publication queue once its worker is done with it (the
    webhook started `kb publication traiter` in its own process); None when none."""
    queue = PublicationQueue(app.config["KB_SETTINGS"].index)
    deadline = time.monotonic() + 120
    while True:
        recent = queue.recent(1)
        if not recent:
            return None
        if recent[0].state in FINAL or time.monotonic() > deadline:
            return recent[0]
        time.sleep(0.1)


@pytest.mark.parametrize("style", ["github", "gitea", "gitlab"])
def test_a_signed_push_event_publishes_the_new_commit(forge: GitServer, style: str) -> None:
    app = make_app(forge)
    client = app.test_client()
    sha = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo solidaire")})
    assert forge.search_ids("vélo") == set()

    body = payload(after=sha)
    response = post(client, body, signed(body, style))

    assert response.status_code == 202
    answer = response.get_json()
    assert answer["statut"] == "accepte" and answer["raison"] == "publication en file"
    result = wait_for_sync(app)
    assert result is not None and result.state == DONE, result
    assert forge.search_ids("vélo") == {"centre-beta/velos"}
    assert "/ressources/centre-beta/velos" in client.get("/recherche?q=velo").get_data(as_text=True)
    assert git("rev-parse", "HEAD", cwd=forge.deploy).strip() == sha
    publication = client.get("/healthz").get_json()["publication"]
    assert publication["commit"] == sha
    assert publication["derniere_tentative"]["source"] == "webhook"
    assert publication["derniere_tentative"]["resultat"] == "publiee"


@pytest.mark.parametrize(
    ("style", "headers", "status"),
    [
        ("github", {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403),
        ("github", {"X-Hub-Signature-256": "md5=abc"}, 403),
        ("gitea", {"X-Gitea-Signature": "f" * 64}, 403),
        ("gitlab", {"X-Gitlab-Token": "mauvais secret"}, 403),
        ("github", {"X-Hub-Signature-256": None}, 401),
    ],
)
def test_a_badly_signed_request_does_nothing(
    forge: GitServer, style: str, headers: dict, status: int
) -> None:
    app = make_app(forge)
    before = read_status(forge.index)
    push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo solidaire")})
    sent = {k: v for k, v in {**signed(payload(), style), **headers}.items() if v is not None}

    response = post(app.test_client(), payload(), sent)

    assert response.status_code == status
    assert response.get_json()["statut"] == "refuse"
    assert len(PublicationQueue(forge.index).recent(100)) == 1  # the fixture's kb sync only
    assert read_status(forge.index) == before
    assert forge.search_ids("vélo") == set()


def test_a_body_signed_with_another_secret_or_altered_is_refused(forge: GitServer) -> None:
    client = make_app(forge).test_client()
    other = signed(payload(), "github", secret="autre secret")
    assert post(client, payload(), other).status_code == 403
    altered = payload().replace(b"main", b"mein")
    assert post(client, altered, signed(payload(), "github")).status_code == 403


def test_a_commit_already_online_is_not_published_again(forge: GitServer) -> None:
    app = make_app(forge)
    client = app.test_client()
    first = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo")})
    body = payload(after=first)
    assert post(client, body, signed(body, "github")).status_code == 202
    assert wait_for_sync(app).state == DONE
    assert forge.published_commit() == first
    count = len(PublicationQueue(forge.index).recent(100))

    # The same delivery again, or with a new delivery id (not covered by the signature),
    # also after a restart: the commit is online, nothing is queued.
    for client_ in (client, make_app(forge).test_client()):
        again = post(client_, body, signed(body, "github"))
        assert again.status_code == 200
        assert again.get_json()["statut"] == "ignore"
        assert "déjà en ligne" in again.get_json()["raison"]
    assert len(PublicationQueue(forge.index).recent(100)) == count


def test_a_redelivery_after_a_failure_publishes(forge: GitServer) -> None:
    app = make_app(forge)
    sha = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo")})
    body = payload(after=sha)
    # The forge is unreachable for the first delivery.
    write_config(forge, remote=str(forge.bare) + "-absent")
    assert post(make_app(forge).test_client(), body, signed(body, "github")).status_code == 202
    failed = wait_for_sync(app)
    assert failed.state == "attente" and failed.attempts == 1  # kept, to be tried again
    assert forge.search_ids("vélo") == set()
    # Back online: the forge's "redeliver" button sends the same delivery again.
    write_config(forge)
    assert post(make_app(forge).test_client(), body, signed(body, "github")).status_code == 202
    assert wait_for_sync(app).state == DONE
    assert forge.search_ids("vélo") == {"centre-beta/velos"}


def test_other_branches_and_other_events_are_ignored(forge: GitServer) -> None:
    app = make_app(forge)
    client = app.test_client()
    online = forge.published_commit()
    push_to_forge(forge, {"centre-beta/velos.md": resource("Vélo")}, branch="relecture")

    body = payload("refs/heads/relecture")
    other_branch = post(client, body, signed(body, "github"))
    assert other_branch.status_code == 202
    assert other_branch.get_json() == {
        "statut": "ignore",
        "raison": "seule la branche « main » est publiée",
    }
    tag = payload("refs/tags/v1")
    assert post(client, tag, signed(tag, "gitlab")).get_json()["statut"] == "ignore"
    ping_headers = {**signed(payload(), "github"), "X-GitHub-Event": "ping"}
    ping = post(client, payload(), ping_headers)
    assert ping.status_code == 202 and ping.get_json()["statut"] == "ignore"
    assert len(PublicationQueue(forge.index).recent(100)) == 1  # the fixture's kb sync only
    assert forge.published_commit() == online


def test_a_failed_validation_keeps_the_last_good_version_and_shows_in_healthz(
    forge: GitServer,
) -> None:
    app = make_app(forge)
    client = app.test_client()
    online = forge.published_commit()
    ids = forge.search_ids()
    broken = push_to_forge(
        forge,
        {
            "centre-alpha/cassee.md": resource("Cassée").replace("2024-03-12", "2024-13-45"),
            "centre-alpha/correcte.md": resource("Une fiche correcte sur le tricot"),
        },
    )

    body = payload(after=broken)
    assert post(client, body, signed(body, "github")).status_code == 202
    result = wait_for_sync(app)

    assert result is not None and result.state == "refusee"
    assert forge.published_commit() == online
    assert git("rev-parse", "HEAD", cwd=forge.deploy).strip() == online
    assert not (forge.deploy / "centre-alpha" / "correcte.md").exists()
    assert forge.search_ids() == ids
    health = client.get("/healthz")
    assert health.status_code == 200
    publication = health.get_json()["publication"]
    assert publication["commit"] == online
    attempt = publication["derniere_tentative"]
    assert attempt["resultat"] == "refusee" and attempt["commit"] == broken
    assert any(e.startswith("centre-alpha/cassee.md:4: erreur :") for e in attempt["erreurs"])
    assert "la version précédente reste en ligne" in attempt["message"]
    log = forge.log.read_text(encoding="utf-8")
    assert "refusee" in log and "centre-alpha/cassee.md:4: erreur :" in log


def test_the_webhook_is_disabled_without_a_secret(forge: GitServer) -> None:
    write_config(forge, secret="")
    client = make_app(forge).test_client()
    assert post(client, payload(), signed(payload(), "github", secret="")).status_code == 404
    write_config(forge, remote="")
    client = make_app(forge).test_client()
    response = post(client, payload(), signed(payload(), "github"))
    assert response.status_code == 503


def test_an_oversize_body_is_refused(forge: GitServer) -> None:
    client = make_app(forge).test_client()
    body = b'{"ref": "refs/heads/main", "x": "' + b"a" * (6 * 1024 * 1024) + b'"}'
    assert post(client, body, signed(body, "github")).status_code == 413


def test_waiting_requests_for_a_branch_are_merged_into_one_publication(
    forge: GitServer,
) -> None:
    queue = PublicationQueue(forge.index)
    first = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo")})
    second = push_to_forge(forge, {"centre-beta/rollers.md": resource("Des rollers")})
    requests = [
        queue.add("webhook", str(forge.bare), "main", first),
        queue.add("webhook", str(forge.bare), "main", first),  # the same: not added twice
        queue.add("webhook", str(forge.bare), "main", second),
    ]
    assert requests[0].id == requests[1].id
    publisher = Publisher(None, forge.index, PublicationSettings(), 5)
    worked = queue.work(publisher)
    assert len(worked) == 1  # the newest covers the older one
    assert all(queue.get(r.id).state == DONE for r in requests)
    assert forge.published_commit() == second


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "contenu JSON trop imbriqué (32 niveaux au plus)"),
        (b'{"ref": "refs/heads/main", "a":' * 40 + b"1" + b"}" * 40, "contenu JSON trop imbriqué"),
        (b'{"ref": "refs/heads/main", "n": ' + b"9" * 5000 + b"}", "contenu JSON invalide"),
        (b'{"ref": "refs/heads/main"', "contenu JSON invalide"),
        (b'{"ref": "\xff"}', "contenu JSON invalide"),
    ],
    ids=["deep-array", "deep-object", "huge-number", "truncated", "not-utf8"],
)
def test_a_signed_but_hostile_body_is_refused_in_french(
    forge: GitServer, body: bytes, reason: str
) -> None:
    app = make_app(forge)
    response = post(app.test_client(), body, signed(body, "github"))
    assert response.status_code == 400
    assert response.get_json()["statut"] == "refuse"
    assert response.get_json()["raison"].startswith(reason)
    assert len(PublicationQueue(forge.index).recent(100)) == 1  # the fixture's kb sync only


def test_a_signed_body_nested_within_the_limit_is_read(forge: GitServer) -> None:
    # Brackets inside strings do not count; real payloads nest a few levels.
    body = json.dumps(
        {"ref": "refs/heads/relecture", "message": "[[[[{{{{" * 50, "x": [[[[{"y": [1]}]]]]}
    ).encode()
    response = post(make_app(forge).test_client(), body, signed(body, "github"))
    assert response.status_code == 202 and response.get_json()["statut"] == "ignore"


def test_a_request_left_running_by_a_killed_worker_is_taken_again(forge: GitServer) -> None:
    queue = PublicationQueue(forge.index)
    sha = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo")})
    request = queue.add("webhook", str(forge.bare), "main", sha)
    queue._set([request.id], "en_cours", "publication en cours")  # as a kill -9 leaves it
    queue.work(Publisher(None, forge.index, PublicationSettings(), 5))
    assert queue.get(request.id).state == DONE
    assert forge.published_commit() == sha


# --- kb sync (cron) ---------------------------------------------------------------------------


def test_kb_sync_publishes_refuses_and_reports_by_exit_code(forge: GitServer, run_kb) -> None:
    unchanged = run_kb("sync", *forge.kb_options())
    assert unchanged.code == 0
    assert "déjà en ligne" in unchanged.out

    online = forge.published_commit()
    push_to_forge(forge, {"centre-alpha/cassee.md": "---\ntitre: [\n---\n"})
    refused = run_kb("sync", *forge.kb_options())
    assert refused.code == 1
    assert "centre-alpha/cassee.md:2: erreur :" in refused.err
    assert "la version précédente reste en ligne" in refused.err
    assert forge.published_commit() == online

    clone = forge.clone()
    clone.write("centre-alpha/cassee.md", resource("Réparée, sur la couture"))
    fixed = clone.commit()
    assert clone.push(None).accepted
    published = run_kb("sync", "--remote", forge.bare, "--branch", "main", *forge.kb_options())
    assert published.code == 0
    assert "Publication : 1 ressource publiée, 0 mise à jour, 0 retirée" in published.out
    assert forge.published_commit() == fixed
    assert forge.search_ids("couture") == {"centre-alpha/cassee"}


def test_kb_sync_needs_a_remote(forge: GitServer, run_kb) -> None:
    write_config(forge, remote="")
    run = run_kb("sync", *forge.kb_options())
    assert run.code == 2
    assert "aucun dépôt à récupérer" in run.err


def test_kb_sync_recovers_after_an_interrupted_publication(forge: GitServer, run_kb) -> None:
    # The deployed folder changed by hand or by an interrupted run: it is not what the
    # site shows, and the next publication puts it back.
    sha = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo")})
    git("fetch", "-q", forge.bare, "main", cwd=forge.deploy)
    git("checkout", "-q", "--detach", sha, cwd=forge.deploy)
    (forge.deploy / "centre-beta" / "oublie.md").write_text(resource("Un fichier égaré"))
    assert forge.search_ids("vélo") == set()

    assert run_kb("sync", *forge.kb_options()).code == 0
    assert forge.search_ids("vélo") == {"centre-beta/velos"}
    assert not (forge.deploy / "centre-beta" / "oublie.md").exists()

    # A lost index: the next publication indexes everything again.
    shutil.rmtree(forge.index)
    assert run_kb("sync", *forge.kb_options()).code == 0
    assert "centre-beta/velos" in forge.search_ids()
    assert len(forge.search_ids()) == 5

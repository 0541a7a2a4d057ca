"""The forge's webhook (`POST /hooks/git`) and `kb sync`: fetch, validate, publish.

The "forge" is a bare repository without hooks; the web app fetches from it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from publication_support import GitServer, git, resource

from indexer.publish import PUBLISHED, DeliveryLog, PublishResult, SyncRunner, read_status
from kb import cli
from kb.publication import PUSHER_VARIABLES

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


def payload(ref: str = "refs/heads/main") -> bytes:
    # What forges send, trimmed; only `ref` is read.
    return json.dumps(
        {"ref": ref, "after": "0" * 40, "commits": [{"added": ["../../etc/passwd"]}]}
    ).encode()


def post(client, body: bytes, headers: dict):
    return client.post(
        "/hooks/git", data=body, headers={**headers, "Content-Type": "application/json"}
    )


def wait_for_sync(app) -> PublishResult | None:
    webhook = app.extensions.get("kb_webhook")
    if webhook is None:
        return None
    assert webhook.runner.wait(60)
    return webhook.runner.last


@pytest.mark.parametrize("style", ["github", "gitea", "gitlab"])
def test_a_signed_push_event_publishes_the_new_commit(forge: GitServer, style: str) -> None:
    app = make_app(forge)
    client = app.test_client()
    sha = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo solidaire")})
    assert forge.search_ids("vélo") == set()

    response = post(client, payload(), signed(payload(), style))

    assert response.status_code == 202
    assert response.get_json() == {"statut": "accepte", "raison": "publication lancée"}
    result = wait_for_sync(app)
    assert result is not None and result.outcome == PUBLISHED, result
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
    assert wait_for_sync(app) is None
    assert read_status(forge.index) == before
    assert forge.search_ids("vélo") == set()


def test_a_body_signed_with_another_secret_or_altered_is_refused(forge: GitServer) -> None:
    client = make_app(forge).test_client()
    other = signed(payload(), "github", secret="autre secret")
    assert post(client, payload(), other).status_code == 403
    altered = payload().replace(b"main", b"mein")
    assert post(client, altered, signed(payload(), "github")).status_code == 403


def test_a_replayed_delivery_does_nothing_even_after_a_restart(forge: GitServer) -> None:
    app = make_app(forge)
    client = app.test_client()
    first = push_to_forge(forge, {"centre-beta/velos.md": resource("Un atelier vélo")})
    headers = signed(payload(), "github")
    assert post(client, payload(), headers).status_code == 202
    wait_for_sync(app)
    assert forge.published_commit() == first

    push_to_forge(forge, {"centre-beta/rollers.md": resource("Une randonnée en rollers")})
    replay = post(client, payload(), headers)
    assert replay.status_code == 202
    assert replay.get_json() == {"statut": "ignore", "raison": "livraison déjà reçue"}
    restarted = make_app(forge)
    assert post(restarted.test_client(), payload(), headers).get_json()["raison"] == (
        "livraison déjà reçue"
    )
    assert wait_for_sync(restarted) is None
    wait_for_sync(app)
    assert forge.published_commit() == first
    assert forge.search_ids("rollers") == set()


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
    assert wait_for_sync(app) is None
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

    assert post(client, payload(), signed(payload(), "github")).status_code == 202
    result = wait_for_sync(app)

    assert result is not None and result.outcome == "refusee"
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
    assert any(e.startswith("centre-alpha/cassee.md:4: erreur:") for e in attempt["erreurs"])
    assert "la version précédente reste en ligne" in attempt["message"]
    log = forge.log.read_text(encoding="utf-8")
    assert "refusee" in log and "centre-alpha/cassee.md:4: erreur:" in log


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


def test_deliveries_are_bounded(tmp_path: Path) -> None:
    deliveries = DeliveryLog(tmp_path, keep=3)
    assert all(deliveries.first_time(d) for d in "abcd")
    assert not deliveries.first_time("d")
    assert deliveries.first_time("a")  # forgotten: only the last three are kept


def test_requests_during_a_run_are_merged_into_one_more_run() -> None:
    started, release = threading.Event(), threading.Event()
    runs = []

    def publish() -> PublishResult:
        runs.append(len(runs))
        started.set()
        release.wait(10)
        return PublishResult(PUBLISHED)

    runner = SyncRunner(publish)
    assert runner.request() is True
    assert started.wait(10)
    assert [runner.request() for _ in range(3)] == [True, False, False]
    release.set()
    assert runner.wait(10)
    assert len(runs) == 2


# --- kb sync (cron) ---------------------------------------------------------------------------


def test_kb_sync_publishes_refuses_and_reports_by_exit_code(forge: GitServer, run_kb) -> None:
    unchanged = run_kb("sync", *forge.kb_options())
    assert unchanged.code == 0
    assert "déjà en ligne" in unchanged.out

    online = forge.published_commit()
    push_to_forge(forge, {"centre-alpha/cassee.md": "---\ntitre: [\n---\n"})
    refused = run_kb("sync", *forge.kb_options())
    assert refused.code == 1
    assert "centre-alpha/cassee.md:2: erreur:" in refused.err
    assert "la version précédente reste en ligne" in refused.err
    assert forge.published_commit() == online

    clone = forge.clone()
    clone.write("centre-alpha/cassee.md", resource("Réparée, sur la couture"))
    fixed = clone.commit()
    assert clone.push(None).accepted
    published = run_kb("sync", "--remote", forge.bare, "--branch", "main", *forge.kb_options())
    assert published.code == 0
    assert "Publication : 1 ressources publiées, 0 mises à jour, 0 retirées" in published.out
    assert forge.published_commit() == fixed
    assert forge.search_ids("couture") == {"centre-alpha/cassee"}


def test_kb_sync_needs_a_remote(forge: GitServer, run_kb) -> None:
    write_config(forge, remote="")
    run = run_kb("sync", *forge.kb_options())
    assert run.code == 2
    assert "aucun dépôt à récupérer" in run.err


def test_kb_sync_recovers_after_an_interrupted_publication(forge: GitServer, run_kb) -> None:
    # A post-receive killed after the checkout, before the index: files and index disagree.
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

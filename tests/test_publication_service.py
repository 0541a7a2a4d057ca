"""The resident publication service (`kb publication service`, publishing/service.py).

Real git, real hooks, the service as a real process: a push is published by the service
and the pusher reads the same lines as without it; a service killed with -9 is never
waited for; one service per index; SIGTERM finishes the publication at hand, then exits.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from publication_support import (
    GitServer,
    Push,
    git_environment,
    published_server,
    resource,
    without_hook,
)

from indexer.store import exclusive_lock
from kb.publication import PUSHER_VARIABLES
from publishing.publisher import LOCK_FILE
from publishing.queue import MAX_LINES, QUEUE_FILE, PublicationQueue
from publishing.service import SERVICE_LOCK, is_running

START_TIMEOUT = 180.0  # a shared 2-core machine: starting Python and the indexer can be slow
READY = "service de publication prêt"


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> GitServer:
    return published_server(tmp_path)


class Service:
    """`kb publication service` for a test server, as systemd would run it."""

    def __init__(self, server: GitServer, name: str = "service") -> None:
        self.log_path = server.root / f"{name}.log"
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "kb.cli", "publication", "service", *server.kb_options()],
            cwd=server.root,
            env=git_environment(),
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, text: str, timeout: float = 60.0) -> None:
        """Until the service's log has `text` (it logs a request once the whole round of
        the queue is over, after the waiting process was answered)."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.05)

    def wait_ready(self) -> Service:
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in self.log():
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.05)
        return self

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=120)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.log_file.close()


@pytest.fixture
def service(server: GitServer):
    started = Service(server).wait_ready()
    try:
        yield started
    finally:
        started.stop()


def remote_lines(push: Push, name: str, commit: str) -> list[str]:
    """The `remote:` lines, with what differs between two pushes replaced."""
    lines = [line for line in push.output.splitlines() if line.startswith("remote:")]
    return [line.replace(name, "NOM").replace(commit[:10], "VERSION") for line in lines]


def push_in_thread(clone, account: str) -> tuple[threading.Thread, list[Push]]:
    pushes: list[Push] = []
    thread = threading.Thread(target=lambda: pushes.append(clone.push(account)))
    thread.start()
    return thread, pushes


def wait_state(server: GitServer, states: set[str], timeout: float = START_TIMEOUT):
    """The newest request once it is in one of `states`."""
    queue = PublicationQueue(server.index)
    deadline = time.monotonic() + timeout
    while True:
        recent = queue.recent(1)
        if recent and recent[0].state in states:
            return recent[0]
        assert time.monotonic() < deadline, recent
        time.sleep(0.02)


def warned_sheet(clone, name: str, word: str) -> str:
    """A valid sheet with a warning (an unknown key), committed; its commit."""
    clone.write(
        f"centre-alpha/{name}.md",
        resource(f"Une fiche sur {word}", body=f"Le mot {word}.").replace(
            "type:", "thematique: culture\ntype:"
        ),
    )
    return clone.commit(f"Fiche {name}")


def test_a_push_is_published_by_the_service_with_the_same_output(server: GitServer) -> None:
    alpha = server.clone()
    first = warned_sheet(alpha, "fresques-murales", "fresques")
    without = alpha.push("doc-alpha")
    assert without.accepted, without.output
    assert server.search_ids("fresques") == {"centre-alpha/fresques-murales"}

    service = Service(server).wait_ready()
    try:
        second = warned_sheet(alpha, "mosaiques-murales", "mosaiques")
        started = time.monotonic()
        served = alpha.push("doc-alpha")
        took = time.monotonic() - started
        assert served.accepted, served.output
        # Published by the service, not by the hook: the service's log names the request.
        service.wait_log("(post-receive) : publiee")
    finally:
        assert service.stop() == 0
    assert server.search_ids("mosaiques") == {"centre-alpha/mosaiques-murales"}
    assert server.published_commit() == second == server.main_commit()
    assert remote_lines(served, "mosaiques-murales", second) == remote_lines(
        without, "fresques-murales", first
    )
    assert "remote: Publication : 1 ressource publiée, 0 mise à jour, 0 retirée" in served.output
    assert "avertissement : clé inconnue « thematique »" in served.output
    assert took < 60, took


def test_a_refused_push_is_unchanged_and_never_reaches_the_service(
    server: GitServer, service: Service
) -> None:
    before = server.main_commit()
    alpha = server.clone()
    alpha.write(
        "centre-alpha/fiche-cassee.md", resource("Fiche cassée").replace("2024-03-12", "2024-13-45")
    )
    alpha.commit()
    push = alpha.push("doc-alpha")
    assert not push.accepted
    assert (
        "remote: centre-alpha/fiche-cassee.md:4: erreur : « date » : date invalide « 2024-13-45 »"
        in push.output
    )
    assert "Poussée refusée : 1 erreur. Rien n'a été publié." in push.output
    assert server.main_commit() == before == server.published_commit()
    assert "demande" not in service.log()


def test_kb_sync_prints_the_lines_the_service_recorded(server: GitServer) -> None:
    """A refusal found by the publisher itself (kb sync validates): the same lines with
    and without the service, read from the queue."""
    alpha = server.clone()
    alpha.write(
        "centre-alpha/fiche-cassee.md", resource("Fiche cassée").replace("2024-03-12", "2024-13-45")
    )
    alpha.commit()
    with without_hook(server, "pre-receive"), without_hook(server, "post-receive"):
        assert alpha.push("doc-alpha").accepted

    def sync() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-P", "-m", "kb.cli", "sync", "--remote", str(server.bare)]
            + server.kb_options(),
            cwd=server.root,
            env=git_environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )

    alone = sync()
    service = Service(server).wait_ready()
    try:
        served = sync()
        service.wait_log("(kb sync) : refusee")
    finally:
        assert service.stop() == 0
    assert alone.returncode == served.returncode == 1
    assert "fiche-cassee.md:4: erreur : « date » : date invalide" in served.stderr
    assert served.stderr == alone.stderr
    assert served.stdout == alone.stdout


def test_kb_sync_after_a_failure_is_worked_at_once_by_the_service(
    server: GitServer, service: Service
) -> None:
    """The documented way to retry (kb sync) must not wait for the service's next round
    of retries, nor answer with the previous failure."""
    alpha = server.clone()
    alpha.write("centre-alpha/potagers.md", resource("Des potagers", body="Maraîchage."))
    commit = alpha.commit()
    with without_hook(server, "post-receive"):
        assert alpha.push("doc-alpha").accepted
    away = server.bare.with_name("depot-absent.git")
    command = [sys.executable, "-P", "-m", "kb.cli", "sync", "--remote", str(server.bare)]

    def sync() -> subprocess.CompletedProcess:
        return subprocess.run(
            command + server.kb_options(),
            cwd=server.root,
            env=git_environment(),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
        )

    server.bare.rename(away)
    try:
        failed = sync()
    finally:
        away.rename(server.bare)
    assert failed.returncode == 1, failed.stderr
    assert PublicationQueue(server.index).recent(1)[0].attempts == 1
    retried = sync()
    assert retried.returncode == 0, retried.stderr
    assert "Publication : 1 ressource publiée" in retried.stdout
    assert server.published_commit() == commit
    service.wait_log("(kb sync) : erreur")
    service.wait_log("(kb sync) : publiee")


def test_a_service_killed_while_a_request_waits_is_not_waited_for(
    server: GitServer, service: Service
) -> None:
    service.process.send_signal(signal.SIGSTOP)  # alive, holding its lock, doing nothing
    try:
        alpha = server.clone()
        alpha.write("centre-alpha/ruchers.md", resource("Des ruchers", body="Apiculture."))
        commit = alpha.commit()
        thread, pushes = push_in_thread(alpha, "doc-alpha")
        wait_state(server, {"attente"})
        time.sleep(0.3)  # the hook waits for the service: it does not work the queue itself
        assert thread.is_alive()
        assert PublicationQueue(server.index).recent(1)[0].state == "attente"
        service.process.kill()
        service.process.wait(timeout=60)
        thread.join(START_TIMEOUT)
    finally:
        if service.process.poll() is None:
            service.process.kill()
    assert not thread.is_alive()
    [push] = pushes
    assert push.accepted, push.output
    assert "remote: Publication : 1 ressource publiée, 0 mise à jour, 0 retirée" in push.output
    assert not is_running(server.index)
    assert server.published_commit() == commit
    assert server.search_ids("apiculture") == {"centre-alpha/ruchers"}


def test_a_service_killed_while_publishing_is_taken_over_by_the_hook(
    server: GitServer, service: Service
) -> None:
    busy = RuntimeError("verrou de publication pris")
    alpha = server.clone()
    alpha.write("centre-alpha/compost.md", resource("Du compost", body="Lombricompostage."))
    commit = alpha.commit()
    with exclusive_lock(server.index / LOCK_FILE, 10, busy):  # the publication waits for it
        thread, pushes = push_in_thread(alpha, "doc-alpha")
        wait_state(server, {"en_cours"})  # the service took it
        service.process.kill()
        service.process.wait(timeout=60)
        time.sleep(0.5)
        assert thread.is_alive()
    thread.join(START_TIMEOUT)
    assert not thread.is_alive()
    [push] = pushes
    assert push.accepted, push.output
    assert "remote: Publication : 1 ressource publiée, 0 mise à jour, 0 retirée" in push.output
    assert server.published_commit() == commit
    assert server.search_ids("lombricompostage") == {"centre-alpha/compost"}
    assert PublicationQueue(server.index).recent(1)[0].state == "faite"


def test_healthz_says_whether_the_service_runs(server: GitServer, service: Service) -> None:
    from webapp import create_app

    config = {"KB_CONTENT": server.deploy, "KB_INDEX": server.index, "KB_CONFIG": server.config}
    client = create_app(config).test_client()
    assert client.get("/healthz").get_json()["service_publication"] is True
    assert service.stop() == 0
    assert client.get("/healthz").get_json()["service_publication"] is False


def test_a_second_service_on_the_same_index_refuses_at_once(
    server: GitServer, service: Service
) -> None:
    second = subprocess.run(
        [sys.executable, "-P", "-m", "kb.cli", "publication", "service", *server.kb_options()],
        cwd=server.root,
        env=git_environment(),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert second.returncode == 1
    assert "un service de publication tourne déjà pour l'index" in second.stderr
    assert service.process.poll() is None
    assert is_running(server.index)


def test_sigterm_finishes_the_publication_at_hand_then_exits(
    server: GitServer, service: Service
) -> None:
    busy = RuntimeError("verrou de publication pris")
    alpha = server.clone()
    alpha.write("centre-alpha/vergers.md", resource("Des vergers", body="Arboriculture."))
    commit = alpha.commit()
    with exclusive_lock(server.index / LOCK_FILE, 10, busy):
        thread, pushes = push_in_thread(alpha, "doc-alpha")
        wait_state(server, {"en_cours"})
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert service.process.poll() is None  # still publishing
    assert service.process.wait(timeout=START_TIMEOUT) == 0
    thread.join(START_TIMEOUT)
    [push] = pushes
    assert push.accepted, push.output
    assert "remote: Publication : 1 ressource publiée" in push.output
    assert server.published_commit() == commit
    log = service.log()
    assert "signal SIGTERM reçu" in log and "service de publication arrêté" in log
    assert "(post-receive) : publiee" in log
    assert not is_running(server.index)


HOOK_CLIENT = """
import argparse, json, sys
from kb.cli import settings_from
from publishing import commands
args = argparse.Namespace(content={content!r}, index={index!r}, config={config!r}, precedent=None)
code = commands.run_post_receive(args, settings_from(args))
heavy = [m for m in ("whoosh", "numpy", "indexer.build", "publishing.publisher") if m in sys.modules]
print(json.dumps([code, heavy]))
"""


def run_hook_client(server: GitServer, old: str, new: str) -> tuple[int, list[str], str]:
    """The post-receive hook's own code, in a fresh Python: its exit code, which heavy
    modules it imported, and what it printed."""
    script = HOOK_CLIENT.format(
        content=str(server.deploy), index=str(server.index), config=str(server.config)
    )
    completed = subprocess.run(
        [sys.executable, "-P", "-c", script],
        input=f"{old} {new} refs/heads/main\n",
        cwd=server.bare,
        env=git_environment(GIT_DIR=str(server.bare)),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert completed.returncode == 0, completed.stderr
    code, heavy = json.loads(completed.stdout.strip().splitlines()[-1])
    return code, heavy, completed.stderr


def test_the_hook_only_waits_and_never_imports_the_indexer(server: GitServer) -> None:
    alpha = server.clone()
    with without_hook(server, "post-receive"):
        old = server.main_commit()
        alpha.write("centre-alpha/premier.md", resource("Premier", body="Tricot."))
        first = alpha.commit()
        assert alpha.push("doc-alpha").accepted
        # Without the service, the hook publishes itself: the indexer is loaded.
        code, heavy, output = run_hook_client(server, old, first)
        assert code == 0, output
        assert "whoosh" in heavy and "publishing.publisher" in heavy
        alpha.write("centre-alpha/second.md", resource("Second", body="Crochet."))
        second = alpha.commit()
        assert alpha.push("doc-alpha").accepted
    service = Service(server).wait_ready()
    try:
        code, heavy, output = run_hook_client(server, first, second)
    finally:
        assert service.stop() == 0
    assert code == 0, output
    assert heavy == []
    assert "Publication : 1 ressource publiée, 0 mise à jour, 0 retirée" in output
    assert server.search_ids("crochet") == {"centre-alpha/second"}


def workers_started_by_us() -> list[int]:
    """Our child processes that run `kb publication traiter`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"traiter" in command:
            found.append(int(entry.name))
    return found


def test_the_webhook_starts_no_worker_when_the_service_runs(
    server: GitServer, service: Service
) -> None:
    from publishing.queue import start_worker

    start_worker(server.config, server.index, server.deploy)
    assert workers_started_by_us() == []
    assert service.stop() == 0
    start_worker(server.config, server.index, server.deploy)
    started = workers_started_by_us()
    assert len(started) == 1
    os.waitpid(started[0], 0)  # it finds nothing to do and exits


def test_result_lines_are_kept_capped_and_added_to_old_queues(tmp_path: Path) -> None:
    # A queue written before the service: no `lignes` column.
    (tmp_path / QUEUE_FILE).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(tmp_path / QUEUE_FILE)
    db.execute(
        "CREATE TABLE demandes (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT, depot TEXT, "
        "branche TEXT, commit_ TEXT, verifier INTEGER, etat TEXT, tentatives INTEGER DEFAULT 0, "
        "message TEXT DEFAULT '', recue TEXT, fin TEXT, nom_source TEXT DEFAULT '', "
        "centres TEXT DEFAULT '')"
    )
    db.execute(
        "INSERT INTO demandes (source, depot, branche, verifier, etat, recue) "
        "VALUES ('kb sync', '/depot', 'main', 1, 'faite', '2026-01-01T00:00:00+00:00')"
    )
    db.commit()
    db.close()
    queue = PublicationQueue(tmp_path)
    old = queue.get(1)
    assert old is not None and old.lines == () and old.state == "faite"

    request = queue.add("kb sync", "/depot", "main")
    lines = [f"f{n}.md:1: erreur : ligne {n}" for n in range(MAX_LINES + 100)]
    queue._set([request.id], "refusee", "refusée", attempt=True, lines=lines)
    kept = queue.get(request.id)
    assert kept is not None and len(kept.lines) == MAX_LINES
    assert kept.lines[:3] == tuple(lines[:3])
    assert kept.lines[-1].startswith("… et 101 autres lignes")
    stored = (
        sqlite3.connect(tmp_path / QUEUE_FILE).execute("SELECT lignes FROM demandes").fetchall()
    )
    assert json.loads(stored[-1][0])[0] == lines[0]


def test_is_running_follows_the_lock(tmp_path: Path) -> None:
    from publishing.service import ServiceRunning, service_lock

    assert not is_running(tmp_path)
    with service_lock(tmp_path):
        assert is_running(tmp_path)
        with pytest.raises(ServiceRunning, match="un service de publication tourne déjà"):
            with service_lock(tmp_path):
                pass
    assert not is_running(tmp_path)
    assert (tmp_path / SERVICE_LOCK).exists()  # left behind, unlocked: not "running"


def test_a_queued_request_wakes_the_service_at_once(server: GitServer) -> None:
    """The service looks at the queue when woken, long before its next look (here set to
    two minutes)."""
    from kb.publication import PublicationSettings
    from publishing.publisher import Publisher
    from publishing.service import serve, wake

    queue = PublicationQueue(server.index)
    alpha = server.clone()

    def queued(name: str) -> int:
        alpha.write(f"centre-alpha/{name}.md", resource(f"Fiche {name}", body=f"Mot {name}."))
        alpha.commit(name)
        with without_hook(server, "post-receive"):
            assert alpha.push("doc-alpha").accepted
        return queue.add("kb sync", str(server.bare), "main").id

    def done(request_id: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if queue.get(request_id).state == "faite":
                return True
            time.sleep(0.02)
        return False

    first = queued("premiere")  # worked by the service's first look, at its start
    stop = threading.Event()
    publisher = Publisher(None, server.index, PublicationSettings(), 30)
    service = threading.Thread(
        target=serve, args=(queue, publisher, stop), kwargs={"poll": 120.0, "retry_every": 600.0}
    )
    service.start()
    try:
        assert done(first, START_TIMEOUT)
        second = queued("seconde")
        wake(server.index)
        assert done(second, 60.0)
    finally:
        stop.set()
        wake(server.index)
        service.join(START_TIMEOUT)
    assert not service.is_alive()
    assert server.search_ids("seconde") == {"centre-alpha/seconde"}


def test_waking_nobody_does_nothing(tmp_path: Path) -> None:
    from publishing.service import WAKE_PIPE, wake

    wake(tmp_path)  # no pipe
    os.mkfifo(tmp_path / WAKE_PIPE)
    wake(tmp_path)  # a pipe nobody reads: no wait, no error
    (tmp_path / WAKE_PIPE).unlink()
    (tmp_path / WAKE_PIPE).write_text("")
    wake(tmp_path)  # not a pipe: nothing written
    assert (tmp_path / WAKE_PIPE).read_text() == ""

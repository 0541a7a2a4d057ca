"""A real SMTP server for the alert tests (aiosmtpd, in a thread, on 127.0.0.1), and a
site whose kb.toml points to it."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from agenda_support import write_tree
from aiosmtpd.controller import Controller

from indexer.build import Indexer

SITE = "https://ressources.example.org"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """Keeps every message the server accepted. `mode` makes it misbehave: "refuse"
    answers 451 (try later), "hang" never answers (until released)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.mode = "accept"
        self.fail_after = 0  # messages accepted before misbehaving
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            misbehave = self.mode != "accept" and len(self.messages) >= self.fail_after
            mode = self.mode
        if misbehave and mode == "refuse":
            return "451 4.3.0 Essayez plus tard"
        if misbehave and mode == "hang":
            self.hanging.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Interrompu"
        message = email.message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()


@dataclass
class SmtpServer:
    recorder: Recorder
    port: int
    controller: Controller

    def stop(self) -> None:
        self.recorder.release.set()
        self.controller.stop()


def start_smtp() -> SmtpServer:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    return SmtpServer(recorder, port, controller)


@dataclass(frozen=True)
class AlertSite:
    root: Path
    content: Path
    index: Path
    config: Path
    database: Path

    def app_config(self) -> dict:
        return {
            "TESTING": True,
            "KB_CONFIG": str(self.config),
            "KB_CONTENT": str(self.content),
            "KB_INDEX": str(self.index),
            "KB_SITE_URL": SITE,
        }

    def publish(self, relative: str, text: str) -> None:
        target = self.content / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        report = Indexer(self.content, self.index).update()
        assert report.ok, [p.format() for p in report.problems]


def build_alert_site(root: Path, smtp_port: int, per_minute: float = 6000) -> AlertSite:
    content = write_tree(root / "content")
    index = root / "index"
    Indexer(content, index).update()
    config = root / "kb.toml"
    config.write_text(
        f'contenu = "content"\nindex = "index"\nurl_site = "{SITE}"\n\n'
        "[courriel]\n"
        'hote = "127.0.0.1"\n'
        f"port = {smtp_port}\n"
        'securite = "aucune"\n'
        'expediteur = "Ressources politique de la ville <alertes@example.org>"\n\n'
        "[alertes]\n"
        'base = "instance/alertes.sqlite"\n'
        f"envois_par_minute = {per_minute}\n",
        encoding="utf-8",
    )
    return AlertSite(root, content, index, config, root / "instance" / "alertes.sqlite")


def page_resource(titre: str, extra: str = "", date: str = "2026-11-30") -> str:
    return (
        f'---\ntitre: "{titre}"\ntype: fiche-pratique\ndate: {date}\npiliers: [cadre-de-vie]\n'
        f"resume: Résumé de la fiche « {titre} ».\n{extra}---\n\nTexte de la fiche.\n"
    )

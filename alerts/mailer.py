"""Sending email through the SMTP server of `[courriel]` in kb.toml (smtplib).

[courriel]
hote = "smtp.example.org"
port = 587
securite = "starttls"        # "aucune", "starttls" or "tls"
utilisateur = "alertes"      # optional; the password comes from KB_SMTP_MOT_DE_PASSE
expediteur = "Ressources politique de la ville <alertes@example.org>"
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

from kb.config import Settings
from kb.events import normalise_email

SECURITIES = ("aucune", "starttls", "tls")
PASSWORD_ENV = "KB_SMTP_MOT_DE_PASSE"
TIMEOUT = 30.0


class MailError(Exception):
    """Email cannot be sent (French message)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str
    password: str
    sender: Address

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        host = str(settings["courriel.hote"]).strip()
        if not host:
            raise MailError(
                "aucun serveur d'envoi configuré : renseignez la section [courriel] de kb.toml "
                "(hote, port, securite, expediteur)"
            )
        security = str(settings["courriel.securite"]).strip()
        if security not in SECURITIES:
            raise MailError(
                f"réglage « courriel.securite » invalide « {security} » : "
                + ", ".join(f"« {s} »" for s in SECURITIES)
            )
        port = int(settings["courriel.port"])
        if not 0 < port < 65536:
            raise MailError(f"réglage « courriel.port » invalide : {port}")
        return cls(
            host=host,
            port=port,
            security=security,
            user=str(settings["courriel.utilisateur"] or "").strip(),
            password=os.environ.get(PASSWORD_ENV, ""),
            sender=sender_address(str(settings["courriel.expediteur"])),
        )


def sender_address(text: str) -> Address:
    name, address = parseaddr(text)
    checked = normalise_email(address) if address else None
    if checked is None:
        raise MailError(
            f"réglage « courriel.expediteur » invalide « {text} » : une adresse est attendue, "
            "ex. « Ressources politique de la ville <alertes@example.org> »"
        )
    local, _, domain = checked.rpartition("@")
    return Address(display_name=" ".join(name.split()), username=local, domain=domain)


class Mailer:
    """One SMTP connection, opened on the first message, reopened once if it dropped."""

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        try:
            if smtp.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    smtp.host, smtp.port, timeout=TIMEOUT, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
                if smtp.security == "starttls":
                    connection.starttls(context=ssl.create_default_context())
            if smtp.user:
                connection.login(smtp.user, smtp.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"connexion impossible au serveur SMTP {smtp.host}:{smtp.port} ({exc})"
            ) from exc
        return connection

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; MailError if it is not accepted. A recipient
        refused for good raises `smtplib.SMTPRecipientsRefused`."""
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = self._connect()
            try:
                self._connection.send_message(message)
                return
            except smtplib.SMTPRecipientsRefused:
                raise
            except smtplib.SMTPServerDisconnected as exc:
                self._connection = None
                if attempt == 2:
                    raise MailError(f"le serveur SMTP a coupé la connexion ({exc})") from exc
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                raise MailError(f"le serveur SMTP a refusé le message ({exc})") from exc

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._connection = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

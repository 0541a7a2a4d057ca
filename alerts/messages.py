"""The alert emails, in French, as plain text and HTML (Jinja templates in
alerts/templates/, HTML escaped), with absolute links.

Header values come from the site's settings and fixed French text; a search's words or a
title only ever reach the Subject after every control character (CR and LF included) has
been turned into a space, and Python's email package refuses any line break left in a
header: nothing a user or an author writes can add a header.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

SITE_NAME = "Ressources politique de la ville"
MAX_SUBJECT = 150
MAX_ITEMS = 50  # items shown in one digest; the others are behind the link to the search


@functools.cache
def _templates() -> Environment:
    # Built once per process and never changed afterwards: safe to share between threads.
    return Environment(
        loader=PackageLoader("alerts", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def header_text(text: str, limit: int = MAX_SUBJECT) -> str:
    """One line of printable text: control and format characters become spaces."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Item:
    """One resource or event of a digest."""

    titre: str
    url: str  # absolute
    kind: str  # "Fiche pratique", "Webinaire"...
    centre: str
    date: str  # French
    resume: str
    when: str = ""  # for an event: its next session, in French


def _message(
    sender: Address,
    to: str,
    subject: str,
    template: str,
    context: dict,
    message_id: str | None = None,
    now: dt.datetime | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    if message_id:
        message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "fr"
    environment = _templates()
    text = environment.get_template(f"{template}.txt").render(**context)
    html = environment.get_template(f"{template}.html").render(**context)
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def confirmation(
    sender: Address, to: str, search: str, frequency: str, confirm_url: str, site_url: str
) -> EmailMessage:
    return _message(
        sender,
        to,
        f"Confirmez votre alerte – {SITE_NAME}",
        "confirmation",
        {
            "search": search,
            "frequency": frequency,
            "confirm_url": confirm_url,
            "site_url": site_url,
            "site_name": SITE_NAME,
        },
    )


def manage_link(sender: Address, to: str, manage_url: str, site_url: str) -> EmailMessage:
    return _message(
        sender,
        to,
        f"Vos alertes – {SITE_NAME}",
        "gerer",
        {"manage_url": manage_url, "site_url": site_url, "site_name": SITE_NAME},
    )


def digest(
    sender: Address,
    to: str,
    items: list[Item],
    search: str,
    search_url: str,
    unsubscribe_url: str,
    manage_url: str,
    site_url: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    count = len(items)
    noun = "nouveauté" if count == 1 else "nouveautés"
    subject = f"{count} {noun} : {search} – {SITE_NAME}"
    message = _message(
        sender,
        to,
        subject,
        "digest",
        {
            "items": items[:MAX_ITEMS],
            "more": max(0, count - MAX_ITEMS),
            "count": count,
            "search": search,
            "search_url": search_url,
            "unsubscribe_url": unsubscribe_url,
            "manage_url": manage_url,
            "site_url": site_url,
            "site_name": SITE_NAME,
        },
        message_id=message_id,
        now=now,
    )
    # RFC 2369 and RFC 8058: mail clients offer "unsubscribe", in one click (a POST).
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["List-Id"] = f"Alertes <alertes.{site_url.split('://', 1)[-1].split('/')[0]}>"
    return message

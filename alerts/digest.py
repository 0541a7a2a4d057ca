"""`kb alertes envoyer`: each confirmed subscriber receives the resources and events that
entered the base since their last digest and that their search finds.

Never twice, also when run twice or killed midway:
- what each address received is recorded (`envois`), and checked before sending;
- a digest is written down (`en_cours`, with its Message-ID) before the SMTP transaction,
  and recorded as delivered in one transaction once the server accepted it; a run that
  stops in between (killed, server down) leaves it pending, and the next run sends that
  same digest, with the same Message-ID, before anything else;
- one run at a time (a lock file beside the subscriptions).

"Entered the base" is the first publication time kept by the index registry. A digest
looks back a day before the last check, so that a resource published while the previous
run was reading is not missed; what was already sent is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.search import SearchIndex
from indexer.store import exclusive_lock
from kb.config import Settings
from kb.french import MONTHS

from . import links, messages, searches
from .mailer import Mailer, MailError, SmtpSettings
from .store import DAILY, AlertStore, Subscription, iso
from .tokens import MANAGE, UNSUBSCRIBE, Signer, load_secret

log = logging.getLogger(__name__)

OVERLAP = dt.timedelta(days=1)
# A digest is due this long after the previous one (a cron job a few minutes late, or
# early, still sends once a day or once a week).
DUE_AFTER = {DAILY: dt.timedelta(hours=20), "hebdomadaire": dt.timedelta(days=6, hours=20)}


class AlreadyRunning(Exception):
    pass


@dataclass
class RunReport:
    sent: int = 0
    items: int = 0
    failed: list[str] = field(default_factory=list)  # French messages
    stopped: str = ""  # why the run stopped early (server down...)
    purged: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped


def store_path(settings: Settings) -> Path:
    return Path(settings["alertes.base"])


def signer_for(settings: Settings, clock: Callable[[], float] = time.time) -> Signer:
    path = store_path(settings)
    return Signer(load_secret(str(settings["alertes.secret"] or ""), path.parent), clock)


def is_due(subscription: Subscription, now: dt.datetime) -> bool:
    if subscription.dernier_envoi is None:
        return True
    return now - subscription.dernier_envoi >= DUE_AFTER.get(
        subscription.frequence, DUE_AFTER[DAILY]
    )


def _day(value: str) -> str:
    day = dt.date.fromisoformat(value[:10])
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def _when(meta: dict, now: dt.datetime) -> str:
    event = meta.get("evenement") or {}
    moment = int(now.timestamp())
    for session in event.get("sessions") or ():
        if session["horaires"][1] > moment:
            text = _day(session["debut"])
            if not session.get("journee_entiere"):
                text += f", {session['debut'][11:16].replace(':', ' h ')}"
            state = {"annule": " (annulé)", "reporte": " (reporté)"}.get(event.get("etat"), "")
            return f"Le {text}{state}"
    return ""


def _item(meta: dict, index: SearchIndex, site_url: str, now: dt.datetime) -> messages.Item:
    fmt = (meta.get("evenement") or {}).get("format")
    kind = index.label("format", fmt) if fmt else index.label("type", meta["type"])
    return messages.Item(
        titre=meta["titre"],
        url=site_url + meta["url"],
        kind=kind,
        centre=index.label("centre", meta["centre"]),
        date=_day(meta["date"]),
        resume=meta.get("resume") or "",
        when=_when(meta, now),
    )


def send_digests(
    settings: Settings,
    now: dt.datetime | None = None,
    mailer: Mailer | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunReport:
    """Send every due digest; see the module's docstring."""
    path = store_path(settings)
    with exclusive_lock(path.with_name(path.name + ".verrou"), 0, AlreadyRunning()):
        smtp = SmtpSettings.from_settings(settings)
        with AlertStore(path) as store, mailer or Mailer(smtp) as connection:
            index = SearchIndex(settings.index)
            try:
                return _run(settings, store, index, connection, smtp, now, sleep)
            finally:
                index.close()


def _run(settings, store, index, connection, smtp, now, sleep) -> RunReport:
    now = now or dt.datetime.now(dt.UTC)
    report = RunReport(purged=store.purge_unconfirmed(now))
    signer = signer_for(settings)
    site = settings.site_url
    host = site.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    subscriptions = store.confirmed()
    starts = [_window_start(s) for s in subscriptions]
    entered = index.entered_since(iso(min(starts))) if starts else []
    interval = 60.0 / max(0.01, float(settings["alertes.envois_par_minute"]))
    last_sent: float | None = None
    for subscription, start in zip(subscriptions, starts, strict=True):
        pending = store.pending(subscription.id)
        if pending is not None:
            ids, message_id = pending.resources, pending.message_id
            metas = index.get_many(ids)
            found = [metas[i] for i in ids if i in metas]
        else:
            if not is_due(subscription, now):
                continue
            since = iso(start)
            candidates = [e["id"] for e in entered if e["premiere"] >= since]
            found = searches.found_among(index, subscription.recherche, candidates, now)
            already = store.sent_to(subscription.courriel, [m["id"] for m in found])
            found = [m for m in found if m["id"] not in already]
            if not found:
                store.checked(subscription.id, now)
                continue
            ids = [m["id"] for m in found]
            message_id = f"<alerte-{subscription.id}-{uuid.uuid4().hex}@{host}>"
            store.prepare(subscription.id, ids, message_id, now)
        if not found:
            store.drop_pending(subscription.id)
            continue
        message = messages.digest(
            smtp.sender,
            subscription.courriel,
            [_item(meta, index, site, now) for meta in found],
            searches.describe(subscription.recherche, index.label),
            site + searches.page_url(subscription.recherche),
            links.unsubscribe_url(
                site, signer.make(UNSUBSCRIBE, subscription.courriel, subscription.id)
            ),
            links.manage_url(site, signer.make(MANAGE, subscription.courriel)),
            site,
            message_id,
            now,
        )
        if last_sent is not None:  # the sending rate
            sleep(max(0.0, interval - (time.monotonic() - last_sent)))
        try:
            connection.send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            report.failed.append(
                f"{subscription.courriel} : adresse refusée par le serveur ({codes})"
            )
            if all(code >= 500 for code in codes):  # refused for good: do not retry
                store.drop_pending(subscription.id)
                store.checked(subscription.id, now)
            continue
        except MailError as exc:
            report.stopped = str(exc)
            break
        last_sent = time.monotonic()
        store.delivered(subscription, [m["id"] for m in found] if pending is None else ids, now)
        report.sent += 1
        report.items += len(found)
    return report


def _window_start(subscription: Subscription) -> dt.datetime:
    checked = subscription.verifie or subscription.confirme
    return max(subscription.confirme, checked - OVERLAP)

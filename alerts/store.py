"""The subscriptions to email alerts: one SQLite file in the instance folder.

Only what the service needs is kept: the address, the search (as JSON), the frequency and
dates; the ids of the resources already sent to an address (so that nothing is sent twice);
and, for rate limits, keyed hashes of addresses and clients with the time of each request,
forgotten after a day. Unsubscribing deletes the subscription; the last one of an address
takes the address's sent ids with it.

Every change is one transaction: a process killed at any line leaves the file as before or
after the change. Connections are opened per use (one per request, one per `kb alertes
envoyer`), never shared between threads.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DAILY = "quotidienne"
WEEKLY = "hebdomadaire"
FREQUENCIES = (DAILY, WEEKLY)
UNCONFIRMED_DAYS = 7  # an unconfirmed request is forgotten after this many days
ATTEMPTS_KEPT = dt.timedelta(days=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS abonnements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    courriel TEXT NOT NULL,
    recherche TEXT NOT NULL,          -- JSON: cible, q, filtres, periode
    frequence TEXT NOT NULL,
    cree TEXT NOT NULL,
    confirme TEXT,                    -- NULL until the confirmation link is used
    verifie TEXT,                     -- last time new items were looked for
    dernier_envoi TEXT                -- last digest sent
);
CREATE INDEX IF NOT EXISTS abonnements_courriel ON abonnements(courriel);
CREATE TABLE IF NOT EXISTS envois (
    courriel TEXT NOT NULL,
    ressource TEXT NOT NULL,
    envoye TEXT NOT NULL,
    PRIMARY KEY (courriel, ressource)
);
-- A digest being sent: written before the SMTP transaction, removed when it is recorded as
-- sent. A digest left here by a killed run is sent again, with the same Message-ID.
CREATE TABLE IF NOT EXISTS en_cours (
    abonnement INTEGER PRIMARY KEY,
    ressources TEXT NOT NULL,         -- JSON list of ids
    message_id TEXT NOT NULL,
    prepare TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tentatives (
    cle TEXT NOT NULL,                -- keyed hash of an address or a client
    moment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tentatives_cle ON tentatives(cle, moment);
"""


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_iso(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Subscription:
    id: int
    courriel: str
    recherche: dict[str, Any]
    frequence: str
    cree: dt.datetime
    confirme: dt.datetime | None
    verifie: dt.datetime | None
    dernier_envoi: dt.datetime | None

    @property
    def is_confirmed(self) -> bool:
        return self.confirme is not None


@dataclass(frozen=True)
class Pending:
    subscription: int
    resources: list[str]
    message_id: str


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        courriel=row["courriel"],
        recherche=json.loads(row["recherche"]),
        frequence=row["frequence"],
        cree=parse_iso(row["cree"]),
        confirme=parse_iso(row["confirme"]),
        verifie=parse_iso(row["verifie"]),
        dernier_envoi=parse_iso(row["dernier_envoi"]),
    )


class AlertStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA secure_delete=ON")  # deleted addresses are overwritten
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- subscriptions

    def subscribe(
        self, courriel: str, recherche: dict[str, Any], frequence: str, now: dt.datetime
    ) -> Subscription:
        """A new unconfirmed subscription; the same request again (same address, search
        and frequency) gives the existing one."""
        text = json.dumps(recherche, ensure_ascii=False, sort_keys=True)
        with self.transaction():
            row = self.db.execute(
                "SELECT * FROM abonnements WHERE courriel = ? AND recherche = ? AND frequence = ?",
                (courriel, text, frequence),
            ).fetchone()
            if row is None:
                cursor = self.db.execute(
                    "INSERT INTO abonnements (courriel, recherche, frequence, cree) "
                    "VALUES (?, ?, ?, ?)",
                    (courriel, text, frequence, iso(now)),
                )
                row = self.db.execute(
                    "SELECT * FROM abonnements WHERE id = ?", (cursor.lastrowid,)
                ).fetchone()
        return _subscription(row)

    def get(self, subscription_id: int) -> Subscription | None:
        row = self.db.execute(
            "SELECT * FROM abonnements WHERE id = ?", (subscription_id,)
        ).fetchone()
        return _subscription(row) if row else None

    def of_address(self, courriel: str) -> list[Subscription]:
        rows = self.db.execute(
            "SELECT * FROM abonnements WHERE courriel = ? ORDER BY id", (courriel,)
        ).fetchall()
        return [_subscription(row) for row in rows]

    def confirm(self, subscription_id: int, now: dt.datetime) -> Subscription | None:
        """Confirmed from now on: items that enter the base after this moment are sent."""
        with self.transaction():
            self.db.execute(
                "UPDATE abonnements SET confirme = ?, verifie = ? "
                "WHERE id = ? AND confirme IS NULL",
                (iso(now), iso(now), subscription_id),
            )
        return self.get(subscription_id)

    def delete(self, subscription_id: int) -> None:
        """Remove a subscription; the address's other data goes with its last one."""
        with self.transaction():
            row = self.db.execute(
                "SELECT courriel FROM abonnements WHERE id = ?", (subscription_id,)
            ).fetchone()
            if row is None:
                return
            self.db.execute("DELETE FROM abonnements WHERE id = ?", (subscription_id,))
            self.db.execute("DELETE FROM en_cours WHERE abonnement = ?", (subscription_id,))
            self._forget_if_alone(row["courriel"])

    def delete_address(self, courriel: str) -> int:
        with self.transaction():
            ids = [
                r["id"]
                for r in self.db.execute(
                    "SELECT id FROM abonnements WHERE courriel = ?", (courriel,)
                )
            ]
            for subscription_id in ids:
                self.db.execute("DELETE FROM en_cours WHERE abonnement = ?", (subscription_id,))
            self.db.execute("DELETE FROM abonnements WHERE courriel = ?", (courriel,))
            self._forget_if_alone(courriel)
        return len(ids)

    def _forget_if_alone(self, courriel: str) -> None:
        left = self.db.execute(
            "SELECT count(*) FROM abonnements WHERE courriel = ?", (courriel,)
        ).fetchone()[0]
        if not left:
            self.db.execute("DELETE FROM envois WHERE courriel = ?", (courriel,))

    def purge_unconfirmed(self, now: dt.datetime) -> int:
        """Forget the requests never confirmed (their address, mostly)."""
        limit = iso(now - dt.timedelta(days=UNCONFIRMED_DAYS))
        with self.transaction():
            rows = self.db.execute(
                "SELECT id, courriel FROM abonnements WHERE confirme IS NULL AND cree < ?",
                (limit,),
            ).fetchall()
            for row in rows:
                self.db.execute("DELETE FROM abonnements WHERE id = ?", (row["id"],))
                self._forget_if_alone(row["courriel"])
        return len(rows)

    def confirmed(self) -> list[Subscription]:
        rows = self.db.execute(
            "SELECT * FROM abonnements WHERE confirme IS NOT NULL ORDER BY id"
        ).fetchall()
        return [_subscription(row) for row in rows]

    # --- what was sent

    def sent_to(self, courriel: str, resource_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(resource_ids), 500):
            chunk = resource_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found |= {
                row["ressource"]
                for row in self.db.execute(
                    f"SELECT ressource FROM envois WHERE courriel = ? AND ressource IN ({marks})",
                    (courriel, *chunk),
                )
            }
        return found

    def checked(self, subscription_id: int, now: dt.datetime) -> None:
        self.db.execute(
            "UPDATE abonnements SET verifie = ? WHERE id = ?", (iso(now), subscription_id)
        )

    def prepare(self, subscription_id: int, resources: list[str], message_id: str, now) -> None:
        """Record a digest about to be sent (before the SMTP transaction)."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO en_cours (abonnement, ressources, message_id, prepare) "
                "VALUES (?, ?, ?, ?)",
                (subscription_id, json.dumps(resources), message_id, iso(now)),
            )

    def pending(self, subscription_id: int) -> Pending | None:
        row = self.db.execute(
            "SELECT * FROM en_cours WHERE abonnement = ?", (subscription_id,)
        ).fetchone()
        if row is None:
            return None
        return Pending(row["abonnement"], json.loads(row["ressources"]), row["message_id"])

    def delivered(self, subscription: Subscription, resources: list[str], now) -> None:
        """The digest was accepted by the SMTP server: its items are never sent again."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO envois (courriel, ressource, envoye) VALUES (?, ?, ?)",
                [(subscription.courriel, r, iso(now)) for r in resources],
            )
            self.db.execute("DELETE FROM en_cours WHERE abonnement = ?", (subscription.id,))
            self.db.execute(
                "UPDATE abonnements SET dernier_envoi = ?, verifie = ? WHERE id = ?",
                (iso(now), iso(now), subscription.id),
            )

    def drop_pending(self, subscription_id: int) -> None:
        self.db.execute("DELETE FROM en_cours WHERE abonnement = ?", (subscription_id,))

    # --- rate limits

    def attempts(self, key: str, since: dt.datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM tentatives WHERE cle = ? AND moment >= ?", (key, iso(since))
        ).fetchone()[0]

    def record_attempt(self, key: str, now: dt.datetime) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM tentatives WHERE moment < ?", (iso(now - ATTEMPTS_KEPT),))
            self.db.execute("INSERT INTO tentatives (cle, moment) VALUES (?, ?)", (key, iso(now)))

    # --- for tests and the privacy notice: everything stored about an address

    def count_rows(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("abonnements", "envois", "en_cours", "tentatives")
        }

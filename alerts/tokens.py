"""Signed links of the alert emails: confirm a subscription, unsubscribe from one, manage
all the subscriptions of an address. Nothing is stored: the link carries the subscription
id and the address, signed with the site's alert key (itsdangerous), and expires."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

CONFIRM = "confirmer"
UNSUBSCRIBE = "desabonner"
MANAGE = "gerer"
# How long each kind of link works, in seconds.
LIFETIMES = {
    CONFIRM: 7 * 24 * 3600,
    UNSUBSCRIBE: 400 * 24 * 3600,  # an old digest's link still unsubscribes
    MANAGE: 30 * 24 * 3600,
}
SECRET_FILE = "alertes.cle"


class TokenError(Exception):
    """A link that cannot be used; `expired` tells why."""

    def __init__(self, expired: bool) -> None:
        super().__init__("lien expiré" if expired else "lien invalide")
        self.expired = expired


@dataclass(frozen=True)
class TokenData:
    subscription: int | None
    courriel: str


def load_secret(configured: str, folder: Path) -> str:
    """The configured key, else a random one kept beside the subscriptions (created once,
    atomically, readable by its owner only)."""
    if configured:
        return configured
    path = folder / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{SECRET_FILE}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(temporary, path)  # fails if another process created it first
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text(encoding="ascii").strip()


class _ClockedSigner(TimestampSigner):
    """itsdangerous' signer, with the clock given (tests age a link without waiting)."""

    def __init__(self, *args, clock: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock())


class Signer:
    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.clock = clock

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self.secret,
            salt=f"alertes-{purpose}",
            signer=_ClockedSigner,
            signer_kwargs={"clock": self.clock},
        )

    def make(self, purpose: str, courriel: str, subscription: int | None = None) -> str:
        return self._serializer(purpose).dumps({"a": subscription, "c": courriel})

    def read(self, purpose: str, token: str, max_age: int | None = None) -> TokenData:
        try:
            data = self._serializer(purpose).loads(
                token[:2000], max_age=max_age if max_age is not None else LIFETIMES[purpose]
            )
        except SignatureExpired:
            raise TokenError(expired=True) from None
        except BadSignature:
            raise TokenError(expired=False) from None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            raise TokenError(expired=False)
        subscription = data.get("a")
        if subscription is not None and not isinstance(subscription, int):
            raise TokenError(expired=False)
        return TokenData(subscription, data["c"])

    def key(self, kind: str, value: str) -> str:
        """A keyed hash (rate limits keep this, not the address or the client)."""
        return hmac.new(
            self.secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256
        ).hexdigest()

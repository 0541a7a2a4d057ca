"""The resident publisher: `kb publication service`, one per index, run by systemd.

Without it, each publication request is worked by the process that queued it (the
post-receive hook, `kb sync`) or by a `kb publication traiter` started for a webhook: each
of them starts Python and imports the indexer (Whoosh, NumPy, the Markdown renderer…)
before publishing, about half a second that every one-file push pays. The service imports
them once and works the queue as soon as a request arrives (it looks every 50 ms); the
processes that queue a request then only wait for its outcome, which the queue records
with its lines (publishing/queue.py).

It is optional. When it is not running (never installed, stopped, killed), requests are
worked as before. Its lock (`<index>/service-publication.verrou`), held for its whole
life, tells the others that it runs: the kernel releases it when the process dies, so a
dead service is never waited for, and a request it was working when killed is taken
again by the process that waits for it (queue.py resets it).

This module stays light: the hooks import it to ask `is_running`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .publisher import Publisher
    from .queue import PublicationQueue

log = logging.getLogger(__name__)

SERVICE_LOCK = "service-publication.verrou"
POLL = 0.05  # seconds between two looks at the queue
RETRY_EVERY = 60.0  # how often requests that failed are tried again


class ServiceRunning(Exception):
    """Another service already works this index's queue (French message)."""


def is_running(index: Path | str) -> bool:
    """Whether a live process holds the service's lock for this index (a non-blocking
    shared lock is refused while the service holds its exclusive one)."""
    path = Path(index) / SERVICE_LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def service_lock(index: Path | str) -> Iterator[None]:
    """Held for the service's whole life; ServiceRunning at once when another holds it."""
    path = Path(index) / SERVICE_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise ServiceRunning(
                    f"un service de publication tourne déjà pour l'index {path.parent} "
                    f"(verrou {path}) : un seul service par index"
                ) from None
            raise
        # The indexer's forked workers (kb.loader, Whoosh) must not keep the lock after
        # the service dies: they close their copy (they also die with it, see
        # indexer/workers.py).
        from multiprocessing import util

        util.register_after_fork(handle, _close_in_child)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    # Closing the file releases the lock.


def _close_in_child(handle) -> None:
    with contextlib.suppress(OSError):
        os.close(handle.fileno())


def warm_up() -> None:
    """Load once what every publication reads (vocabularies, territories), so that the
    first push after a start does not pay for it."""
    from kb import territories, vocabulary

    vocabulary.load_vocabularies()
    territories.current()


def serve(
    queue: PublicationQueue,
    publisher: Publisher,
    stop: threading.Event,
    poll: float = POLL,
    retry_every: float = RETRY_EVERY,
) -> None:
    """Work the queue until `stop` is set: at once when a new request is waiting, and
    every `retry_every` seconds for those that failed (or that a killed worker left).
    A request being published when `stop` is set is finished first."""
    with service_lock(queue.index):
        warm_up()
        log.info("service de publication prêt (index %s, pid %s)", queue.index, os.getpid())
        last_round = float("-inf")
        while not stop.is_set():
            now = time.monotonic()
            if queue.has_new() or now - last_round >= retry_every:
                last_round = now
                for request, result in queue.work(publisher, stop=stop.is_set):
                    level = logging.INFO if result.ok else logging.WARNING
                    log.log(
                        level,
                        "demande %s (%s) : %s — %s",
                        request.id,
                        request.source,
                        result.outcome,
                        result.summary(),
                    )
            stop.wait(poll)
        log.info("service de publication arrêté")

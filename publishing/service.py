"""The resident publisher: `kb publication service`, one per index, run by systemd.

Without it, each publication request is worked by the process that queued it (the
post-receive hook, `kb sync`) or by a `kb publication traiter` started for a webhook: each
of them starts Python and imports the indexer (Whoosh, NumPy, the Markdown renderer…)
before publishing, about half a second that every one-file push pays. The service imports
them once and works the queue as soon as a request arrives (it looks every 50 ms); the
processes that queue a request then only wait for its outcome, which the queue records
with its lines (publishing/queue.py).

A process that queues a request also wakes it through a named pipe in the index folder
(`service-publication.reveil`), so that it does not wait for its next look; a lost
wake-up costs at most one look (50 ms).

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
import select
import stat
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
WAKE_PIPE = "service-publication.reveil"
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


def wake(index: Path | str) -> None:
    """Tell the service, if it listens, that a request was just queued (never waits,
    never fails: the service looks at the queue every POLL seconds anyway)."""
    try:
        fd = os.open(Path(index) / WAKE_PIPE, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # no pipe, or nobody reading it (ENXIO): no service
        return
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b".")
    except OSError:  # full: the service has plenty of wake-ups waiting already
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _wake_pipe(index: Path) -> Iterator[int | None]:
    """The read end of the wake-up pipe (None if it cannot be made: polling only). The
    service keeps a write end open too, so that the read end never sees end-of-file."""
    path = index / WAKE_PIPE
    reader = writer = None
    try:
        if path.is_symlink() or (path.exists() and not stat.S_ISFIFO(path.stat().st_mode)):
            path.unlink()
        if not path.exists():
            os.mkfifo(path, 0o666)  # the umask applies, as to the queue's file
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        log.warning("pas de tube de réveil (%s) : la file est regardée toutes les %s s", exc, POLL)
    try:
        yield reader if writer is not None else None
    finally:
        for fd in (writer, reader):
            if fd is not None:
                os.close(fd)


def _sleep(reader: int | None, stop: threading.Event, poll: float) -> None:
    """Until a wake-up, `stop`, or `poll` seconds."""
    if reader is None:
        stop.wait(poll)
        return
    ready, _, _ = select.select([reader], [], [], poll)
    if ready:
        with contextlib.suppress(BlockingIOError):
            while os.read(reader, 4096):
                pass


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
    with service_lock(queue.index), _wake_pipe(queue.index) as reader:
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
            _sleep(reader, stop, poll)
        log.info("service de publication arrêté")

"""Worker processes of a rebuild: they die with their parent and never keep its locks.

A full rebuild parses files in a pool of forked processes (kb.loader) and lets Whoosh write
segments in forked processes (its multi-process writer). Both are started by
`multiprocessing`, which runs the functions registered with `register_after_fork` in every
child it starts: there each worker asks the kernel to kill it when its parent dies
(PR_SET_PDEATHSIG), and closes the descriptors of the locks its parent holds. Without this
a `kill -9` of `kb index --rebuild` (or the OOM killer) left workers blocked forever and
holding the index lock, so that every later publication failed.

Forking a process that runs threads can deadlock the child (a lock held by another thread
at the time of the fork stays held for ever in the child): `parallel_allowed()` is False
in such a process (the web app, the webhook), and the rebuild then runs in one process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
from multiprocessing import util

from .store import close_inherited_locks

PR_SET_PDEATHSIG = 1
_PARENT = os.getpid()


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the stale-lock recovery still applies
        return
    if os.getppid() == 1:  # the parent died before we asked
        os._exit(1)


class _AfterFork:
    """Registered once; multiprocessing calls it in every child it starts."""

    def __call__(self, _obj: object) -> None:
        close_inherited_locks()
        _die_with_parent()


_HOOK = _AfterFork()
util.register_after_fork(_HOOK, _HOOK)


def parallel_allowed() -> bool:
    """Whether this process may fork workers: only while it runs a single thread."""
    return threading.active_count() == 1

"""Teardown no matter how the process ends: normal exit, exception, Ctrl-C, SIGTERM.

In a nutshell: a live cluster registers its teardown here. ``atexit`` runs every registered
teardown as a backstop; a SIGTERM handler (installed only when nobody else installed one)
turns SIGTERM into ``SystemExit(143)`` so ``finally`` blocks and context managers run first.
SIGKILL cannot be caught: the reaper at the next cluster start handles that case.

    token = register(cluster.teardown)
    ...
    unregister(token)               # after a normal teardown
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType

_lock = threading.Lock()
_teardowns: dict[int, Callable[[], None]] = {}
_next = 0
_installed = False


def register(teardown: Callable[[], None]) -> int:
    global _next
    with _lock:
        _install_once()
        _next += 1
        _teardowns[_next] = teardown
        return _next


def unregister(token: int) -> None:
    with _lock:
        _teardowns.pop(token, None)


def run_all() -> None:
    with _lock:
        pending = list(_teardowns.values())
        _teardowns.clear()
    for teardown in pending:
        with contextlib.suppress(Exception):  # one failing teardown must not stop the others
            teardown()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _install_once() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(run_all)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)

"""The worker loop every controller shares: a work queue, a sync per key, retries, resync.

In a nutshell: a :class:`Controller` subclass implements :meth:`sync` (one key, level-based:
read the caches, compare, write) and :meth:`resync_keys`. :meth:`run` processes keys while the
leadership :class:`~controlplane.leaderelection.Term` is active; an API failure requeues the
key with backoff; every ``resync_s`` all keys are queued again (client-go's resync period), so a
missed event delays convergence instead of stopping it.
"""

from __future__ import annotations

import logging
import threading
import time

from kubernetes.client.exceptions import ApiException

from controlplane.kubeclient.client import ApiUnavailable, Kube
from controlplane.kubeclient.events import EventRecorder
from controlplane.kubeclient.workqueue import WorkQueue
from controlplane.leaderelection import NotActing, Term

log = logging.getLogger(__name__)


class Controller:
    name = "controller"

    def __init__(
        self,
        *,
        kube: Kube,
        term: Term,
        resync_s: float = 5.0,
        events: EventRecorder | None = None,
    ) -> None:
        self.kube = kube
        self.term = term
        self.events = events or EventRecorder.disabled()  # best effort, never blocks
        self.queue = WorkQueue()
        self.resync_s = resync_s
        self._failures: dict[str, int] = {}

    def sync(self, key: str) -> None:
        raise NotImplementedError

    def resync_keys(self) -> list[str]:
        return []

    def run(self, stop: threading.Event) -> None:
        next_resync = time.monotonic() + self.resync_s
        while not stop.is_set() and not self.term.ended.is_set():
            if time.monotonic() >= next_resync:
                for key in self.resync_keys():
                    self.queue.add(key)
                next_resync = time.monotonic() + self.resync_s
            got = self.queue.get(timeout_s=0.2)
            if got is None:
                continue
            key = got
            try:
                if self.term.active():
                    self.sync(key)
                    self._failures.pop(key, None)
                else:
                    self.queue.add_after(key, 0.2)  # not acting now: keep the work for later
            except NotActing:
                self.queue.add_after(key, 0.2)
            except (ApiException, ApiUnavailable) as exc:
                n = self._failures.get(key, 0) + 1
                self._failures[key] = n
                delay = min(0.1 * 2**n, 5.0)
                log.info(
                    "%s: sync %s failed (%s); retry in %.1fs", self.name, key, _short(exc), delay
                )
                self.queue.add_after(key, delay)
            except Exception:
                log.exception("%s: sync %s crashed", self.name, key)
                self.queue.add_after(key, 1.0)
            finally:
                self.queue.done(key)
        self.queue.shutdown()


def _short(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}"
    return str(exc)

"""The worker loop every controller shares: a work queue, a sync per key, retries, resync.

In a nutshell: a :class:`Controller` subclass implements :meth:`sync` (one key, level-based:
read the caches, compare, write) and :meth:`resync_keys`. :meth:`run` processes keys while the
leadership :class:`~controlplane.leaderelection.Term` is active; an API failure requeues the
key with backoff; every ``resync_s`` all keys are queued again (client-go's resync period), so a
missed event delays convergence instead of stopping it.

``workers`` threads take keys from the one queue (kube-controller-manager's
``--concurrent-replicaset-syncs`` / ``--concurrent-deployment-syncs``, 5 by default): the
queue's processing set keeps one key on one worker at a time, so a sync never races itself,
while different ReplicaSets progress in parallel.
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
        workers: int = 1,
    ) -> None:
        if workers < 1:
            raise ValueError(f"{self.name}: workers must be >= 1, got {workers}")
        self.kube = kube
        self.term = term
        self.events = events or EventRecorder.disabled()  # best effort, never blocks
        self.queue = WorkQueue()
        self.resync_s = resync_s
        self.workers = workers
        self._failures: dict[str, int] = {}
        self._failures_lock = threading.Lock()

    def sync(self, key: str) -> None:
        raise NotImplementedError

    def resync_keys(self) -> list[str]:
        return []

    def run(self, stop: threading.Event) -> None:
        """``workers`` worker threads plus the resync loop (this thread) until stop/term end."""
        threads = [
            threading.Thread(
                target=self._work, args=(stop,), name=f"{self.name}-worker-{i}", daemon=True
            )
            for i in range(self.workers)
        ]
        for t in threads:
            t.start()
        try:
            next_resync = time.monotonic() + self.resync_s
            while not self._stopping(stop):
                if time.monotonic() >= next_resync:
                    for key in self.resync_keys():
                        self.queue.add(key)
                    next_resync = time.monotonic() + self.resync_s
                stop.wait(0.2)
        finally:
            self.queue.shutdown()  # wakes every worker blocked in get()
            for t in threads:
                t.join(timeout=10.0)

    def _stopping(self, stop: threading.Event) -> bool:
        return stop.is_set() or self.term.ended.is_set()

    def _work(self, stop: threading.Event) -> None:
        while not self._stopping(stop):
            key = self.queue.get(timeout_s=0.2)
            if key is None:
                continue
            try:
                self._process(key)
            finally:
                self.queue.done(key)

    def _process(self, key: str) -> None:
        try:
            if self.term.active():
                self.sync(key)
                with self._failures_lock:
                    self._failures.pop(key, None)
            else:
                self.queue.add_after(key, 0.2)  # not acting now: keep the work for later
        except NotActing:
            self.queue.add_after(key, 0.2)
        except (ApiException, ApiUnavailable) as exc:
            with self._failures_lock:
                n = self._failures.get(key, 0) + 1
                self._failures[key] = n
            delay = min(0.1 * 2**n, 5.0)
            log.info("%s: sync %s failed (%s); retry in %.1fs", self.name, key, _short(exc), delay)
            self.queue.add_after(key, delay)
        except Exception:
            log.exception("%s: sync %s crashed", self.name, key)
            self.queue.add_after(key, 1.0)


def _short(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}"
    return str(exc)

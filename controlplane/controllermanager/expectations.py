"""client-go's ControllerExpectations: what a controller waits to see before it syncs again.

In a nutshell: after the ReplicaSet controller sends N pod creates it *expects* N pod ADDED
events; until its informer has shown them (or the expectation expired after
:data:`EXPECTATIONS_TIMEOUT_S`, 5 min as in ``pkg/controller/controller_utils.go``), syncs of that
ReplicaSet do not act on the (stale) cache — which would create the same pods again. Deletions
are tracked by pod key (``UIDTrackingControllerExpectations``), so a pod seen first with a
deletionTimestamp and then DELETED counts once. In memory only: a new leader starts empty and
relies on its informers having synced. Thread-safe: the pod informer's thread observes while
the controller's workers expect and check (each owner on one worker at a time).

    exp = Expectations(mono=time.monotonic)
    exp.expect("default/web-abc", adds=3, deletes=())
    exp.creation_observed("default/web-abc"); exp.satisfied("default/web-abc")   # False
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT_S = 300.0


@dataclass(slots=True, kw_only=True)
class _Expected:
    adds: int
    deletes: set[str] = field(default_factory=set)
    set_at: float = 0.0


class Expectations:
    def __init__(
        self, *, mono: Callable[[], float], timeout_s: float = EXPECTATIONS_TIMEOUT_S
    ) -> None:
        self._mono = mono
        self._timeout_s = timeout_s
        self._by_owner: dict[str, _Expected] = {}
        self._lock = threading.Lock()

    def satisfied(self, owner: str) -> bool:
        with self._lock:
            e = self._by_owner.get(owner)
            if e is None:
                return True
            if e.adds <= 0 and not e.deletes:
                return True
            return self._mono() - e.set_at > self._timeout_s  # expired: sync anyway

    def expect(self, owner: str, *, adds: int, deletes: Iterable[str]) -> None:
        with self._lock:
            self._by_owner[owner] = _Expected(adds=adds, deletes=set(deletes), set_at=self._mono())

    def creation_observed(self, owner: str) -> None:
        with self._lock:
            e = self._by_owner.get(owner)
            if e is not None:
                e.adds -= 1

    def lower_adds(self, owner: str, count: int) -> None:
        """Creates that were never sent or failed: do not wait for them."""
        with self._lock:
            e = self._by_owner.get(owner)
            if e is not None:
                e.adds -= count

    def deletion_observed(self, owner: str, pod_key: str) -> None:
        with self._lock:
            e = self._by_owner.get(owner)
            if e is not None:
                e.deletes.discard(pod_key)

    def forget(self, owner: str) -> None:
        with self._lock:
            self._by_owner.pop(owner, None)

    def pending(self, owner: str) -> tuple[int, int]:
        with self._lock:
            e = self._by_owner.get(owner)
            return (0, 0) if e is None else (max(e.adds, 0), len(e.deletes))

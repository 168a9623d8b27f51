"""client-go's work queue: a key is queued at most once, and never processed twice at once.

In a nutshell: :meth:`add` marks a key dirty; :meth:`get` hands out a dirty key that no worker
is processing; a key added while it is being processed is queued again after :meth:`done`
(``util/workqueue/queue.go``). :meth:`add_after` is the delaying queue (retries, backoff).

    q = WorkQueue(); q.add("default/web")
    key = q.get(timeout_s=1.0)   # "default/web"
    ...; q.done(key)
"""

from __future__ import annotations

import collections
import heapq
import threading
import time
from collections.abc import Callable


class WorkQueue:
    def __init__(self, *, mono: Callable[[], float] = time.monotonic) -> None:
        self._mono = mono
        self._cond = threading.Condition()
        self._queue: collections.deque[str] = collections.deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._delayed: list[tuple[float, int, str]] = []
        self._seq = 0
        self._shut = False

    def add(self, key: str) -> None:
        with self._cond:
            if self._shut or key in self._dirty:
                return
            self._dirty.add(key)
            if key not in self._processing:
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: str, delay_s: float) -> None:
        if delay_s <= 0:
            self.add(key)
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (self._mono() + delay_s, self._seq, key))
            self._cond.notify()

    def _promote_due(self) -> float | None:
        """Move due delayed keys to the queue; the seconds until the next one is due."""
        now = self._mono()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            if key not in self._dirty:
                self._dirty.add(key)
                if key not in self._processing:
                    self._queue.append(key)
        return self._delayed[0][0] - now if self._delayed else None

    def get(self, timeout_s: float) -> str | None:
        """The next key, or None after ``timeout_s`` or on shutdown."""
        deadline = self._mono() + timeout_s
        with self._cond:
            while True:
                wait_next = self._promote_due()
                if self._shut:
                    return None
                if self._queue:
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                left = deadline - self._mono()
                if left <= 0:
                    return None
                self._cond.wait(min(left, wait_next) if wait_next is not None else left)

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shut = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

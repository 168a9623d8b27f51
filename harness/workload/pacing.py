"""An absolute-schedule rate limiter shared by all clients of a workload, and jitter statistics.

In a nutshell: the k-th op of a run is due at ``start + k / rate`` (an absolute schedule, so
sleeping late never makes the run drift); a client takes the next slot, sleeps until it is due,
and reports how late it really started. Slots a client could not take because every client was
busy (e.g. blocked by a partition) are dropped once they are more than ``max_lag_s`` old, rather
than fired in a burst when the cluster comes back, and counted.

    pacer = Pacer(rate=200.0, start_s=loop.time(), max_lag_s=1.0)
    due_s = pacer.take(loop.time())   # sleep until due_s, then record loop.time() - due_s
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class Pacer:
    """Hands out due times on an absolute schedule; ``rate <= 0`` means as fast as possible."""

    def __init__(self, *, rate: float, start_s: float, max_lag_s: float) -> None:
        self.rate = rate
        self.start_s = start_s
        self.max_lag_s = max_lag_s
        self.taken = 0  # slots handed out
        self.skipped = 0  # slots dropped because they were too late to be worth firing
        self._next = 0

    def take(self, now_s: float) -> float:
        """The due time of the next op (may be in the past by at most ``max_lag_s``)."""
        if self.rate <= 0:
            self.taken += 1
            return now_s
        due_s = self.start_s + self._next / self.rate
        if now_s - due_s > self.max_lag_s:
            # Jump to the first slot that is at most max_lag_s late.
            first_fresh = math.ceil((now_s - self.max_lag_s - self.start_s) * self.rate)
            self.skipped += first_fresh - self._next
            self._next = first_fresh
            due_s = self.start_s + self._next / self.rate
        self._next += 1
        self.taken += 1
        return due_s


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0–1) of already sorted values, nearest-rank; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]

"""Merge the record streams of worker processes into one history, in time order (pure).

In a nutshell: each worker's stream is already in time order (one event loop stamps it) and is
interleaved with watermarks — "no later record of mine is older than this". ``StreamMerger``
holds back records until every live stream has promised past them, then releases them in
``(time, stream)`` order and stamps one global ``index``, so ``history.jsonl`` keeps the order
the checkers rely on (index order = time order) no matter how the pipes interleave.

    merger = StreamMerger(streams=2)
    merger.add(0, [{"time": 5, ...}], watermark=9); merger.add(1, [], watermark=7)
    merger.ready()   # → [{"time": 5, "index": 0, ...}]; merger.finish(1) releases more
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from harness.workload.errors import RecorderError

DONE = float("inf")


class StreamMerger:
    """K-way merge by watermark; ``ready()`` returns the records it is safe to write now."""

    def __init__(self, *, streams: int, first_index: int = 0) -> None:
        self._queues: list[deque[dict[str, Any]]] = [deque() for _ in range(streams)]
        self._watermarks: list[float] = [0.0] * streams  # a promise: nothing older follows
        self._last: list[int] = [-1] * streams  # time of the stream's last record
        self.next_index = first_index
        self.max_process = -1
        self.written = 0

    def add(self, stream: int, records: list[dict[str, Any]], *, watermark: int | None) -> None:
        """Records of ``stream`` in its order; ``watermark``: no later record is older."""
        queue = self._queues[stream]
        for record in records:
            t = int(record["time"])
            if t < self._last[stream]:
                raise RecorderError(
                    f"worker {stream} sent a record at time {t} after one at {self._last[stream]}"
                )
            self._last[stream] = t
            queue.append(record)
        promise = max(self._last[stream], watermark if watermark is not None else -1)
        self._watermarks[stream] = max(self._watermarks[stream], float(promise))

    def finish(self, stream: int) -> None:
        """``stream`` ended: it holds nothing back any more."""
        self._watermarks[stream] = DONE

    def ready(self) -> list[dict[str, Any]]:
        """Records every stream has promised past, merged, with their global ``index``."""
        bound = min(self._watermarks)
        heads = [(int(q[0]["time"]), s) for s, q in enumerate(self._queues) if q]
        heads = [(t, s) for t, s in heads if t <= bound]
        heapq.heapify(heads)
        out: list[dict[str, Any]] = []
        while heads:
            _, s = heapq.heappop(heads)
            queue = self._queues[s]
            record = queue.popleft()
            record["index"] = self.next_index
            self.next_index += 1
            self.max_process = max(self.max_process, int(record.get("process", -1)))
            out.append(record)
            if queue and queue[0]["time"] <= bound:
                heapq.heappush(heads, (int(queue[0]["time"]), s))
        self.written += len(out)
        return out

    @property
    def held(self) -> int:
        return sum(len(q) for q in self._queues)

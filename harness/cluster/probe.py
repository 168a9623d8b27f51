"""A background thread sampling every store member's ``/status`` into ``status.jsonl``.

In a nutshell: ``StatusProbe(cluster, writer, start_ns)`` polls all store members in parallel
every ``interval_s`` and writes one ``StatusSample`` per member per round (``reachable=False``
when it did not answer within the timeout), timed in ns since ``start_ns`` on the monotonic
clock — the history's time base, so samples line up with operations and faults.

    with StatusProbe(cluster, writer, start_ns=run_start_ns, interval_s=0.2):
        ...  # workload + nemesis
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Protocol

from harness.cluster.status import fetch_status
from harness.history import JsonlWriter, StatusSample


class HasStoreUrls(Protocol):
    @property
    def info(self) -> Any: ...  # ClusterInfo: .store maps member → base URL


def sample_from(member: str, status: dict[str, Any] | None, time_ns: int) -> StatusSample:
    if status is None:
        return StatusSample(time=time_ns, member=member, reachable=False)

    def opt_int(key: str) -> int | None:
        value = status.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    leader = status.get("leader")
    voted_for = status.get("voted_for")
    state_hash = status.get("state_hash")
    return StatusSample(
        time=time_ns,
        member=member,
        reachable=True,
        role=str(status["role"]) if status.get("role") is not None else None,
        term=opt_int("term"),
        leader=str(leader) if leader else None,
        commit_index=opt_int("commit_index"),
        applied_index=opt_int("applied_index"),
        state_hash=str(state_hash) if state_hash is not None else None,
        voted_for=str(voted_for) if voted_for else None,
    )


class StatusProbe:
    def __init__(
        self,
        cluster: HasStoreUrls,
        writer: JsonlWriter,
        start_ns: int,
        interval_s: float = 0.2,
        *,
        timeout_s: float = 0.5,
    ) -> None:
        self._cluster = cluster
        self._writer = writer
        self._start_ns = start_ns
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status-probe", daemon=True)
        self.rounds = 0

    def start(self) -> StatusProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout_s + 2.0)

    def __enter__(self) -> StatusProbe:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def sample_once(self, pool: ThreadPoolExecutor) -> list[StatusSample]:
        members: dict[str, str] = dict(self._cluster.info.store)
        futures = {m: pool.submit(fetch_status, url, self._timeout_s) for m, url in members.items()}
        samples = []
        for member, future in futures.items():
            status = future.result()
            samples.append(sample_from(member, status, time.monotonic_ns() - self._start_ns))
        for sample in samples:
            self._writer.write(sample)
        self.rounds += 1
        return samples

    def _loop(self) -> None:
        workers = max(1, len(self._cluster.info.store))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status") as pool:
            next_at = time.monotonic()
            while not self._stop.is_set():
                self.sample_once(pool)
                next_at += self._interval_s
                # A slow round (timeouts) skips ahead rather than bursting to catch up.
                next_at = max(next_at, time.monotonic())
                self._stop.wait(next_at - time.monotonic())

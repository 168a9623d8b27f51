"""A background thread sampling each controller-layer member's ``/status`` into components.jsonl.

In a nutshell: ``ComponentProbe(components, writer, start_ns)`` polls each URL of
``ClusterInfo.components`` (member → base URL of its C3 status server) in parallel every
``interval_s`` and writes one ``ComponentSample`` (C4) per member per round —
``reachable=False`` when it did not answer within the timeout — timed in ns since ``start_ns``
on the monotonic clock, like ``StatusProbe`` does for the store's ``status.jsonl``:

    with ComponentProbe(cluster.info.components, writer, start_ns=run_start_ns):
        ...  # workload + nemesis

The checkers read who led (``leader``, ``identity``, ``lease_transitions``), the configured
``timings`` and each kubelet's ``pods`` from these samples; the report draws them as lanes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

import httpx

from harness.history import JsonlWriter
from harness.history.k8s import ComponentSample


def fetch_component_status(base_url: str, timeout_s: float) -> dict[str, Any] | None:
    """``GET <base_url>/status`` (plain http, C3); None when it does not answer a JSON object."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/status", timeout=timeout_s)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def component_sample(
    member: str, status: Mapping[str, Any] | None, time_ns: int
) -> ComponentSample:
    """The sample of one answer (or of no answer); a malformed body counts as unreachable."""
    if status is None:
        return ComponentSample(time=time_ns, member=member, reachable=False)
    try:
        return ComponentSample.from_status(time=time_ns, member=member, body=status)
    except (TypeError, ValueError):
        return ComponentSample(time=time_ns, member=member, reachable=False)


class ComponentProbe:
    def __init__(
        self,
        components: Mapping[str, str],
        writer: JsonlWriter,
        start_ns: int,
        interval_s: float = 0.25,
        *,
        timeout_s: float = 0.5,
    ) -> None:
        self._components = dict(components)
        self._writer = writer
        self._start_ns = start_ns
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="component-probe", daemon=True)
        self.rounds = 0

    def start(self) -> ComponentProbe:
        if self._components:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._timeout_s + 2.0)

    def __enter__(self) -> ComponentProbe:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def sample_once(self, pool: ThreadPoolExecutor) -> list[ComponentSample]:
        futures = {
            m: pool.submit(fetch_component_status, url, self._timeout_s)
            for m, url in self._components.items()
        }
        samples = [
            component_sample(m, f.result(), time.monotonic_ns() - self._start_ns)
            for m, f in futures.items()
        ]
        for sample in samples:
            self._writer.write(sample)
        self.rounds += 1
        return samples

    def _loop(self) -> None:
        workers = max(1, len(self._components))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="components") as pool:
            next_at = time.monotonic()
            while not self._stop.is_set():
                self.sample_once(pool)
                next_at = max(next_at + self._interval_s, time.monotonic())
                self._stop.wait(next_at - time.monotonic())

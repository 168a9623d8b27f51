"""Durable JSON-lines files: a streaming writer and a reader that tolerates a torn last line.

The writer flushes (and fsyncs) at least every ``flush_interval_s`` and on close, so a runner
killed with SIGKILL loses at most the last interval. It is thread-safe: workload clients,
the nemesis and probes may share one writer.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol


class Jsonable(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class JsonlWriter:
    """Append-only JSON-lines writer, flushed on a timer so a crash loses at most ~100 ms."""

    def __init__(self, path: Path, *, flush_interval_s: float = 0.1) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1 << 16)
        self._lock = threading.Lock()
        self._flush_interval_s = flush_interval_s
        self._closed = threading.Event()
        self._dirty = False
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"flush:{path.name}", daemon=True
        )
        self._flusher.start()

    def write(self, record: Jsonable | dict[str, Any]) -> None:
        data = record if isinstance(record, dict) else record.to_json()
        line = json.dumps(data, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._file.closed:
                raise ValueError(f"{self.path}: writer is closed")
            self._file.write(line)
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if self._dirty and not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._dirty = False

    def _flush_loop(self) -> None:
        while not self._closed.wait(self._flush_interval_s):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        with self._lock:
            self._file.close()
        if self._flusher is not threading.current_thread():
            self._flusher.join(timeout=1)

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield each JSON object; a torn (unparsable) *last* line is dropped, any other raises."""
    with path.open(encoding="utf-8") as f:
        lines = f.readlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not line.endswith("\n"):
                return  # torn by a crash mid-write: everything before it is intact
            raise ValueError(f"{path}:{number}: not a JSON object: {exc}") from exc
        if not isinstance(obj, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        yield obj


def monotonic_ns_since(start_ns: int) -> int:
    """Nanoseconds since ``start_ns`` on the monotonic clock (the history's time base)."""
    return time.monotonic_ns() - start_ns

"""Did the runner finish recording? A run's progress marker, and what a cut-short run shows.

In a nutshell: the runner writes ``progress.json`` as ``{"state": "running"}`` when the run
directory is made and rewrites it as ``{"state": "finished"}`` once the workload, the nemesis
and the probes have stopped and their files are closed. A directory whose marker still says
``running`` was cut short (the runner was killed, or crashed before the end of the recording):
``cut_short(run)`` then says when the records stop — the last op, the last fault event, the
last status sample, on the run clock — and how much of the planned workload that is. A
directory without the marker (written by hand, by a test, or before the marker existed) is not
judged. Checkers and reports read it; nothing here needs Docker.

    mark_running(run); ...; mark_finished(run)
    short = cut_short(RunDir(path))   # None, or CutShort(last_op_s=6.2, …).statement()
"""

from __future__ import annotations

import enum
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.history.jsonl import read_jsonl
from harness.history.rundir import RunDir

NS_PER_S = 1_000_000_000


class Progress(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


def _write(run: RunDir, state: Progress) -> None:
    tmp = run.progress.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"state": state.value, "at": time.time()}) + "\n", encoding="utf-8")
    os.replace(tmp, run.progress)  # atomic: a kill leaves the old marker or the new one


def mark_running(run: RunDir) -> None:
    _write(run, Progress.RUNNING)


def mark_finished(run: RunDir) -> None:
    _write(run, Progress.FINISHED)


def progress(run: RunDir) -> Progress | None:
    try:
        raw = json.loads(run.progress.read_text(encoding="utf-8"))
        return Progress(raw["state"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Progress.RUNNING  # a marker we cannot read never proves the run finished


@dataclass(frozen=True, slots=True, kw_only=True)
class CutShort:
    """Where the records of a run that never finished stop (seconds on the run clock)."""

    last_op_s: float | None
    last_fault_s: float | None
    last_status_s: float | None
    ops: int
    planned_s: float | None  # the workload's duration from run.json
    error: str | None  # run.json's error, when the runner lived long enough to write one

    @property
    def stopped_s(self) -> float | None:
        """The latest record of any kind: the runner stopped at or shortly after this."""
        times = [
            t for t in (self.last_op_s, self.last_fault_s, self.last_status_s) if t is not None
        ]
        return max(times) if times else None

    def statement(self) -> str:
        stopped = self.stopped_s
        parts = [
            "cut short: the runner stopped before the run finished"
            + (f", at t≈{stopped:.1f} s" if stopped is not None else " (no records at all)")
        ]
        if self.planned_s:
            parts.append(f"of a planned {self.planned_s:g} s workload")
        if self.last_op_s is not None:
            parts.append(f"last op at t={self.last_op_s:.1f} s ({self.ops} ops recorded)")
        if self.error:
            parts.append(f"error: {self.error}")
        else:
            parts.append("no error was recorded, so it was killed (e.g. SIGKILL or OOM)")
        return "; ".join(parts) + "; the verdicts judge only the part that was recorded"

    def to_json(self) -> dict[str, Any]:
        return {
            "stopped_s": self.stopped_s,
            "last_op_s": self.last_op_s,
            "last_fault_s": self.last_fault_s,
            "last_status_s": self.last_status_s,
            "ops": self.ops,
            "planned_s": self.planned_s,
            "error": self.error,
        }


def _last_time(path: Path) -> tuple[float | None, int]:
    """The largest ``time`` (ns → s) and the record count; a torn or damaged file counts as
    far as it reads."""
    last: int | None = None
    count = 0
    try:
        for record in read_jsonl(path):
            count += 1
            value = record.get("time")
            if isinstance(value, int) and (last is None or value > last):
                last = value
    except (OSError, ValueError):
        pass
    return (None if last is None else last / NS_PER_S), count


def _meta(run: RunDir) -> dict[str, Any]:
    try:
        raw = json.loads(run.meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def cut_short(run: RunDir) -> CutShort | None:
    """None when the run finished recording (or carries no marker); else where it stopped."""
    if progress(run) is not Progress.RUNNING:
        return None
    meta = _meta(run)
    workload = meta.get("workload") if isinstance(meta.get("workload"), dict) else {}
    planned = workload.get("duration_s") if isinstance(workload, dict) else None
    last_op, ops = _last_time(run.history)
    last_fault, _ = _last_time(run.faults)
    last_status, _ = _last_time(run.status)
    error = meta.get("error")
    return CutShort(
        last_op_s=last_op,
        last_fault_s=last_fault,
        last_status_s=last_status,
        ops=ops,
        planned_s=float(planned) if isinstance(planned, int | float) else None,
        error=str(error) if error else None,
    )

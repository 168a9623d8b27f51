"""Did the workload do enough for the verdicts to mean anything? (pure: ops + fault events in).

In a nutshell: ``assess(ops, faults, target_rate=…)`` measures throughput (ok completions per
second) before, during and after every fault window and flags a run that proves little: fewer
than ``min_ok_before`` ok ops before the first fault, less than ``min_rate_share`` of the target
rate before it, or no client activity when a fault struck (etcd's minimum-throughput check,
Hypothesis' health checks). Checkers turn ``ok=False`` into an ``unknown`` verdict.

    adequacy = assess(read_ops(run.history), read_faults(run.faults), target_rate=200.0)
    adequacy.to_json()  # {"ok": false, "reason": "only 3 ok ops before the first fault …", …}

Windows: ``during`` is [start, end] of a fault (a fault without an end, e.g. a kill, lasts
``instant_window_s``); ``before`` and ``after`` are windows of the same length right before the
start and right after the end, clipped to the run.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.history import FaultEvent, FaultPhase, Op, OpType

NS = 1_000_000_000
OBSERVATIONS = frozenset({"watch-event"})  # lone ok records that are not requests


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    min_ok_before: int = 10  # ok ops before the first fault
    min_rate_share: float = 0.1  # of the target rate, before the first fault (target > 0)
    max_idle_s: float = 1.0  # a fault must strike within this long after some client activity
    instant_window_s: float = 5.0  # the "during" window of a fault with no end event


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultWindow:
    id: int
    fault: str
    targets: list[str]
    start_s: float  # seconds since the run started
    end_s: float
    ok_per_s_before: float
    ok_per_s_during: float
    ok_per_s_after: float
    ops_before: int  # completions of any type before / during / after
    ops_during: int
    ops_after: int
    active_at_start: bool  # a client was running when the fault struck

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fault": self.fault,
            "targets": list(self.targets),
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "ok_per_s_before": round(self.ok_per_s_before, 2),
            "ok_per_s_during": round(self.ok_per_s_during, 2),
            "ok_per_s_after": round(self.ok_per_s_after, 2),
            "ops_before": self.ops_before,
            "ops_during": self.ops_during,
            "ops_after": self.ops_after,
            "active_at_start": self.active_at_start,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Adequacy:
    ok: bool
    reason: str
    ok_before_first_fault: int
    ok_per_s_before_first_fault: float
    windows: list[FaultWindow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "ok_before_first_fault": self.ok_before_first_fault,
            "ok_per_s_before_first_fault": round(self.ok_per_s_before_first_fault, 2),
            "windows": [w.to_json() for w in self.windows],
        }


class _Timeline:
    """Sorted completion times (all, and ok only) and invoke times, for window counts."""

    def __init__(self, ops: Iterable[Op]) -> None:
        self.ok: list[int] = []
        self.done: list[int] = []
        self.active: list[int] = []  # any record: invokes, completions, events
        for op in ops:
            self.active.append(op.time)
            if op.f in OBSERVATIONS:
                continue  # a watch event is activity, not an op the cluster served
            if op.type is not OpType.INVOKE:
                self.done.append(op.time)
                if op.type is OpType.OK:
                    self.ok.append(op.time)
        self.ok.sort()
        self.done.sort()
        self.active.sort()

    @staticmethod
    def count(times: list[int], lo: int, hi: int) -> int:
        """Records with lo <= time < hi."""
        return bisect.bisect_left(times, hi) - bisect.bisect_left(times, lo)

    def busy_near(self, t: int, idle_ns: int) -> bool:
        """Some record within idle_ns before t, and the run went on past t."""
        return (
            self.count(self.active, t - idle_ns, t + 1) > 0
            and bool(self.active)
            and (self.active[-1] >= t)
        )


def _rate(count: int, span_ns: int) -> float:
    return count * NS / span_ns if span_ns > 0 else 0.0


def _pairs(faults: Iterable[FaultEvent]) -> list[tuple[FaultEvent, FaultEvent | None]]:
    starts: dict[int, FaultEvent] = {}
    ends: dict[int, FaultEvent] = {}
    order: list[int] = []
    for event in faults:
        if event.type is FaultPhase.START and event.id not in starts:
            starts[event.id] = event
            order.append(event.id)
        elif event.type is FaultPhase.END:
            ends.setdefault(event.id, event)
    return sorted(((starts[i], ends.get(i)) for i in order), key=lambda p: p[0].time)


def assess(
    ops: Iterable[Op],
    faults: Iterable[FaultEvent],
    *,
    target_rate: float,
    thresholds: Thresholds | None = None,
) -> Adequacy:
    """Throughput around each fault window and whether the run did enough to prove anything."""
    th = thresholds or Thresholds()
    timeline = _Timeline(ops)
    pairs = _pairs(faults)
    run_end = max(timeline.active[-1] if timeline.active else 0, 1)
    first_start = pairs[0][0].time if pairs else run_end
    ok_before = timeline.count(timeline.ok, 0, first_start)
    run_start = timeline.active[0] if timeline.active else 0
    rate_before = _rate(ok_before, first_start - min(run_start, first_start))
    windows = [_window(timeline, start, end, run_end, th) for start, end in pairs]

    problems: list[str] = []
    where = "before the first fault" if pairs else "in the whole run"
    if ok_before < th.min_ok_before:
        problems.append(f"only {ok_before} ok ops {where} (need ≥ {th.min_ok_before})")
    if target_rate > 0 and rate_before < th.min_rate_share * target_rate:
        problems.append(
            f"{rate_before:.1f} ok ops/s {where}, below {th.min_rate_share:.0%} of the "
            f"target {target_rate:g}/s"
        )
    idle = [w for w in windows if not w.active_at_start]
    for w in idle:
        problems.append(
            f"fault {w.id} ({w.fault}) at {w.start_s:.2f} s struck while no client was running"
        )
    if problems:
        return Adequacy(
            ok=False,
            reason="; ".join(problems),
            ok_before_first_fault=ok_before,
            ok_per_s_before_first_fault=rate_before,
            windows=windows,
        )
    summary = f"{ok_before} ok ops ({rate_before:.1f}/s) {where}"
    if windows:
        summary += f"; clients active at all {len(windows)} fault starts"
    return Adequacy(
        ok=True,
        reason=summary,
        ok_before_first_fault=ok_before,
        ok_per_s_before_first_fault=rate_before,
        windows=windows,
    )


def _window(
    timeline: _Timeline,
    start: FaultEvent,
    end: FaultEvent | None,
    run_end: int,
    th: Thresholds,
) -> FaultWindow:
    s = start.time
    e = end.time if end is not None and end.time > s else s + int(th.instant_window_s * NS)
    span = e - s
    before_lo = max(0, s - span)
    after_hi = max(e, min(run_end, e + span))
    ok_b = timeline.count(timeline.ok, before_lo, s)
    ok_d = timeline.count(timeline.ok, s, e)
    ok_a = timeline.count(timeline.ok, e, after_hi)
    return FaultWindow(
        id=start.id,
        fault=start.fault,
        targets=list(start.targets),
        start_s=s / NS,
        end_s=e / NS,
        ok_per_s_before=_rate(ok_b, s - before_lo),
        ok_per_s_during=_rate(ok_d, span),
        ok_per_s_after=_rate(ok_a, after_hi - e),
        ops_before=timeline.count(timeline.done, before_lo, s),
        ops_during=timeline.count(timeline.done, s, e),
        ops_after=timeline.count(timeline.done, e, after_hi),
        active_at_start=timeline.busy_near(s, int(th.max_idle_s * NS)),
    )

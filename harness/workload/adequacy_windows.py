"""Fault windows of a run and the op counts around them (pure; used by ``adequacy``).

In a nutshell: ``Timeline(ops)`` sorts completion and activity times once; ``pairs(faults)``
matches each fault's start with its end; ``window(...)`` counts ok ops and completions before,
during and after one fault and carries its verified effect (``faults.jsonl`` ``effect``).

    timeline = Timeline(ops)
    for start, end in pairs(faults):
        window(timeline, start, end, run_end, instant_ns=5 * NS, idle_ns=NS, effect=None)
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.history import FaultEvent, FaultPhase, Op, OpType

NS = 1_000_000_000
OBSERVATIONS = frozenset({"watch-event"})  # lone ok records that are not requests


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
    ok_before: int = 0
    ok_during: int = 0
    ok_after: int = 0
    active_at_start: bool = True  # a client was running when the fault struck
    effect_ok: bool | None = None  # the nemesis' verification; None: not verified
    effect: str = ""  # its evidence or reason, short
    overlaps: tuple[int, ...] = ()  # ids of other faults whose windows overlap this one
    detail: dict[str, Any] = field(default_factory=dict)

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
            "ok_before": self.ok_before,
            "ok_during": self.ok_during,
            "ok_after": self.ok_after,
            "active_at_start": self.active_at_start,
            "effect_ok": self.effect_ok,
            "effect": self.effect,
            "overlaps": list(self.overlaps),
        }


class Timeline:
    """Sorted completion times (all, and ok only) and activity times, for window counts."""

    def __init__(self, ops: Iterable[Op]) -> None:
        self.ok: list[int] = []
        self.done: list[int] = []
        self.active: list[int] = []  # any record: invokes, completions, events
        self.latency: list[tuple[int, int]] = []  # (completion time, ns since its invoke)
        invoked: dict[int, int] = {}  # process → time of its open invoke
        for op in ops:
            self.active.append(op.time)
            if op.f in OBSERVATIONS:
                continue  # a watch event is activity, not an op the cluster served
            if op.type is OpType.INVOKE:
                invoked[op.process] = op.time
                continue
            self.done.append(op.time)
            if op.type is OpType.OK:
                self.ok.append(op.time)
            began = invoked.pop(op.process, None)
            if began is not None:
                self.latency.append((op.time, op.time - began))
        self.ok.sort()
        self.done.sort()
        self.active.sort()

    @staticmethod
    def count(times: list[int], lo: int, hi: int) -> int:
        """Records with lo <= time < hi."""
        return bisect.bisect_left(times, hi) - bisect.bisect_left(times, lo)

    def mean_latency_ns(self, lo: int, hi: int) -> float:
        """Mean invoke→completion time of the ops completed in [lo, hi); 0.0 when none."""
        spans = [d for t, d in self.latency if lo <= t < hi]
        return sum(spans) / len(spans) if spans else 0.0

    def busy_near(self, t: int, idle_ns: int) -> bool:
        """Some record within idle_ns before t, and the run went on past t."""
        return (
            self.count(self.active, t - idle_ns, t + 1) > 0
            and bool(self.active)
            and (self.active[-1] >= t)
        )


def with_overlaps(windows: list[FaultWindow]) -> list[FaultWindow]:
    """Each window with the ids of the others that overlap it (a late heal, a flapping
    schedule): their strikes and heals rewrite the same rules, so one's verification can
    see the other's counters."""
    out: list[FaultWindow] = []
    for w in windows:
        others = tuple(
            o.id for o in windows if o.id != w.id and o.start_s < w.end_s and o.end_s > w.start_s
        )
        out.append(replace(w, overlaps=others))
    return out


def rate(count: int, span_ns: int) -> float:
    return count * NS / span_ns if span_ns > 0 else 0.0


def pairs(faults: Iterable[FaultEvent]) -> list[tuple[FaultEvent, FaultEvent | None]]:
    """Each fault's start with its end (None: no end recorded), in start order."""
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


def _effect(event: FaultEvent | None) -> tuple[bool | None, str]:
    if event is None or "ok" not in event.detail:
        return None, ""
    detail = event.detail
    text = detail.get("reason") or detail.get("error") or detail.get("evidence") or ""
    if not isinstance(text, str):
        text = (
            ", ".join(f"{k}={v}" for k, v in dict(text).items()) if isinstance(text, dict) else ""
        )
    return bool(detail["ok"]), text[:200]


def window(
    timeline: Timeline,
    start: FaultEvent,
    end: FaultEvent | None,
    run_end: int,
    *,
    instant_ns: int,
    idle_ns: int,
    effect: FaultEvent | None,
) -> FaultWindow:
    s = start.time
    e = end.time if end is not None and end.time > s else s + instant_ns
    span = e - s
    before_lo = max(0, s - span)
    after_hi = max(e, min(run_end, e + span))
    ok_b = timeline.count(timeline.ok, before_lo, s)
    ok_d = timeline.count(timeline.ok, s, e)
    ok_a = timeline.count(timeline.ok, e, after_hi)
    effect_ok, effect_text = _effect(effect)
    return FaultWindow(
        id=start.id,
        fault=start.fault,
        targets=list(start.targets),
        start_s=s / NS,
        end_s=e / NS,
        ok_per_s_before=rate(ok_b, s - before_lo),
        ok_per_s_during=rate(ok_d, span),
        ok_per_s_after=rate(ok_a, after_hi - e),
        ops_before=timeline.count(timeline.done, before_lo, s),
        ops_during=timeline.count(timeline.done, s, e),
        ops_after=timeline.count(timeline.done, e, after_hi),
        ok_before=ok_b,
        ok_during=ok_d,
        ok_after=ok_a,
        active_at_start=timeline.busy_near(s, idle_ns),
        effect_ok=effect_ok,
        effect=effect_text,
    )

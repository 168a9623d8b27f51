"""Fault windows and what the clients saw before, during and after each one.

In a nutshell: ``fault_windows(faults, schedule, end_ns)`` pairs ``start``/``end`` events by
``id`` (a fault never healed lasts to the end of the run), attaches its verification
(``effect`` events: ``detail.ok``, ``detail.evidence``), and falls back to ``schedule.json``
when ``faults.jsonl`` is missing. ``window_stats`` gives, per window, the calls invoked inside
it by outcome (availability = ok share, as the availability checker counts it) and ok
throughput and p99 latency in equal-length spans before, during and after (Jepsen and etcd
report exactly these three).

    for w in fault_windows(files.faults, files.schedule, end_ns):
        window_stats(w, calls, end_ns)["during"]["ok_per_s"]
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checker.pairing import Call
from harness.history import FaultEvent, FaultPhase
from harness.report.series import NS_PER_MS, NS_PER_S, outcome_of

MIN_SPAN_NS = NS_PER_S  # an instant fault (a kill) is compared over one second either side


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    id: int
    fault: str
    targets: list[str]
    start_ns: int
    end_ns: int
    healed: bool  # an end event was recorded
    effect_ok: bool | None = None  # None: not verified
    evidence: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.fault}#{self.id}"


def fault_windows(
    faults: Sequence[FaultEvent], schedule: Sequence[dict[str, Any]], end_ns: int
) -> list[Window]:
    if not faults:
        return _from_schedule(schedule)
    starts = {f.id: f for f in faults if f.type is FaultPhase.START}
    ends = {f.id: f for f in faults if f.type is FaultPhase.END}
    effects = {f.id: f for f in faults if f.type is FaultPhase.EFFECT}
    out: list[Window] = []
    for fid, start in sorted(starts.items(), key=lambda kv: kv[1].time):
        end = ends.get(fid)
        effect = effects.get(fid)
        ok = None if effect is None else effect.detail.get("ok")
        out.append(
            Window(
                id=fid,
                fault=start.fault,
                targets=list(start.targets),
                start_ns=start.time,
                end_ns=end.time if end is not None else max(end_ns, start.time),
                healed=end is not None,
                effect_ok=None if ok is None else bool(ok),
                evidence=_evidence(effect),
                detail=dict(start.detail),
            )
        )
    return out


def _evidence(effect: FaultEvent | None) -> str:
    if effect is None:
        return ""
    evidence = effect.detail.get("evidence", "")
    if isinstance(evidence, str):
        return evidence
    return json.dumps(evidence, separators=(", ", ": "), default=str)


def _from_schedule(schedule: Sequence[dict[str, Any]]) -> list[Window]:
    out: list[Window] = []
    for i, d in enumerate(schedule):
        try:
            at_s = float(d["at_s"])
        except (KeyError, TypeError, ValueError):
            continue
        held_s = d.get("held_s")
        end_s = d.get("end_s")
        stop_s = float(end_s) if end_s is not None else at_s + float(held_s or 0.0)
        ok = d.get("effect_ok")
        out.append(
            Window(
                id=int(d.get("id", i)),
                fault=str(d.get("kind", "fault")),
                targets=[str(t) for t in d.get("targets") or []],
                start_ns=int(at_s * NS_PER_S),
                end_ns=int(stop_s * NS_PER_S),
                healed=True,
                effect_ok=None if ok is None else bool(ok),
                detail={k: v for k, v in d.items() if k in ("target", "params", "error")},
            )
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class OkSeries:
    """The ok calls by completion time: built once, shared by every window's spans."""

    done_ns: list[int]
    latency_ms: list[float]

    @classmethod
    def of(cls, calls: Sequence[Call]) -> OkSeries:
        pairs = sorted(
            (c.complete_time, (c.complete_time - c.invoke_time) / NS_PER_MS)
            for c in calls
            if c.ok and c.complete_time is not None
        )
        return cls(done_ns=[t for t, _ in pairs], latency_ms=[lat for _, lat in pairs])

    def span(self, lo: int, hi: int) -> dict[str, Any]:
        """ok completions per second and p99 ok latency for calls completed in [lo, hi)."""
        if hi <= lo:
            return {"ok_per_s": None, "p99_ms": None}
        a, b = bisect.bisect_left(self.done_ns, lo), bisect.bisect_left(self.done_ns, hi)
        lats = sorted(self.latency_ms[a:b])
        p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))] if lats else None
        return {
            "ok_per_s": round((b - a) / ((hi - lo) / NS_PER_S), 2),
            "p99_ms": None if p99 is None else round(p99, 2),
        }


def window_stats(
    w: Window, calls: Sequence[Call], end_ns: int, ok: OkSeries | None = None
) -> dict[str, Any]:
    """Counts of the calls invoked inside ``w``; ok/s and p99 before, during, after it.
    Pass ``ok`` (``OkSeries.of(calls)``) when computing many windows over the same calls."""
    inside = [c for c in calls if w.start_ns <= c.invoke_time <= w.end_ns]
    counts = {"ok": 0, "fail": 0, "info": 0}
    for c in inside:
        counts[outcome_of(c)] += 1
    total = len(inside)
    series = ok if ok is not None else OkSeries.of(calls)
    span = max(w.end_ns - w.start_ns, MIN_SPAN_NS)
    during_end = max(w.end_ns, w.start_ns + MIN_SPAN_NS)
    return {
        "total": total,
        **counts,
        "share": round(counts["ok"] / total, 4) if total else None,
        "before": series.span(max(0, w.start_ns - span), w.start_ns),
        "during": series.span(w.start_ns, min(during_end, end_ns)),
        "after": series.span(during_end, min(end_ns, during_end + span)),
    }

"""Availability: the share of ops that succeeded during each fault window, overall and per node.

In a nutshell: a fault window runs from a ``start`` event to the ``end`` with the same ``id``
(or to the end of the run). The calls invoked inside it (observation records and the final read
excluded) are counted by outcome; ``share = ok / (ok + fail + info)``. With
``expect.min_availability`` set, any window below it is invalid and a window without a single
call is unknown (it proved nothing); without it the check only reports the numbers (valid).

    availability(run).details["windows"][0]["share"]  # 0.93
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.checker.lostwrites import FINAL_READ
from harness.checker.pairing import Call
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import FaultPhase, OpType


def applies(run: RunData) -> bool:
    return not run.bare


def availability(run: RunData) -> CheckResult:
    minimum = run.expect.get("min_availability")
    starts = {f.id: f for f in run.faults if f.type is FaultPhase.START}
    ends = {f.id: f.time for f in run.faults if f.type is FaultPhase.END}
    calls = [c for c in run.paired.calls if c.f != FINAL_READ]
    if not starts:
        return CheckResult.valid("no fault windows", windows=[], overall=_counts(calls))
    end_of_run = run.end_time
    windows: list[dict[str, Any]] = []
    inside: list[Call] = []
    for fid, start in sorted(starts.items(), key=lambda kv: kv[1].time):
        stop = ends.get(fid, end_of_run)
        in_window = [c for c in calls if start.time <= c.invoke_time <= stop]
        inside += in_window
        by_node: dict[str, list[Call]] = {}
        for c in in_window:
            by_node.setdefault(c.node or "*", []).append(c)
        windows.append(
            {
                "fault": f"{start.fault}#{fid}",
                "targets": start.targets,
                "start_s": round(start.time / NS_PER_S, 3),
                "end_s": round(stop / NS_PER_S, 3),
                **_counts(in_window),
                "by_node": {n: _counts(cs) for n, cs in sorted(by_node.items())},
            }
        )
    during = _counts(inside)
    details = {"windows": windows, "during_faults": during, "min_availability": minimum}
    if minimum is None:
        return CheckResult.valid(f"share ok during faults: {during['share']}", **details)
    low = [w["fault"] for w in windows if w["total"] and w["share"] < minimum]
    empty = [w["fault"] for w in windows if not w["total"]]
    if low:
        return CheckResult.invalid(
            f"availability below {minimum} during: {', '.join(low)}", **details
        )
    if empty:
        return CheckResult.unknown(f"no operations during: {', '.join(empty)}", **details)
    return CheckResult.valid(
        f"availability ≥ {minimum} in all {len(windows)} fault windows", **details
    )


def _counts(calls: list[Call]) -> dict[str, Any]:
    kinds = Counter("open" if c.outcome is None else str(c.outcome) for c in calls)
    total = len(calls) - kinds.get("open", 0)
    ok = kinds.get(OpType.OK.value, 0)
    return {
        "total": total,
        "ok": ok,
        "fail": kinds.get(OpType.FAIL.value, 0),
        "info": kinds.get(OpType.INFO.value, 0),
        "open": kinds.get("open", 0),
        "share": round(ok / total, 4) if total else None,
    }

"""What the timeline draws: op latencies, throughput, and who led when — capped for big runs.

In a nutshell: ``latency_points(calls)`` gives one point per call (invoke time, latency,
outcome); past ``MAX_POINTS`` calls the points are binned on a time × log-latency grid (one
point per occupied cell and outcome, with its count), so a 1,000,000-op run draws as fast as a
20,000-op one and still shows every outcome that happened. ``throughput`` counts completions
per time bin; ``status_lanes`` turns status samples into run-length segments per member and
the list of leadership changes. Times are seconds since the run started, rounded for size.

    pts = latency_points(pair_calls(ops).calls)
    pts["drawn"], pts["total"], pts["binned"]  # 8123, 100000, True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.checker.pairing import Call
from harness.history import OpType, StatusSample

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
MAX_POINTS = 20_000  # a canvas draws this many in a few ms; beyond it the points are binned
TIME_BINS = 1_400  # about one per pixel of the widest plot
LATENCY_BINS = 160  # per decade-spanning log axis
THROUGHPUT_BINS = 240

OUTCOME_CODES = {"ok": 0, "fail": 1, "info": 2}


def outcome_of(call: Call) -> str:
    if call.outcome is OpType.OK:
        return "ok"
    if call.outcome is OpType.FAIL:
        return "fail"
    return "info"  # info, or never completed: the outcome is unknown either way


def latency_ms(call: Call, end_ns: int) -> float:
    """Invoke to completion; a call that never completed counts until the end of the run."""
    done = call.complete_time if call.complete_time is not None else end_ns
    return max(0.0, (done - call.invoke_time) / NS_PER_MS)


def _op_refs(calls: Sequence[Call]) -> dict[str, Any]:
    names: dict[str, int] = {}
    codes = [names.setdefault(c.f, len(names)) for c in calls]
    keys: dict[str, int] = {}
    key_codes = [keys.setdefault(c.key or "", len(keys)) for c in calls]
    return {
        "fs": list(names),
        "f": codes,
        "keys": list(keys),
        "key": key_codes,
        "index": [c.invoke_index for c in calls],
    }


def latency_points(calls: Sequence[Call], end_ns: int) -> dict[str, Any]:
    total = len(calls)
    if total <= MAX_POINTS:
        return {
            "t": [round(c.invoke_time / NS_PER_S, 4) for c in calls],
            "lat": [round(latency_ms(c, end_ns), 3) for c in calls],
            "cls": [OUTCOME_CODES[outcome_of(c)] for c in calls],
            "n": None,
            # For the tooltip: which op it is (index into ``fs`` for the function, the invoke's
            # history index), so a point can be found in history.jsonl.
            **_op_refs(calls),
            "binned": False,
            "total": total,
            "drawn": total,
        }
    t0 = min(c.invoke_time for c in calls)
    span = max(1, max(c.invoke_time for c in calls) - t0)
    lats = [latency_ms(c, end_ns) for c in calls]
    logs = [math.log10(max(lat, 0.01)) for lat in lats]
    lo, hi = min(logs), max(logs)
    width = max(hi - lo, 1e-9)
    # Fractions in [0, 1) once; each grid below only scales and truncates them.
    tf = [min(0.999999, (c.invoke_time - t0) / span) for c in calls]
    lf = [min(0.999999, (v - lo) / width) for v in logs]
    cls = [OUTCOME_CODES[outcome_of(c)] for c in calls]
    time_bins, latency_bins = TIME_BINS, LATENCY_BINS
    while True:
        cells = _bin(tf, lf, cls, time_bins, latency_bins)
        if cells is not None:
            break
        # Shrink both axes by √2: the drawn count lands close under the cap, not far below it.
        time_bins, latency_bins = int(time_bins / 1.414), max(20, int(latency_bins / 1.414))
    # Failures drawn last so they sit on top of the ok cloud.
    ordered = sorted(cells.items(), key=lambda kv: kv[0][2])
    return {
        "t": [round(calls[v[0]].invoke_time / NS_PER_S, 4) for _, v in ordered],
        "lat": [round(lats[v[0]], 3) for _, v in ordered],
        "cls": [k[2] for k, _ in ordered],
        "n": [v[1] for _, v in ordered],
        "binned": True,
        "total": total,
        "drawn": len(ordered),
    }


def _bin(
    tf: list[float], lf: list[float], cls: list[int], time_bins: int, latency_bins: int
) -> dict[tuple[int, int, int], list[int]] | None:
    """Cell → [first call's position, count]; None as soon as the cells exceed the cap."""
    cells: dict[tuple[int, int, int], list[int]] = {}
    for i, (t, lat, c) in enumerate(zip(tf, lf, cls, strict=True)):
        key = (int(t * time_bins), int(lat * latency_bins), c)
        cell = cells.get(key)
        if cell is None:
            if len(cells) >= MAX_POINTS:
                return None
            cells[key] = [i, 1]
        else:
            cell[1] += 1
    return cells


def nice_bin_s(span_s: float, bins: int = THROUGHPUT_BINS) -> float:
    """A round bin width (…, 0.1, 0.2, 0.5, 1, 2, 5, …) giving about ``bins`` bins."""
    raw = max(span_s / bins, 1e-3)
    exp = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def throughput(calls: Sequence[Call], end_ns: int) -> dict[str, Any]:
    """Completions per second in each bin, by outcome (a never-completed call is not counted)."""
    span_s = max(end_ns / NS_PER_S, 1e-3)
    bin_s = nice_bin_s(span_s)
    n = int(span_s / bin_s) + 1
    series = {name: [0] * n for name in OUTCOME_CODES}
    for c in calls:
        if c.complete_time is None:
            continue
        i = min(n - 1, max(0, int(c.complete_time / NS_PER_S / bin_s)))
        series[outcome_of(c)][i] += 1
    return {
        "bin_s": bin_s,
        **{name: [round(v / bin_s, 2) for v in counts] for name, counts in series.items()},
    }


def _state(s: StatusSample) -> str:
    if not s.reachable:
        return "down"
    return s.role if s.role in ("leader", "follower", "candidate") else "other"


def status_lanes(status: Sequence[StatusSample], end_ns: int) -> dict[str, Any]:
    """Per member: segments ``[start_s, end_s, state, term]``; plus leadership changes."""
    by_member: dict[str, list[StatusSample]] = {}
    for s in status:
        by_member.setdefault(s.member, []).append(s)
    lanes: list[dict[str, Any]] = []
    for member in sorted(by_member):
        samples = by_member[member]
        segments: list[list[Any]] = []
        for i, s in enumerate(samples):
            until = samples[i + 1].time if i + 1 < len(samples) else max(s.time, end_ns)
            state, term = _state(s), s.term
            last = segments[-1] if segments else None
            if last is not None and last[2] == state and last[3] == term:
                last[1] = round(until / NS_PER_S, 4)
            else:
                segments.append(
                    [round(s.time / NS_PER_S, 4), round(until / NS_PER_S, 4), state, term]
                )
        lanes.append({"member": member, "segments": segments})
    return {"lanes": lanes, "changes": leadership_changes(status)}


def leadership_changes(status: Sequence[StatusSample]) -> list[dict[str, Any]]:
    """Each time the cluster's leader (the reachable member claiming it, highest term) changes;
    ``leader`` None while nobody claims it."""
    latest: dict[str, StatusSample] = {}
    out: list[dict[str, Any]] = []
    current: tuple[str | None, int | None] = ("?", None)  # sentinel: the first sample records
    for s in status:
        latest[s.member] = s
        leaders = [x for x in latest.values() if x.reachable and x.role == "leader"]
        best = max(leaders, key=lambda x: (x.term or 0, x.time)) if leaders else None
        now = (best.member, best.term) if best else (None, None)
        if now != current:
            out.append({"at_s": round(s.time / NS_PER_S, 3), "leader": now[0], "term": now[1]})
            current = now
    return out

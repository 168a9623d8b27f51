"""A linearizability counterexample laid out on client lanes, as Porcupine's visualiser does.

In a nutshell: ``counterexample_lanes(check, calls)`` takes the ``linearizable`` check of
``verdicts.json`` (``details``: ``key``, ``unorderable`` ops, ``longest_prefix`` — invoke
indexes or op objects — and ``stuck``) and returns one lane per process with a bar per op
(invoke → completion), each bar flagged as part of the unorderable set, of the longest
linearizable prefix, or as the op the search got stuck on. Ops of the prefix that overlap the
unorderable ops in time are added faintly as context. ``None`` when there is nothing to draw.

    lanes = counterexample_lanes(verdicts["checks"]["linearizable"], calls)
    lanes["lanes"][0]["ops"][0]["label"]  # "write 3"
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.checker.pairing import Call
from harness.report.series import NS_PER_S

MAX_CONTEXT_OPS = 200  # prefix ops drawn around the counterexample, nearest first
# A set the checker could not shrink in its budget may hold hundreds of ops; the ones nearest
# the op the search got stuck on are the ones a reader must see.
MAX_UNORDERABLE_DRAWN = 60


def _short(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), default=str)
    return text if len(text) <= 24 else text[:21] + "…"


def op_label(op: Mapping[str, Any]) -> str:
    """``write 3``, ``read → 3``, ``cas 1→2 ✗``; ``?`` marks an unknown outcome."""
    f = str(op.get("f", "?"))
    value, result, kind = op.get("value"), op.get("result"), op.get("type")
    if f == "read":
        text = f"read → {_short(result)}" if kind == "ok" else "read"
    elif f == "write":
        text = f"write {_short(value)}"
    elif f == "cas" and isinstance(value, list | tuple) and len(value) == 2:
        text = f"cas {_short(value[0])}→{_short(value[1])}"
        text += {"ok": " ✓", "fail": " ✗"}.get(str(kind), "")
    elif f == "delete":
        text = "delete"
    else:
        text = f"{f} {_short(value)}" if value is not None else f
        if kind == "ok" and result is not None:
            text += f" → {_short(result)}"
    if kind not in ("ok", "fail"):
        text += " ?"
    return text


def _call_json(c: Call) -> dict[str, Any]:
    return {
        "process": c.process,
        "f": c.f,
        "key": c.key,
        "value": c.arg,
        "result": c.result,
        "type": None if c.outcome is None else c.outcome.value,
        "invoke_time": c.invoke_time,
        "complete_time": c.complete_time,
        "index": c.invoke_index,
    }


def _index_of(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("index"), int):
        return int(item["index"])
    return None


def _done(op: Mapping[str, Any]) -> int:
    """Completion time, or -1 for an op that never completed (drawn to the right edge)."""
    done = op.get("complete_time")
    return -1 if done is None else int(done)


def _lane_order(process: Any) -> tuple[int, int, str]:
    return (0, process, "") if isinstance(process, int) else (1, 0, str(process))


def counterexample_lanes(check: Mapping[str, Any], calls: Sequence[Call]) -> dict[str, Any] | None:
    details = check.get("details")
    if check.get("verdict") != "invalid" or not isinstance(details, Mapping):
        return None
    raw_ops = details.get("unorderable")
    if not isinstance(raw_ops, list) or not raw_ops:
        return None
    unorderable = [o for o in raw_ops if isinstance(o, Mapping) and "invoke_time" in o]
    if not unorderable:
        return None
    prefix_raw = details.get("longest_prefix")
    prefix_items = prefix_raw if isinstance(prefix_raw, list) else []
    prefix = {i for i in (_index_of(p) for p in prefix_items) if i is not None}
    stuck_raw = details.get("stuck")
    stuck = _index_of(stuck_raw) if stuck_raw is not None else None
    count = len(unorderable)
    if count > MAX_UNORDERABLE_DRAWN:
        anchor = next((o for o in unorderable if _index_of(o) == stuck), unorderable[-1])
        t = int(anchor["invoke_time"])
        unorderable = sorted(unorderable, key=lambda o: abs(int(o["invoke_time"]) - t))
        unorderable = sorted(unorderable[:MAX_UNORDERABLE_DRAWN], key=lambda o: o["invoke_time"])

    intervals = [
        (int(o["invoke_time"]), _done(o) if _done(o) >= 0 else 1 << 62) for o in unorderable
    ]
    chosen = {_index_of(o) for o in unorderable}
    key = details.get("key")
    # Context: prefix ops overlapping one of the unorderable ops, the ones that explain it.
    context = [
        _call_json(c)
        for c in calls
        if c.invoke_index in prefix
        and c.invoke_index not in chosen
        and (key is None or c.key == key)
        and any(
            c.invoke_time <= b and (c.complete_time is None or c.complete_time >= a)
            for a, b in intervals
        )
    ][:MAX_CONTEXT_OPS]
    drawn = [*((o, "unorderable") for o in unorderable), *((o, "context") for o in context)]
    # x is the rank of each invoke/completion among the drawn ones (Porcupine's layout): the
    # order of events is what decides linearizability, and a 20-second gap would otherwise
    # squeeze the interesting overlaps into slivers. Real times stay in the tooltips.
    times = sorted({t for o, _ in drawn for t in (int(o["invoke_time"]), _done(o)) if t >= 0})
    rank = {t: i for i, t in enumerate(times)}
    last = max(1, len(times))

    def x(t: int | None) -> float:
        return round((rank[t] + 0.5) / last if t is not None else 1.0, 5)

    lanes: dict[Any, list[dict[str, Any]]] = {}
    for o, role in drawn:
        index = _index_of(o)
        done = o.get("complete_time")
        lanes.setdefault(o.get("process"), []).append(
            {
                "index": index,
                "label": op_label(o),
                "x0": x(int(o["invoke_time"])),
                "x1": x(None if done is None else int(done)),
                "start_s": round(int(o["invoke_time"]) / NS_PER_S, 6),
                "end_s": None if done is None else round(int(done) / NS_PER_S, 6),
                "type": o.get("type"),
                "role": role,
                "in_prefix": index in prefix,
                "stuck": index is not None and index == stuck,
            }
        )
    return {
        "key": key,
        "reason": str(check.get("reason", "")),
        "minimal": details.get("minimal"),
        "model": details.get("model"),
        "count": count,
        "drawn": len(unorderable),
        "prefix_len": len(prefix),
        "span_s": [round(times[0] / NS_PER_S, 6), round(times[-1] / NS_PER_S, 6)],
        "lanes": [
            {"process": p, "ops": sorted(ops, key=lambda o: o["x0"])}
            for p, ops in sorted(lanes.items(), key=lambda kv: _lane_order(kv[0]))
        ],
        "stuck": None if not isinstance(stuck_raw, Mapping) else op_label(stuck_raw),
    }

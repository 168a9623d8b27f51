"""Watch: per watcher, resourceVersions strictly increase, none is duplicated, none is missing.

In a nutshell: a watcher logs each event it receives as one lone ``ok`` record (no invoke)::

    {"f": "watch-event", "process": 7, "type": "ok", "key": "<watcher id>",
     "value": {"type": "ADDED"|"MODIFIED"|"DELETED", "name": "cm-3", "resourceVersion": "812"}}

and, when it (re)starts a watch after a list — at the start or after a 410 Expired — a marker
``{"type": "START", "resourceVersion": N}``: events before N are not expected from it any more.
Per watcher key, in file order:
- a resourceVersion equal to the previous one is *duplicated*, a smaller one *out of order*;
- every acknowledged write (an ok ``create`` / ``update`` whose result carries
  ``resourceVersion`` or ``metadata.resourceVersion``) with a resourceVersion after the
  watcher's baseline (its START, else its first event) and up to its last event must have been
  seen: otherwise it is *missing*.

    watch(run).details["watchers"]["w1"]["missing"]  # [815]
"""

from __future__ import annotations

from typing import Any

from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history import Op

WRITE_FS = frozenset({"create", "update"})
MAX_LISTED = 20


def applies(run: RunData) -> bool:
    return bool(run.expect.get("watch_ordered")) or bool(run.paired.events)


def resource_version(value: Any) -> int | None:
    if not isinstance(value, dict):
        return None
    rv = value.get("resourceVersion")
    meta = value.get("metadata")
    if rv is None and isinstance(meta, dict):
        rv = meta.get("resourceVersion")
    try:
        return None if rv is None else int(rv)
    except (TypeError, ValueError):
        return None


def watch(run: RunData) -> CheckResult:
    events = [e for e in run.paired.events if e.f == "watch-event"]
    if not events:
        return CheckResult.unknown("no watch-event records: the watch guarantee was not exercised")
    acked = sorted(
        {
            rv
            for c in run.paired.calls
            if c.ok and c.f in WRITE_FS
            if (rv := resource_version(c.result)) is not None
        }
    )
    by_watcher: dict[str, list[Op]] = {}
    for e in events:
        by_watcher.setdefault(e.key or str(e.process), []).append(e)
    report: dict[str, dict[str, Any]] = {}
    bad = 0
    for watcher, evs in sorted(by_watcher.items()):
        row = _watcher(evs, acked)
        report[watcher] = row
        bad += len(row["duplicated"]) + len(row["out_of_order"]) + len(row["missing"])
    details = {"watchers": report, "acknowledged_writes": len(acked)}
    if bad:
        return CheckResult.invalid(
            f"{bad} watch anomalies across {len(report)} watchers", **details
        )
    return CheckResult.valid(
        f"{len(events)} events in order across {len(report)} watchers", **details
    )


def _watcher(evs: list[Op], acked: list[int]) -> dict[str, Any]:
    duplicated: list[int] = []
    out_of_order: list[int] = []
    missing: list[int] = []
    seen: set[int] = set()
    prev: int | None = None
    segment_start: int | None = None  # baseline of the current watch
    unparsable = 0

    def close_segment(last: int | None) -> None:
        if segment_start is not None and last is not None:
            missing.extend(rv for rv in acked if segment_start < rv <= last and rv not in seen)

    for e in evs:
        rv = resource_version(e.value)
        if rv is None:
            unparsable += 1
            continue
        if isinstance(e.value, dict) and e.value.get("type") == "START":
            close_segment(prev)
            segment_start, prev = rv, rv
            continue
        if segment_start is None:
            segment_start = rv - 1  # no START marker: the first event is the baseline
        if prev is not None and rv == prev:
            duplicated.append(rv)
        elif prev is not None and rv < prev:
            out_of_order.append(rv)
        seen.add(rv)
        prev = rv if prev is None else max(prev, rv)
    close_segment(prev)
    return {
        "events": len(evs),
        "duplicated": duplicated[:MAX_LISTED],
        "out_of_order": out_of_order[:MAX_LISTED],
        "missing": sorted(set(missing))[:MAX_LISTED],
        "unparsable": unparsable,
    }

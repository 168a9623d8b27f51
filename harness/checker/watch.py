"""Watch: per watcher, resourceVersions strictly increase, none is duplicated, none is missing.

In a nutshell: a watcher logs each event it receives as one lone ``ok`` record (no invoke)::

    {"f": "watch-event", "process": 7, "type": "ok", "key": "<watcher id>",
     "value": {"type": "ADDED"|"MODIFIED"|"DELETED", "name": "cm-3", "resourceVersion": "812"}}

and, when it (re)starts a watch after a list — at the start or after a 410 Expired — a marker
``{"type": "START", "resourceVersion": N}``: events before N are not expected from it any more.
Per watcher key, in file order, a watch *segment* runs from its baseline (its START, else just
before its first event) to the last event before the next START:
- a resourceVersion equal to the previous one is *duplicated*, a smaller one *out of order*;
- a resourceVersion inside a segment (after the baseline, up to the last event) is *missing*
  when the watcher did not see it although the store evidently produced it there:
  - an acknowledged write (an ok ``create`` / ``update`` whose result carries
    ``resourceVersion`` or ``metadata.resourceVersion``) had it, or
  - another watcher saw an event with it for an object this watcher follows: one of a *family*
    it saw at least one event for (the name without its trailing digits: ``w-3`` → ``w-``, as
    the watch workload follows ``<prefix>w-*``). This catches events of writes whose client
    timed out (``info``), which no acknowledgement vouches for. Every event inside a segment
    is owed to the watcher (a correct watch delivers all of them): no timing, only ranges.

    watch(run).details["watchers"]["w1"]["missing"]  # [815]
    watch(run).details["watchers"]["w1"]["missing_evidence"]  # {"815": "seen by w2"}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history import Op

WRITE_FS = frozenset({"create", "update"})
MAX_LISTED = 20
ACKNOWLEDGED = "acknowledged write"


def applies(run: RunData) -> bool:
    watched = any(e.f == "watch-event" for e in run.paired.events)  # not the k8s-event ops
    return bool(run.expect.get("watch_ordered")) or watched


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


def family(name: str) -> str:
    """The object's name family: ``"p-w-12"`` → ``"p-w-"`` (a numbered series of objects)."""
    return name.rstrip("0123456789")


@dataclass(slots=True, kw_only=True)
class _Stream:
    """One watcher's events read in order: ordering anomalies, what it saw, where it watched."""

    events: int = 0
    duplicated: list[int] = field(default_factory=list)
    out_of_order: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    names: dict[int, str] = field(default_factory=dict)  # resourceVersion → object name
    segments: list[tuple[int, int]] = field(default_factory=list)  # (baseline, last] ranges
    unparsable: int = 0

    def covers(self, rv: int) -> bool:
        return any(start < rv <= last for start, last in self.segments)


def watch(run: RunData) -> CheckResult:
    events = [e for e in run.paired.events if e.f == "watch-event"]
    if not events:
        return CheckResult.unknown("no watch-event records: the watch guarantee was not exercised")
    acked = {
        rv
        for c in run.paired.calls
        if c.ok and c.f in WRITE_FS
        if (rv := resource_version(c.result)) is not None
    }
    by_watcher: dict[str, list[Op]] = {}
    for e in events:
        by_watcher.setdefault(e.key or str(e.process), []).append(e)
    streams = {watcher: _read(evs) for watcher, evs in sorted(by_watcher.items())}
    report: dict[str, dict[str, Any]] = {}
    bad = 0
    for watcher, stream in streams.items():
        evidence = _missing(watcher, stream, streams, acked)
        missing = sorted(evidence)[:MAX_LISTED]
        report[watcher] = {
            "events": stream.events,
            "duplicated": stream.duplicated[:MAX_LISTED],
            "out_of_order": stream.out_of_order[:MAX_LISTED],
            "missing": missing,
            "missing_evidence": {str(rv): evidence[rv] for rv in missing},
            "unparsable": stream.unparsable,
        }
        bad += len(stream.duplicated) + len(stream.out_of_order) + len(evidence)
    details = {"watchers": report, "acknowledged_writes": len(acked)}
    if bad:
        return CheckResult.invalid(
            f"{bad} watch anomalies across {len(report)} watchers", **details
        )
    return CheckResult.valid(
        f"{len(events)} events in order across {len(report)} watchers", **details
    )


def _read(evs: list[Op]) -> _Stream:
    stream = _Stream(events=len(evs))
    prev: int | None = None
    segment_start: int | None = None  # baseline of the current watch

    def close_segment(last: int | None) -> None:
        if segment_start is not None and last is not None and last > segment_start:
            stream.segments.append((segment_start, last))

    for e in evs:
        rv = resource_version(e.value)
        if rv is None:
            stream.unparsable += 1
            continue
        if isinstance(e.value, dict) and e.value.get("type") == "START":
            close_segment(prev)
            segment_start, prev = rv, rv
            continue
        if segment_start is None:
            segment_start = rv - 1  # no START marker: the first event is the baseline
        if prev is not None and rv == prev:
            stream.duplicated.append(rv)
        elif prev is not None and rv < prev:
            stream.out_of_order.append(rv)
        stream.seen.add(rv)
        name = e.value.get("name") if isinstance(e.value, dict) else None
        if isinstance(name, str):
            stream.names[rv] = name
        prev = rv if prev is None else max(prev, rv)
    close_segment(prev)
    return stream


def _missing(
    watcher: str, stream: _Stream, streams: dict[str, _Stream], acked: set[int]
) -> dict[int, str]:
    """Unseen resourceVersions inside the watcher's segments → why the store had them."""
    evidence: dict[int, str] = {}
    for rv in acked:
        if rv not in stream.seen and stream.covers(rv):
            evidence[rv] = ACKNOWLEDGED
    # Watchers may follow different sets of objects: only an event for an object this watcher
    # demonstrably follows is owed to it. Families, not exact names, so that a dropped event
    # of an object the watcher never saw otherwise (a lone ADDED) still counts.
    followed = {family(name) for name in stream.names.values()}
    for other, theirs in streams.items():
        if other == watcher:
            continue
        for rv, name in theirs.names.items():
            fresh = rv not in stream.seen and rv not in evidence
            if fresh and family(name) in followed and stream.covers(rv):
                evidence[rv] = f"seen by {other}"
    return evidence

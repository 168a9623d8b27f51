"""Recovered: after each heal and each leader loss, a leader is back and every apiserver serves.

In a nutshell: the events are every fault ``end`` (a heal) and every fault ``start`` whose
targets include the member that led at that moment (from the status samples), or whose kind is
``leader-loss``. For each event at time t:
- *leader*: 0 when a member already leads at t (its latest sample says so), else the first
  status sample after t from a reachable member whose role is ``leader`` — for a leader loss,
  not one of the fault's targets while the fault lasts;
- *serving*: per apiserver node (``op.node``; ``*`` when ops carry no node), the first ``ok``
  op completed at or after t — nodes targeted by a fault still active at t are skipped.
The event's recovery time is the largest of these. Valid when every event recovers within
``expect.recovered_within_s``; invalid when one does not although the run went on past the
deadline; unknown when the run ended first, or there are no status samples.

    recovered(run).details["events"][0]  # {"event": "heal partition#1", "leader_s": 1.2, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checker.faultclass import classes, is_class
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import FaultEvent, FaultPhase, StatusSample
from harness.model.kinds import FaultClass


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    time: int
    label: str
    excluded: frozenset[str]  # members/nodes that may not count (targets of the lost leader)
    until: int  # exclusions hold until this time (the fault's end)


def applies(run: RunData) -> bool:
    return run.expect.get("recovered_within_s") is not None and not run.bare


def recovered(run: RunData) -> CheckResult:
    within_ns = float(run.expect["recovered_within_s"]) * NS_PER_S
    if not run.status:
        return CheckResult.unknown("no status samples: cannot tell when a leader was back")
    store_members = (run.meta.get("cluster") or {}).get("store_members")
    events = recovery_events(run.faults, run.status, int(store_members or 0) or None)
    if not events:
        return CheckResult.valid("no heal or leader loss to recover from", events=[])
    nodes = sorted({c.node or "*" for c in run.paired.calls})
    end = run.end_time
    rows: list[dict[str, Any]] = []
    late: list[str] = []
    undecided: list[str] = []
    for ev in events:
        row = _measure(run, ev, nodes)
        rows.append(row)
        worst = row["recovered_s"]
        if worst is not None and worst * NS_PER_S > within_ns:
            late.append(ev.label)
        elif worst is None:
            (late if end - ev.time >= within_ns else undecided).append(ev.label)
    details = {"events": rows, "within_s": within_ns / NS_PER_S}
    if late:
        return CheckResult.invalid(
            f"not recovered within {within_ns / NS_PER_S} s after: {', '.join(late)}", **details
        )
    if undecided:
        return CheckResult.unknown(
            f"the run ended before recovery after: {', '.join(undecided)}", **details
        )
    slowest = max(r["recovered_s"] for r in rows)
    return CheckResult.valid(f"{len(rows)} recoveries, slowest {slowest:.2f} s", **details)


def recovery_events(
    faults: list[FaultEvent], status: list[StatusSample], store_members: int | None = None
) -> list[Event]:
    ends = {f.id: f.time for f in faults if f.type is FaultPhase.END}
    by_id = classes(faults)
    out: list[Event] = []
    for f in faults:
        if f.type is FaultPhase.END:
            out.append(
                Event(
                    time=f.time, label=f"heal {f.fault}#{f.id}", excluded=frozenset(), until=f.time
                )
            )
        elif f.type is FaultPhase.START:
            leader = leader_at(status, f.time)
            if store_members and _majority_down(faults, status, f, store_members):
                continue  # no leader can exist until heals: the heal events measure recovery
            isolated = str(f.detail.get("target") or "").removeprefix("isolate:")
            cls = by_id.get(f.id)
            if cls is FaultClass.PARTITION and isolated in f.targets and isolated != leader:
                continue  # a follower cut off: the leader keeps its majority, nothing lost
            if cls is FaultClass.LEADER or (leader is not None and leader in f.targets):
                excluded = frozenset(f.targets) | ({leader} if leader else set())
                until = ends.get(f.id, 1 << 62)
                params = f.detail.get("params") or {}
                if cls is FaultClass.LEADER and int(params.get("repeat") or 1) > 1:
                    # A repeated leader loss strikes each NEW leader in turn: recovery from the
                    # first strike is a leader other than the one struck, before the next strike.
                    excluded = frozenset({leader} if leader else set(f.targets[:1]))
                    until = min(until, f.time + int(float(params.get("interval_s") or 0) * 1e9))
                elif cls is FaultClass.PARTITION:
                    # A partition's targets are every member whose rules it rewrote, the
                    # majority that elects the next leader included: excluding them all timed
                    # "recovery" to the heal (issue 17's minority-partition flake). Only the
                    # member that led is struck; a leader needs a majority, so any other counts.
                    excluded = frozenset({leader} if leader else set())
                out.append(
                    Event(
                        time=f.time,
                        label=f"leader loss {f.fault}#{f.id} ({leader or '?'})",
                        excluded=excluded,
                        until=until,
                    )
                )
    return sorted(out, key=lambda e: e.time)


def leader_at(status: list[StatusSample], t: int) -> str | None:
    """The member whose latest sample at or before t says it leads (latest such claim wins)."""
    latest: dict[str, StatusSample] = {}
    for s in status:
        if s.time > t:
            break
        latest[s.member] = s
    leaders = [s for s in latest.values() if s.reachable and s.role == "leader"]
    return max(leaders, key=lambda s: (s.term or 0, s.time)).member if leaders else None


def _measure(run: RunData, ev: Event, nodes: list[str]) -> dict[str, Any]:
    current = leader_at(run.status, ev.time)
    leader_t = (
        ev.time
        if current is not None and current not in ev.excluded
        else next(
            (
                s.time
                for s in run.status
                if s.time >= ev.time
                and s.reachable
                and s.role == "leader"
                and not (s.member in ev.excluded and s.time < ev.until)
            ),
            None,
        )
    )
    active = _active_targets(run.faults, ev.time)
    per_node: dict[str, float | None] = {}
    for node in nodes:
        if node in active or (node in ev.excluded and ev.until > ev.time):
            continue
        first = min(
            (
                c.complete_time
                for c in run.paired.calls
                if c.ok
                and (c.node or "*") == node
                and c.complete_time is not None
                and c.complete_time >= ev.time
            ),
            default=None,
        )
        per_node[node] = None if first is None else round((first - ev.time) / NS_PER_S, 3)
    leader_s = None if leader_t is None else round((leader_t - ev.time) / NS_PER_S, 3)
    parts = [leader_s, *per_node.values()]
    worst = None if any(p is None for p in parts) else max(p for p in parts if p is not None)
    return {
        "event": ev.label,
        "at_s": round(ev.time / NS_PER_S, 3),
        "leader_s": leader_s,
        "first_ok_s": per_node,
        "recovered_s": worst,
    }


def _active_targets(faults: list[FaultEvent], t: int) -> set[str]:
    """Targets of the faults in force at time t (started at or before t, not yet ended)."""
    active: dict[int, list[str]] = {}
    for f in sorted(faults, key=lambda f: f.time):  # start events carry when they began to strike
        if f.time > t:
            break
        if f.type is FaultPhase.START:
            active[f.id] = f.targets
        elif f.type is FaultPhase.END:
            active.pop(f.id, None)
    return {m for targets in active.values() for m in targets}


def _majority_down(
    faults: list[FaultEvent], status: list[StatusSample], start: FaultEvent, store_members: int
) -> bool:
    """Whether, with ``start``, process faults hold down a majority of the store members (e.g.
    the whole store killed at once): a leader loss then has no recovery of its own to time."""
    by_id = classes(faults)
    if not is_class(by_id, start, _down):
        return False
    members = {s.member for s in status}
    total = max(store_members, len(members))
    in_force = [f for f in faults if is_class(by_id, f, _down) and f.time <= start.time]
    down = (_active_targets(in_force, start.time) | set(start.targets)) & members
    return total - len(down) <= total // 2


def _down(cls: FaultClass) -> bool:
    return cls.holds_members_down

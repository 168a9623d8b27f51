"""Did the workload do enough for the verdicts to mean anything? (pure: ops + fault events in).

In a nutshell: a run is judged on what it proved, window by window (etcd's minimum-throughput
check, Hypothesis' health checks): enough ok ops before the first fault (the state was
established), traffic during every fault window (the fault met clients), ok ops after the last
heal (recovery was exercised), clients active when each fault struck, and every verified
fault's effect confirmed. A nominal rate the machine may never reach is not a threshold unless
the scenario asks for one (``min_rate_share``). Each number falls short as a ``Shortfall``
naming the figure, the bound, where the bound came from and what to change; checkers turn
``ok=False`` into an ``unknown`` verdict whose reason is the shortfalls.

    th = thresholds_for(scenario.workload, scenario.adequacy)   # scenario values or derived
    assess(read_ops(run.history), read_faults(run.faults), target_rate=60.0, thresholds=th)

Windows: ``during`` is [start, end] of a fault (a fault without an end, e.g. a kill, lasts
``instant_window_s``); ``before`` and ``after`` are windows of the same length right before the
start and right after the end, clipped to the run; "after the last heal" runs to the run's end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.history import FaultEvent, FaultPhase, Op
from harness.model import AdequacySpec, WorkloadSpec
from harness.workload.adequacy_windows import FaultWindow, Timeline, pairs, window, with_overlaps

NS = 1_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """The bounds a run must reach; ``origin`` says per bound where it came from."""

    min_ok_before: int = 10  # ok ops before the first fault (or in a run without faults)
    min_ops_during: int = 1  # completions of any type in each fault window
    min_ok_after: int = 1  # ok ops from the last heal to the end of the run
    min_rate_share: float = 0.0  # of the target rate, before the first fault; 0 = not judged
    require_effect: bool = True  # a fault verified as *not* in effect makes the run unknown
    max_idle_s: float = 1.0  # a fault must strike within this long after some client activity
    instant_window_s: float = 5.0  # the "during" window of a fault with no end event
    rate: float = 0.0  # the workload's target (caps the per-window bounds; 0 = unpaced)
    clients: int = 0  # for the fix hints
    duration_s: float = 0.0
    op_timeout_s: float = 0.0  # a window shorter than one op's deadline need hold no completion
    origin: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "min_ok_before": self.min_ok_before,
            "min_ops_during": self.min_ops_during,
            "min_ok_after": self.min_ok_after,
            "min_rate_share": self.min_rate_share,
            "require_effect": self.require_effect,
            "origin": dict(self.origin),
        }

    def capped(self, wanted: int, span_ns: int) -> int:
        """A per-window bound, never above half the ops the schedule offers in the window."""
        if self.rate <= 0:
            return wanted
        return max(1, min(wanted, int(0.5 * self.rate * span_ns / NS)))


def thresholds_for(workload: WorkloadSpec, spec: AdequacySpec | None = None) -> Thresholds:
    """The scenario's bounds, each unset one derived from the workload's shape: every client
    twice before the first fault, every client once in each window and after the last heal."""
    spec = spec or AdequacySpec()
    clients = max(1, workload.clients)
    derived = {
        "min_ok_before": (max(5, 2 * clients), f"derived: 2 × workload.clients ({clients})"),
        "min_ops_during": (clients, f"derived: workload.clients ({clients}) per window"),
        "min_ok_after": (clients, f"derived: workload.clients ({clients})"),
    }
    values: dict[str, int] = {}
    origin: dict[str, str] = {}
    for name, (value, how) in derived.items():
        stated = getattr(spec, name)
        values[name] = value if stated is None else int(stated)
        origin[name] = how if stated is None else f"adequacy.{name}"
    origin["min_rate_share"] = "adequacy.min_rate_share" if spec.min_rate_share else "not judged"
    return Thresholds(
        **values,
        min_rate_share=spec.min_rate_share,
        require_effect=spec.require_effect,
        rate=workload.rate,
        clients=workload.clients,
        duration_s=workload.duration_s,
        op_timeout_s=workload.op_timeout_s,
        origin=origin,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Shortfall:
    """One number that fell short: what, where, how much, against which bound, and the fix."""

    metric: str  # ok_before | ops_during | ok_after | rate_before | idle_at_start | effect
    got: float
    need: float
    fix: str
    message: str
    fault_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "fault_id": self.fault_id,
            "got": self.got,
            "need": self.need,
            "message": self.message,
            "fix": self.fix,
        }

    def text(self) -> str:
        return f"{self.message}; {self.fix}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Adequacy:
    ok: bool
    reason: str
    ok_before_first_fault: int
    ok_per_s_before_first_fault: float
    windows: list[FaultWindow] = field(default_factory=list)
    ok_after_last_heal: int = 0
    latency_ms_before_first_fault: float = 0.0  # mean, invoke to completion
    client_ceiling_ops_per_s: float = 0.0  # clients / mean latency: closed-loop clients' limit
    shortfalls: list[Shortfall] = field(default_factory=list)
    thresholds: Thresholds | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "reason": self.reason,
            "ok_before_first_fault": self.ok_before_first_fault,
            "ok_per_s_before_first_fault": round(self.ok_per_s_before_first_fault, 2),
            "ok_after_last_heal": self.ok_after_last_heal,
            "latency_ms_before_first_fault": round(self.latency_ms_before_first_fault, 2),
            "client_ceiling_ops_per_s": round(self.client_ceiling_ops_per_s, 1),
            "windows": [w.to_json() for w in self.windows],
            "shortfalls": [s.to_json() for s in self.shortfalls],
        }
        if self.thresholds is not None:
            out["thresholds"] = self.thresholds.to_json()
        return out


def assess(
    ops: Iterable[Op],
    faults: Iterable[FaultEvent],
    *,
    target_rate: float,
    thresholds: Thresholds | None = None,
) -> Adequacy:
    """Counts around each fault window and whether the run did enough to prove anything."""
    th = thresholds or Thresholds(rate=target_rate)
    faults = list(faults)
    timeline = Timeline(ops)
    fault_pairs = pairs(faults)
    effects = {f.id: f for f in faults if f.type is FaultPhase.EFFECT}
    run_end = max(timeline.active[-1] if timeline.active else 0, 1)
    first_start = fault_pairs[0][0].time if fault_pairs else run_end
    ok_before = timeline.count(timeline.ok, 0, first_start)
    run_start = timeline.active[0] if timeline.active else 0
    rate_before = _rate(ok_before, first_start - min(run_start, first_start))
    windows = [
        window(timeline, start, end, run_end, instant_ns=int(th.instant_window_s * NS),
               idle_ns=int(th.max_idle_s * NS), effect=effects.get(start.id))
        for start, end in fault_pairs
    ]  # fmt: skip
    windows = with_overlaps(windows)
    latency_ns = timeline.mean_latency_ns(0, first_start)
    # Each client has one op open at a time, so the clients cannot beat clients / latency.
    ceiling = th.clients * NS / latency_ns if latency_ns > 0 and th.clients > 0 else 0.0
    last_end = max((int(w.end_s * NS) for w in windows), default=run_end)
    ok_after = timeline.count(timeline.ok, last_end, run_end + 1)
    totals = _Totals(
        ok_before=ok_before,
        rate_before=rate_before,
        target_rate=target_rate,
        first_start=first_start,
        ok_after=ok_after,
        last_end=last_end,
        run_end=run_end,
        latency_ms=latency_ns / 1e6,
        ceiling=ceiling,
    )
    short = _shortfalls(th, windows, totals)
    where = "before the first fault" if fault_pairs else "in the whole run"
    if short:
        reason = "; ".join(s.text() for s in short)
    else:
        reason = f"{ok_before} ok ops ({rate_before:.1f}/s) {where}"
        if windows:
            reason += (
                f"; traffic in all {len(windows)} fault windows; {ok_after} ok ops after the "
                "last heal"
            )
    return Adequacy(
        ok=not short,
        reason=reason,
        ok_before_first_fault=ok_before,
        ok_per_s_before_first_fault=rate_before,
        windows=windows,
        ok_after_last_heal=ok_after,
        latency_ms_before_first_fault=latency_ns / 1e6,
        client_ceiling_ops_per_s=ceiling,
        shortfalls=short,
        thresholds=th,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Totals:
    """The run-wide figures the shortfalls are judged on (times in ns since the start)."""

    ok_before: int
    rate_before: float
    target_rate: float
    first_start: int
    ok_after: int
    last_end: int
    run_end: int
    latency_ms: float
    ceiling: float  # ops/s the clients can reach at that latency (0: unknown)


def _clients_hint(th: Thresholds, t: _Totals) -> str:
    """When the clients, not the cluster's capacity, cap the rate: how many would do."""
    if th.rate <= 0 or t.ceiling <= 0 or t.ceiling >= th.rate:
        return ""
    needed = math.ceil(th.rate * t.latency_ms / 1000)
    return (
        f" ({th.clients} clients at {t.latency_ms:.0f} ms per op reach at most "
        f"{t.ceiling:.0f}/s of the {th.rate:g}/s asked: raise workload.clients to ≥ {needed})"
    )


def _shortfalls(th: Thresholds, windows: list[FaultWindow], t: _Totals) -> list[Shortfall]:
    ok_before, rate_before, target_rate = t.ok_before, t.rate_before, t.target_rate
    first_start, ok_after, last_end, run_end = t.first_start, t.ok_after, t.last_end, t.run_end
    out: list[Shortfall] = []
    origin = th.origin
    rate = f"raise workload.rate (now {th.rate:g}/s)" if th.rate > 0 else "add workload.clients"
    rate += _clients_hint(th, t)
    if windows:
        where = f"before the first fault at {first_start / NS:.2f} s"
        more_time = "start the first fault later (its `at`)"
    else:
        where, more_time = "in the whole run", "lengthen workload.duration"
    if ok_before < th.min_ok_before:
        out.append(
            Shortfall(
                metric="ok_before",
                got=ok_before,
                need=th.min_ok_before,
                message=f"only {ok_before} ok ops {where} (need ≥ {th.min_ok_before}, "
                f"{origin.get('min_ok_before', 'adequacy.min_ok_before')})",
                fix=f"{rate}, {more_time}, or set adequacy.min_ok_before",
            )
        )
    if th.min_rate_share > 0 and target_rate > 0 and rate_before < th.min_rate_share * target_rate:
        out.append(
            Shortfall(
                metric="rate_before",
                got=round(rate_before, 2),
                need=th.min_rate_share * target_rate,
                message=f"{rate_before:.1f} ok ops/s {where}, below {th.min_rate_share:.0%} of "
                f"the target {target_rate:g}/s",
                fix="lower workload.rate to what this machine sustains, add workload.workers, "
                f"or lower adequacy.min_rate_share{_clients_hint(th, t)}",
            )
        )
    for w in windows:
        out.extend(_window_shortfalls(th, w))
    if windows:
        need = th.capped(th.min_ok_after, run_end - last_end)
        if ok_after < need:
            out.append(
                Shortfall(
                    metric="ok_after",
                    got=ok_after,
                    need=need,
                    message=f"only {ok_after} ok ops after the last heal at {last_end / NS:.2f} s "
                    f"(need ≥ {need}, {origin.get('min_ok_after', 'adequacy.min_ok_after')})",
                    fix=f"lengthen workload.duration (now {th.duration_s:g} s) so traffic "
                    "follows the heal, or set adequacy.min_ok_after",
                )
            )
    return out


def _window_shortfalls(th: Thresholds, w: FaultWindow) -> list[Shortfall]:
    out: list[Shortfall] = []
    label = f"fault {w.id} ({w.fault}) at {w.start_s:.2f} s"
    if not w.active_at_start:
        out.append(
            Shortfall(
                metric="idle_at_start",
                fault_id=w.id,
                got=0,
                need=1,
                message=f"{label} struck while no client was running",
                fix="move the fault inside workload.duration, or raise workload.rate so "
                f"clients are busy within {th.max_idle_s:g} s of it",
            )
        )
    span_ns = int((w.end_s - w.start_s) * NS)
    # A window shorter than an op's deadline (a late strike healed at once) need hold no
    # completion: ops in flight straddle it; its clients are judged by active_at_start.
    need = 0 if span_ns < th.op_timeout_s * NS else th.capped(th.min_ops_during, span_ns)
    if w.active_at_start and w.ops_during < need:
        out.append(
            Shortfall(
                metric="ops_during",
                fault_id=w.id,
                got=w.ops_during,
                need=need,
                message=f"{label}–{w.end_s:.2f} s: {w.ops_during} ops completed during it "
                f"(need ≥ {need}, {th.origin.get('min_ops_during', 'adequacy.min_ops_during')})",
                fix="raise workload.rate or workload.clients, lengthen the fault, or set "
                "adequacy.min_ops_during",
            )
        )
    # Overlapping faults share the firewall's rules and counters (a late heal of one resets the
    # counters the other's verification reads): "no effect" is not proven there, only noted.
    if th.require_effect and w.effect_ok is False and not w.overlaps:
        out.append(
            Shortfall(
                metric="effect",
                fault_id=w.id,
                got=0,
                need=1,
                message=f"{label} did not take effect ({w.effect or 'verification failed'})",
                fix="check the fault's target and the nemesis log in faults.jsonl, or set "
                "adequacy.require_effect: false",
            )
        )
    return out


def _rate(count: int, span_ns: int) -> float:
    return count * NS / span_ns if span_ns > 0 else 0.0


__all__ = ["Adequacy", "FaultWindow", "Shortfall", "Thresholds", "assess", "thresholds_for"]

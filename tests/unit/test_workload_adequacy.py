"""Adequacy: throughput around fault windows, and the flags for runs that proved little."""

from __future__ import annotations

import json

from harness.history import FaultEvent, FaultPhase, Op, OpType
from harness.workload.adequacy import Thresholds, assess

S = 1_000_000_000


def _ops(times_s: list[float], *, type: OpType = OpType.OK) -> list[Op]:
    """One invoke + completion per time (completion 1 ms after the invoke)."""
    ops: list[Op] = []
    for i, t in enumerate(times_s):
        ops.append(Op(index=2 * i, time=int(t * S), process=0, type=OpType.INVOKE, f="read"))
        ops.append(Op(index=2 * i + 1, time=int(t * S) + 1_000_000, process=0, type=type, f="read"))
    return ops


def _fault(fid: int, start_s: float, end_s: float | None, kind: str = "kill") -> list[FaultEvent]:
    events = [FaultEvent(time=int(start_s * S), type=FaultPhase.START, fault=kind, id=fid)]
    if end_s is not None:
        events.append(FaultEvent(time=int(end_s * S), type=FaultPhase.END, fault=kind, id=fid))
    return events


def _steady(rate: float, until_s: float, gap: tuple[float, float] | None = None) -> list[float]:
    out = [k / rate for k in range(int(until_s * rate))]
    if gap is not None:
        out = [t for t in out if not gap[0] <= t < gap[1]]
    return out


def test_good_run_is_adequate_with_windows() -> None:
    ops = _ops(_steady(100, 30.0, gap=(10.0, 15.0)))  # nothing succeeds during the fault
    adequacy = assess(ops, _fault(1, 10.0, 15.0), target_rate=100.0)
    assert adequacy.ok, adequacy.reason
    (window,) = adequacy.windows
    assert window.ok_per_s_before == 100.0
    assert window.ok_per_s_during == 0.0
    assert window.ok_per_s_after == 100.0
    assert window.active_at_start
    assert json.loads(json.dumps(adequacy.to_json()))["windows"][0]["fault"] == "kill"


def test_too_few_ok_ops_before_the_first_fault() -> None:
    ops = _ops([0.1, 0.2, 0.3]) + _ops(_steady(100, 20.0))[700:]
    ops.sort(key=lambda op: op.time)
    adequacy = assess(ops, _fault(1, 0.5, 5.0), target_rate=0.0)
    assert not adequacy.ok
    assert "only 3 ok ops before the first fault" in adequacy.reason


def test_throughput_far_below_target_before_the_fault() -> None:
    ops = _ops(_steady(5, 10.0))  # 5 ok/s against a 100/s target: 50 ops, rate too low
    adequacy = assess(ops, _fault(1, 9.0, 9.5), target_rate=100.0)
    assert not adequacy.ok
    assert "below 10% of the target 100/s" in adequacy.reason


def test_fault_that_struck_while_no_client_ran() -> None:
    ops = _ops(_steady(100, 5.0))  # the workload ended at 5 s
    adequacy = assess(ops, _fault(1, 2.0, 3.0) + _fault(2, 8.0, 9.0), target_rate=100.0)
    assert not adequacy.ok
    assert "fault 2 (kill) at 8.00 s struck while no client was running" in adequacy.reason
    assert [w.active_at_start for w in adequacy.windows] == [True, False]


def test_fault_after_a_long_idle_gap_is_flagged() -> None:
    ops = _ops(_steady(100, 10.0, gap=(4.0, 10.0))) + _ops([12.0])
    ops.sort(key=lambda op: op.time)
    adequacy = assess(ops, _fault(1, 6.0, 7.0), target_rate=0.0)
    assert not adequacy.ok and "struck while no client" in adequacy.reason


def test_instant_fault_gets_a_default_window() -> None:
    ops = _ops(_steady(50, 20.0))
    adequacy = assess(
        ops, _fault(1, 10.0, None), target_rate=50.0, thresholds=Thresholds(instant_window_s=2.0)
    )
    (window,) = adequacy.windows
    assert window.end_s - window.start_s == 2.0
    assert window.ok_per_s_during == 50.0
    assert adequacy.ok


def test_no_faults_checks_the_whole_run() -> None:
    assert assess(_ops(_steady(100, 1.0)), [], target_rate=100.0).ok
    bad = assess(_ops([0.1]), [], target_rate=0.0)
    assert not bad.ok and "in the whole run" in bad.reason


def test_failed_ops_do_not_count_as_throughput() -> None:
    ops = _ops(_steady(100, 10.0), type=OpType.FAIL)
    adequacy = assess(ops, _fault(1, 5.0, 6.0), target_rate=100.0)
    assert not adequacy.ok
    assert adequacy.windows[0].ops_before == 100 and adequacy.windows[0].ok_per_s_before == 0.0


def test_watch_events_are_activity_not_throughput() -> None:
    events = [
        Op(index=i, time=int(i * 0.01 * S), process=9, type=OpType.OK, f="watch-event")
        for i in range(1000)
    ]
    adequacy = assess(events, _fault(1, 5.0, 6.0), target_rate=0.0)
    assert not adequacy.ok and "only 0 ok ops" in adequacy.reason
    assert adequacy.windows[0].active_at_start  # but the run was alive when the fault struck

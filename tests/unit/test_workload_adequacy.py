"""Adequacy: throughput around fault windows, and the flags for runs that proved little."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.history import FaultEvent, FaultPhase, Op, OpType
from harness.model import AdequacySpec, WorkloadSpec
from harness.scenario import load_scenario, scenario_from_dict
from harness.scenario.dump import scenario_to_dict
from harness.scenario.problems import ScenarioFileError
from harness.workload.adequacy import Thresholds, assess, thresholds_for

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
    ops += _ops([10.0 + k / 10 for k in range(50)], type=OpType.FAIL)  # but clients tried
    ops.sort(key=lambda op: op.time)
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
    assert assess(ops, _fault(1, 9.0, 9.5), target_rate=100.0).ok  # not judged by default
    adequacy = assess(
        ops,
        _fault(1, 9.0, 9.5),
        target_rate=100.0,
        thresholds=Thresholds(min_rate_share=0.1, rate=100.0),
    )
    assert not adequacy.ok
    assert "below 10% of the target 100/s" in adequacy.reason
    assert "lower workload.rate" in adequacy.reason


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


def _spec(**fields: Any) -> WorkloadSpec:
    return WorkloadSpec(**{"clients": 6, "rate": 60.0, "duration_s": 16.0, **fields})


def test_thresholds_are_derived_from_the_workload_unless_stated() -> None:
    th = thresholds_for(_spec())
    assert (th.min_ok_before, th.min_ops_during, th.min_ok_after) == (12, 6, 6)
    assert th.origin["min_ok_before"] == "derived: 2 × workload.clients (6)"
    stated = thresholds_for(_spec(), AdequacySpec(min_ok_before=3, require_effect=False))
    assert stated.min_ok_before == 3 and stated.origin["min_ok_before"] == "adequacy.min_ok_before"
    assert stated.min_ok_after == 6 and not stated.require_effect


def test_a_short_run_says_which_number_fell_short_and_what_to_change() -> None:
    ops = _ops(_steady(2, 3.0))  # 6 ok ops before a fault at 3 s: under the derived 12
    adequacy = assess(
        ops, _fault(1, 3.0, 4.0), target_rate=60.0, thresholds=thresholds_for(_spec())
    )
    assert not adequacy.ok
    first = adequacy.shortfalls[0]
    assert (first.metric, first.got, first.need) == ("ok_before", 6, 12)
    assert "only 6 ok ops before the first fault at 3.00 s (need ≥ 12, derived" in adequacy.reason
    assert "raise workload.rate (now 60/s)" in adequacy.reason
    assert "adequacy.min_ok_before" in adequacy.reason
    record = json.loads(json.dumps(adequacy.to_json()))
    assert record["shortfalls"][0]["metric"] == "ok_before"
    assert record["thresholds"]["origin"]["min_ok_after"].startswith("derived")


def test_no_traffic_after_the_last_heal_is_unknown() -> None:
    ops = _ops(_steady(60, 8.0))  # the workload stopped right when the fault healed
    adequacy = assess(
        ops, _fault(1, 4.0, 8.0), target_rate=60.0, thresholds=thresholds_for(_spec())
    )
    assert [s.metric for s in adequacy.shortfalls] == ["ok_after"]
    assert "lengthen workload.duration (now 16 s)" in adequacy.reason


def test_an_empty_fault_window_is_unknown() -> None:
    ops = _ops(_steady(60, 20.0, gap=(5.0, 9.0)))  # clients ran before and after, not during
    adequacy = assess(
        ops, _fault(1, 5.0, 9.0), target_rate=60.0, thresholds=thresholds_for(_spec())
    )
    (short,) = adequacy.shortfalls
    assert (short.metric, short.fault_id, short.got, short.need) == ("ops_during", 1, 0, 6)
    assert adequacy.windows[0].ops_before == 240 and adequacy.windows[0].ok_after == 240


def test_a_fault_that_did_not_take_effect_is_unknown() -> None:
    ops = _ops(_steady(60, 20.0))
    effect = FaultEvent(
        time=int(5.5 * S),
        type=FaultPhase.EFFECT,
        fault="partition",
        id=1,
        detail={"ok": False, "reason": "store-1 still reaches store-2"},
    )
    faults = [*_fault(1, 5.0, 9.0, kind="partition"), effect]
    adequacy = assess(ops, faults, target_rate=60.0, thresholds=thresholds_for(_spec()))
    assert [s.metric for s in adequacy.shortfalls] == ["effect"]
    assert "did not take effect (store-1 still reaches store-2)" in adequacy.reason
    assert adequacy.windows[0].effect_ok is False
    relaxed = thresholds_for(_spec(), AdequacySpec(require_effect=False))
    assert assess(ops, faults, target_rate=60.0, thresholds=relaxed).ok


def test_per_window_bounds_never_exceed_what_the_schedule_offers() -> None:
    # 2 ops/s over 6 clients: a 1 s window offers 2 ops; the bound is 1 (half), not 6.
    ops = _ops([k / 2 for k in range(40)])
    ops += _ops([10.5], type=OpType.INFO)
    ops.sort(key=lambda op: op.time)
    th = thresholds_for(_spec(rate=2.0), AdequacySpec(min_ok_before=3, min_ok_after=1))
    adequacy = assess(ops, _fault(1, 10.2, 11.2), target_rate=2.0, thresholds=th)
    assert adequacy.ok, adequacy.reason


def test_a_scenario_states_its_thresholds_and_bad_ones_name_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "name: good\nworkload: {kind: register, clients: 3}\n"
        "adequacy:\n  min_ok_before: 40\n  require_effect: false\n",
        encoding="utf-8",
    )
    scenario = load_scenario(good)
    th = thresholds_for(scenario.workload, scenario.adequacy)
    assert (th.min_ok_before, th.min_ok_after, th.require_effect) == (40, 3, False)
    assert scenario_from_dict(scenario_to_dict(scenario)).adequacy == scenario.adequacy
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nadequacy:\n  min_ok_before: -3\n  min_ok_durin: 2\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(bad)
    text = str(err.value)
    assert f"{bad}:3: adequacy.min_ok_before: got -3 (integer)" in text
    assert f"{bad}:4: adequacy.min_ok_durin" in text and "did you mean 'min_ops_during'" in text


def test_when_the_clients_cap_the_rate_the_fix_says_how_many_clients() -> None:
    # 2 clients, 500 ms per op: at most 4 ops/s of the 60/s asked; 5 ok ops before the fault.
    ops: list[Op] = []
    for k in range(5):
        t = int(k * 0.5 * S)
        ops.append(Op(index=2 * k, time=t, process=k % 2, type=OpType.INVOKE, f="read"))
        ops.append(Op(index=2 * k + 1, time=t + S // 2, process=k % 2, type=OpType.OK, f="read"))
    ops += _ops([3.5 + k / 10 for k in range(40)])
    th = thresholds_for(_spec(clients=2), AdequacySpec(min_ok_before=20))
    adequacy = assess(ops, _fault(1, 3.0, 4.0), target_rate=60.0, thresholds=th)
    assert adequacy.latency_ms_before_first_fault == 500.0
    assert adequacy.client_ceiling_ops_per_s == 4.0
    assert "2 clients at 500 ms per op reach at most 4/s of the 60/s asked" in adequacy.reason
    assert "raise workload.clients to ≥ 30" in adequacy.reason


def test_an_unconfirmed_effect_of_overlapping_faults_is_noted_not_judged() -> None:
    # Fault 1's heal ran late, into fault 2: fault 2's verification read reset counters.
    ops = _ops(_steady(60, 20.0))
    effect = FaultEvent(
        time=int(8.7 * S),
        type=FaultPhase.EFFECT,
        fault="partition",
        id=2,
        detail={"ok": False, "reason": "store-1 dropped no packets"},
    )
    faults = [*_fault(1, 4.6, 8.7, "partition"), *_fault(2, 7.9, 11.6, "partition"), effect]
    faults.sort(key=lambda f: f.time)
    adequacy = assess(ops, faults, target_rate=60.0, thresholds=thresholds_for(_spec()))
    assert adequacy.ok, adequacy.reason
    assert [w.overlaps for w in adequacy.windows] == [(2,), (1,)]
    assert adequacy.windows[1].effect_ok is False  # still recorded for the report


def test_a_window_shorter_than_an_op_deadline_needs_no_completion() -> None:
    # A strike that ran late and healed at once (a flapping schedule on a loaded machine).
    ops = _ops(_steady(60, 20.0, gap=(16.19, 16.2)))
    th = thresholds_for(_spec(op_timeout_s=1.0))
    adequacy = assess(ops, _fault(1, 16.19, 16.195, "partition"), target_rate=60.0, thresholds=th)
    assert adequacy.ok, adequacy.reason
    assert adequacy.windows[0].ops_during == 0

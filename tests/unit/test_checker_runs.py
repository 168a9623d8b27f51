"""The run-level checkers: each says valid on a good run and invalid (or unknown) on a bad one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.checker import REGISTRY, CheckerSpec, Verdict, check_run, load_run, run_checkers
from harness.checker.rundata import EXPECT_DEFAULTS
from harness.history import RunDir
from harness.model import Expectations

S = 1_000_000_000


def _op(
    i: int, t_s: float, p: int, typ: str, f: str, value: Any = None, **kw: Any
) -> dict[str, Any]:
    return {
        "index": i,
        "time": int(t_s * S),
        "process": p,
        "type": typ,
        "f": f,
        "value": value,
        **kw,
    }


def _calls(
    *calls: tuple[float, float, int, str, str, Any, Any], node: str | None = None
) -> list[dict[str, Any]]:
    """(invoke_s, complete_s, process, outcome, f, invoke value, result) → sequential op dicts."""
    events: list[tuple[float, int, str, str, Any, Any]] = []
    for t0, t1, p, outcome, f, arg, res in calls:
        events.append((t0, p, "invoke", f, arg, None))
        events.append((t1, p, outcome, f, res, None))
    events.sort(key=lambda e: e[0])
    return [
        _op(i, t, p, typ, f, v, key="k", **({"node": node} if node else {}))
        for i, (t, p, typ, f, v, _) in enumerate(events)
    ]


def _run(
    tmp_path: Path,
    ops: list[dict[str, Any]],
    *,
    faults: list[dict[str, Any]] | None = None,
    status: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    root = tmp_path / "run"
    root.mkdir()
    base = {"adequacy": {"ok": True, "reason": "traffic before and during every fault"}}
    (root / "run.json").write_text(json.dumps({**base, **(meta or {})}))
    for name, rows in (("history", ops), ("faults", faults or []), ("status", status or [])):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _status(
    t_s: float, member: str, role: str, applied: int, h: str = "h", up: bool = True
) -> dict[str, Any]:
    return {
        "time": int(t_s * S), "member": member, "reachable": up, "role": role, "term": 1,
        "leader": None, "commit_index": applied, "applied_index": applied, "state_hash": h,
    }  # fmt: skip


def _fault(
    t_s: float, typ: str, fid: int = 1, fault: str = "partition", targets: list[str] | None = None
) -> dict[str, Any]:
    return {
        "time": int(t_s * S),
        "type": typ,
        "fault": fault,
        "targets": targets or ["store-1"],
        "id": fid,
        "detail": {},
    }


def _verdict(root: Path, name: str) -> Verdict:
    return check_run(root).checks[name].verdict


def test_expect_defaults_match_the_scenario_model() -> None:
    assert Expectations().to_json() == EXPECT_DEFAULTS


# --- well_formed and adequacy ----------------------------------------------------------------


def test_well_formed_history_is_valid(tmp_path: Path) -> None:
    ops = _calls((0, 1, 0, "ok", "write", 1, 1), (2, 3, 0, "ok", "read", None, 1))
    assert _verdict(_run(tmp_path, ops), "well_formed") is Verdict.VALID


@pytest.mark.parametrize(
    "ops",
    [
        [_op(0, 0, 1, "invoke", "read"), _op(1, 1, 1, "invoke", "read")],  # two open ops
        [_op(0, 0, 1, "ok", "read")],  # completion without invoke
        [
            _op(0, 0, 1, "invoke", "write", 1),
            _op(1, 1, 1, "info", "write"),
            _op(2, 2, 1, "invoke", "read"),
        ],
        [_op(0, 5, 1, "invoke", "read"), _op(1, 4, 1, "ok", "read")],  # time goes backwards
    ],
    ids=["two-open", "orphan-completion", "used-after-info", "time-backwards"],
)
def test_malformed_history_makes_the_run_unknown(tmp_path: Path, ops: list[dict[str, Any]]) -> None:
    verdicts = check_run(_run(tmp_path, ops, meta={"workload": {"kind": "register"}}))
    assert verdicts.checks["well_formed"].verdict is Verdict.UNKNOWN
    assert verdicts.checks["linearizable"].verdict is Verdict.UNKNOWN
    assert verdicts.overall is Verdict.UNKNOWN


def test_inadequate_run_is_unknown_but_a_real_violation_stays_invalid(tmp_path: Path) -> None:
    stale = _calls(
        (0, 1, 0, "ok", "write", 1, 1),
        (2, 3, 0, "ok", "write", 2, 2),
        (4, 5, 0, "ok", "read", None, 1),
    )
    meta = {"adequacy": {"ok": False, "reason": "the fault never took effect"}}
    verdicts = check_run(_run(tmp_path, stale, meta=meta))
    assert verdicts.checks["adequacy"].verdict is Verdict.UNKNOWN
    assert "never took effect" in verdicts.checks["adequacy"].reason
    assert verdicts.checks["linearizable"].verdict is Verdict.INVALID
    assert verdicts.overall is Verdict.INVALID


def test_missing_adequacy_record_is_unknown(tmp_path: Path) -> None:
    root = _run(tmp_path, _calls((0, 1, 0, "ok", "write", 1, 1)))
    (root / "run.json").write_text("{}")
    assert _verdict(root, "adequacy") is Verdict.UNKNOWN


# --- no_lost_writes --------------------------------------------------------------------------

SET = {"workload": {"kind": "set"}}


def _set_history(final: list[Any], *, extra: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return _calls(
        (0, 1, 0, "ok", "add", "a", "a"),
        (1, 2, 1, "ok", "add", "b", "b"),
        (2, 3, 2, "info", "add", "c", None),
        (3, 4, 3, "fail", "add", "d", None),
        *extra,
        (10, 11, 4, "ok", "final-read", None, final),
    )


def test_no_lost_writes_valid_with_or_without_the_info_add(tmp_path: Path) -> None:
    assert (
        _verdict(_run(tmp_path, _set_history(["a", "b"]), meta=SET), "no_lost_writes")
        is Verdict.VALID
    )
    other = tmp_path / "second"
    other.mkdir()
    assert (
        _verdict(_run(other, _set_history(["a", "b", "c"]), meta=SET), "no_lost_writes")
        is Verdict.VALID
    )


def test_lost_acknowledged_write_is_invalid(tmp_path: Path) -> None:
    result = check_run(_run(tmp_path, _set_history(["a"]), meta=SET)).checks["no_lost_writes"]
    assert result.verdict is Verdict.INVALID
    assert result.details["lost"] == ["b"]


def test_failed_add_that_appears_is_a_phantom(tmp_path: Path) -> None:
    result = check_run(_run(tmp_path, _set_history(["a", "b", "d"]), meta=SET)).checks[
        "no_lost_writes"
    ]
    assert result.verdict is Verdict.INVALID
    assert result.details["phantom"] == ["d"]


def test_objects_by_name_and_deletes(tmp_path: Path) -> None:
    ops = _calls(
        (0, 1, 0, "ok", "create", {"name": "cm-1"}, {"name": "cm-1"}),
        (1, 2, 1, "ok", "create", {"metadata": {"name": "cm-2"}}, None),
        (2, 3, 1, "ok", "delete", {"name": "cm-2"}, None),
        (10, 11, 4, "ok", "final-read", None, [{"metadata": {"name": "cm-1"}}]),
    )
    assert (
        _verdict(_run(tmp_path, ops, meta={"workload": {"kind": "objects"}}), "no_lost_writes")
        is Verdict.VALID
    )


def test_no_final_read_is_unknown(tmp_path: Path) -> None:
    ops = _calls((0, 1, 0, "ok", "add", "a", "a"))
    assert _verdict(_run(tmp_path, ops, meta=SET), "no_lost_writes") is Verdict.UNKNOWN


# --- converged -------------------------------------------------------------------------------

MEMBERS = ("store-1", "store-2", "store-3")


def _samples(
    t_s: float, applied: tuple[int, int, int], hashes: str = "hhh"
) -> list[dict[str, Any]]:
    return [
        _status(t_s, m, "leader" if m == "store-2" else "follower", a, h)
        for m, a, h in zip(MEMBERS, applied, hashes, strict=True)
    ]


def test_converged_after_the_last_heal(tmp_path: Path) -> None:
    status = _samples(5, (7, 9, 9)) + _samples(6, (8, 9, 9)) + _samples(7, (9, 9, 9))
    root = _run(tmp_path, [], faults=[_fault(1, "start"), _fault(5, "end")], status=status)
    result = check_run(root).checks["converged"]
    assert result.verdict is Verdict.VALID
    assert result.details["converged_after_s"] == 2.0


def test_diverged_state_hash_is_invalid(tmp_path: Path) -> None:
    status = [s for t in range(5, 30) for s in _samples(t, (9, 9, 9), "hhx")]
    root = _run(tmp_path, [], faults=[_fault(1, "start"), _fault(5, "end")], status=status)
    assert _verdict(root, "converged") is Verdict.INVALID


def test_converging_too_late_is_invalid(tmp_path: Path) -> None:
    status = _samples(6, (1, 9, 9)) + _samples(25, (9, 9, 9))
    root = _run(tmp_path, [], faults=[_fault(1, "start"), _fault(5, "end")], status=status)
    assert _verdict(root, "converged") is Verdict.INVALID


def test_samples_that_stop_early_are_unknown(tmp_path: Path) -> None:
    status = _samples(6, (1, 9, 9))
    root = _run(tmp_path, [], faults=[_fault(1, "start"), _fault(5, "end")], status=status)
    assert _verdict(root, "converged") is Verdict.UNKNOWN


# --- recovered -------------------------------------------------------------------------------


def _recovery_run(tmp_path: Path, api2_ok_at: float | None, *, end_s: float = 30) -> Path:
    ops: list[dict[str, Any]] = []
    plan = [(0.5, "api-1"), (0.5, "api-2"), (6.5, "api-1")]
    if api2_ok_at is not None:
        plan.append((api2_ok_at, "api-2"))
    plan.append((end_s, "api-1"))
    for p, (t, node) in enumerate(sorted(plan)):
        ops += [
            _op(0, t - 0.1, p, "invoke", "read", key="k", node=node),
            _op(0, t, p, "ok", "read", key="k", node=node),
        ]
    ops.sort(key=lambda o: o["time"])
    for i, o in enumerate(ops):
        o["index"] = i
    status = [_status(t, "store-1", "leader", 1) for t in (0, 1, 2)]
    status += [_status(t, "store-1", "follower", 1, up=False) for t in (3, 4, 5)]
    status += [_status(5.5, "store-2", "leader", 2)]
    faults = [
        _fault(2.5, "start", fault="kill", targets=["store-1"]),
        _fault(6, "end", fault="kill", targets=["store-1"]),
    ]
    return _run(tmp_path, ops, faults=faults, status=status)


def test_recovered_reports_each_event(tmp_path: Path) -> None:
    result = check_run(_recovery_run(tmp_path, api2_ok_at=8)).checks["recovered"]
    assert result.verdict is Verdict.VALID, result.reason
    events = {e["event"]: e for e in result.details["events"]}
    loss = next(e for name, e in events.items() if name.startswith("leader loss"))
    assert loss["leader_s"] == 3.0  # store-2 leads 3 s after store-1 was killed
    heal = next(e for name, e in events.items() if name.startswith("heal"))
    assert heal["first_ok_s"] == {"api-1": 0.5, "api-2": 2.0}


def test_node_that_never_serves_again_is_invalid(tmp_path: Path) -> None:
    result = check_run(_recovery_run(tmp_path, api2_ok_at=None)).checks["recovered"]
    assert result.verdict is Verdict.INVALID
    assert "not recovered" in result.reason


def test_run_ending_before_the_deadline_is_unknown(tmp_path: Path) -> None:
    result = check_run(_recovery_run(tmp_path, api2_ok_at=None, end_s=9)).checks["recovered"]
    assert result.verdict is Verdict.UNKNOWN


# --- availability ----------------------------------------------------------------------------


def _availability_run(tmp_path: Path, min_availability: float | None, ok: int = 9) -> Path:
    calls = [
        (1 + i * 0.1, 1.05 + i * 0.1, i, "ok" if i < ok else "fail", "read", None, 1)
        for i in range(10)
    ]
    ops = _calls(*calls, node="api-1")  # type: ignore[arg-type]
    meta = {"expect": {"min_availability": min_availability}}
    return _run(tmp_path, ops, faults=[_fault(0.5, "start"), _fault(3, "end")], meta=meta)


def test_availability_reports_shares(tmp_path: Path) -> None:
    result = check_run(_availability_run(tmp_path, 0.8)).checks["availability"]
    assert result.verdict is Verdict.VALID
    window = result.details["windows"][0]
    assert (window["ok"], window["fail"], window["share"]) == (9, 1, 0.9)
    assert window["by_node"]["api-1"]["share"] == 0.9


def test_availability_below_the_minimum_is_invalid(tmp_path: Path) -> None:
    assert _verdict(_availability_run(tmp_path, 0.95), "availability") is Verdict.INVALID


def test_availability_without_ops_in_the_window_is_unknown(tmp_path: Path) -> None:
    root = _run(
        tmp_path,
        [],
        faults=[_fault(0.5, "start"), _fault(3, "end")],
        meta={"expect": {"min_availability": 0.5}},
    )
    assert _verdict(root, "availability") is Verdict.UNKNOWN


def test_availability_leaves_calls_open_at_a_kill_out_of_the_share(tmp_path: Path) -> None:
    # A runner killed in the fault window leaves invokes with no completion at all: they say
    # nothing about the cluster, so they neither pass nor fail the window (seen: 5 open calls
    # of 9 made a SIGKILLed run "invalid").
    ops = _calls((1.0, 1.1, 0, "ok", "read", None, 1), (1.2, 1.3, 0, "ok", "read", None, 1))
    for i, p in enumerate((1, 2, 3, 4)):
        ops.append(_op(len(ops), 1.4 + i * 0.01, p, "invoke", "read", None, key="k"))
    root = _run(
        tmp_path, ops, faults=[_fault(0.5, "start")], meta={"expect": {"min_availability": 0.5}}
    )
    result = check_run(root).checks["availability"]
    window = result.details["windows"][0]
    assert (window["total"], window["ok"], window["open"], window["share"]) == (2, 2, 4, 1.0)
    assert result.verdict is Verdict.VALID


def test_availability_still_fails_on_completed_info_ops(tmp_path: Path) -> None:
    calls = [(1 + i * 0.1, 1.05 + i * 0.1, i, "info", "read", None, None) for i in range(4)]
    ops = _calls((0.9, 0.95, 9, "ok", "read", None, 1), *calls)  # type: ignore[arg-type]
    root = _run(
        tmp_path,
        ops,
        faults=[_fault(0.5, "start"), _fault(3, "end")],
        meta={"expect": {"min_availability": 0.5}},
    )
    result = check_run(root).checks["availability"]
    assert result.details["windows"][0]["info"] == 4
    assert result.verdict is Verdict.INVALID


# --- watch -----------------------------------------------------------------------------------


def _watch_run(tmp_path: Path, rvs: list[int | str], acked: tuple[int, ...] = (11, 12, 13)) -> Path:
    ops = _calls(
        *[
            (
                i,
                i + 0.5,
                i,
                "ok",
                "create" if i == 0 else "update",
                {"name": "cm"},
                {"name": "cm", "resourceVersion": str(rv)},
            )
            for i, rv in enumerate(acked)
        ]
    )
    t = 10.0
    for rv in rvs:
        value: dict[str, Any] = {"type": "MODIFIED", "name": "cm", "resourceVersion": rv}
        if isinstance(rv, str):
            value = {"type": "START", "resourceVersion": int(rv)}
        ops.append(_op(len(ops), t, 99, "ok", "watch-event", value, key="w1"))
        t += 0.1
    return _run(tmp_path, ops, meta={"expect": {"watch_ordered": True}})


def test_watch_in_order_is_valid(tmp_path: Path) -> None:
    assert _verdict(_watch_run(tmp_path, ["10", 11, 12, 13]), "watch") is Verdict.VALID


@pytest.mark.parametrize(
    ("rvs", "kind"),
    [
        (["10", 11, 12, 12, 13], "duplicated"),
        (["10", 11, 13, 12], "out_of_order"),
        (["10", 11, 13], "missing"),
    ],
)
def test_watch_anomalies_are_invalid(tmp_path: Path, rvs: list[int | str], kind: str) -> None:
    result = check_run(_watch_run(tmp_path, rvs)).checks["watch"]
    assert result.verdict is Verdict.INVALID
    assert result.details["watchers"]["w1"][kind] == [12]


def test_watch_restart_marker_moves_the_baseline(tmp_path: Path) -> None:
    # After a 410 the watcher re-lists at 12: missing 12 is then expected, not a violation.
    assert _verdict(_watch_run(tmp_path, ["10", 11, "12", 13]), "watch") is Verdict.VALID


# --- the registry ----------------------------------------------------------------------------


def test_crashing_checker_is_unknown_never_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(_run: Any) -> Any:
        raise RuntimeError("checker bug")

    monkeypatch.setitem(
        REGISTRY, "boom", CheckerSpec(name="boom", check=boom, applies=lambda _r: True)
    )
    run = load_run(RunDir(_run(tmp_path, _calls((0, 1, 0, "ok", "write", 1, 1)))))
    verdicts = run_checkers(run, ["well_formed", "boom"])
    assert verdicts.checks["boom"].verdict is Verdict.UNKNOWN
    assert "checker bug" in verdicts.checks["boom"].reason
    assert verdicts.overall is Verdict.UNKNOWN


def test_check_run_writes_verdicts_json(tmp_path: Path) -> None:
    root = _run(tmp_path, _calls((0, 1, 0, "ok", "write", 1, 1), (2, 3, 0, "ok", "read", None, 1)))
    verdicts = check_run(root)
    assert json.loads((root / "verdicts.json").read_text()) == verdicts.to_json()
    assert verdicts.checks["linearizable"].verdict is Verdict.VALID


def test_unreadable_run_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert check_run(tmp_path / "empty").overall is Verdict.UNKNOWN


def test_objects_workload_is_not_checked_as_a_register(tmp_path: Path) -> None:
    ops = _calls(
        (0, 1, 0, "ok", "create", {"name": "a"}, {"name": "a", "resourceVersion": "5"}),
        (2, 3, 0, "ok", "get", None, {"name": "a", "resourceVersion": "5"}),
        (4, 5, 0, "ok", "final-read", None, ["a"]),
    )
    verdicts = check_run(_run(tmp_path, ops, meta={"workload": {"kind": "objects"}}))
    assert "linearizable" not in verdicts.checks
    assert verdicts.checks["no_lost_writes"].verdict is Verdict.VALID


def test_register_run_without_register_ops_is_unknown(tmp_path: Path) -> None:
    verdicts = check_run(_run(tmp_path, [], meta={"workload": {"kind": "register"}}))
    assert verdicts.checks["linearizable"].verdict is Verdict.UNKNOWN

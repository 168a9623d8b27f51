"""``run_scenario`` as one straight pass: the checkers run once per run and run.json is final
(versioned, adequacy, duration) — with the cluster phase replaced by a recorded history, the
rest (run directory, RunRecord, checkers, report) real. No Docker."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

import harness.run
from harness.checker import RunVerdicts
from harness.history import JsonlWriter, Op, OpType, RunDir
from harness.model import WorkloadSpec
from harness.model.runfiles import RunFileError, read_run_meta
from harness.run import RunOptions, run_scenario
from harness.scenario import Scenario


class _Handle:
    """Only what run.py asks of a live cluster handed in via ``RunOptions.cluster``."""

    class info:
        run_id = "cluster-r1"


def _recorded_exercise(
    cluster: Any, scenario: Any, faults: Any, seed: int, run_dir: RunDir
) -> None:
    with JsonlWriter(run_dir.history) as history:
        for i, (t, kind, value) in enumerate(
            [(1, OpType.INVOKE, 1), (2, OpType.OK, 1), (3, OpType.INVOKE, None), (4, OpType.OK, 1)]
        ):
            f = "write" if i < 2 else "read"
            history.write(Op(index=i, time=t, process=0, type=kind, f=f, key="k", value=value))
    run_dir.faults.write_text("", encoding="utf-8")
    run_dir.status.write_text("", encoding="utf-8")


def test_checkers_run_once_and_run_json_is_final(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    from harness.checker import check_run as real_check

    def counting_check(root: Path) -> RunVerdicts:
        calls.append(root)
        return real_check(root)

    monkeypatch.setattr(harness.run, "_exercise", _recorded_exercise)
    monkeypatch.setattr(harness.run, "check_run", counting_check)
    scenario = Scenario(name="once", workload=WorkloadSpec(duration_s=1.0), seed=4)
    options = RunOptions(reports_dir=tmp_path, cluster=_Handle(), render_report=False)  # type: ignore[arg-type]
    outcome = run_scenario(scenario, options)
    assert len(calls) == 1, calls
    meta = read_run_meta(outcome.run_dir / "run.json")
    assert meta.version == 1 and meta.seed == 4 and meta.scenario == "once"
    assert meta.duration_s is not None and meta.finished_at is not None and meta.error is None
    assert meta.adequacy is not None
    verdicts = json.loads((outcome.run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["overall"] == outcome.verdicts.overall.value


def test_a_crash_is_recorded_in_run_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: Any) -> None:
        raise threading.BrokenBarrierError("workload wedged")

    monkeypatch.setattr(harness.run, "_exercise", crash)
    options = RunOptions(reports_dir=tmp_path, cluster=_Handle(), render_report=False)  # type: ignore[arg-type]
    with pytest.raises(threading.BrokenBarrierError):
        run_scenario(Scenario(name="crash", seed=1), options)
    (run_dir,) = tmp_path.iterdir()
    meta = read_run_meta(run_dir / "run.json")
    assert meta.error == "BrokenBarrierError: workload wedged" and meta.duration_s is not None


def test_a_replayed_schedule_of_another_version_is_refused(tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.json"
    schedule.write_text(json.dumps({"version": 7, "seed": 1, "faults": []}), encoding="utf-8")
    options = RunOptions(reports_dir=tmp_path, replay=schedule)
    with pytest.raises(RunFileError, match="version: got 7"):
        run_scenario(Scenario(name="replay"), options)

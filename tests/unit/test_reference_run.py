"""The fault-free reference run: same scenario and seed without faults, stored where
``reference_end_state`` looks for it; never for a workload without an end state to compare."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checker.controllers.reference import reference_path
from harness.checker.rundata import load_run
from harness.history import RunDir
from harness.reference_run import REFERENCE_DIR, run_reference
from harness.run import RunOptions
from harness.scenario import Scenario, load_scenarios

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "suite"


@dataclass
class _Done:
    run_dir: Path


class _Runner:
    """Stands in for run_scenario: records its call and writes a small run directory."""

    def __init__(self) -> None:
        self.calls: list[tuple[Scenario, RunOptions]] = []

    def __call__(self, scenario: Scenario, options: Any) -> _Done:
        self.calls.append((scenario, options))
        run = RunDir(options.reports_dir / f"{scenario.name}-s{options.seed}").create()
        run.history.write_text("", encoding="utf-8")
        run.meta.write_text('{"run_id": "ref"}', encoding="utf-8")
        return _Done(run_dir=run.root)


def test_the_reference_is_the_same_scenario_and_seed_without_faults(tmp_path: Path) -> None:
    (scenario,) = load_scenarios([SUITE / "kcm-leader-killed.yaml"])
    assert scenario.faults, "the suite scenario must have a fault to drop"
    run = RunDir(tmp_path / "run").create()
    run.history.write_text("", encoding="utf-8")
    run.meta.write_text('{"run_id": "main"}', encoding="utf-8")
    runner = _Runner()
    options = RunOptions(reports_dir=tmp_path, seed=None, reference=True, bugs=("lease-clock",))
    got = run_reference(scenario, 77, run, runner=runner, options=options)
    assert got == run.root / REFERENCE_DIR and (got / "history.jsonl").is_file()
    ((ref, ref_options),) = runner.calls
    assert ref.faults == () and ref.workload == scenario.workload
    assert ref.cluster == scenario.cluster  # same bugs, members and timings
    assert ref_options.seed == 77 and not ref_options.reference and ref_options.cluster is None
    assert ref_options.bugs == ()  # the overrides are already in scenario.cluster
    assert not (run.root / ".reference-staging").exists()
    assert reference_path(load_run(run)) == got  # where reference_end_state looks


def test_no_reference_for_a_workload_without_an_end_state(tmp_path: Path) -> None:
    (scenario,) = load_scenarios([SUITE / "leader-killed.yaml"])
    run = RunDir(tmp_path / "run").create()
    runner = _Runner()
    assert run_reference(scenario, 1, run, runner=runner, options=RunOptions()) is None
    assert runner.calls == []

"""Hypothesis strategies: every drawn scenario loads, and its schedule fits the workload."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from harness.scenario import Scenario, load_scenario
from harness.strategies import partition_targets, scenarios, write_generated_scenarios


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(members=5, apiservers=3, duration_s=12.0))
def test_drawn_schedules_are_sequential_and_end_before_the_workload(scenario: Scenario) -> None:
    assert len(scenario.faults) >= 1 or not scenario.faults
    end = 0.0
    for fault in sorted(scenario.faults, key=lambda f: f.at_s):
        assert fault.at_s >= end  # one after another: each effect is seen on its own
        hold = fault.duration_s or float(fault.params.get("restart_after_s", 0.0))
        end = fault.at_s + hold
        assert end < scenario.workload.duration_s


def test_partition_targets_fit_the_cluster_size() -> None:
    assert "bridge" not in partition_targets(3) and "ring" not in partition_targets(3)
    assert {"bridge", "ring", "isolate:store-5"} <= set(partition_targets(5))


def test_generated_files_round_trip_through_the_loader(tmp_path: Path) -> None:
    paths = write_generated_scenarios(tmp_path, 6, seed=11)
    assert len(paths) == 6
    loaded = [load_scenario(p) for p in paths]
    assert [s.name for s in loaded] == [p.stem for p in paths]
    again = write_generated_scenarios(tmp_path / "again", 6, seed=11)
    assert [p.read_text() for p in again] == [p.read_text() for p in paths]  # reproducible

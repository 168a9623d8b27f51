"""The run's planning helpers: the recovery tail, overrides, seeds and replays (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.model import FaultKind, FaultSpec, WorkloadSpec
from harness.run import (
    RunOptions,
    _apply_overrides,
    _planned_end_s,
    _resolve_seed,
    _with_recovery_tail,
)
from harness.runmeta import new_run_id, rerun_command
from harness.scenario import ClusterConfig, Scenario


def scenario(duration_s: float, *faults: FaultSpec) -> Scenario:
    return Scenario(name="t", workload=WorkloadSpec(duration_s=duration_s), faults=faults,
                    source=Path("scenarios/t.yaml"))  # fmt: skip


def test_planned_end_of_each_kind() -> None:
    part = FaultSpec(kind=FaultKind.PARTITION, at_s=4, duration_s=6, target="halves")
    kill = FaultSpec(kind=FaultKind.KILL, at_s=4, target="store-1", params={"restart_after_s": 3})
    loss = FaultSpec(kind=FaultKind.LEADER_LOSS, at_s=4, duration_s=2,
                     params={"action": "kill", "repeat": 3, "interval_s": 4})  # fmt: skip
    roll = FaultSpec(kind=FaultKind.ROLLING_RESTART, at_s=4, target="apiservers",
                     params={"interval_s": 3})  # fmt: skip
    assert [_planned_end_s(f, members=2) for f in (part, kill, loss, roll)] == [10, 7, 14, 10]


def test_workload_runs_on_after_the_last_heal_so_recovery_can_be_seen() -> None:
    late = FaultSpec(kind=FaultKind.PARTITION, at_s=8, duration_s=6, target="halves")
    assert _with_recovery_tail(scenario(16, late), [late]).workload.duration_s == 19.0
    early = FaultSpec(kind=FaultKind.PARTITION, at_s=2, duration_s=2, target="halves")
    assert _with_recovery_tail(scenario(16, early), [early]).workload.duration_s == 16
    assert _with_recovery_tail(scenario(16), []).workload.duration_s == 16


def test_overrides_add_bugs_and_engine_without_duplicates() -> None:
    base = Scenario(name="t", cluster=ClusterConfig(bugs=("watch-gap",)))
    got = _apply_overrides(base, RunOptions(engine="raftos", bugs=("watch-gap", "forget-vote")))
    assert got.cluster.engine == "raftos"
    assert got.cluster.bugs == ("watch-gap", "forget-vote")


def test_seed_precedence_option_then_replay_then_scenario(tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.json"
    schedule.write_text(json.dumps({"version": 1, "seed": 99, "faults": []}))
    s = Scenario(name="t", seed=5)
    assert _resolve_seed(s, RunOptions(seed=7, replay=schedule)) == 7
    assert _resolve_seed(s, RunOptions(replay=schedule)) == 99
    assert _resolve_seed(s, RunOptions()) == 5
    assert _resolve_seed(Scenario(name="t"), RunOptions()) > 0


def test_run_ids_and_rerun_commands_carry_scenario_and_seed() -> None:
    assert new_run_id("Leader Killed!", 7).startswith("leader-killed-s7-")
    s = Scenario(
        name="t", source=Path("scenarios/t.yaml"), cluster=ClusterConfig(bugs=("watch-gap",))
    )
    cmd = rerun_command(s, 7, Path("reports/r/schedule.json"))
    assert cmd == ("chaosplane run scenarios/t.yaml --seed 7 --bug watch-gap --engine pysyncobj "
                   "--replay reports/r/schedule.json")  # fmt: skip

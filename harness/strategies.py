"""Hypothesis strategies for fault schedules and workloads, and scenario files made from them.

In a nutshell: ``schedules(members=3, apiservers=2, duration_s=12)`` draws a list of
non-overlapping faults every member of the cluster can take; ``scenarios(...)`` wraps one in a
short register scenario. Shrinking works towards fewer, shorter, later faults of the simplest
kinds (the first listed), so a shrunk failure reads like the smallest schedule that still
fails. ``write_generated_scenarios(folder, n)`` writes N drawn scenarios as YAML for campaigns.

    @given(schedules(members=3, apiservers=2, duration_s=10))
    def test_no_schedule_breaks_the_store(faults): ...
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from harness.scenario import Scenario, scenario_from_dict, scenario_to_yaml
from harness.scenario.faultdraws import DrawContext
from harness.scenario.faultdraws import partition_targets as partition_targets
from harness.scenario.faultkinds import FAULT_KINDS

MIN_GAP_S = 1.0  # between faults, so each one's effect is seen on its own
MIN_HOLD_S = 1.0
MAX_HOLD_S = 5.0


FaultEntry = dict[str, Any]  # one fault as a scenario file writes it


def _seconds(value: float) -> str:
    return f"{value:g}s"


@st.composite
def fault_entries(draw: st.DrawFn, members: int, apiservers: int, hold_s: float) -> FaultEntry:
    """One fault's kind, target and parameters as a file entry (without ``at``): a kind whose
    descriptor has a ``draw`` (``harness.scenario.faultkinds``), in registration order."""
    draws = [spec.draw for spec in FAULT_KINDS.values() if spec.draw is not None]
    kind_draw = draw(st.sampled_from(draws))
    return kind_draw(draw, DrawContext(members=members, apiservers=apiservers, hold_s=hold_s))


@st.composite
def schedules(
    draw: st.DrawFn,
    *,
    members: int = 3,
    apiservers: int = 2,
    duration_s: float = 12.0,
    max_faults: int = 3,
    warmup_s: float = 2.0,
) -> list[FaultEntry]:
    """Up to ``max_faults`` faults, one after another, all healed before the workload ends."""
    faults: list[FaultEntry] = []
    at = warmup_s
    for _ in range(draw(st.integers(1, max_faults))):
        at += draw(st.floats(0.0, 2.0).map(lambda x: round(x, 1)))
        hold = draw(st.floats(MIN_HOLD_S, MAX_HOLD_S).map(lambda x: round(x, 1)))
        if at + hold >= duration_s - MIN_GAP_S:
            break
        faults.append({"at": _seconds(at), **draw(fault_entries(members, apiservers, hold))})
        at += hold + MIN_GAP_S
    return faults


@st.composite
def workload_entries(draw: st.DrawFn, duration_s: float = 12.0) -> dict[str, Any]:
    return {
        "kind": "register",
        "clients": draw(st.integers(2, 6)),
        "keys": draw(st.integers(1, 4)),
        "rate": draw(st.sampled_from([30, 60])),
        "duration": _seconds(duration_s),
        "op_timeout": "1s",
        "through": draw(st.sampled_from(["apiserver", "store"])),
    }


@st.composite
def scenario_documents(
    draw: st.DrawFn, *, members: int = 3, apiservers: int = 2, duration_s: float = 12.0
) -> dict[str, Any]:
    """A whole scenario file's content (a dict the loader accepts)."""
    return {
        "name": "generated",
        "description": "A fault schedule drawn by Hypothesis.",
        "cluster": {"store": {"engine": "pysyncobj", "members": members}, "apiservers": apiservers},
        "workload": draw(workload_entries(duration_s)),
        "faults": draw(schedules(members=members, apiservers=apiservers, duration_s=duration_s)),
        "expect": {"linearizable": True, "recovered_within": "10s", "converged_within": "10s"},
    }


def scenarios(
    *, members: int = 3, apiservers: int = 2, duration_s: float = 12.0
) -> st.SearchStrategy[Scenario]:
    """Scenarios built through the loader, so every one is valid by construction."""
    documents = scenario_documents(members=members, apiservers=apiservers, duration_s=duration_s)
    return documents.map(lambda d: scenario_from_dict(d, "<generated>"))


def draw_scenarios(
    n: int, *, seed: int = 0, members: int = 3, apiservers: int = 2
) -> list[Scenario]:
    """``n`` scenarios drawn by Hypothesis' generator (no shrinking), reproducibly from ``seed``."""
    drawn: list[Scenario] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(scenarios(members=members, apiservers=apiservers))
    def collect(scenario: Scenario) -> None:
        drawn.append(scenario)

    collect()
    return [replace(s, name=f"generated-{i:03d}", seed=seed + i) for i, s in enumerate(drawn[:n])]


def write_generated_scenarios(folder: Path, n: int, *, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scenario in draw_scenarios(n, seed=seed):
        path = folder / f"{scenario.name}.yaml"
        path.write_text(scenario_to_yaml(scenario), encoding="utf-8")
        paths.append(path)
    return paths

"""Scenario files for the controller layer: the deployments workload, component fault targets,
clock skew and component leader-loss are accepted on a cluster that has the members and
refused, with file:line and the fix, on one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model import FaultKind, WorkloadKind
from harness.scenario import ScenarioFileError, load_scenario

REPO = Path(__file__).resolve().parents[2]
WITH = (
    "cluster: {store: {members: 1}, apiservers: 2, controller_managers: 2, schedulers: 2, nodes: 3}"
)
WITHOUT = "cluster: {store: {members: 1}, apiservers: 2}"


def write(tmp_path: Path, cluster: str, fault: str, kind: str = "deployments") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\n"
        f"{cluster}\n"
        f"workload: {{kind: {kind}, clients: 2, keys: 4, rate: 4, duration: 20s}}\n"
        f"faults:\n  - {fault}\n"
        "expect: {linearizable: false, no_lost_writes: false}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "fault",
    [
        "{at: 5s, leader-loss: kill, component: controller-manager}",
        "{at: 5s, leader-loss: isolate, component: scheduler, for: 6s}",
        '{at: 5s, partition: "isolate:node-2", for: 8s}',
        "{at: 5s, link-down: node-3-api-1, for: 4s}",
        '{at: 5s, toxic: latency, link: "scheduler-*-api-*", latency: 300ms, for: 4s}',
        "{at: 5s, kill: random-node, restart_after: 2s}",
        "{at: 5s, pause: scheduler-leader, for: 3s}",
        "{at: 5s, clock-skew: controller-manager-leader, offset_s: -5, for: 8s}",
        "{at: 5s, clock-skew: node-1, rate: 1.5, for: 8s}",
    ],
)
def test_controller_faults_are_valid_on_a_cluster_with_components(
    tmp_path: Path, fault: str
) -> None:
    scenario = load_scenario(write(tmp_path, WITH, fault))
    assert scenario.workload.kind is WorkloadKind.DEPLOYMENTS
    assert scenario.cluster.controller_managers == 2


def test_clock_skew_params_land_in_the_fault_spec(tmp_path: Path) -> None:
    fault = "{at: 5s, clock-skew: controller-manager-leader, offset_s: -5, rate: 2, for: 8s}"
    (spec,) = load_scenario(write(tmp_path, WITH, fault)).faults
    assert spec.kind is FaultKind.CLOCK_SKEW and spec.target == "controller-manager-leader"
    assert spec.params["offset_s"] == -5 and spec.params["rate"] == 2 and spec.duration_s == 8


@pytest.mark.parametrize(
    ("fault", "kind", "needle"),
    [
        ("{at: 5s, kill: store-1, restart_after: 1s}", "deployments", "workload.kind"),
        ("{at: 5s, leader-loss: kill, component: scheduler}", "register", "component"),
        ("{at: 5s, clock-skew: store-1, offset_s: 3, for: 2s}", "register", "clock-skew"),
        ("{at: 5s, kill: random-node, restart_after: 1s}", "register", "random-node"),
        ('{at: 5s, partition: "isolate:node-2", for: 2s}', "register", "isolate:node-2"),
    ],
)
def test_controller_features_without_components_are_refused_with_a_fix(
    tmp_path: Path, fault: str, kind: str, needle: str
) -> None:
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(write(tmp_path, WITHOUT, fault, kind=kind))
    text = str(err.value)
    assert "s.yaml:" in text and needle in text, text


def test_every_shipped_controller_scenario_loads() -> None:
    files = [
        *REPO.glob("scenarios/suite/*.yaml"),
        *REPO.glob("scenarios/regressions/bug-*.yaml"),
    ]
    kinds = {load_scenario(f).workload.kind for f in files}
    assert WorkloadKind.DEPLOYMENTS in kinds

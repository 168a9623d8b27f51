"""replicas_converge and no_overshoot on hand-built Deployment / ReplicaSet / Pod histories.

The Deployment controller's rolling update keeps at most replicas + maxSurge pods (kubernetes.io
"Deployments": "Max Surge"); the ReplicaSet controller's expectations keep it from creating more
than spec.replicas on a stale cache (pkg/controller/controller_utils.go).
"""

from __future__ import annotations

from pathlib import Path

from k8s_history import K8sHistory

from harness.checker import Verdict
from harness.checker.controllers import CONTROLLER_CHECKS
from harness.history.k8s import K8sResource


def cluster(b: K8sHistory, nodes: int = 2) -> None:
    for i in range(1, nodes + 1):
        b.node(f"node-{i}", cpu="4")


def scaled_web(b: K8sHistory, pods: int = 3) -> None:
    """web: Deployment → RS web-a → ``pods`` Running pods over two nodes."""
    b.deployment("web", pods)
    b.replicaset("web-a", "web", pods)
    for i in range(pods):
        b.running_pod(f"web-a-{i}", "web-a", f"node-{i % 2 + 1}")


def test_a_converged_deployment_is_valid_with_the_time_it_took(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0)
    cluster(b)
    b.fault("partition", ["node-1"], start_s=1.0, end_s=2.0)
    b.at(2.5).deployment("web", 3)
    b.at(3.0).replicaset("web-a", "web", 3)
    for i in range(3):
        b.at(3.0 + i).running_pod(f"web-a-{i}", "web-a", f"node-{i % 2 + 1}")
    b.at(9.0).heartbeat("node-1")
    result = CONTROLLER_CHECKS["replicas_converge"](b.save(tmp_path))
    assert result.verdict is Verdict.VALID, result
    # the Deployment changed at 2.5 s, its ReplicaSet at 3.0 s; the last pod ran at 5.0 s
    assert result.details["took_s"] == {
        "deployments/default/web": 2.5,
        "replicasets/default/web-a": 2.0,
    }


def test_a_deployment_short_of_replicas_at_the_end_is_invalid(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b)
    b.fault("kill", ["node-2"], start_s=1.0, end_s=2.0)
    b.at(3).pod("web-a-1", rs="web-a", node="node-2", phase="Running", ready=False)
    b.at(60).heartbeat("node-1")
    result = CONTROLLER_CHECKS["replicas_converge"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID, result
    late = {row["owner"]: row for row in result.details["late"]}
    assert late["deployments/default/web"]["ready"] == 2
    assert late["deployments/default/web"]["replicas"] == 3


def test_a_rolled_deployment_counts_only_pods_of_its_new_template(tmp_path: Path) -> None:
    """Old pods Running alone do not converge a Deployment whose template changed."""
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=2)
    b.at(1).deployment("web", 2, image="img:2")
    b.at(60).heartbeat("node-1")
    result = CONTROLLER_CHECKS["replicas_converge"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID
    assert [r["owner"] for r in result.details["late"]] == ["deployments/default/web"]


def test_a_history_that_ends_too_soon_is_unknown(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0)
    cluster(b)
    b.deployment("web", 3)
    b.at(2).heartbeat("node-1")
    result = CONTROLLER_CHECKS["replicas_converge"](b.save(tmp_path))
    assert result.verdict is Verdict.UNKNOWN and result.details["pending"], result
    empty = K8sHistory()
    empty.at(0).node("node-1")
    assert (
        CONTROLLER_CHECKS["replicas_converge"](empty.save(tmp_path / "e")).verdict
        is Verdict.UNKNOWN
    )


def test_a_rolling_update_within_max_surge_is_no_overshoot(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=2)
    b.at(1).deployment("web", 2, image="img:2", surge=1)
    b.replicaset("web-b", "web", 1, image="img:2")
    b.running_pod("web-b-0", "web-b", "node-1", image="img:2")  # 3 live = 2 + maxSurge 1
    b.replicaset("web-a", "web", 1)
    b.pod("web-a-1", rs="web-a", node="node-2", phase="Running", ready=True, terminating=True)
    b.delete(K8sResource.PODS, "default", "web-a-1")
    b.replicaset("web-b", "web", 2, image="img:2")
    b.running_pod("web-b-1", "web-b", "node-2", image="img:2")
    result = CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path))
    assert result.verdict is Verdict.VALID, result
    assert result.details["peaks"]["deployments/default/web"]["pods"] == 3


def test_a_replicaset_creating_past_its_replicas_is_an_overshoot(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=2)
    b.at(4).pod("web-a-extra", rs="web-a")  # a stale cache: a third pod for replicas 2
    result = CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID, result
    worst = result.details["overshoots"][0]
    assert worst["owner"] == "replicasets/default/web-a" and worst["pods"] == 3
    assert worst["limit"] == 2 and worst["at_s"] == 4.0
    assert worst["created"] == "pods/default/web-a-extra"


def test_a_scale_down_leaves_surplus_pods_without_an_overshoot(tmp_path: Path) -> None:
    """5 → 2: the RS holds 5 live pods under replicas 2 until it deletes 3; no creation."""
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=5)
    b.at(3).deployment("web", 2)
    b.replicaset("web-a", "web", 2)
    for i in range(2, 5):
        b.delete(K8sResource.PODS, "default", f"web-a-{i}")
    assert CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path)).verdict is Verdict.VALID


def test_a_creation_on_a_spec_a_moment_old_is_not_an_overshoot(tmp_path: Path) -> None:
    """The RS went 3 → 2 0.2 s before its controller created the third pod: within the
    decision lag."""
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=2)
    b.at(1.0).replicaset("web-a", "web", 3)
    b.at(1.1).replicaset("web-a", "web", 2)
    b.at(1.3).pod("web-a-2", rs="web-a")
    assert CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path)).verdict is Verdict.VALID
    b.at(7.0).pod("web-a-3", rs="web-a")  # long after (> decision_lag_s): a real overshoot
    assert CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path / "late")).verdict is Verdict.INVALID


def test_pods_seen_only_in_a_list_prove_nothing_about_overshoot(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0)
    cluster(b)
    b.deployment("web", 1)
    b.replicaset("web-a", "web", 1)
    b.pod("web-a-0", rs="web-a", silent=True)
    b.relist(K8sResource.PODS)
    result = CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path))
    assert result.verdict is Verdict.UNKNOWN, result


def test_a_creation_just_after_a_scale_down_counts_the_old_limit(tmp_path: Path) -> None:
    """Seen in a local run: RS 3 → 2 at 7.64 s, its controller (still seeing 3) created a pod
    at 7.87 s — a view 0.23 s old, Kubernetes' normal race, not an overshoot."""
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=2)
    b.at(4.71).replicaset("web-a", "web", 3)
    b.at(7.64).replicaset("web-a", "web", 2)
    b.at(7.87).pod("web-a-2", rs="web-a")
    assert CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path)).verdict is Verdict.VALID


def test_a_slow_deployment_controller_is_no_overshoot(tmp_path: Path) -> None:
    """Seen in a local run under load: web scaled 1 → 5 → 1; its controller scaled the RS to
    5 just before the second change, and the RS controller then created up to 5 pods — each
    controller right about what it saw, the Deployment briefly above 1 + maxSurge."""
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=1)
    b.at(5.51).deployment("web", 5)
    b.at(8.24).replicaset("web-a", "web", 5)
    b.at(8.42).deployment("web", 1)
    for i in range(1, 5):
        b.at(9.2 + i / 10).pod(f"web-a-{i}", rs="web-a")
    result = CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path))
    assert result.verdict is Verdict.VALID, result
    assert result.details["peaks"]["deployments/default/web"]["pods"] == 5


def test_replicasets_scaled_past_max_surge_are_an_overshoot(tmp_path: Path) -> None:
    """A roll with maxSurge 1: the new RS scaled to 2 while the old one still holds 2."""
    b = K8sHistory()
    b.at(0)
    cluster(b)
    scaled_web(b, pods=2)
    b.at(3).deployment("web", 2, image="img:2", surge=1)
    b.at(5).replicaset("web-b", "web", 2, image="img:2")
    result = CONTROLLER_CHECKS["no_overshoot"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID, result
    o = result.details["overshoots"][0]
    assert o["rule"] == "replicasets-over-deployment" and (o["pods"], o["limit"]) == (4, 3)
    assert o["replicasets"] == {
        "replicasets/default/web-a": 2,
        "replicasets/default/web-b": 2,
    }

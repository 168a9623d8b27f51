"""binding and no_overcommit on hand-built Pod / Node histories.

kube-apiserver's pods/binding refuses a pod already assigned ("pod %v is already assigned to
node %q", pkg/registry/core/pod/storage/storage.go); the scheduler filters on node readiness,
taints and requests against allocatable (kube-scheduler's NodeResourcesFit).
"""

from __future__ import annotations

from pathlib import Path

from k8s_history import SCHED1, SCHED2, K8sHistory

from harness.checker import Verdict
from harness.checker.controllers import CONTROLLER_CHECKS
from harness.checker.controllers.quantity import parse_quantity
from harness.history.k8s import K8sResource


def two_nodes(b: K8sHistory, cpu: str = "1") -> None:
    b.at(0).node("node-1", cpu=cpu)
    b.node("node-2", cpu=cpu)
    b.deployment("web", 2)
    b.replicaset("web-a", "web", 2)


def test_each_pod_bound_once_to_a_ready_node_with_room_is_valid(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).running_pod("web-a-0", "web-a", "node-1")
    b.at(1.5).running_pod("web-a-1", "web-a", "node-1")  # 2 × 500m on 1 cpu: exactly full
    run = b.save(tmp_path)
    result = CONTROLLER_CHECKS["binding"](run)
    assert result.verdict is Verdict.VALID, result
    assert result.details["bindings"] == 2
    over = CONTROLLER_CHECKS["no_overcommit"](run)
    assert over.verdict is Verdict.VALID, over
    assert over.details["peak_requested"]["node-1"]["cpu"] == 1.0


def test_a_pod_bound_twice_is_invalid_with_both_bindings(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).running_pod("web-a-0", "web-a", "node-1", scheduler=SCHED1)
    b.at(2).pod(
        "web-a-0", rs="web-a", node="node-1", phase="Running", ready=True, writer=(SCHED2, 1)
    )
    result = CONTROLLER_CHECKS["binding"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID, result
    p = result.details["problems"][0]
    assert p["problem"] == "bound twice to node-1"
    assert tuple(p["writer"]) == (SCHED2, 1)
    assert tuple(p["first_binding"]["writer"]) == (SCHED1, 0)


def test_a_pod_moved_between_nodes_is_invalid(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).running_pod("web-a-0", "web-a", "node-1")
    b.at(2).pod("web-a-0", rs="web-a", node="node-2", writer=(SCHED2, 1))
    result = CONTROLLER_CHECKS["binding"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID
    assert result.details["problems"][0]["problem"] == "moved from node-1 to node-2"


def test_a_pod_bound_to_a_not_ready_node_is_invalid(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).node("node-2", ready=False, taints=["node.kubernetes.io/unreachable"])
    b.at(5).pod("web-a-0", rs="web-a")
    b.pod("web-a-0", rs="web-a", node="node-2", writer=(SCHED1, 0))
    result = CONTROLLER_CHECKS["binding"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID, result
    p = result.details["problems"][0]
    assert p["node"] == "node-2" and "not Ready" in p["problem"]


def test_a_binding_racing_a_node_going_not_ready_is_within_slack(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(4.9).pod("web-a-0", rs="web-a")
    b.at(5.0).node("node-2", ready=False)
    b.at(5.1).pod("web-a-0", rs="web-a", node="node-2", writer=(SCHED1, 0))
    assert CONTROLLER_CHECKS["binding"](b.save(tmp_path)).verdict is Verdict.VALID


def test_a_binding_without_room_is_invalid(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).running_pod("web-a-0", "web-a", "node-1", cpu="800m")
    b.at(2).pod("web-a-1", rs="web-a", cpu="800m")
    b.pod("web-a-1", rs="web-a", node="node-1", cpu="800m", writer=(SCHED1, 0))
    result = CONTROLLER_CHECKS["binding"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID
    assert (
        "without room: cpu 0.8 used + 0.8 > allocatable 1.0"
        in result.details["problems"][0]["problem"]
    )


def test_no_binding_seen_is_unknown(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).pod("web-a-0", rs="web-a")
    assert CONTROLLER_CHECKS["binding"](b.save(tmp_path)).verdict is Verdict.UNKNOWN


def test_running_pods_over_allocatable_are_an_overcommit(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).running_pod("web-a-0", "web-a", "node-1", cpu="700m")
    b.at(2).running_pod("web-a-1", "web-a", "node-1", cpu="700m")
    b.at(3).delete(K8sResource.PODS, "default", "web-a-1")
    result = CONTROLLER_CHECKS["no_overcommit"](b.save(tmp_path))
    assert result.verdict is Verdict.INVALID, result
    o = result.details["overcommits"][0]
    assert (o["node"], o["resource"], o["allocatable"]) == ("node-1", "cpu", 1.0)
    assert abs(o["requested"] - 1.4) < 1e-9 and o["at_s"] == 2.0
    assert o["pods"] == ["pods/default/web-a-0", "pods/default/web-a-1"]


def test_terminating_and_pending_pods_do_not_count_as_committed(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    b.at(1).running_pod("web-a-0", "web-a", "node-1", cpu="700m")
    b.at(2).pod("web-a-0", rs="web-a", node="node-1", phase="Running", cpu="700m", terminating=True)
    b.at(2.1).running_pod("web-a-1", "web-a", "node-1", cpu="700m")
    b.at(2.2).pod("web-a-2", rs="web-a", node="node-1", cpu="700m")  # Pending: not admitted
    assert CONTROLLER_CHECKS["no_overcommit"](b.save(tmp_path)).verdict is Verdict.VALID


def test_no_running_pod_with_requests_is_unknown_for_overcommit(tmp_path: Path) -> None:
    b = K8sHistory()
    two_nodes(b)
    assert CONTROLLER_CHECKS["no_overcommit"](b.save(tmp_path)).verdict is Verdict.UNKNOWN


def test_quantities_parse_as_apimachinery_does() -> None:
    assert parse_quantity("250m") == 0.25
    assert parse_quantity("2") == 2.0 and parse_quantity(3) == 3.0
    assert parse_quantity("128Mi") == 128 * 2**20 and parse_quantity("1G") == 1e9
    assert parse_quantity("1e3") == 1000.0
    try:
        parse_quantity("lots")
    except ValueError as exc:
        assert "'lots'" in str(exc)
    else:
        raise AssertionError("a bad quantity parsed")

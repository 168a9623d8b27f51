"""node_failure on hand-built heartbeat / Node / Pod histories.

Node lifecycle as Kubernetes documents it (kubernetes.io "Nodes": node-monitor-grace-period,
taint-based eviction with tolerationSeconds) with the run's scaled-down timings (C3).
"""

from __future__ import annotations

from pathlib import Path

from k8s_history import CM1, CM2, K8sHistory

from harness.checker import Verdict
from harness.checker.controllers import CONTROLLER_CHECKS
from harness.history.k8s import K8sResource

TIMINGS = {
    "node_monitor_grace_s": 4,
    "node_monitor_period_s": 0.5,
    "pod_eviction_timeout_s": 6,
    "node_renew_interval_s": 1,
}
UNREACHABLE = ["node.kubernetes.io/unreachable"]


def node_down(
    *,
    not_ready_at: float | None = 9.6,
    evict_at: float | None = 15.8,
    replace: bool = True,
    end: float = 20.0,
) -> K8sHistory:
    """node-2 stops heartbeating at 5 s (partitioned 5–15.5 s), is marked NotReady, its pod
    evicted and replaced on node-1; it heartbeats again from 16 s."""
    b = K8sHistory()
    b.at(0).node("node-1", cpu="4")
    b.node("node-2", cpu="4")
    b.deployment("web", 2)
    b.replicaset("web-a", "web", 2)
    b.running_pod("web-a-0", "web-a", "node-1")
    b.running_pod("web-a-1", "web-a", "node-2")
    b.fault("partition", ["node-2"], start_s=5.0, end_s=15.5)
    t = 0.0
    while t <= end:
        b.at(t).heartbeat("node-1")
        if t <= 5.0 or t >= 16.0:
            b.heartbeat("node-2")
        if not_ready_at is not None and t < not_ready_at <= t + 1:
            b.at(not_ready_at).node("node-2", ready=False, taints=UNREACHABLE, writer=(CM1, 0))
        if evict_at is not None and t < evict_at <= t + 1:
            b.at(evict_at).pod(
                "web-a-1", rs="web-a", node="node-2", phase="Running", ready=True, terminating=True
            )
            b.delete(K8sResource.PODS, "default", "web-a-1")
            if replace:
                b.at(evict_at + 0.1).running_pod("web-a-2", "web-a", "node-1")
        if t == 16.0 and not_ready_at is not None:
            b.at(16.2).node("node-2", ready=True)
        t += 1.0
    return b


def check(b: K8sHistory, root: Path) -> tuple[Verdict, list[str]]:
    result = CONTROLLER_CHECKS["node_failure"](b.save(root, timings=TIMINGS))
    return result.verdict, [p["rule"] for p in result.details.get("problems", [])]


def test_a_node_failure_handled_in_time_is_valid(tmp_path: Path) -> None:
    b = node_down()
    b.at(20.5).sample(
        "node-2", pods=({"namespace": "default", "name": "x", "uid": "uid-x", "phase": "Running"},)
    )
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["gaps_over_grace"] == 1 and result.details["evictions"] == 1
    assert result.details["returns"] == 1


def test_not_ready_long_after_the_grace_is_invalid(tmp_path: Path) -> None:
    verdict, rules = check(node_down(not_ready_at=12.0, evict_at=18.1), tmp_path)
    assert (verdict, rules) == (Verdict.INVALID, ["not-ready-late"])


def test_never_marked_not_ready_is_invalid(tmp_path: Path) -> None:
    verdict, rules = check(node_down(not_ready_at=None, evict_at=None), tmp_path)
    assert verdict is Verdict.INVALID and rules == ["not-ready-late"]


def test_not_ready_before_the_grace_is_invalid(tmp_path: Path) -> None:
    """Marked 1.2 s after the last heartbeat, eviction still 6 s after that."""
    verdict, rules = check(node_down(not_ready_at=6.2, evict_at=12.5), tmp_path)
    assert verdict is Verdict.INVALID and rules == ["not-ready-early"]


def test_eviction_before_the_timeout_is_invalid(tmp_path: Path) -> None:
    b = node_down(evict_at=10.5)
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.INVALID
    p = result.details["problems"][0]
    assert p["rule"] == "evicted-before-timeout" and p["pod"] == "pods/default/web-a-1"
    assert (p["not_ready_at_s"], p["evicted_at_s"]) == (9.6, 10.5)


def test_an_evicted_pod_never_replaced_is_invalid(tmp_path: Path) -> None:
    assert check(node_down(replace=False, end=50.0), tmp_path) == (
        Verdict.INVALID,
        ["not-rescheduled"],
    )


def test_a_node_back_still_running_its_replaced_pod_is_invalid(tmp_path: Path) -> None:
    b = node_down()
    pod = {"namespace": "default", "name": "web-a-1", "uid": "uid-web-a-1", "phase": "Running"}
    b.at(16.5).sample("node-2", pods=(pod,))  # within 2 renew intervals + ε of its return
    b.at(20.5).sample("node-2", pods=(pod,))  # still at it
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.INVALID, result
    p = result.details["problems"][0]
    assert p["rule"] == "runs-replaced-pod" and p["seen_running_at_s"] == 20.5


def test_heartbeats_without_a_failure_are_valid_and_say_so(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0).node("node-1")
    for t in range(10):
        b.at(t * 1.0).heartbeat("node-1")
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID
    assert result.details["gaps_over_grace"] == 0 and result.details["evictions"] == 0


def test_no_node_lease_is_unknown(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0).node("node-1")
    assert check(b, tmp_path)[0] is Verdict.UNKNOWN


def test_an_eviction_landing_just_after_the_node_returned_is_still_judged(tmp_path: Path) -> None:
    """Seen in a local run: the eviction decided at 19.8 s landed 0.14 s after the kubelet
    posted Ready again; it still counts as an eviction (and is judged against the timeout)."""
    b = node_down(evict_at=None, replace=False)
    b.at(16.4).pod(
        "web-a-1", rs="web-a", node="node-2", phase="Running", ready=True, terminating=True
    )
    b.delete(K8sResource.PODS, "default", "web-a-1")
    b.at(16.5).running_pod("web-a-2", "web-a", "node-1")
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["evictions"] == 1
    early = node_down(evict_at=None, replace=False, not_ready_at=12.0)
    early.at(16.4).pod("web-a-1", rs="web-a", node="node-2", phase="Running", terminating=True)
    verdict, rules = check(early, tmp_path / "early")
    assert verdict is Verdict.INVALID and "evicted-before-timeout" in rules


def test_a_pod_the_workload_deleted_is_no_eviction(tmp_path: Path) -> None:
    b = node_down(evict_at=None, replace=False)
    b.at(10.0).client("delete-pod", "default/web", process=0)
    b.ops[-1] = type(b.ops[-1]).from_json(
        {
            **b.ops[-1].to_json(),
            "value": {"name": "web", "owner": "web", "pick": 1, "pod": "web-a-1"},
        }
    )
    b.at(10.1).pod("web-a-1", rs="web-a", node="node-2", phase="Running", terminating=True)
    b.at(10.2).running_pod("web-a-2", "web-a", "node-1")
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["evictions"] == 0


def test_a_stalled_lease_watcher_fakes_no_heartbeat_gap(tmp_path: Path) -> None:
    """The lease watcher's stream broke at 4 s and resumed at 12 s, delivering 8 renewals at
    once, while the node watcher kept up: the renewals were committed on time (revisions are
    global), so no gap over the grace is judged."""
    b = K8sHistory()
    b.at(0).node("node-1")
    for t in range(0, 20):
        delivered = 12.0 if 4 < t < 12 else float(t)
        b.at(delivered).heartbeat("node-1")
        b.at(t + 0.1).node("node-1")  # the kubelet's status post, seen on time
    result = CONTROLLER_CHECKS["node_failure"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["gaps_over_grace"] == 0


def all_nodes_stall(*, one_resumes_at: float | None = None) -> K8sHistory:
    """Every node stops heartbeating from 5 s to 14 s (the control plane itself stalled); with
    ``one_resumes_at`` node-1 resumes early, so node-2's silence is its own from then on."""
    b = K8sHistory()
    b.at(0).node("node-1", cpu="4")
    b.node("node-2", cpu="4")
    t = 0.0
    while t <= 20.0:
        if t <= 5.0 or t >= 14.0 or (one_resumes_at is not None and t >= one_resumes_at):
            b.at(t).heartbeat("node-1")
        if t <= 5.0 or t >= 14.0:
            b.at(t).heartbeat("node-2")
        t += 1.0
    return b


def test_a_full_disruption_marks_nothing_and_is_valid(tmp_path: Path) -> None:
    result = CONTROLLER_CHECKS["node_failure"](all_nodes_stall().save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["full_disruption_gaps"] == 2


def test_a_node_silent_after_the_others_recover_must_be_marked(tmp_path: Path) -> None:
    verdict, rules = check(all_nodes_stall(one_resumes_at=8.0), tmp_path)
    assert verdict is Verdict.INVALID and rules == ["not-ready-late"]


def test_a_grace_running_out_after_the_last_leading_sample_demands_nothing(
    tmp_path: Path,
) -> None:
    """The false alarm of bug-bind-without-check with the bug off (load 14): node-2's heartbeat
    gap 89.7 → 96.8 s; the controller-manager was seen leading at 88.4, 91.8 and 93.9 s and not
    at 96.7 s. The grace ran out at 95.2 s, after the last sample that proves it acted: it may
    already have stopped at its renew deadline. Not due, so valid; the same gap with the leader
    seen acting past 95.2 s is invalid."""

    def history(last_leading_s: float) -> K8sHistory:
        b = K8sHistory()
        b.at(80).node("node-1", cpu="4")
        b.node("node-2", cpu="4")
        leading = [88.4, 91.8, 93.9] + ([last_leading_s] if last_leading_s > 93.9 else [])
        t = 80.0
        while t <= 100.0:
            b.at(t).heartbeat("node-1")
            if t <= 89.7 or t >= 96.8:
                b.heartbeat("node-2")
            for s in [x for x in leading if t <= x < t + 0.5]:
                b.at(s).sample("controller-manager-2", leader=True)
                if s == 88.4:  # its first write: its informers had synced
                    b.at(88.5).node("node-3", cpu="4", writer=(CM2, 1))
            if t <= 96.7 < t + 0.5:
                b.at(96.7).sample("controller-manager-2", leader=False)
            t = round(t + 0.5, 1)
        return b

    verdict, rules = check(history(93.9), tmp_path / "stopped")
    assert verdict is Verdict.VALID, rules
    verdict, rules = check(history(96.0), tmp_path / "acting")
    assert verdict is Verdict.INVALID and rules == ["not-ready-late"], rules


def test_a_new_leader_that_has_not_written_yet_may_still_be_syncing(tmp_path: Path) -> None:
    """The false alarm of bug-eviction-before-grace with the bug off (seed 1001, load 24):
    node-2's heartbeats 12.8 → 20.5 s; controller-manager-2 seen leading from 14.3 s, but its
    first write came at 16.9 s (its informers were still listing). Grace from its first write:
    due at 22.4 s, after the node was back: valid. Had it written at 14.4 s, due at 19.9 s:
    invalid."""

    def history(first_write_s: float) -> K8sHistory:
        b = K8sHistory()
        b.at(8).node("node-1", cpu="4")
        b.node("node-2", cpu="4")
        t = 8.0
        while t <= 30.0:
            b.at(t).heartbeat("node-1")
            if t <= 12.8 or t >= 20.5:
                b.heartbeat("node-2")
            if t <= 14.3 < t + 0.5:
                b.at(14.3).sample("controller-manager-2", leader=True)
            if t <= first_write_s < t + 0.5:
                b.at(first_write_s).node("node-3", cpu="4", writer=(CM2, 1))
            if t in (18.0, 23.0, 28.0):
                b.at(t).sample("controller-manager-2", leader=True)
            t = round(t + 0.5, 1)
        return b

    verdict, rules = check(history(16.9), tmp_path / "syncing")
    assert verdict is Verdict.VALID, rules
    verdict, rules = check(history(14.4), tmp_path / "synced")
    assert verdict is Verdict.INVALID and rules == ["not-ready-late"], rules

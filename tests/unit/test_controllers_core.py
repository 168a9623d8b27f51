"""Pure cores of the controller layer: ReplicaSet expectations and plans, Deployment rollouts,
node lifecycle grace/eviction/full disruption, and the scheduler's filter and score.

Sources: ``pkg/controller/replicaset/replica_set.go`` (manageReplicas, expectations),
``pkg/controller/deployment/rolling.go``, ``pkg/controller/nodelifecycle`` and the kubernetes.io
"Nodes" page (full disruption), kube-scheduler's NodeResourcesFit / TaintToleration /
LeastAllocated plugins.
"""

from __future__ import annotations

from typing import Any

from controlplane.controllermanager.deployment_core import (
    HASH_LABEL,
    deployment_status,
    fenceposts,
    new_replica_set,
    plan_rollout,
    template_hash,
)
from controlplane.controllermanager.expectations import Expectations
from controlplane.controllermanager.nodelifecycle_core import NodeHealth, NodeTimings
from controlplane.controllermanager.replicaset_core import (
    deletion_order,
    plan_replicas,
    pod_from_template,
    rs_status,
    slow_start_batches,
)
from controlplane.kubeclient.objects import (
    UNREACHABLE_TAINT,
    matches,
    parse_quantity,
    toleration_seconds,
)
from controlplane.scheduler.core import choose_node, filter_reason

Obj = dict[str, Any]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def rs(name: str = "web-abc", replicas: int = 3, uid: str = "rs-uid") -> Obj:
    return {
        "metadata": {"name": name, "namespace": "default", "uid": uid, "generation": 2},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }


def pod(
    name: str,
    *,
    node: str = "",
    phase: str = "Pending",
    ready: bool = False,
    created: str = "2026-01-01T00:00:00Z",
    cpu: str = "",
    tolerations: list[Obj] | None = None,
) -> Obj:
    p: Obj = {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "creationTimestamp": created,
            "labels": {"app": "web"},
        },
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}} if cpu else {}}],
        },
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }
    if tolerations is not None:
        p["spec"]["tolerations"] = tolerations
    return p


# ---- ReplicaSet -----------------------------------------------------------------------------


def test_plan_creates_the_missing_and_deletes_the_surplus() -> None:
    assert plan_replicas(rs(replicas=3), [pod("a")]).create == 2
    plan = plan_replicas(
        rs(replicas=1), [pod("a", node="n1", phase="Running", ready=True), pod("b")]
    )
    assert [p["metadata"]["name"] for p in plan.delete] == ["b"]  # unbound goes first
    assert plan_replicas(rs(replicas=1), [pod("a")]).create == 0


def test_deletion_order_unbound_pending_notready_newest_first() -> None:
    pods = [
        pod("old-ready", node="n", phase="Running", ready=True, created="2026-01-01T00:00:00Z"),
        pod("new-ready", node="n", phase="Running", ready=True, created="2026-01-02T00:00:00Z"),
        pod("notready", node="n", phase="Running"),
        pod("pending", node="n"),
        pod("unbound"),
    ]
    assert [p["metadata"]["name"] for p in deletion_order(pods)] == [
        "unbound",
        "pending",
        "notready",
        "new-ready",
        "old-ready",
    ]


def test_slow_start_batches_double() -> None:
    assert slow_start_batches(10) == [1, 2, 4, 3]
    assert slow_start_batches(0) == []


def test_status_counts_and_pod_template_owner() -> None:
    st = rs_status(rs(), [pod("a", ready=True), pod("b")])
    assert st == {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 2,
    }
    p = pod_from_template(rs())
    ref = p["metadata"]["ownerReferences"][0]
    assert ref["controller"] is True and ref["uid"] == "rs-uid" and ref["kind"] == "ReplicaSet"
    assert p["metadata"]["generateName"] == "web-abc-" and p["metadata"]["labels"] == {"app": "web"}


def _sync(
    exp: Expectations, cache: list[Obj], *, no_expectations: bool, created: list[Obj]
) -> None:
    """One RS sync as the controller does it, against a (possibly stale) pod cache."""
    r = rs(replicas=3)
    if exp.satisfied("default/web-abc") or no_expectations:
        plan = plan_replicas(r, cache)
        if plan.create:
            exp.expect("default/web-abc", adds=plan.create, deletes=())
            created.extend(pod(f"p{len(created)}") for _ in range(plan.create))


def test_expectations_prevent_overshoot_with_a_slow_watch() -> None:
    clock = Clock()
    exp = Expectations(mono=clock)
    created: list[Obj] = []
    _sync(exp, [], no_expectations=False, created=created)
    _sync(exp, [], no_expectations=False, created=created)  # the watch has shown nothing yet
    assert len(created) == 3
    for _ in created:
        exp.creation_observed("default/web-abc")
    _sync(exp, created, no_expectations=False, created=created)
    assert len(created) == 3


def test_bug_no_expectations_overshoots_with_a_slow_watch() -> None:
    exp = Expectations(mono=Clock())
    created: list[Obj] = []
    _sync(exp, [], no_expectations=True, created=created)
    _sync(exp, [], no_expectations=True, created=created)
    assert len(created) == 6  # twice the replicas: the stale cache was trusted


def test_expectations_expire_and_track_deletions_by_key() -> None:
    clock = Clock()
    exp = Expectations(mono=clock, timeout_s=300)
    exp.expect("o", adds=0, deletes=["default/a", "default/b"])
    exp.deletion_observed("o", "default/a")
    exp.deletion_observed("o", "default/a")  # seen twice (deletionTimestamp, then DELETED): once
    assert not exp.satisfied("o")
    exp.deletion_observed("o", "default/b")
    assert exp.satisfied("o")
    exp.expect("o", adds=2, deletes=())
    clock.t += 301
    assert exp.satisfied("o")  # expired: sync anyway (ExpectationsTimeout)


# ---- Deployment -----------------------------------------------------------------------------


def deploy(replicas: int = 6, image: str = "x", surge: Any = 1, unavailable: Any = 1) -> Obj:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 3},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


def with_state(r: Obj, replicas: int, available: int, created: str) -> Obj:
    r["spec"]["replicas"] = replicas
    r["status"] = {"replicas": replicas, "availableReplicas": available, "readyReplicas": available}
    r["metadata"]["creationTimestamp"] = created
    return r


def test_template_hash_is_stable_and_changes_with_the_template() -> None:
    a = deploy()["spec"]["template"]
    assert template_hash(a) == template_hash(a)
    assert template_hash(a) != template_hash(deploy(image="y")["spec"]["template"])
    assert template_hash(a) != template_hash(a, collision_count=1)
    assert set(template_hash(a)) <= set("bcdfghjklmnpqrstvwxz2456789")
    r = new_replica_set(deploy(), "h1", 2)
    assert (
        r["metadata"]["name"] == "web-h1"
        and r["spec"]["selector"]["matchLabels"][HASH_LABEL] == "h1"
    )


def test_fenceposts_percentages_round_surge_up_unavailable_down() -> None:
    assert fenceposts(deploy(replicas=6, surge="25%", unavailable="25%")) == (2, 1)
    assert fenceposts(deploy(surge=0, unavailable=0)) == (0, 1)


def test_plain_scaling_without_old_replicasets() -> None:
    new = with_state(new_replica_set(deploy(), "h1", 6), 6, 6, "t1")
    assert plan_rollout(deploy(replicas=2), new, [])["web-h1"] == 2


def _rs(name_hash: str, replicas: int, available: int, created: str) -> Obj:
    return with_state(new_replica_set(deploy(), name_hash, replicas), replicas, available, created)


def test_rolling_update_respects_surge_and_unavailable_at_every_step() -> None:
    """Simulate a rollout to the end: pods never exceed replicas+surge, available never drops
    below replicas-unavailable (pods become available one step after they are created)."""
    d = deploy(replicas=6, image="y", surge=1, unavailable=1)
    old = _rs("old", 6, 6, "t0")
    new = _rs("new", 0, 0, "t1")
    for _ in range(40):
        target = plan_rollout(d, new, [old])
        total = target["web-new"] + target["web-old"]
        assert total <= 7
        # old pods are removed at once; new ones get ready in the next step
        old = with_state(
            old, target["web-old"], min(old["status"]["availableReplicas"], target["web-old"]), "t0"
        )
        assert old["status"]["availableReplicas"] + new["status"]["availableReplicas"] >= 5
        new = with_state(new, target["web-new"], new["spec"]["replicas"], "t1")
        if target["web-old"] == 0 and new["status"]["availableReplicas"] == 6:
            break
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 6


def test_deployment_status_sums_its_replicasets() -> None:
    new, old = _rs("new", 4, 3, "t1"), _rs("old", 2, 2, "t0")
    st = deployment_status(deploy(replicas=6), new, [new, old])
    assert st == {
        "observedGeneration": 3,
        "replicas": 6,
        "updatedReplicas": 4,
        "readyReplicas": 5,
        "availableReplicas": 5,
        "unavailableReplicas": 1,
    }


# ---- node lifecycle ---------------------------------------------------------------------------


def node(name: str, *, ready: str = "True", tainted: bool = False) -> Obj:
    n: Obj = {
        "metadata": {"name": name},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }
    if tainted:
        n["spec"]["taints"] = [{"key": UNREACHABLE_TAINT, "effect": "NoExecute"}]
    return n


def health(clock: Clock, bugs: frozenset[str] = frozenset()) -> NodeHealth:
    return NodeHealth(
        timings=NodeTimings(grace_s=4.0, eviction_timeout_s=6.0), mono=clock, bugs=bugs
    )


def beat(h: NodeHealth, clock: Clock, *names: str) -> None:
    for n in names:
        h.observe_lease(n, renew_time=f"{n}-{clock.t}", lease_duration_s=4)


def test_node_unknown_and_tainted_only_after_the_grace() -> None:
    clock = Clock()
    h = health(clock)
    beat(h, clock, "n1", "n2")
    clock.t += 3.9
    beat(h, clock, "n2")
    assert h.decide([node("n1"), node("n2")], []).mark_unknown == ()
    clock.t += 0.2  # 4.1 s since n1's last renew
    d = h.decide([node("n1"), node("n2")], [])
    assert d.mark_unknown == ("n1",) and d.taint == ("n1",) and d.unhealthy == {"n1"}


def test_eviction_after_toleration_seconds_from_the_taint() -> None:
    clock = Clock()
    h = health(clock)
    beat(h, clock, "n1", "n2")
    clock.t += 5
    beat(h, clock, "n2")
    nodes = [node("n1", ready="Unknown", tainted=True), node("n2")]
    pods = [
        pod("default-tol", node="n1"),
        pod(
            "short",
            node="n1",
            tolerations=[
                {
                    "key": UNREACHABLE_TAINT,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 2,
                }
            ],
        ),
        pod(
            "forever",
            node="n1",
            tolerations=[{"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute"}],
        ),
        pod("elsewhere", node="n2"),
    ]
    assert h.decide(nodes, pods).evict == ()  # taint first seen now
    clock.t += 2.0
    beat(h, clock, "n2")
    assert [p["metadata"]["name"] for p in h.decide(nodes, pods).evict] == ["short"]
    clock.t += 4.0
    beat(h, clock, "n2")
    assert sorted(p["metadata"]["name"] for p in h.decide(nodes, pods).evict) == [
        "default-tol",
        "short",
    ]


def test_full_disruption_evicts_nothing_and_lifts_taints() -> None:
    clock = Clock()
    h = health(clock)
    beat(h, clock, "n1", "n2")
    clock.t += 60
    nodes = [node("n1", ready="Unknown", tainted=True), node("n2", ready="Unknown")]
    d = h.decide(nodes, [pod("a", node="n1"), pod("b", node="n2")])
    assert d.full_disruption and d.evict == () and d.taint == () and d.untaint == ("n1",)


def test_recovered_node_is_untainted_when_ready_again() -> None:
    clock = Clock()
    h = health(clock)
    beat(h, clock, "n1", "n2")
    assert h.decide([node("n1", tainted=True), node("n2")], []).untaint == ("n1",)
    assert h.decide([node("n1", ready="Unknown", tainted=True), node("n2")], []).untaint == ()


def test_startup_grace_for_a_new_leader() -> None:
    clock = Clock()
    h = health(clock)  # never saw any lease: every node counts as just heard from
    assert h.decide([node("n1"), node("n2")], []).unhealthy == frozenset()


def test_bug_eviction_before_grace_evicts_on_one_missed_heartbeat() -> None:
    clock = Clock()
    good, bad = health(clock), health(clock, frozenset({"eviction-before-grace"}))
    for h in (good, bad):
        beat(h, clock, "n1", "n2")
    clock.t += 1.6  # one renew interval (lease 4 / 4 = 1 s) missed, far below the 4 s grace
    for h in (good, bad):
        beat(h, clock, "n2")
    nodes = [node("n1", ready="Unknown", tainted=True), node("n2")]
    assert good.decide(nodes, [pod("a", node="n1")]).unhealthy == frozenset()
    d = bad.decide(nodes, [pod("a", node="n1")])
    assert d.unhealthy == {"n1"} and [p["metadata"]["name"] for p in d.evict] == ["a"]


# ---- scheduler ------------------------------------------------------------------------------


def snode(
    name: str,
    *,
    cpu: str = "2",
    ready: bool = True,
    taints: list[Obj] | None = None,
    labels: dict[str, str] | None = None,
    unschedulable: bool = False,
) -> Obj:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "10"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "Unknown"}],
        },
    }


def test_filter_reasons() -> None:
    p = pod("p", cpu="500m")
    assert filter_reason(p, snode("n", ready=False), []) == "node(s) were not ready"
    assert filter_reason(p, snode("n", unschedulable=True), []) == "node(s) were unschedulable"
    unreachable = [{"key": UNREACHABLE_TAINT, "effect": "NoExecute"}]
    assert filter_reason(p, snode("n", taints=unreachable), []) == "node(s) had untolerated taint"
    tol = pod("t", tolerations=[{"key": UNREACHABLE_TAINT, "operator": "Exists"}])
    assert filter_reason(tol, snode("n", taints=unreachable), []) is None
    assert (
        filter_reason(p, snode("n", taints=[{"key": "x", "effect": "PreferNoSchedule"}]), [])
        is None
    )
    full = [pod(f"b{i}", node="n", cpu="500m") for i in range(4)]
    assert filter_reason(p, snode("n"), full) == "Insufficient cpu"
    assert filter_reason(p, snode("n"), full[:3]) is None
    sel = pod("s")
    sel["spec"]["nodeSelector"] = {"zone": "a"}
    assert filter_reason(sel, snode("n", labels={"zone": "b"}), []) is not None
    assert filter_reason(sel, snode("n", labels={"zone": "a"}), []) is None


def test_least_allocated_with_ties_by_name() -> None:
    p = pod("p", cpu="500m")
    nodes = [snode("n3"), snode("n1"), snode("n2")]
    assert choose_node(p, nodes, {}).node == "n1"
    assert choose_node(p, nodes, {"n1": [pod("x", node="n1", cpu="1")]}).node == "n2"
    none = choose_node(p, [snode("n1", ready=False), snode("n2", cpu="100m")], {})
    assert none.node is None
    assert none.message == "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were not ready."


def test_selector_toleration_and_quantity_helpers() -> None:
    assert matches(
        {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {"a": "1"}
    )
    assert not matches({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"})
    assert parse_quantity("250m") == 0.25 and parse_quantity("1Gi") == 1024**3
    taint = {"key": UNREACHABLE_TAINT, "effect": "NoExecute"}
    assert toleration_seconds([], taint) == 0.0
    assert toleration_seconds([{"operator": "Exists"}], taint) is None
    assert (
        toleration_seconds(
            [{"key": UNREACHABLE_TAINT, "operator": "Exists", "tolerationSeconds": 5}], taint
        )
        == 5
    )

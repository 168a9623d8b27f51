"""The controller layer end to end as local processes (no Docker): one kvstore, one apiserver,
2 controller-managers, 2 schedulers, 3 simulated kubelets, all on loopback.

Issue 15's "done when", minus containers: a Deployment of 6 replicas ends with 6 Running pods
spread over the nodes; scaling works both ways; killing the controller-manager or scheduler
leader hands its Lease to the other replica and work goes on; stopping a kubelet makes its node
NotReady and its pods reappear elsewhere. Waits are bounded, never asserted on speed; the
measured durations are printed (run with ``-s``) and written to ``timings.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from controlplane_local_support import TIMINGS, LocalControlPlane, deployment

from controlplane.leaderelection import TRANSITIONS_ANNOTATION, WRITER_ANNOTATION

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
KCM_LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"
SCHED_LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"


def _record(base: Path, **figures: float) -> None:
    path = base / "timings.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"timings": TIMINGS}
    data.update({k: round(v, 2) for k, v in figures.items()})
    path.write_text(json.dumps(data, indent=2))
    print(f"\nmeasured: {figures} (timings {TIMINGS})")


def _require_apps(cp: LocalControlPlane) -> None:
    if cp.api.get("/apis/apps/v1").status_code != 200:
        pytest.skip("the apiserver does not serve apps/v1 yet (issue 15.5, branch feat/api)")


def _scale(cp: LocalControlPlane, name: str, replicas: int) -> None:
    for _ in range(10):
        d = cp.get(f"{DEPLOYMENTS}/{name}")
        d["spec"]["replicas"] = replicas
        r = cp.api.put(f"{DEPLOYMENTS}/{name}", json=d)
        if r.status_code == 200:
            return
        assert r.status_code == 409, r.text
    raise AssertionError(f"could not scale {name}: conflicts")


def _holder(cp: LocalControlPlane, lease: str) -> tuple[str, int]:
    spec = cp.get(lease)["spec"]
    return str(spec["holderIdentity"]), int(spec.get("leaseTransitions") or 0)


def _wait_running(cp: LocalControlPlane, app: str, n: int, *, timeout_s: float = 90) -> float:
    def done() -> bool:
        pods = cp.pods(app)
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        return len(cp.running_pods(app)) == n and len(live) == n

    return cp.wait_for(done, timeout_s=timeout_s, what=f"exactly {n} Running pods of {app}")


def test_deployment_runs_spreads_and_scales_both_ways(tmp_path: Path) -> None:
    with LocalControlPlane(tmp_path) as cp:
        _require_apps(cp)
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        r = cp.api.post(DEPLOYMENTS, json=deployment("web", 6))
        assert r.status_code == 201, r.text
        t_create = _wait_running(cp, "web", 6)
        pods = cp.running_pods("web")
        assert {p["spec"]["nodeName"] for p in pods} == {"node-1", "node-2", "node-3"}
        # every pod is owned by the deployment's one ReplicaSet; its last elected write is the
        # scheduler leader's binding, whose fencing annotations the apiserver copied onto it
        leader = cp.status(str(cp.leader("scheduler"))) or {}
        rs_names = {p["metadata"]["ownerReferences"][0]["name"] for p in pods}
        assert len(rs_names) == 1 and rs_names.pop().startswith("web-")
        for p in pods:
            ann = p["metadata"].get("annotations") or {}
            assert ann.get(WRITER_ANNOTATION) == leader["identity"], ann
            assert ann.get(TRANSITIONS_ANNOTATION) == str(leader["lease_transitions"]), ann
        # each kubelet reports exactly the pods bound to it (its watch is field-selected)
        for n in ("node-1", "node-2", "node-3"):
            reported = {p["uid"] for p in (cp.status(n) or {}).get("pods", [])}
            assert reported == {p["metadata"]["uid"] for p in pods if p["spec"]["nodeName"] == n}
        t0 = time.monotonic()
        _scale(cp, "web", 9)
        _wait_running(cp, "web", 9)
        t_up = time.monotonic() - t0
        t0 = time.monotonic()
        _scale(cp, "web", 3)
        _wait_running(cp, "web", 3)
        t_down = time.monotonic() - t0
        status = cp.wait_for(
            lambda: (
                (s := cp.get(f"{DEPLOYMENTS}/web").get("status", {})).get("availableReplicas") == 3
                and s.get("replicas") == 3
                and s
            ),
            timeout_s=30,
            what="deployment status 3/3",
        )
        assert status >= 0
        _assert_workload_events(
            cp, leader, rs_name=str(pods[0]["metadata"]["ownerReferences"][0]["name"])
        )
        _record(tmp_path, create_6_running_s=t_create, scale_6_to_9_s=t_up, scale_9_to_3_s=t_down)


def _assert_workload_events(cp: LocalControlPlane, scheduler: dict[str, Any], rs_name: str) -> None:
    """What kubectl describe shows: the components' events, each naming its writer."""
    kcm = cp.status(str(cp.leader("controller-manager"))) or {}

    def reasons(selector: str) -> list[str]:
        return [e["reason"] for e in cp.events(selector)]

    cp.wait_for(
        lambda: (
            reasons(f"involvedObject.kind=ReplicaSet,involvedObject.name={rs_name}").count(
                "SuccessfulCreate"
            )
            >= 9
            and "SuccessfulDelete" in reasons(f"involvedObject.name={rs_name}")
        ),
        timeout_s=30,
        what="SuccessfulCreate x9 and SuccessfulDelete events on the ReplicaSet",
    )
    scaling = cp.events(
        "involvedObject.kind=Deployment,involvedObject.name=web,reason=ScalingReplicaSet"
    )
    messages = {e["message"] for e in scaling}
    assert f"Scaled up replica set {rs_name} from 0 to 6" in messages, messages
    assert f"Scaled down replica set {rs_name} from 9 to 3" in messages, messages
    assert {e["source"]["component"] for e in scaling} == {"deployment-controller"}
    assert {e["reportingInstance"] for e in scaling} == {kcm["identity"]}
    # the scheduler writes through events.k8s.io/v1; the core view shows them converted
    pod = cp.running_pods("web")[0]
    scheduled = cp.events(
        f"involvedObject.name={pod['metadata']['name']},involvedObject.namespace=default,"
        f"involvedObject.kind=Pod,involvedObject.uid={pod['metadata']['uid']},reason=Scheduled"
    )
    assert len(scheduled) == 1, scheduled
    assert scheduled[0]["message"] == (
        f"Successfully assigned default/{pod['metadata']['name']} to {pod['spec']['nodeName']}"
    )
    assert scheduled[0]["reportingComponent"] == "default-scheduler"
    assert scheduled[0]["reportingInstance"] == scheduler["identity"]
    elected = cp.events(
        "involvedObject.kind=Lease,involvedObject.name=kube-controller-manager,"
        "reason=LeaderElection",
        namespace="kube-system",
    )
    assert f"{kcm['identity']} became leader" in {e["message"] for e in elected}, elected


def test_killing_leaders_hands_over_the_leases_and_work_goes_on(tmp_path: Path) -> None:
    with LocalControlPlane(tmp_path) as cp:
        _require_apps(cp)
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        assert cp.api.post(DEPLOYMENTS, json=deployment("web", 3)).status_code == 201
        _wait_running(cp, "web", 3)
        figures: dict[str, float] = {}
        for kind, lease in (("controller-manager", KCM_LEASE), ("scheduler", SCHED_LEASE)):
            old = str(cp.leader(kind))
            old_holder, old_transitions = _holder(cp, lease)
            assert old_holder.startswith(old + "_")
            t0 = time.monotonic()
            cp.kill(old)

            def new_leader(k: str = kind, o: str = old) -> bool:
                n = cp.leader(k)
                return n is not None and n != o

            figures[f"{kind}_failover_s"] = cp.wait_for(
                new_leader,
                timeout_s=30,
                what=f"a new {kind} leader",
            )
            new_holder, new_transitions = _holder(cp, lease)
            assert new_holder != old_holder and not new_holder.startswith(old + "_")
            assert new_transitions == old_transitions + 1  # exactly one takeover
            _ = t0
        # work goes on with both new leaders: scale up, new pods are created and bound
        t0 = time.monotonic()
        _scale(cp, "web", 5)
        _wait_running(cp, "web", 5)
        figures["scale_3_to_5_after_failover_s"] = time.monotonic() - t0
        kcm = cp.status(str(cp.leader("controller-manager"))) or {}
        sched = cp.status(str(cp.leader("scheduler"))) or {}
        assert kcm["pods_created"] >= 2 and sched["binds"] >= 2  # the new leaders did the work
        bound_by_new = [
            p
            for p in cp.running_pods("web")
            if (p["metadata"].get("annotations") or {}).get(WRITER_ANNOTATION) == sched["identity"]
        ]
        assert len(bound_by_new) >= 2
        _record(tmp_path, **figures)


def test_a_stopped_kubelet_makes_its_node_not_ready_and_its_pods_move(tmp_path: Path) -> None:
    with LocalControlPlane(tmp_path) as cp:
        _require_apps(cp)
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        assert cp.api.post(DEPLOYMENTS, json=deployment("web", 6)).status_code == 201
        _wait_running(cp, "web", 6)
        victim = "node-2"
        on_victim = {
            p["metadata"]["uid"] for p in cp.running_pods("web") if p["spec"]["nodeName"] == victim
        }
        assert on_victim
        t0 = time.monotonic()
        cp.pause(victim)
        try:

            def not_ready() -> bool:
                node = cp.get(f"/api/v1/nodes/{victim}")
                ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
                taints = {t["key"] for t in node["spec"].get("taints") or []}
                return ready["status"] == "Unknown" and "node.kubernetes.io/unreachable" in taints

            t_unknown = cp.wait_for(
                not_ready, timeout_s=60, what=f"{victim} Ready=Unknown and tainted"
            )

            def moved() -> bool:
                running = cp.running_pods("web")
                return len(running) == 6 and all(p["spec"]["nodeName"] != victim for p in running)

            cp.wait_for(moved, timeout_s=90, what="6 Running pods on the other nodes")
            t_moved = time.monotonic() - t0
            # kubectl describe node lists these: namespace-less reference, uid = node name
            node_events = cp.events(
                f"involvedObject.kind=Node,involvedObject.name={victim},"
                f"involvedObject.namespace=,involvedObject.uid={victim},reason=NodeNotReady"
            )
            assert [e["source"]["component"] for e in node_events] == ["node-controller"]
            evicted = cp.events("reason=TaintManagerEviction")
            assert {e["involvedObject"]["uid"] for e in evicted} >= on_victim
            # pod safety: the old pods are only marked for deletion, the cut-off node holds them
            old = [p for p in cp.pods("web") if p["metadata"]["uid"] in on_victim]
            assert old and all(p["metadata"].get("deletionTimestamp") for p in old)
        finally:
            cp.resume(victim)
        # back: the node is Ready again, confirms the deletions, and runs none of the replaced pods
        cp.wait_for(
            lambda: (
                not ({p["metadata"]["uid"] for p in cp.pods("web")} & on_victim)
                and not (
                    {p["uid"] for p in (cp.status(victim) or {"pods": [{"uid": "?"}]})["pods"]}
                    & on_victim
                )
            ),
            timeout_s=60,
            what=f"{victim} confirmed the evictions",
        )
        cp.wait_for(
            lambda: (
                any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in cp.get(f"/api/v1/nodes/{victim}")["status"]["conditions"]
                )
                and not cp.get(f"/api/v1/nodes/{victim}")["spec"].get("taints")
            ),
            timeout_s=60,
            what=f"{victim} Ready and untainted",
        )
        assert len(cp.running_pods("web")) == 6
        _record(tmp_path, node_not_ready_s=t_unknown, node_pods_running_elsewhere_s=t_moved)


def test_components_fail_over_to_the_next_apiserver(tmp_path: Path) -> None:
    """CP_API_URLS lists api-1 then api-2: with api-1 killed every component moves on —
    leases are renewed, new pods created, bound and run through api-2."""
    with LocalControlPlane(
        tmp_path, controller_managers=1, schedulers=1, nodes=2, apiservers=2
    ) as cp:
        _require_apps(cp)
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        assert cp.api.post(DEPLOYMENTS, json=deployment("web", 2)).status_code == 201
        _wait_running(cp, "web", 2)
        cp.kill("api-1")
        t0 = time.monotonic()
        _scale(cp, "web", 4)
        _wait_running(cp, "web", 4)
        t_scale = time.monotonic() - t0
        # still leaders (renewing through api-2) and the nodes still Ready (leases renewed)
        assert cp.leader("controller-manager") and cp.leader("scheduler")
        for n in ("node-1", "node-2"):
            assert (cp.status(n) or {}).get("node_ready") is True
        assert "trying the next" in cp.log_text("node-1")
        _record(tmp_path, scale_2_to_4_after_api_1_killed_s=t_scale)


def _short_pause_evictions(tmp_path: Path, bugs: str, pause_s: float) -> int:
    """Pause node-1 for ``pause_s`` (missed 1 s heartbeats, below the 4 s grace); return how
    many evictions the controller-manager made."""
    with LocalControlPlane(tmp_path, controller_managers=1, schedulers=1, nodes=2, bugs=bugs) as cp:
        _require_apps(cp)
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        assert cp.api.post(DEPLOYMENTS, json=deployment("web", 4)).status_code == 201
        _wait_running(cp, "web", 4)
        assert any(p["spec"]["nodeName"] == "node-1" for p in cp.running_pods("web"))
        cp.pause("node-1")
        time.sleep(pause_s)
        cp.resume("node-1")
        time.sleep(1.0)
        return int((cp.status("controller-manager-1") or {})["evictions"])


def test_a_heartbeat_gap_below_the_grace_changes_nothing(tmp_path: Path) -> None:
    assert _short_pause_evictions(tmp_path, "", pause_s=2.0) == 0


def test_bug_eviction_before_grace_evicts_on_a_short_gap(tmp_path: Path) -> None:
    # 3 s: still below the grace, and a wide window above the bug's 1.5 s threshold
    assert _short_pause_evictions(tmp_path, "eviction-before-grace", pause_s=3.0) >= 1


def test_unschedulable_pods_get_the_condition_and_are_retried(tmp_path: Path) -> None:
    """A nodeSelector no node matches → PodScheduled=False/Unschedulable via pods/status; once
    a node is labelled to match, the retried pods are bound there and run."""
    with LocalControlPlane(tmp_path, controller_managers=1, schedulers=1, nodes=2) as cp:
        _require_apps(cp)
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        body = deployment("web", 2)
        body["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "b"}
        assert cp.api.post(DEPLOYMENTS, json=body).status_code == 201

        def unschedulable() -> bool:
            pods = cp.pods("web")
            conds = [
                c
                for p in pods
                for c in p.get("status", {}).get("conditions", [])
                if c["type"] == "PodScheduled"
            ]
            return (
                len(pods) == 2
                and len(conds) == 2
                and all(c["status"] == "False" and c["reason"] == "Unschedulable" for c in conds)
                and all(not p["spec"].get("nodeName") for p in pods)
            )

        cp.wait_for(unschedulable, timeout_s=30, what="2 pods PodScheduled=False Unschedulable")

        def failed_scheduling() -> list[dict[str, Any]]:  # as kube-scheduler writes them
            url = "/apis/events.k8s.io/v1/namespaces/default/events"
            items = cp.get(f"{url}?fieldSelector=reason%3DFailedScheduling")["items"]
            return list(items)

        pod_names = {p["metadata"]["name"] for p in cp.pods("web")}
        cp.wait_for(
            lambda: {e["regarding"]["name"] for e in failed_scheduling()} == pod_names,
            timeout_s=15,
            what="a FailedScheduling event per pod",
        )
        assert all(
            e["type"] == "Warning" and e["action"] == "Scheduling" for e in failed_scheduling()
        )
        for _ in range(10):
            node = cp.get("/api/v1/nodes/node-2")
            node["metadata"].setdefault("labels", {})["zone"] = "b"
            if cp.api.put("/api/v1/nodes/node-2", json=node).status_code == 200:
                break
        _wait_running(cp, "web", 2)
        assert {p["spec"]["nodeName"] for p in cp.running_pods("web")} == {"node-2"}

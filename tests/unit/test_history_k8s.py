"""The controller-layer records of C4: trimming, k8s-event values, component samples, timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.history import JsonlWriter, Op, OpType
from harness.history.k8s import (
    ComponentSample,
    ControlplaneTimings,
    K8sEvent,
    K8sResource,
    WatchEventType,
    components_path,
    event_key,
    read_components,
    trim_object,
)

POD = {
    "metadata": {
        "name": "web-1",
        "namespace": "default",
        "uid": "u1",
        "resourceVersion": "42",
        "labels": {"app": "web", "pod-template-hash": "abc"},
        "annotations": {"chaosplane.io/writer": "scheduler-1_ff", "kubectl.io/noise": "x" * 100},
        "ownerReferences": [
            {
                "kind": "ReplicaSet",
                "name": "web-abc",
                "uid": "r1",
                "controller": True,
                "apiVersion": "apps/v1",
                "blockOwnerDeletion": True,
            }
        ],
        "managedFields": [{"manager": "kubectl"}],
        "creationTimestamp": "2026-12-03T00:00:00Z",
        "deletionTimestamp": "2026-12-03T00:01:00Z",
    },
    "spec": {
        "nodeName": "node-2",
        "containers": [
            {
                "name": "c",
                "image": "x",
                "resources": {"requests": {"cpu": "100m"}},
                "env": [{"name": "A", "value": "1"}],
            }
        ],
        "tolerations": [{"key": "k"}],
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.1",
        "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}],
    },
}


def test_trim_keeps_what_checkers_read_and_drops_the_rest() -> None:
    t = trim_object(K8sResource.PODS, POD)
    assert t["metadata"] == {
        "name": "web-1",
        "namespace": "default",
        "uid": "u1",
        "resourceVersion": "42",
        "labels": {"app": "web", "pod-template-hash": "abc"},
        "annotations": {"chaosplane.io/writer": "scheduler-1_ff"},
        "ownerReferences": [
            {"kind": "ReplicaSet", "name": "web-abc", "uid": "r1", "controller": True}
        ],
        "deletionTimestamp": "2026-12-03T00:01:00Z",
    }
    assert t["spec"] == {
        "nodeName": "node-2",
        "containers": [{"name": "c", "image": "x", "requests": {"cpu": "100m"}}],
    }
    assert t["status"] == {
        "phase": "Running",
        "reason": None,
        "conditions": [{"type": "Ready", "status": "True"}],
    }


def test_trim_of_each_resource_keeps_its_fields() -> None:
    dep = {
        "metadata": {"name": "d", "generation": 3},
        "spec": {
            "replicas": 4,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}},
        },
        "status": {"readyReplicas": 2, "observedGeneration": 3, "conditions": ["dropped"]},
    }
    t = trim_object("deployments", dep)
    assert t["spec"]["replicas"] == 4 and t["spec"]["strategy"]["maxSurge"] == "25%"
    assert t["status"] == {"readyReplicas": 2, "observedGeneration": 3}
    assert t["metadata"]["generation"] == 3
    lease = {
        "metadata": {"name": "l"},
        "spec": {"holderIdentity": "a", "leaseTransitions": 2, "x": 1},
    }
    assert trim_object("leases", lease)["spec"]["leaseTransitions"] == 2
    assert "x" not in trim_object("leases", lease)["spec"]
    node = {
        "metadata": {"name": "n"},
        "spec": {"taints": [{"key": "k", "effect": "NoExecute", "value": "v"}]},
        "status": {"allocatable": {"cpu": "2"}, "images": ["big"]},
    }
    tn = trim_object("nodes", node)
    assert tn["spec"]["taints"] == [{"key": "k", "effect": "NoExecute"}]
    assert tn["status"]["allocatable"] == {"cpu": "2"} and "images" not in tn["status"]
    with pytest.raises(ValueError):
        trim_object("configmaps", {})


def test_k8s_event_round_trips_through_an_op(tmp_path: Path) -> None:
    ev = K8sEvent(
        event=WatchEventType.RELIST,
        resource=K8sResource.PODS,
        rv=9,
        keys=("pods/default/a",),
        gap=True,
    )
    op = Op(
        index=0,
        time=1,
        process=7,
        type=OpType.OK,
        f="k8s-event",
        key=event_key("pods", None, None),
        value=ev.to_json(),
    )
    assert op.key == "pods/-/-"
    assert K8sEvent.from_op(Op.from_json(op.to_json())) == ev
    assert K8sEvent.from_op(Op(index=1, time=1, process=1, type=OpType.OK, f="read")) is None


def test_component_samples_round_trip_through_components_jsonl(tmp_path: Path) -> None:
    body = {
        "name": "node-1",
        "identity": None,
        "leader": False,
        "lease_transitions": None,
        "timings": {"NODE_LEASE_DURATION_S": 4},
        "bugs": ["lease-clock"],
        "node_ready": True,
        "pods": [{"namespace": "default", "name": "a", "uid": "u", "phase": "Running"}],
    }
    s = ComponentSample.from_status(time=5, member="node-1", body=body)
    with JsonlWriter(components_path(tmp_path)) as w:
        w.write(s)
        w.write(ComponentSample(time=6, member="node-1", reachable=False))
    back = list(read_components(components_path(tmp_path)))
    assert (
        back[0] == s and back[0].pods[0]["phase"] == "Running" and back[0].bugs == ("lease-clock",)
    )
    assert not back[1].reachable


def test_timings_read_lower_or_env_case_and_name_their_defaults() -> None:
    t = ControlplaneTimings.from_json({"LE_LEASE_DURATION_S": 8, "node_monitor_grace_s": "5"})
    assert t.le_lease_duration_s == 8.0 and t.node_monitor_grace_s == 5.0
    assert "le_renew_deadline_s" in t.defaulted and "le_lease_duration_s" not in t.defaulted
    assert ControlplaneTimings.from_json(None).pod_eviction_timeout_s == 6.0
    with pytest.raises(ValueError, match=r"controlplane_timings\.le_retry_period_s"):
        ControlplaneTimings.from_json({"le_retry_period_s": "soon"})


def test_timings_from_the_components_status_keys() -> None:
    kcm = ComponentSample(
        time=1,
        member="controller-manager-1",
        reachable=True,
        timings={"lease_duration_s": 6, "node_grace_s": 5, "node_eviction_timeout_s": 9},
    )
    kubelet = ComponentSample(
        time=2, member="node-1", reachable=True, timings={"node_renew_interval_s": 0.5}
    )
    t = ControlplaneTimings.from_components([kcm, kubelet])
    assert (t.le_lease_duration_s, t.node_monitor_grace_s) == (6.0, 5.0)
    assert (t.pod_eviction_timeout_s, t.node_renew_interval_s) == (9.0, 0.5)
    assert "le_retry_period_s" in t.defaulted

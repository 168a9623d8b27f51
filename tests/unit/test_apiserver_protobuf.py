"""Protobuf bodies: kubectl's captured requests, round trips per kind, errors, and over HTTP.

The captured bodies in ``data/kubectl`` were recorded from kubectl 1.32 by
``data/kubectl/capture.py`` (rerun it to regenerate them).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_apiserver_support import apiserver, real_store

from controlplane.apiserver.protobuf import MAGIC, PROTOBUF, EncodeError, decode, encode
from controlplane.apiserver.protobuf.k8s import core_pb2, runtime_pb2
from controlplane.apiserver.protobuf.kinds import MESSAGES
from controlplane.apiserver.status import ApiError, Reason

DATA = Path(__file__).parent / "data" / "kubectl"


@dataclass(frozen=True, slots=True, kw_only=True)
class Res:
    """A resource-table entry as the codec sees it (contract C2a)."""

    kind: str
    api_version: str


CONFIGMAPS = Res(kind="ConfigMap", api_version="v1")

META = {
    "name": "web",
    "namespace": "default",
    "uid": "0b0c6f55-3f1d-4a52-9d8e-6c3f8f4f2a11",
    "resourceVersion": "42",
    "generation": 3,
    "creationTimestamp": "2024-05-06T07:08:09Z",
    "labels": {"app": "web"},
    "annotations": {"chaosplane.io/writer": "controller-manager-1_ab12"},
    "ownerReferences": [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web-5d4f",
            "uid": "11111111-2222-3333-4444-555555555555",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ],
    "finalizers": ["kubernetes"],
}
POD_SPEC = {
    "containers": [
        {
            "name": "c",
            "image": "nginx:1.27",
            "command": ["nginx"],
            "args": ["-g", "daemon off;"],
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "env": [
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "b"}}},
            ],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1"}},
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 80}},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True}],
            "imagePullPolicy": "IfNotPresent",
        }
    ],
    "volumes": [
        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
    ],
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 0,
    "nodeName": "node-1",
    "schedulerName": "default-scheduler",
    "tolerations": [
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 6,
        }
    ],
}
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
}
CONDITION = {
    "type": "Ready",
    "status": "True",
    "lastTransitionTime": "2024-05-06T07:08:10Z",
    "reason": "KubeletReady",
    "message": "ok",
}

OBJECTS: dict[str, dict[str, Any]] = {
    "Namespace": {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"x": "y"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    "ConfigMap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": META,
        "data": {"a": "b", "empty": ""},
        "binaryData": {"bin": "AAEC/w=="},
        "immutable": False,
    },
    "Secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": META,
        "data": {"password": "aHVudGVyMg=="},
        "type": "Opaque",
    },
    "Pod": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            **META,
            "deletionTimestamp": "2024-05-06T08:00:00Z",
            "deletionGracePeriodSeconds": 0,
        },
        "spec": POD_SPEC,
        "status": {
            "phase": "Running",
            "conditions": [CONDITION],
            "hostIP": "10.0.0.1",
            "podIP": "10.1.0.5",
            "podIPs": [{"ip": "10.1.0.5"}],
            "startTime": "2024-05-06T07:08:09Z",
            "containerStatuses": [
                {
                    "name": "c",
                    "ready": False,
                    "restartCount": 0,
                    "image": "nginx:1.27",
                    "imageID": "",
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
            ],
        },
    },
    "Node": {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {
            "podCIDR": "10.1.0.0/24",
            "unschedulable": True,
            "taints": [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "effect": "NoExecute",
                    "timeAdded": "2024-05-06T07:08:11Z",
                }
            ],
        },
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "1900m"},
            "conditions": [{**CONDITION, "lastHeartbeatTime": "2024-05-06T07:08:12Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"kubeletVersion": "v1.32.0", "operatingSystem": "linux"},
        },
    },
    "Binding": {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web", "annotations": {"chaosplane.io/writer-transitions": "2"}},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
    },
    "Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": META,
        "spec": {
            "replicas": 0,
            "selector": SELECTOR,
            "template": TEMPLATE,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "revisionHistoryLimit": 10,
        },
        "status": {
            "observedGeneration": 3,
            "replicas": 2,
            "readyReplicas": 1,
            "conditions": [{**CONDITION, "type": "Available"}],
        },
    },
    "ReplicaSet": {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": META,
        "spec": {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE},
        "status": {"replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 3},
    },
    "Scale": {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 5},
        "status": {"replicas": 3, "selector": "app=web"},
    },
    "Lease": {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "scheduler-1_0f3a",
            "leaseDurationSeconds": 4,
            "acquireTime": "2024-05-06T07:08:09.123456Z",
            "renewTime": "2024-05-06T07:08:13.000001Z",
            "leaseTransitions": 0,
        },
    },
    "Eviction": {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "web", "namespace": "default"},
        "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "u-1"}},
    },
    "Event": {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {**META, "name": "web.17c8e2a1b4f5"},
        "involvedObject": {
            "kind": "Pod",
            "namespace": "default",
            "name": "web",
            "uid": META["uid"],
            "apiVersion": "v1",
            "resourceVersion": "41",
            "fieldPath": "spec.containers{c}",
        },
        "reason": "Scheduled",
        "message": "Successfully assigned default/web to node-1",
        "source": {"component": "default-scheduler", "host": "scheduler-1"},
        "firstTimestamp": "2024-05-06T07:08:09Z",
        "lastTimestamp": "2024-05-06T07:08:11Z",
        "count": 3,
        "type": "Normal",
        "eventTime": "2024-05-06T07:08:09.123456Z",
        "series": {"count": 2, "lastObservedTime": "2024-05-06T07:08:11.654321Z"},
        "action": "Binding",
        "related": {"kind": "Node", "name": "node-1"},
        "reportingComponent": "default-scheduler",
        "reportingInstance": "scheduler-1_ab12cd34",
    },
    # events.k8s.io/v1's Event: the same kind name in another group
    "EventsV1Event": {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {**META, "name": "web.17c8e2a1b4f6"},
        "eventTime": "2024-05-06T07:08:09.123456Z",
        "series": {"count": 2, "lastObservedTime": "2024-05-06T07:08:11.654321Z"},
        "reportingController": "default-scheduler",
        "reportingInstance": "scheduler-1_ab12cd34",
        "action": "Scheduling",
        "reason": "FailedScheduling",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web", "uid": META["uid"]},
        "related": {"kind": "Node", "name": "node-2"},
        "note": "0/3 nodes are available",
        "type": "Warning",
        "deprecatedSource": {"component": "default-scheduler"},
        "deprecatedFirstTimestamp": "2024-05-06T07:08:09Z",
        "deprecatedLastTimestamp": "2024-05-06T07:08:10Z",
        "deprecatedCount": 2,
    },
    "DeleteOptions": {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 30,
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    },
}


def res_of(obj: dict[str, Any]) -> Res:
    return Res(kind=obj["kind"], api_version=obj["apiVersion"])


@pytest.mark.parametrize("kind", sorted(OBJECTS))
def test_every_kind_round_trips_to_the_same_json(kind: str) -> None:
    obj = OBJECTS[kind]
    body = encode(obj)
    assert body.startswith(MAGIC)
    assert decode(body, res_of(obj)) == obj


def test_every_served_message_has_a_round_trip_case() -> None:
    assert {(v, k) for v, k in MESSAGES if k != "DeleteOptions"} == {
        (o["apiVersion"], o["kind"]) for o in OBJECTS.values() if o["kind"] != "DeleteOptions"
    }


CAPTURED = {
    "configmap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {"a": "b"},
    },
    "secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "aHVudGVyMg=="},  # base64 of "hunter2", as JSON carries bytes
    },
    "namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "captured"}},
    "deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"app": "d"}},
        "spec": {
            "replicas": 0,  # a pointer set to zero: kept, unlike Go's unset zeros
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    },
}


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_kubectl_bodies_decode_to_what_its_json_would_say(name: str) -> None:
    meta = json.loads((DATA / f"{name}.json").read_text())
    assert meta["content_type"] == PROTOBUF
    expected = CAPTURED[name]
    assert decode((DATA / f"{name}.bin").read_bytes(), res_of(expected)) == expected


def test_kubectl_bodies_carry_empty_go_fields_that_decoding_drops() -> None:
    """The capture is real gogo output: zero-valued fields are on the wire (proves the test
    above exercises omitempty, not an already-minimal body)."""
    raw = (DATA / "configmap.bin").read_bytes()
    envelope = runtime_pb2.Unknown.FromString(raw[len(MAGIC) :])
    cm = core_pb2.ConfigMap.FromString(envelope.raw)
    assert cm.metadata.HasField("generateName") and cm.metadata.generateName == ""
    assert cm.metadata.HasField("creationTimestamp")


def _envelope(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    env = runtime_pb2.Unknown(raw=raw, contentEncoding=encoding)
    env.typeMeta.apiVersion, env.typeMeta.kind = api_version, kind
    return MAGIC + env.SerializeToString()


def _raises(body: bytes, reason: Reason, *fragments: str) -> None:
    with pytest.raises(ApiError) as err:
        decode(body, CONFIGMAPS)
    assert err.value.reason == reason, err.value.message
    for fragment in fragments:
        assert fragment in err.value.message


def test_json_sent_as_protobuf_is_400_naming_the_magic() -> None:
    _raises(b'{"kind": "ConfigMap"}', Reason.BAD_REQUEST, "k8s\\x00 magic")


def test_truncated_envelope_is_400() -> None:
    good = encode(OBJECTS["ConfigMap"])
    _raises(good[:-7], Reason.BAD_REQUEST, "protobuf")


def test_garbage_raw_is_400_naming_the_kind() -> None:
    _raises(_envelope("v1", "ConfigMap", b"\xff\xff\xff"), Reason.BAD_REQUEST, "v1 ConfigMap")


def test_a_field_outside_the_subset_is_400_named_by_path_not_dropped() -> None:
    spec = core_pb2.PodSpec()
    spec.containers.add(name="c")
    raw_spec = spec.SerializeToString() + b"\x92\x01\x00"  # affinity (18), not in the subset
    raw_pod = b"\x12" + bytes([len(raw_spec)]) + raw_spec  # Pod.spec = 2
    with pytest.raises(ApiError) as err:
        decode(_envelope("v1", "Pod", raw_pod), Res(kind="Pod", api_version="v1"))
    assert "field 18 at Pod.spec (k8s.io.api.core.v1.PodSpec)" in err.value.message


def test_a_kind_without_a_message_is_415() -> None:
    _raises(
        _envelope("v1", "Service", b""),
        Reason.UNSUPPORTED_MEDIA_TYPE,
        "v1 Service",
        "application/json",
    )


def test_an_encoded_raw_is_415() -> None:
    _raises(
        _envelope("v1", "ConfigMap", b"", encoding="gzip"), Reason.UNSUPPORTED_MEDIA_TYPE, "gzip"
    )


def test_an_empty_type_meta_takes_the_endpoints_kind() -> None:
    cm = core_pb2.ConfigMap()
    cm.metadata.name = "x"
    obj = decode(_envelope("", "", cm.SerializeToString()), CONFIGMAPS)
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def test_encode_refuses_fields_and_kinds_it_cannot_write() -> None:
    with pytest.raises(EncodeError, match=r"spec\.affinity"):
        encode({"apiVersion": "v1", "kind": "Pod", "spec": {"affinity": {}}})
    with pytest.raises(EncodeError, match="Service"):
        encode({"apiVersion": "v1", "kind": "Service"})
    with pytest.raises(EncodeError, match=r"data\.k"):
        encode({"apiVersion": "v1", "kind": "Secret", "data": {"k": "not base64!"}})


def test_kubectl_configmap_body_creates_the_object_over_http(tmp_path: Path) -> None:
    """The captured request, replayed against a real apiserver: 201 and the stored object."""

    async def scenario() -> tuple[int, dict[str, Any], int]:
        async with real_store(tmp_path) as store_url, apiserver(store_url) as api:
            created = await api.post(
                "/api/v1/namespaces/default/configmaps",
                content=(DATA / "configmap.bin").read_bytes(),
                headers={"Content-Type": PROTOBUF},
            )
            got = await api.get("/api/v1/namespaces/default/configmaps/x")
            bad = await api.post(
                "/api/v1/namespaces/default/configmaps",
                content=b"k8s\x00\xff",
                headers={"Content-Type": PROTOBUF},
            )
            return created.status_code, got.json(), bad.status_code

    code, obj, bad = asyncio.run(scenario())
    assert code == 201
    assert obj["data"] == {"a": "b"} and obj["metadata"]["name"] == "x"
    assert bad == 400

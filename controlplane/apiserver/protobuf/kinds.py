"""Which protobuf message carries which kind: (apiVersion, kind) -> generated message class.

In a nutshell: the kinds chaosplane serves (Event in both its groups, and the bodies of their
subresources: Binding, Eviction, Scale, DeleteOptions) mapped to the classes generated from
``k8s/*.proto``.

    message_for("v1", "ConfigMap")       # core_pb2.ConfigMap
    message_for("v1", "Service")         # None: not served, the caller answers 415
"""

from __future__ import annotations

from google.protobuf.message import Message

from controlplane.apiserver.protobuf.k8s import (
    apps_pb2,
    autoscaling_pb2,
    coordination_pb2,
    core_pb2,
    events_pb2,
    meta_pb2,
    policy_pb2,
)

MESSAGES: dict[tuple[str, str], type[Message]] = {
    ("v1", "Namespace"): core_pb2.Namespace,
    ("v1", "Pod"): core_pb2.Pod,
    ("v1", "ConfigMap"): core_pb2.ConfigMap,
    ("v1", "Secret"): core_pb2.Secret,
    ("v1", "Node"): core_pb2.Node,
    ("v1", "Binding"): core_pb2.Binding,
    ("v1", "Event"): core_pb2.Event,
    ("events.k8s.io/v1", "Event"): events_pb2.Event,
    ("apps/v1", "Deployment"): apps_pb2.Deployment,
    ("apps/v1", "ReplicaSet"): apps_pb2.ReplicaSet,
    ("autoscaling/v1", "Scale"): autoscaling_pb2.Scale,
    ("coordination.k8s.io/v1", "Lease"): coordination_pb2.Lease,
    ("policy/v1", "Eviction"): policy_pb2.Eviction,
    # DeleteOptions is sent under the group of the resource being deleted (or meta.k8s.io/v1).
    ("v1", "DeleteOptions"): meta_pb2.DeleteOptions,
    ("meta.k8s.io/v1", "DeleteOptions"): meta_pb2.DeleteOptions,
    ("apps/v1", "DeleteOptions"): meta_pb2.DeleteOptions,
    ("coordination.k8s.io/v1", "DeleteOptions"): meta_pb2.DeleteOptions,
    ("policy/v1", "DeleteOptions"): meta_pb2.DeleteOptions,
    ("events.k8s.io/v1", "DeleteOptions"): meta_pb2.DeleteOptions,
}


def message_for(api_version: str, kind: str) -> type[Message] | None:
    return MESSAGES.get((api_version, kind))

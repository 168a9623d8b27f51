"""The cluster in containers: the only package that touches Docker and testcontainers.

In a nutshell: ``start_cluster(ClusterSpec(...))`` gives a ready ``DockerCluster`` (a
``ClusterHandle``): a fresh labelled network with its own /24, a link proxy, the store members
and the apiservers, Toxiproxy links between them, a leader elected; everything is removed on
the way out and crashed runs' leftovers are reaped at the next start. With
``controller_managers``/``schedulers``/``nodes`` the controller layer runs too (C5:
components.py, controllers.py; kubeview.py answers "which pods run where").
``StatusProbe`` samples the members' ``/status`` into ``status.jsonl``.

    with start_cluster(ClusterSpec(store_members=3, apiservers=2)) as cluster:
        leader = cluster.wait_leader_elected(10.0)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.cluster.cluster import DockerCluster, start_cluster
    from harness.cluster.node import ContainerNode
    from harness.cluster.probe import StatusProbe
    from harness.model.cluster import (
        ClusterHandle,
        ClusterInfo,
        ClusterSpec,
        ControlPlaneTimings,
        Link,
        Node,
        Role,
    )

# Lazy (PEP 562): importing the package, or its pure ``model``, must not import docker or
# testcontainers (the pytest plugin imports it in every session); ``cluster.py`` prepares
# testcontainers' environment (``tcenv``) when it is first imported.
_HOMES = {
    "DockerCluster": "cluster",
    "start_cluster": "cluster",
    "ClusterHandle": "model",
    "ClusterInfo": "model",
    "ClusterSpec": "model",
    "ControlPlaneTimings": "model",
    "Link": "model",
    "Node": "model",
    "Role": "model",
    "ContainerNode": "node",
    "StatusProbe": "probe",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'harness.cluster' has no attribute {name!r}")
    return getattr(importlib.import_module(f"harness.cluster.{_HOMES[name]}"), name)


__all__ = [
    "ClusterHandle",
    "ClusterInfo",
    "ClusterSpec",
    "ContainerNode",
    "ControlPlaneTimings",
    "DockerCluster",
    "Link",
    "Node",
    "Role",
    "StatusProbe",
    "start_cluster",
]

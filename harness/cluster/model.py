"""Kept importable: the cluster description types now live in ``harness.model.cluster``.

In a nutshell: a thin re-export, so code written against ``harness.cluster.model`` keeps
working; new code imports ``harness.model.cluster`` (the bottom layer every package may use,
ARCHITECTURE.md's table).

    from harness.model.cluster import ClusterInfo, Role
"""

from harness.model.cluster import (
    COMPONENT_ROLES,
    ClusterHandle,
    ClusterInfo,
    ClusterSpec,
    ControlPlaneTimings,
    Link,
    Node,
    Role,
    StartHook,
)

__all__ = [
    "COMPONENT_ROLES",
    "ClusterHandle",
    "ClusterInfo",
    "ClusterSpec",
    "ControlPlaneTimings",
    "Link",
    "Node",
    "Role",
    "StartHook",
]

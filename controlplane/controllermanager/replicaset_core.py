"""The ReplicaSet controller's decisions as pure functions (``pkg/controller/replicaset``).

In a nutshell: :func:`plan_replicas` says how many pods to create or which to delete to bring
the active pods an RS controls to ``spec.replicas`` (client-go's ``manageReplicas``, capped by
BurstReplicas); :func:`deletion_order` ranks victims as ``ActivePodsWithRanks`` does (unbound
before bound, Pending before Running, not ready before ready, newer before older);
:func:`rs_status` computes the status; :func:`pod_from_template` the pod to create.

    plan = plan_replicas(rs, active_pods)   # ReplicaPlan(create=2, delete=())
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from controlplane.kubeclient.objects import (
    Obj,
    is_ready,
    matches,
    name_of,
    owner_reference,
)

BURST_REPLICAS = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaPlan:
    create: int = 0
    delete: tuple[Obj, ...] = ()


def desired(rs: Obj) -> int:
    value = (rs.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Obj]) -> list[Obj]:
    def rank(p: Obj) -> tuple[int, int, int, str]:
        spec, status = p.get("spec") or {}, p.get("status") or {}
        bound = 1 if spec.get("nodeName") else 0
        phase = _PHASE_RANK.get(str(status.get("phase")), 0)
        ready = 1 if is_ready(p) else 0
        created = str((p.get("metadata") or {}).get("creationTimestamp") or "")
        return (bound, phase, ready, created)

    # newest first among equals: sort by creation descending, then stable by rank ascending
    by_new = sorted(
        pods,
        key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""),
        reverse=True,
    )
    return sorted(by_new, key=lambda p: rank(p)[:3])


def plan_replicas(rs: Obj, active: list[Obj], *, burst: int = BURST_REPLICAS) -> ReplicaPlan:
    diff = len(active) - desired(rs)
    if diff < 0:
        return ReplicaPlan(create=min(-diff, burst))
    if diff > 0:
        return ReplicaPlan(delete=tuple(deletion_order(active)[: min(diff, burst)]))
    return ReplicaPlan()


def slow_start_batches(count: int) -> list[int]:
    """client-go slowStartBatch sizes: 1, 2, 4, … summing to ``count``."""
    out, size, left = [], 1, count
    while left > 0:
        out.append(min(size, left))
        left -= out[-1]
        size *= 2
    return out


def rs_status(rs: Obj, active: list[Obj]) -> Obj:
    template_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get(
        "labels"
    ) or {}
    ready = sum(1 for p in active if is_ready(p))
    labeled = sum(
        1
        for p in active
        if matches({"matchLabels": template_labels}, (p.get("metadata") or {}).get("labels"))
    )
    status: Obj = {
        "replicas": len(active),
        "fullyLabeledReplicas": labeled,
        "readyReplicas": ready,
        "availableReplicas": ready,  # minReadySeconds 0: available = ready
        "observedGeneration": int((rs.get("metadata") or {}).get("generation") or 1),
    }
    return status


def status_differs(rs: Obj, status: Obj) -> bool:
    cur = rs.get("status") or {}
    return any(int(cur.get(k) or 0) != int(v) for k, v in status.items())


def pod_from_template(rs: Obj) -> Obj:
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{name_of(rs)}-",
            "labels": dict(tmeta.get("labels") or {}),
            "annotations": dict(tmeta.get("annotations") or {}),
            "ownerReferences": [owner_reference(rs, kind="ReplicaSet", api_version="apps/v1")],
        },
        "spec": template.get("spec") or {"containers": [{"name": "c", "image": "x"}]},
    }

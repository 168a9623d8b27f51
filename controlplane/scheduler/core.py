"""The scheduler's filter and score as pure functions (kube-scheduler's default plugins).

In a nutshell: :func:`choose_node` filters nodes as NodeReady, NodeUnschedulable,
TaintToleration (NoSchedule and NoExecute, so an unreachable node is out), NodeResourcesFit
(requests ≤ allocatable − requests of the pods already bound there, cpu/memory/pods) and
NodeAffinity's nodeSelector do, then scores the survivors LeastAllocated (mean free fraction
of cpu and memory after placing the pod; like kube-scheduler, a pod requesting no cpu or
memory counts as 100m / 200Mi for the score, so request-less pods spread rather than pile on
the first node); ties go to the node whose name sorts first.

    r = choose_node(pod, nodes, bound={"node-1": [pod_a]})
    r.node or r.message     # "node-2" | "0/3 nodes are available: 3 node(s) didn't ..."
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from controlplane.kubeclient.objects import (
    Obj,
    is_ready,
    name_of,
    parse_quantity,
    pod_requests,
    tolerates,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    node: str | None
    message: str = ""
    scores: tuple[tuple[str, float], ...] = ()


def allocatable(node: Obj) -> dict[str, float]:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    out: dict[str, float] = {}
    for res in ("cpu", "memory", "pods"):
        try:
            out[res] = parse_quantity(alloc.get(res, 0))
        except ValueError:
            out[res] = 0.0
    return out


def requested(pods: list[Obj]) -> dict[str, float]:
    total = {"cpu": 0.0, "memory": 0.0, "pods": 0.0}
    for p in pods:
        if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for k, v in pod_requests(p).items():
            total[k] += v
    return total


def filter_reason(pod: Obj, node: Obj, bound: list[Obj]) -> str | None:
    """Why ``pod`` cannot go to ``node`` (None: it fits). Reasons are kube-scheduler's texts."""
    spec = node.get("spec") or {}
    if not is_ready(node):
        return "node(s) were not ready"
    if spec.get("unschedulable"):
        return "node(s) were unschedulable"
    tolerations = (pod.get("spec") or {}).get("tolerations")
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return "node(s) had untolerated taint"
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in ((pod.get("spec") or {}).get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return "node(s) didn't match Pod's node affinity/selector"
    alloc, used, want = allocatable(node), requested(bound), pod_requests(pod)
    for res in ("pods", "cpu", "memory"):
        if want[res] > 0 and used[res] + want[res] > alloc[res] + 1e-9:
            return "Too many pods" if res == "pods" else f"Insufficient {res}"
    return None


# kube-scheduler's schedutil.DefaultMilliCPURequest / DefaultMemoryRequest (scoring only).
NONZERO_DEFAULTS = {"cpu": 0.1, "memory": 200.0 * 1024 * 1024}


def nonzero_requests(pods: list[Obj]) -> dict[str, float]:
    total = {"cpu": 0.0, "memory": 0.0}
    for p in pods:
        if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        want = pod_requests(p)
        for r in total:
            total[r] += want[r] or NONZERO_DEFAULTS[r]
    return total


def least_allocated(pod: Obj, node: Obj, bound: list[Obj]) -> float:
    alloc, used, want = allocatable(node), nonzero_requests(bound), nonzero_requests([pod])
    parts = [
        (alloc[r] - used[r] - want[r]) / alloc[r] * 100.0 for r in ("cpu", "memory") if alloc[r] > 0
    ]
    return sum(parts) / len(parts) if parts else 0.0


def choose_node(pod: Obj, nodes: list[Obj], bound: dict[str, list[Obj]]) -> Choice:
    reasons: Counter[str] = Counter()
    feasible: list[tuple[float, str]] = []
    for node in nodes:
        n = name_of(node)
        why = filter_reason(pod, node, bound.get(n, []))
        if why is not None:
            reasons[why] += 1
            continue
        feasible.append((least_allocated(pod, node, bound.get(n, [])), n))
    if not feasible:
        detail = ", ".join(f"{c} {r}" for r, c in sorted(reasons.items()))
        msg = f"0/{len(nodes)} nodes are available" + (f": {detail}." if detail else ".")
        return Choice(node=None, message=msg)
    feasible.sort(key=lambda s: (-s[0], s[1]))
    return Choice(node=feasible[0][1], scores=tuple((n, s) for s, n in feasible))

"""no_overcommit: the requests of a node's Running pods never exceed its allocatable.

In a nutshell: Pods and Nodes are replayed in store order; after every change the requests of
the pods in phase Running (not terminating) bound to each node are summed per resource and
compared with the node's ``status.allocatable`` as of that revision. Kubernetes' own backstop is
the kubelet's admission (PR kubernetes#24197: conflicting bindings "will always succeed and then
kubelet will just refuse to admit"), so a Running overcommit means both the scheduler and the
kubelet let it through. **Invalid** with the node, the moment, the pods and the sums. No
Running pod with requests on a node with a known allocatable: **unknown**.
"""

from __future__ import annotations

from typing import Any

from harness.checker.controllers.context import Context, context, seconds
from harness.checker.controllers.model import (
    allocatable,
    node_name,
    pod_phase,
    pod_requests,
    terminating,
)
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource, event_key

SWEPT = (K8sResource.PODS, K8sResource.NODES)
MAX_LISTED = 10


def no_overcommit(run: RunData) -> CheckResult:
    return judge(context(run))


def judge(ctx: Context) -> CheckResult:
    over: list[dict[str, Any]] = []
    flagged: set[tuple[str, str]] = set()  # (node, resource) already over: report its onset
    judged = 0
    peak: dict[str, dict[str, float]] = {}
    for v, state in ctx.objects.sweep(SWEPT):
        nodes = [node_name(v.obj)] if v.resource is K8sResource.PODS else [v.key.rsplit("/", 1)[1]]
        for node in nodes:
            if node is None:
                continue
            node_obj = state.get(event_key(K8sResource.NODES, None, node))
            room = allocatable(node_obj) if node_obj is not None else {}
            if not room:
                continue
            used: dict[str, float] = {}
            pods: list[str] = []
            for k, obj in state.items():
                if not k.startswith("pods/") or node_name(obj) != node:
                    continue
                if pod_phase(obj) != "Running" or terminating(obj):
                    continue
                reqs = pod_requests(obj)
                if reqs:
                    pods.append(k)
                for res, q in reqs.items():
                    used[res] = used.get(res, 0.0) + q
            if pods:
                judged += 1
            for res, total in used.items():
                if res not in room:
                    continue
                top = peak.setdefault(node, {})
                top[res] = max(top.get(res, 0.0), total)
                if total > room[res] + 1e-9:
                    if (node, res) not in flagged:
                        flagged.add((node, res))
                        over.append(
                            {
                                "node": node,
                                "resource": res,
                                "requested": total,
                                "allocatable": room[res],
                                "at_s": seconds(v.time),
                                "rv": v.rv,
                                "pods": sorted(pods),
                            }
                        )
                else:
                    flagged.discard((node, res))
    details: dict[str, Any] = {"states_judged": judged, "peak_requested": peak}
    if over:
        o = over[0]
        return CheckResult.invalid(
            f"{len(over)} overcommit(s); first: {o['node']} {o['resource']} requested "
            f"{o['requested']} > allocatable {o['allocatable']} at {o['at_s']} s",
            overcommits=over[:MAX_LISTED],
            **details,
        )
    if not judged:
        return CheckResult.unknown(
            "no Running pod with requests on a node with a known allocatable", **details
        )
    return CheckResult.valid(
        f"{judged} node state(s) with Running pods, none over allocatable", **details
    )

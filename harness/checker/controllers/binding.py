"""binding: each pod is bound once, to a Ready node with room for it.

In a nutshell: Pods and Nodes are replayed in store order. A pod's ``spec.nodeName`` may go
from unset to a node once and never change again (the ``pods/binding`` subresource refuses a
second binding with 409, ``pkg/registry/core/pod/storage/storage.go``). A second binding to the
same node shows as a new fencing annotation (C3: the apiserver copies the Binding's
annotations) on a pod already bound. At the revision of each binding, the node must exist, be
Ready, not be cordoned or tainted unreachable/not-ready for longer than ε (a scheduler acting
on a view a moment old is Kubernetes' normal race), and have room: the requests of the live
pods bound to it plus this pod's within its allocatable. **Invalid** on any of those; no
binding seen as it happened: **unknown**.
"""

from __future__ import annotations

from typing import Any

from harness.checker.controllers.context import Context, context, seconds
from harness.checker.controllers.model import (
    Version,
    allocatable,
    node_name,
    node_schedulable,
    pod_live,
    pod_requests,
    writer,
)
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource, event_key

SWEPT = (K8sResource.PODS, K8sResource.NODES)
MAX_LISTED = 10


def binding(run: RunData) -> CheckResult:
    return judge(context(run))


def judge(ctx: Context) -> CheckResult:
    h = ctx.objects
    bound: dict[str, Version] = {}  # pod key → the version that bound it
    problems: list[dict[str, Any]] = []
    bindings = 0
    for v, state in h.sweep(SWEPT):
        if v.resource is not K8sResource.PODS or v.deleted:
            if v.deleted:
                bound.pop(v.key, None)
            continue
        node = node_name(v.obj)
        first = bound.get(v.key)
        if node is None:
            if first is not None:
                problems.append(_row("unbound after binding", v, first))
            continue
        if first is None:
            bound[v.key] = v
            if v.listed:
                continue  # bound before we saw it: its binding revision is unknown
            bindings += 1
            why = _node_problem(ctx, v, node, state)
            if why:
                problems.append({**_row(why, v, None), "node": node})
            continue
        if node_name(first.obj) != node:
            problems.append(_row(f"moved from {node_name(first.obj)} to {node}", v, first))
            bound[v.key] = v
        elif writer(v.obj) != writer(first.obj) and _is_scheduler(writer(v.obj)):
            problems.append(_row(f"bound twice to {node}", v, first))
            bound[v.key] = v
    details: dict[str, Any] = {"bindings": bindings, "pods_bound": len(bound)}
    if problems:
        first_problem = problems[0]
        return CheckResult.invalid(
            f"{len(problems)} binding problem(s); first: {first_problem['pod']}: "
            f"{first_problem['problem']} at {first_problem['at_s']} s",
            problems=problems[:MAX_LISTED],
            **details,
        )
    if not bindings:
        return CheckResult.unknown("no binding seen as it happened: nothing to judge", **details)
    return CheckResult.valid(
        f"{bindings} binding(s), each once, to a Ready node with room", **details
    )


def _is_scheduler(w: tuple[str, int | None] | None) -> bool:
    return w is not None and w[0].startswith("scheduler")


def _row(problem: str, v: Version, first: Version | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "pod": v.key,
        "problem": problem,
        "at_s": seconds(v.time),
        "rv": v.rv,
        "writer": writer(v.obj),
    }
    if first is not None:
        row["first_binding"] = {
            "node": node_name(first.obj),
            "rv": first.rv,
            "at_s": seconds(first.time),
            "writer": writer(first.obj),
        }
    return row


def _node_problem(ctx: Context, pod: Version, node: str, state: dict[str, Any]) -> str:
    key = event_key(K8sResource.NODES, None, node)
    as_of = ctx.objects.at(key, pod.rv)
    if as_of is None or as_of.deleted:
        return f"bound to {node}, which did not exist"
    if not node_schedulable(as_of.obj):
        # The scheduler's view may be ε old: only a node unschedulable for longer counts.
        earlier = ctx.objects.at(key, _rv_before(ctx, key, pod.time - ctx.slack_ns))
        if earlier is None or not node_schedulable(earlier.obj):
            return f"bound to {node}, which was not Ready/schedulable (rv {as_of.rv})"
    room = allocatable(as_of.obj)
    used: dict[str, float] = {}
    for k, obj in state.items():
        if k == pod.key or not k.startswith("pods/") or node_name(obj) != node:
            continue
        if pod_live(obj):
            for res, q in pod_requests(obj).items():
                used[res] = used.get(res, 0.0) + q
    for res, q in pod_requests(pod.obj).items():
        if res in room and used.get(res, 0.0) + q > room[res] + 1e-9:
            return (
                f"bound to {node} without room: {res} {used.get(res, 0.0)} used + {q} > "
                f"allocatable {room[res]}"
            )
    return ""


def _rv_before(ctx: Context, key: str, time: int) -> int:
    """The revision of the node's last version seen at or before ``time`` (0 if none)."""
    rvs = [v.rv for v in ctx.objects.chain(key) if v.time <= time]
    return max(rvs, default=0)

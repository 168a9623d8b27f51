"""no_overshoot: an owner never has more than replicas + maxSurge non-terminated pods.

In a nutshell: Deployments, ReplicaSets and Pods are replayed in store order; at each pod
creation the live (non-terminating, unfinished) pods of its ReplicaSet are counted against the
ReplicaSet's ``spec.replicas``, and those of its Deployment (all its ReplicaSets) against the
Deployment's ``spec.replicas + maxSurge``. A scale-down leaves pods above the new count until
they are deleted, so only a *creation* can overshoot; and a controller may act on a spec a
moment old, so the limit is the highest one seen within ε before the creation. The result
names each owner's peak and when it happened. **Invalid**: a creation above the limit (the
ReplicaSet controller without expectations creating on a stale cache). No pod creation seen
as it happened: **unknown**.
"""

from __future__ import annotations

from typing import Any

from harness.checker.controllers.context import Context, context, seconds
from harness.checker.controllers.model import controller_uid, replicas
from harness.checker.controllers.owners import Owners, max_surge
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource

SWEPT = (K8sResource.DEPLOYMENTS, K8sResource.REPLICASETS, K8sResource.PODS)
MAX_LISTED = 10


def no_overshoot(run: RunData) -> CheckResult:
    return judge(context(run))


def judge(ctx: Context) -> CheckResult:
    limits: dict[str, list[tuple[int, int]]] = {}  # owner → (time, limit) history
    known: set[str] = set()
    peaks: dict[str, dict[str, Any]] = {}
    over: list[dict[str, Any]] = []
    creations = 0
    for v, state in ctx.objects.sweep(SWEPT):
        if v.deleted:
            if v.resource is K8sResource.PODS:
                known.discard(v.key)
            continue
        if v.resource is K8sResource.DEPLOYMENTS:
            limits.setdefault(v.key, []).append((v.time, replicas(v.obj) + max_surge(v.obj)))
            continue
        if v.resource is K8sResource.REPLICASETS:
            limits.setdefault(v.key, []).append((v.time, replicas(v.obj)))
            continue
        if v.key in known:
            continue
        known.add(v.key)
        if v.listed or controller_uid(v.obj) is None:
            continue  # seen only in a list (its creation time is unknown), or a bare pod
        creations += 1
        owners = Owners.of(state)
        rs = owners.by_uid.get(controller_uid(v.obj) or "")
        if rs is None:
            continue
        for owner in (rs, owners.deployment_of(rs)):
            if owner is None or owner not in state:
                continue
            live = owners.live_pods(owner)
            limit = _limit(limits.get(owner, []), v.time, ctx.slack_ns)
            peak = peaks.get(owner)
            if peak is None or len(live) > peak["pods"]:
                peaks[owner] = {
                    "pods": len(live),
                    "limit": limit,
                    "at_s": seconds(v.time),
                    "rv": v.rv,
                }
            if limit is not None and len(live) > limit:
                over.append(
                    {
                        "owner": owner,
                        "pods": len(live),
                        "limit": limit,
                        "at_s": seconds(v.time),
                        "rv": v.rv,
                        "created": v.key,
                        "live_pods": live,
                    }
                )
    details: dict[str, Any] = {"creations": creations, "peaks": peaks}
    if over:
        worst = max(over, key=lambda o: o["pods"] - o["limit"])
        return CheckResult.invalid(
            f"{len(over)} pod creation(s) above the owner's limit; worst: {worst['owner']} had "
            f"{worst['pods']} live pods (limit {worst['limit']}) at {worst['at_s']} s",
            overshoots=over[:MAX_LISTED],
            **details,
        )
    if not creations:
        return CheckResult.unknown(
            "no controller-made pod creation seen as it happened: nothing to judge", **details
        )
    return CheckResult.valid(
        f"{creations} pod creation(s), none above replicas (+ maxSurge for a Deployment)",
        **details,
    )


def _limit(history: list[tuple[int, int]], at: int, slack_ns: int) -> int | None:
    """The highest limit in force at any moment of the ε before ``at``: the one in force at
    ``at - ε`` and every one set since."""
    if not history:
        return None
    start = at - slack_ns
    before = [lim for t, lim in history if t <= start]
    since = [lim for t, lim in history if start < t <= at]
    in_force = before[-1:] or [history[0][1]]
    return max(in_force + since)

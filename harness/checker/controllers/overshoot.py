"""no_overshoot: an owner never has more than replicas + maxSurge non-terminated pods.

In a nutshell: Deployments, ReplicaSets and Pods are replayed in store order, and the bound is
checked where each controller decides, so a slow controller is not mistaken for a wrong one:

- ReplicaSet controller: at each pod creation, the live (non-terminating, unfinished) pods of
  its ReplicaSet are at most the ReplicaSet's ``spec.replicas`` (a ReplicaSet controller
  without expectations creating on a stale cache breaks this);
- Deployment controller: whenever it changes a ReplicaSet's ``spec.replicas``, the replicas of
  all the Deployment's ReplicaSets sum to at most the Deployment's ``replicas + maxSurge``.

Together they bound the live pods of a Deployment by ``replicas + maxSurge`` up to pods the
ReplicaSets are still deleting (a scale-down is not an overshoot). A controller may act on a
spec a moment old and its write lands later still, so a limit is the highest one in force
within ``decision_lag_s`` (5 s) before the write. The
result names each owner's peak live pods and when. **Invalid** on either rule, with the
decision and the counts. No pod creation seen as it happened: **unknown**.
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
            history = limits.setdefault(v.key, [])
            # Only a scale-up is a decision to add pods: scaling an RS down while another is
            # still over (a scale-down mid-rollout) removes pods and cannot overshoot.
            grew = replicas(v.obj) > (history[-1][1] if history else 0)
            history.append((v.time, replicas(v.obj)))
            if grew and not v.listed:
                problem = _sum_over(ctx, v.key, state, limits, v.time, v.rv)
                if problem is not None:
                    over.append(problem)
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
            limit = _limit(limits.get(owner, []), v.time, ctx.lag_ns)
            peak = peaks.get(owner)
            if peak is None or len(live) > peak["pods"]:
                peaks[owner] = {
                    "pods": len(live),
                    "limit": limit,
                    "at_s": seconds(v.time),
                    "rv": v.rv,
                }
            if limit is not None and len(live) > limit and owner == rs:
                over.append(
                    {
                        "owner": owner,
                        "rule": "pods-over-replicaset",
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
        what = "live pods" if worst["rule"] == "pods-over-replicaset" else "replicas over its RSs"
        return CheckResult.invalid(
            f"{len(over)} overshoot(s); worst: {worst['owner']} had {worst['pods']} {what} "
            f"(limit {worst['limit']}) at {worst['at_s']} s",
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


def _sum_over(
    ctx: Context,
    rs_key: str,
    state: dict[str, Any],
    limits: dict[str, list[tuple[int, int]]],
    at: int,
    rv: int,
) -> dict[str, Any] | None:
    """The Deployment controller's decision: after it set an RS's replicas, the replicas of
    all the Deployment's RSs may sum to at most replicas + maxSurge (as of the last ε)."""
    owners = Owners.of(state)
    dep = owners.deployment_of(rs_key)
    if dep is None or dep not in state:
        return None
    rs_keys = owners.rs_of.get(str(state[dep].get("metadata", {}).get("uid")), [])
    total = sum(replicas(state[k]) for k in rs_keys)
    limit = _limit(limits.get(dep, []), at, ctx.lag_ns)
    if limit is None or total <= limit:
        return None
    return {
        "owner": dep,
        "rule": "replicasets-over-deployment",
        "pods": total,
        "limit": limit,
        "at_s": seconds(at),
        "rv": rv,
        "scaled": rs_key,
        "replicasets": {k: replicas(state[k]) for k in sorted(rs_keys)},
    }


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

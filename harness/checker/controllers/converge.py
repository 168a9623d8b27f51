"""replicas_converge: after the last heal every owner reaches exactly spec.replicas, within T.

In a nutshell: the Deployments, ReplicaSets, Pods and Nodes are replayed in store order. An
owner is converged when it has exactly ``spec.replicas`` non-terminated pods and that many are
Running and Ready on a Ready node (for a Deployment: pods of the ReplicaSets whose template is
the Deployment's current one). Each owner alive at the end is judged from its reference time —
the last heal (faults.jsonl), or its last spec change if later — to the moment it became
converged and stayed so until the end of the history. **Invalid**: converged later than T
(``converge_within_s``, default the scenario's ``converged_within_s``), or not converged at the
end though T had passed. Not converged and T not yet passed at the end: **unknown**, as is a
run with no Deployment or ReplicaSet.
"""

from __future__ import annotations

from typing import Any

from harness.checker.controllers.context import Context, context, seconds, stalled_ns
from harness.checker.controllers.model import replicas, template_signature
from harness.checker.controllers.owners import Owners
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource

SWEPT = (K8sResource.DEPLOYMENTS, K8sResource.REPLICASETS, K8sResource.PODS, K8sResource.NODES)
MAX_LISTED = 20


def replicas_converge(run: RunData) -> CheckResult:
    return judge(context(run))


def judge(ctx: Context) -> CheckResult:
    heal = ctx.last_heal or 0
    ref: dict[str, int] = {}  # owner → when its desired state last changed (or the heal)
    since: dict[str, int | None] = {}  # owner → converged continuously since
    last: dict[str, Any] = {}
    spec_of: dict[str, tuple[int, str]] = {}
    state: dict[str, Any] = {}
    for v, state in ctx.objects.sweep(SWEPT):
        if v.resource in (K8sResource.DEPLOYMENTS, K8sResource.REPLICASETS):
            if v.deleted:
                ref.pop(v.key, None)
                since.pop(v.key, None)
                spec_of.pop(v.key, None)
                continue
            desired = (replicas(v.obj), template_signature(v.obj))
            if spec_of.get(v.key) != desired:
                spec_of[v.key] = desired
                ref[v.key] = max(heal, v.time)
        if v.time < heal:
            continue  # before the last heal nothing is judged; the state still builds up
        owners = Owners.of(state)
        for key in owners.owners():
            counts = owners.counts(key)
            last[key] = counts
            if counts.converged:
                since.setdefault(key, v.time)
                if since[key] is None:
                    since[key] = v.time
            else:
                since[key] = None
    alive = sorted(k for k in state if k.split("/", 1)[0] in ("deployments", "replicasets"))
    if not alive:
        return CheckResult.unknown("no Deployment or ReplicaSet alive at the end: nothing to judge")
    final = Owners.of(state)
    for key in alive:
        last[key] = final.counts(key)
        if key not in since:  # nothing changed after the heal: judge the state it left
            since[key] = ref.get(key, heal) if last[key].converged else None
    end = ctx.end_time
    within_ns = int(ctx.tolerances.converge_within_s * NS_PER_S)
    took: dict[str, float] = {}
    late: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for key in alive:
        start = ref.get(key, heal)
        at = since.get(key)
        counts = last[key]
        row = {
            "owner": key,
            "from_s": seconds(start),
            "replicas": counts.replicas,
            "live": counts.live,
            "ready": counts.ready,
        }
        # Time the controllers could not act (no write reached the API, or no leader of the
        # controller-manager or scheduler was acting) does not count against the limit.
        allowed = within_ns + stalled_ns(ctx, start, start + within_ns)
        if allowed > within_ns:
            row["stalled_s"] = seconds(allowed - within_ns)
        if at is not None:
            took[key] = seconds(max(at, start) - start)
            if max(at, start) - start > allowed:
                late.append({**row, "took_s": took[key]})
        elif end - start >= allowed:
            late.append({**row, "took_s": None, "ended_at_s": seconds(end)})
        else:
            pending.append({**row, "ended_at_s": seconds(end)})
    details: dict[str, Any] = {
        "within_s": ctx.tolerances.converge_within_s,
        "last_heal_s": None if ctx.last_heal is None else seconds(ctx.last_heal),
        "took_s": took,
    }
    if late:
        first = late[0]
        how = (
            f"took {first['took_s']} s"
            if first["took_s"] is not None
            else f"not converged at the end ({first['ready']}/{first['replicas']} ready, "
            f"{first['live']} live)"
        )
        return CheckResult.invalid(
            f"{len(late)} owner(s) not converged within {ctx.tolerances.converge_within_s} s; "
            f"{first['owner']} {how}",
            late=late[:MAX_LISTED],
            **details,
        )
    if pending:
        return CheckResult.unknown(
            f"{len(pending)} owner(s) not converged yet when the history ended, less than "
            f"{ctx.tolerances.converge_within_s} s after their reference time",
            pending=pending[:MAX_LISTED],
            **details,
        )
    slowest = max(took.values(), default=0.0)
    return CheckResult.valid(
        f"{len(alive)} owner(s) converged to spec.replicas, slowest in {slowest} s",
        **details,
    )

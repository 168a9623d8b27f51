"""node_failure: heartbeats, NotReady, eviction, rescheduling and a node coming back.

In a nutshell, per node (its Lease in ``kube-node-lease`` is its heartbeat; times are when the
harness saw each version; G = ``NODE_MONITOR_GRACE_S``, P = ``NODE_MONITOR_PERIOD_S``,
E = ``POD_EVICTION_TIMEOUT_S`` from run.json's ``controlplane_timings``, ε = ``slack_s``):

1. a heartbeat gap longer than G + P + ε makes the node not Ready within G + P + ε of its last
   renewal (the node lifecycle controller's grace period and monitor period);
2. a node is never marked not Ready less than G − ε after its last renewal (no flapping while
   the gaps stay below the grace);
3. a pod deleted from a not-Ready node (an eviction: not a client's delete-pod, not a
   scale-down, not an owner with surplus pods) is deleted no earlier than E − ε after the node
   became not Ready (the NoExecute taint's tolerationSeconds);
4. its owner is back to spec.replicas Running, Ready pods on Ready nodes within T
   (``reschedule_within_s``) of the eviction;
5. a node Ready again does not keep running (components.jsonl ``pods``) a pod whose object was
   deleted while it was away, later than 2 × ``NODE_RENEW_INTERVAL_S`` + ε after its return.

**Invalid** on any of those, with the node, the times and the bound. No node Lease in the
history: **unknown**. Heartbeats with no gap to judge are valid for rule 2 alone (details say
how much was judged). A watch gap on leases or nodes leaves the span it covers unjudged.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from harness.checker.controllers.context import Context, context, outage_ns, seconds
from harness.checker.controllers.leaders import attributed_writes, member_of
from harness.checker.controllers.model import (
    Version,
    controller_uid,
    node_name,
    node_ready,
    replicas,
    terminating,
)
from harness.checker.controllers.owners import Owners
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource, event_key

NODE_LEASE_NS = "kube-node-lease"
SWEPT = (K8sResource.DEPLOYMENTS, K8sResource.REPLICASETS, K8sResource.PODS, K8sResource.NODES)
MAX_LISTED = 10


def node_failure(run: RunData) -> CheckResult:
    return judge(context(run))


def _ns(seconds_: float) -> int:
    return int(seconds_ * NS_PER_S)


def judge(ctx: Context) -> CheckResult:
    h = ctx.objects
    leases = [k for k in h.keys(K8sResource.LEASES) if k.split("/")[1] == NODE_LEASE_NS]
    if not leases:
        return CheckResult.unknown("no node Lease (kube-node-lease) in the history: no heartbeats")
    t = ctx.timings
    late_bound = _ns(t.node_monitor_grace_s + t.node_monitor_period_s) + ctx.slack_ns
    early_bound = _ns(t.node_monitor_grace_s) - ctx.slack_ns
    gap_times = [g.time for g in h.gaps(K8sResource.LEASES) + h.gaps(K8sResource.NODES)]
    problems: list[dict[str, Any]] = []
    counts = {"gaps_over_grace": 0, "not_ready_changes": 0, "evictions": 0, "returns": 0}
    not_ready_since: dict[str, list[tuple[int, int | None]]] = {}  # node → [(from, to)]
    renewed = _renewals(ctx, leases)
    spans = _acting_spans(ctx)
    for lease in leases:
        node = lease.rsplit("/", 1)[1]
        renewals = renewed[node]
        changes = _ready_changes(h.chain(event_key(K8sResource.NODES, None, node)))
        not_ready_since[node] = _spans(changes)
        # rule 1: long gaps must be noticed
        for start, stop in zip(renewals, [*renewals[1:], ctx.end_time], strict=False):
            if stop - start <= late_bound or any(start < g < start + late_bound for g in gap_times):
                continue
            # The controller's clock for this node starts at the last renewal, or when a new
            # leader took over (it measures the grace from its own first observation).
            due = _due(start, late_bound, stop, node, renewed, spans, _ns(t.node_monitor_grace_s))
            if due is None:
                counts["full_disruption_gaps"] = counts.get("full_disruption_gaps", 0) + 1
                continue
            due += outage_ns(ctx, start, due)  # while the API took no write, no one could mark
            counts["gaps_over_grace"] += 1
            went = next((c for c, ready in changes if not ready and start < c), None)
            if went is None or went > due:
                problems.append(
                    {
                        "node": node,
                        "rule": "not-ready-late",
                        "last_renewal_s": seconds(start),
                        "not_ready_at_s": None if went is None else seconds(went),
                        "bound_s": seconds(late_bound),
                    }
                )
        # rule 2: never early
        for at, ready in changes:
            if ready:
                continue
            counts["not_ready_changes"] += 1
            before = [r for r in renewals if r <= at]
            # The decision may predate its write by the decision lag: early only if the node
            # heartbeated within the grace throughout that lag (no gap the controller saw).
            window = [r for r in before if r >= at - ctx.lag_ns - early_bound]
            points = [*window, at]
            widest = max((b - a for a, b in itertools.pairwise(points)), default=0)
            covered = bool(window) and window[0] <= at - ctx.lag_ns
            if before and covered and widest < early_bound:
                problems.append(
                    {
                        "node": node,
                        "rule": "not-ready-early",
                        "last_renewal_s": seconds(before[-1]),
                        "not_ready_at_s": seconds(at),
                        "grace_s": t.node_monitor_grace_s,
                    }
                )
    evictions = _evictions(ctx, not_ready_since)
    counts["evictions"] = len(evictions)
    for ev in evictions:
        if ev["after_not_ready_ns"] < _ns(t.pod_eviction_timeout_s) - ctx.slack_ns:
            problems.append(
                {
                    "node": ev["node"],
                    "rule": "evicted-before-timeout",
                    "pod": ev["pod"],
                    "not_ready_at_s": seconds(ev["not_ready_at"]),
                    "evicted_at_s": seconds(ev["at"]),
                    "eviction_timeout_s": t.pod_eviction_timeout_s,
                }
            )
    pending = _rescheduling(ctx, evictions, problems)
    counts["returns"] = _returns(ctx, not_ready_since, problems)
    details: dict[str, Any] = {
        "nodes": len(leases),
        **counts,
        "unjudged_reschedules": pending,
        "timings": {
            "grace_s": t.node_monitor_grace_s,
            "monitor_period_s": t.node_monitor_period_s,
            "eviction_timeout_s": t.pod_eviction_timeout_s,
            "slack_s": ctx.tolerances.slack_s,
        },
    }
    if problems:
        p = problems[0]
        return CheckResult.invalid(
            f"{len(problems)} node-failure violation(s); first: {p['node']} {p['rule']}",
            problems=problems[:MAX_LISTED],
            **details,
        )
    return CheckResult.valid(
        f"{len(leases)} node(s): {counts['gaps_over_grace']} heartbeat gap(s) over the grace "
        f"noticed in time, {counts['not_ready_changes']} NotReady change(s) none early, "
        f"{counts['evictions']} eviction(s) after the timeout",
        **details,
    )


def _wall_ns(text: Any) -> int | None:
    try:
        stamp = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(stamp.timestamp() * NS_PER_S)


def _renewals(ctx: Context, leases: list[str]) -> dict[str, list[int]]:
    """Each node's heartbeats on the run clock. The watchers may see a renewal seconds late on
    a loaded machine, so each is timed by the kubelet's own ``renewTime`` mapped onto the run
    clock (offset: the smallest observed-minus-written over all heartbeats, i.e. the fastest
    delivery), never later than it was observed."""
    versions = [v for lease in leases for v in ctx.objects.chain(lease) if not v.deleted]
    written = {id(v): _wall_ns((v.obj.get("spec") or {}).get("renewTime")) for v in versions}
    deltas = [v.time - w for v in versions if (w := written[id(v)]) is not None]
    offset = min(deltas) if deltas else None
    out: dict[str, list[int]] = {}
    for lease in leases:
        times = []
        for v in ctx.objects.chain(lease):
            if v.deleted:
                continue
            w = written[id(v)]
            times.append(v.time if w is None or offset is None else min(v.time, w + offset))
        out[lease.rsplit("/", 1)[1]] = sorted(times)
    return out


def _acting_spans(ctx: Context) -> list[tuple[int, int]]:
    """When a node lifecycle controller was acting: the spans in which a controller-manager's
    ``/status`` said it led (components.jsonl), each starting a fresh grace (a new term starts
    with fresh informers). Without samples: one span per term of the Lease's holders.

    A span runs from the first sample that said "leading" to the last one that did, not to the
    first that said otherwise: samples come seconds apart on a loaded machine, and between the
    last "leading" and the next "not leading" the leader may already have stopped at its renew
    deadline — rule 1 only demands action where acting is proven (false alarm seen in
    bug-bind-without-check with the bug off: a NotReady "due" 1.5 s before a sample that showed
    the leader stopped, 2.8 s after the last that showed it acting), and starts at the
    leader's first write in it (:func:`_synced`)."""
    end = ctx.end_time + 1
    samples = [c for c in ctx.components if c.member.startswith("controller-manager-")]
    if samples:
        spans: list[tuple[int, int, str]] = []
        since: dict[str, int] = {}
        last: dict[str, int] = {}
        for c in samples:
            acting = c.reachable and c.leader
            if acting:
                since.setdefault(c.member, c.time)
                last[c.member] = c.time
            elif c.member in since:
                spans.append((since.pop(c.member), last.pop(c.member), c.member))
        spans += [(t, last[m], m) for m, t in since.items()]
        return sorted(_synced(ctx, spans))
    key = event_key(K8sResource.LEASES, "kube-system", "kube-controller-manager")
    starts: list[int] = []
    holder: Any = None
    for v in ctx.objects.chain(key):
        spec = v.obj.get("spec") if isinstance(v.obj.get("spec"), dict) else {}
        now = (spec or {}).get("holderIdentity")
        if now and now != holder:
            starts.append(v.time)
        holder = now
    if not starts:
        return [(0, end)]  # no Lease recorded: assume one controller acting throughout
    return list(itertools.pairwise([*starts, end]))


def _synced(ctx: Context, spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Each leading span from the leader's first write in it: a new term's controllers act
    only once its informers have listed (WaitForCacheSync), which took seconds at load 24
    (false alarm seen in bug-eviction-before-grace with the bug off, seed 1001: the new leader
    first wrote 2.6 s into its term and marked node-2 7.4 s in, after the node was back). A
    span with no write of its leader proves no synced controller and demands nothing."""
    by_member: dict[str, list[int]] = {}
    for w in attributed_writes(ctx.objects):
        by_member.setdefault(member_of(w.identity), []).append(w.time)
    out: list[tuple[int, int]] = []
    for a, b, member in spans:
        first = min((t for t in by_member.get(member, []) if a <= t <= b), default=None)
        if first is not None and b > first:
            out.append((first, b))
    return out


def _due(
    start: int,
    late_bound: int,
    stop: int,
    node: str,
    renewed: dict[str, list[int]],
    spans: list[tuple[int, int]],
    grace: int,
) -> int | None:
    """When the node controller must have marked ``node`` not Ready during this gap, or None
    when it never had to: no controller-manager acted for a whole grace within the gap, or
    every node's heartbeat was stale at once meanwhile (full disruption: the controller
    assumes the control plane is cut off and marks nothing)."""
    step = max(1, late_bound // 8)
    for a, b in spans:
        t0 = max(start, a) + late_bound  # a new term measures the grace from its own start
        t = t0
        while t < min(b, stop):
            others_fresh = any(
                any(t - grace < r <= t for r in times) for n, times in renewed.items() if n != node
            )
            if others_fresh or len(renewed) == 1:
                # Past a full disruption the grace has long run out: one monitor pass (+ ε).
                return t if t == t0 else t + late_bound - grace
            t += step
    return None


def _ready_changes(chain: list[Version]) -> list[tuple[int, bool]]:
    out: list[tuple[int, bool]] = []
    for v in chain:
        ready = not v.deleted and node_ready(v.obj)
        if not out or out[-1][1] != ready:
            out.append((v.time, ready))
    return out


def _spans(changes: list[tuple[int, bool]]) -> list[tuple[int, int | None]]:
    """Not-Ready spans (from, to or None) out of the Ready changes."""
    spans: list[tuple[int, int | None]] = []
    for i, (at, ready) in enumerate(changes):
        if not ready and i > 0:  # the first version being not Ready is a node still starting
            nxt = next((c for c, r in changes[i + 1 :] if r), None)
            spans.append((at, nxt))
    return spans


def _evictions(
    ctx: Context, spans: dict[str, list[tuple[int, int | None]]]
) -> list[dict[str, Any]]:
    h = ctx.objects
    deleted_by_client = client_deleted_pods(ctx)
    out: list[dict[str, Any]] = []
    for v, state in h.sweep(SWEPT):
        if v.resource is not K8sResource.PODS or v.listed:
            continue
        node = node_name(v.obj)
        if node is None or v.key in deleted_by_client or controller_uid(v.obj) is None:
            continue
        prev = h.at(v.key, v.rv - 1)
        began = (v.deleted and (prev is None or not terminating(prev.obj))) or (
            not v.deleted and terminating(v.obj) and prev is not None and not terminating(prev.obj)
        )
        if not began:
            continue
        # A decision taken while the node was not Ready may land a moment after it came back.
        span = next(
            (
                s
                for s in spans.get(node, [])
                if s[0] <= v.time and (s[1] is None or v.time < s[1] + ctx.lag_ns)
            ),
            None,
        )
        if span is None:
            continue  # the node was Ready: a scale-down or a lost pod, not an eviction
        owners = Owners.of(state)
        rs = owners.by_uid.get(controller_uid(v.obj) or "")
        if rs is None or rs not in state:
            continue  # its owner is gone: garbage collection
        if len(owners.live_pods(rs)) + 1 > replicas(state[rs]):
            continue  # the owner had a surplus: the ReplicaSet controller scaling down
        out.append(
            {
                "node": node,
                "pod": v.key,
                "owner": rs,
                "at": v.time,
                "rv": v.rv,
                "not_ready_at": span[0],
                "after_not_ready_ns": v.time - span[0],
            }
        )
    return out


def client_deleted_pods(ctx: Context) -> set[str]:
    """Keys of the pods the workload deleted itself (C4: key "<ns>/<name>"; a delete-pod of a
    Deployment's pod names the pod it picked in its value's ``pod``)."""
    out: set[str] = set()
    for o in ctx.client_ops:
        if o.f != "delete-pod" or o.key is None or "/" not in o.key:
            continue
        ns, name = o.key.split("/", 1)
        value = o.value if isinstance(o.value, dict) else {}
        out.add(event_key(K8sResource.PODS, ns, str(value.get("pod") or name)))
    return out


def _rescheduling(
    ctx: Context, evictions: list[dict[str, Any]], problems: list[dict[str, Any]]
) -> int:
    """Rule 4; returns how many owners could not be judged (the history ended too soon)."""
    within = _ns(ctx.tolerances.reschedule_within_s)
    waiting: dict[str, int] = {}
    for ev in evictions:
        waiting.setdefault(ev["owner"], ev["at"])
    done: dict[str, int] = {}
    for v, state in ctx.objects.sweep(SWEPT):
        open_ = [o for o, at in waiting.items() if o not in done and v.time >= at]
        if not open_:
            continue
        owners = Owners.of(state)
        for owner in open_:
            if owner in state and owners.counts(owner).converged:
                done[owner] = v.time
    pending = 0
    for owner, at in waiting.items():
        back = done.get(owner)
        if back is not None and back - at <= within:
            continue
        if back is None and ctx.end_time - at < within:
            pending += 1
            continue
        problems.append(
            {
                "node": next(e["node"] for e in evictions if e["owner"] == owner),
                "rule": "not-rescheduled",
                "owner": owner,
                "evicted_at_s": seconds(at),
                "restored_at_s": None if back is None else seconds(back),
                "within_s": ctx.tolerances.reschedule_within_s,
            }
        )
    return pending


def _returns(
    ctx: Context, spans: dict[str, list[tuple[int, int | None]]], problems: list[dict[str, Any]]
) -> int:
    """Rule 5 from the kubelets' own /status samples; returns how many returns were judged."""
    h = ctx.objects
    grace = _ns(2 * ctx.timings.node_renew_interval_s) + ctx.slack_ns
    deleted_at: dict[str, int] = {}
    for key in h.keys(K8sResource.PODS):
        for v in h.chain(key):
            if v.deleted:
                u = v.obj.get("metadata", {}).get("uid")
                if u:
                    deleted_at[str(u)] = v.time
    judged = 0
    for node, node_spans in spans.items():
        samples = [s for s in ctx.components if s.member == node and s.reachable]
        for _start, back in node_spans:
            if back is None or not samples:
                continue
            judged += 1
            for s in samples:
                if s.time <= back + grace:
                    continue
                for pod in s.pods:
                    gone = deleted_at.get(str(pod.get("uid")))
                    if pod.get("phase") == "Running" and gone is not None and gone < back:
                        problems.append(
                            {
                                "node": node,
                                "rule": "runs-replaced-pod",
                                "pod": f"{pod.get('namespace')}/{pod.get('name')}",
                                "uid": pod.get("uid"),
                                "deleted_at_s": seconds(gone),
                                "node_back_at_s": seconds(back),
                                "seen_running_at_s": seconds(s.time),
                            }
                        )
                        return judged
    return judged

"""failover: from a component leader's loss to the next holder's first successful action.

In a nutshell: each change of holder of a component Lease (kube-controller-manager,
kube-scheduler) is a failover. Its **loss** is the later of the start of the last fault aimed
at the old holder's member before the takeover (faults.jsonl targets) and the old holder's last
renewal seen (a holder still renewing after the fault began was not lost yet). Its
**action** is the new holder's first attributed write (``leaders``). The bound comes
from the run's own timings: a candidate waits a full ``LE_LEASE_DURATION_S`` from when it saw
the record change, plus up to two jittered retries (1.2 × ``LE_RETRY_PERIOD_S`` each), plus
``action_slack_s`` to start acting. A new holder with nothing to do cannot act, so the action
is only due ``action_slack_s`` after work appeared (an unbound pod for the scheduler; a client
op or a lost pod for the controller-manager); with no work at all the takeover alone is judged.
**Invalid**: takeover or action later than its bound, or work due and never acted on. No
holder change in the run: **unknown**.
"""

from __future__ import annotations

import itertools
from typing import Any

from harness.checker.controllers.context import Context, context, outage_ns, seconds
from harness.checker.controllers.leaders import (
    COMPONENT_LEASES,
    SCHEDULER,
    Term,
    Write,
    attributed_writes,
    lease_terms,
    member_of,
)
from harness.checker.controllers.model import Version, controller_uid, node_name
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import FaultPhase, OpType
from harness.history.k8s import K8sResource

JITTER = 1.2  # client-go's JitterFactor
WORK_FS = frozenset({"create-deployment", "scale-deployment", "roll-deployment", "delete-pod"})


def failover(run: RunData) -> CheckResult:
    return judge(context(run))


def bound_s(ctx: Context, term: Term | None) -> float:
    t = ctx.timings
    duration = (term.duration_s if term is not None else None) or t.le_lease_duration_s
    return duration + 2 * JITTER * t.le_retry_period_s + ctx.tolerances.action_slack_s


def holder_changes(ctx: Context) -> list[tuple[str, Term, Term]]:
    """Every change of holder of a component Lease: (lease, old term, new term)."""
    h = ctx.objects
    terms = lease_terms(h, [k for k in h.keys(K8sResource.LEASES) if k in COMPONENT_LEASES])
    return [
        (lease, old, new)
        for lease, ts in terms.items()
        for old, new in itertools.pairwise([t for t in ts if t.holder])
        if old.holder != new.holder
    ]


def judge(ctx: Context) -> CheckResult:
    h = ctx.objects
    terms = lease_terms(h, [k for k in h.keys(K8sResource.LEASES) if k in COMPONENT_LEASES])
    writes = attributed_writes(h)
    measured: list[dict[str, Any]] = []
    slow: list[dict[str, Any]] = []
    for lease, ts in terms.items():
        held = [t for t in ts if t.holder]
        for old, new in itertools.pairwise(held):
            if old.holder == new.holder:
                continue
            item = _one(ctx, lease, old, new, writes)
            measured.append(item)
            if item.get("problem"):
                slow.append(item)
    if not measured:
        return CheckResult.unknown(
            "no change of holder of a component Lease: no failover to measure",
            leases={k: len(v) for k, v in terms.items()},
        )
    details: dict[str, Any] = {"failovers": measured}
    if slow:
        first = slow[0]
        return CheckResult.invalid(
            f"{len(slow)} of {len(measured)} failover(s) too slow; first: {first['lease']} "
            f"{first['from']} -> {first['to']}: {first['problem']}",
            **details,
        )
    worst = max(m["failover_s"] for m in measured)
    return CheckResult.valid(
        f"{len(measured)} failover(s), slowest {worst} s (bound {measured[0]['bound_s']} s "
        "from the run's lease timings)",
        **details,
    )


def _one(ctx: Context, lease: str, old: Term, new: Term, writes: list[Write]) -> dict[str, Any]:
    bound_ns = int(bound_s(ctx, old) * NS_PER_S)
    slack_ns = int(ctx.tolerances.action_slack_s * NS_PER_S)
    member = member_of(old.holder)
    aimed = [
        f.time
        for f in ctx.faults
        if f.type is FaultPhase.START
        and member in f.targets
        and old.start_time <= f.time <= new.start_time
    ]
    # A holder seen renewing after the fault started was not lost yet (a kill that took 10 s
    # to land on a loaded machine, seen in bug-bind-without-check with the bug off): the
    # candidates wait a lease duration from the last renewal they saw (client-go).
    if aimed and max(aimed) >= old.last_renew_time:
        loss, loss_from = max(aimed), "fault"
    else:
        loss, loss_from = old.last_renew_time, "last renewal"
    first = next((w for w in writes if w.identity == new.holder and w.rv >= new.start_rv), None)
    due = _work_due(ctx, COMPONENT_LEASES[lease], new.start_time)
    item: dict[str, Any] = {
        "lease": lease,
        "from": old.holder,
        "to": new.holder,
        "loss_at_s": seconds(loss),
        "loss_from": loss_from,
        "acquired_at_s": seconds(new.start_time),
        "takeover_s": seconds(new.start_time - loss),
        "bound_s": round(bound_ns / NS_PER_S, 3),
        "first_action": first.to_json() if first is not None else None,
        "work_due_at_s": None if due is None else seconds(due),
    }
    item["failover_s"] = seconds((first.time if first is not None else new.start_time) - loss)
    # While the API accepted no write at all (a store election), no candidate could take over.
    outage = outage_ns(ctx, loss, loss + bound_ns)
    if outage:
        item["api_outage_s"] = seconds(outage)
        bound_ns += outage
        item["bound_s"] = round(bound_ns / NS_PER_S, 3)
    if new.start_time - loss > bound_ns:
        item["problem"] = f"takeover {item['takeover_s']} s after the loss > {item['bound_s']} s"
        return item
    if due is None:
        return item  # nothing to do: the takeover is all there is to judge
    deadline = _acting_deadline(
        ctx,
        member_of(new.holder),
        max(loss + bound_ns, due + slack_ns),
        slack_ns,
        first.time if first is not None else None,
    )
    if first is None:
        if ctx.end_time > deadline:
            item["problem"] = f"work due at {item['work_due_at_s']} s and no action by the end"
    elif first.time > deadline:
        item["problem"] = (
            f"first action {item['failover_s']} s after the loss, later than "
            f"{seconds(deadline - loss)} s"
        )
    return item


def _acting_deadline(
    ctx: Context, member: str, deadline: int, slack_ns: int, acted: int | None
) -> int:
    """Push the action deadline past spans in which the new holder's ``/status`` said it was
    not acting (it had stopped at its renew deadline and not yet renewed): it could not act
    then. Without samples of the member the deadline stands."""
    samples = [c for c in ctx.components if c.member == member]
    if not samples:
        return deadline
    for c in samples:
        if c.time >= deadline or (acted is not None and c.time >= acted):
            break
        if not (c.reachable and c.leader):
            back = next(
                (d.time for d in samples if d.time > c.time and d.reachable and d.leader), None
            )
            if back is None:
                return max(deadline, ctx.end_time + 1)  # never acting again: nothing due
            deadline = max(deadline, back + slack_ns)
    return deadline


def _work_due(ctx: Context, component: str, since: int) -> int | None:
    """When, at or after ``since``, the component first had something to do."""
    h = ctx.objects
    times: list[int] = []
    if component == SCHEDULER:
        # A pod is work for the scheduler only while it stays unbound: one that another binder
        # (a client POSTing a Binding, a custom scheduler) bound, or that was deleted, within
        # the action slack left the scheduler nothing to do (bug-bind-without-check's clients
        # are such a second binder).
        slack_ns = int(ctx.tolerances.action_slack_s * NS_PER_S)
        for key in h.keys(K8sResource.PODS):
            due = _unbound_for(h.chain(key), since, slack_ns)
            if due is not None:
                times.append(due)
        return min(times, default=None)
    times += [
        o.time for o in ctx.client_ops if o.f in WORK_FS and o.type is OpType.OK and o.time >= since
    ]
    for key in h.keys(K8sResource.PODS):
        for v in h.chain(key):
            if v.deleted and v.time >= since and controller_uid(v.obj) is not None:
                times.append(v.time)
                break
    return min(times, default=None)


def _unbound(obj: dict[str, Any], deleted: bool) -> bool:
    return not deleted and node_name(obj) is None


def _unbound_for(chain: list[Version], since: int, slack_ns: int) -> int | None:
    """The start of the first spell, at or after ``since``, in which the pod stayed unbound
    (and not deleted) for ``slack_ns`` or up to the end of the history; None without one."""
    spell: int | None = None
    for v in chain:
        if _unbound(v.obj, v.deleted):
            if spell is None:
                spell = max(v.time, since)
        elif spell is not None:
            if v.time >= since and v.time - spell >= slack_ns:
                return spell
            spell = None  # bound (by anyone) or deleted in time: no work left
    return spell

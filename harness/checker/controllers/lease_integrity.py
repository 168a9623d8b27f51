"""lease_integrity: each Lease is one chain of versions, and a lost leader stops writing.

In a nutshell: for every Lease (the components' in kube-system and the nodes' in
kube-node-lease), consecutive versions not separated by a watch gap must obey client-go's
record rules (``tools/leaderelection/leaderelection.go``, ``tryAcquireOrRenew``):

- a change of holder (to a non-empty one) raises ``leaseTransitions`` by exactly one;
- the same holder keeps ``leaseTransitions`` and ``acquireTime`` unchanged;
- a release (holder emptied, ``ReleaseOnCancel``) keeps ``leaseTransitions``;
- one revision holds one object (two different objects at one resourceVersion is a fork), and
  the uid changes only through a deletion.

And a leader that lost its lease stops acting: no write of a component term is seen later
than its last renewal plus ``LE_RENEW_DEADLINE_S`` (run.json's ``controlplane_timings``) plus
the time a write checked just before the deadline may still be in flight (``in_flight_s``, the
components' 3 s request timeout) plus ε — client-go's leader gives up after the renew
deadline, before its lease could expire for the others. No Lease in the history, or none
with two versions, is **unknown**.
"""

from __future__ import annotations

from typing import Any

from harness.checker.controllers.context import Context, context, seconds
from harness.checker.controllers.leaders import (
    COMPONENT_LEASES,
    Term,
    attributed_writes,
    lease_fields,
    lease_for,
    lease_terms,
)
from harness.checker.controllers.model import Version, uid
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource

MAX_LISTED = 10


def lease_integrity(run: RunData) -> CheckResult:
    return judge(context(run))


def judge(ctx: Context) -> CheckResult:
    h = ctx.objects
    keys = h.keys(K8sResource.LEASES)
    if not keys:
        return CheckResult.unknown("no Lease in the history: nothing to judge")
    gaps = [g.rv for g in h.gaps(K8sResource.LEASES)]
    broken: list[dict[str, Any]] = []
    pairs = 0
    for key in keys:
        prev: Version | None = None
        for v in h.chain(key):
            if v.deleted:
                prev = None
                continue
            if prev is not None and not any(prev.rv < g <= v.rv for g in gaps):
                pairs += 1
                problem = _step_problem(prev, v)
                if problem:
                    broken.append(
                        {
                            "lease": key,
                            "problem": problem,
                            "from": _summary(prev),
                            "to": _summary(v),
                        }
                    )
            prev = v
    broken += [
        {"lease": k, "problem": f"two different objects at resourceVersion {rv}"}
        for k, rv in h.conflicts
        if k.startswith("leases/")
    ]
    late = _late_writes(ctx)
    details: dict[str, Any] = {"leases": len(keys), "steps_judged": pairs, "gaps": len(gaps)}
    if broken or late:
        parts = []
        if broken:
            parts.append(f"{len(broken)} broken step(s) in a Lease chain ({broken[0]['problem']})")
        if late:
            w = late[0]
            parts.append(
                f"{len(late)} write(s) after the writer's renew deadline (first: {w['writer']} "
                f"{w['key']} at {w['at_s']} s, {w['after_last_renew_s']} s after its last renewal)"
            )
        return CheckResult.invalid(
            "; ".join(parts), broken=broken[:MAX_LISTED], late_writes=late[:MAX_LISTED], **details
        )
    if not pairs:
        return CheckResult.unknown(
            f"{len(keys)} Lease(s) but no two consecutive versions to compare", **details
        )
    return CheckResult.valid(
        f"{pairs} Lease step(s) over {len(keys)} Lease(s) follow the record rules; no write after "
        "a renew deadline",
        **details,
    )


def _step_problem(prev: Version, v: Version) -> str:
    if uid(prev.obj) and uid(v.obj) and uid(prev.obj) != uid(v.obj):
        return "uid changed without a deletion (two chains under one name)"
    h0, t0, _, a0 = lease_fields(prev.obj)
    h1, t1, _, a1 = lease_fields(v.obj)
    if not h1:  # a release
        return "" if t1 == t0 else f"release changed leaseTransitions {t0} -> {t1}"
    if h1 != h0 or not h0:
        if t1 != t0 + 1:
            return f"holder {h0 or '(none)'} -> {h1} but leaseTransitions {t0} -> {t1}"
        return ""
    if t1 != t0:
        return f"holder {h0} kept but leaseTransitions {t0} -> {t1}"
    if a1 != a0:
        return f"holder {h0} kept but acquireTime {a0} -> {a1}"
    return ""


def _summary(v: Version) -> dict[str, Any]:
    holder, transitions, _, acquired = lease_fields(v.obj)
    return {
        "rv": v.rv,
        "at_s": seconds(v.time),
        "holder": holder,
        "leaseTransitions": transitions,
        "acquireTime": acquired,
    }


def _late_writes(ctx: Context) -> list[dict[str, Any]]:
    terms = lease_terms(
        ctx.objects, [k for k in ctx.objects.keys(K8sResource.LEASES) if k in COMPONENT_LEASES]
    )
    tol = ctx.tolerances
    deadline_ns = int((ctx.timings.le_renew_deadline_s + tol.in_flight_s + tol.slack_s) * NS_PER_S)
    out: list[dict[str, Any]] = []
    for w in attributed_writes(ctx.objects):
        lease = lease_for(w.identity, terms)
        own = [t for t in terms.get(lease or "", []) if t.holder == w.identity]
        term = _term_of(own, w.transitions, w.rv)
        if term is None:
            continue
        last = max((r.time for r in term.renewals if r.rv <= w.rv), default=term.start_time)
        if w.time > last + deadline_ns:
            out.append(
                {
                    **w.to_json(),
                    "lease": lease,
                    "last_renew_at_s": seconds(last),
                    "after_last_renew_s": seconds(w.time - last),
                    "renew_deadline_s": ctx.timings.le_renew_deadline_s,
                }
            )
    return out


def _term_of(own: list[Term], transitions: int | None, rv: int) -> Term | None:
    """The writer's term the write belongs to: the one its annotation names, else the latest
    that began at or before the write."""
    if transitions is not None:
        named = [t for t in own if t.transitions == transitions]
        if named:
            return named[-1]
    before = [t for t in own if t.start_rv <= rv]
    return before[-1] if before else None

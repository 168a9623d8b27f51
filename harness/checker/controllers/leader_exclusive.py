"""leader_exclusive: no write by a component while another identity held a valid lease.

In a nutshell: every write an elected component made (``leaders.attributed_writes``) is placed
in the Lease history of its component by resourceVersion — the store's own order, so no clock
is involved. The write is **invalid** when the term current at that revision belongs to another
identity whose lease was still valid when the write was seen (the holder's last renewal seen at
most ``leaseDurationSeconds`` before). The evidence pairs the write with the holder's own writes
around it: two leaders acting at once. Writes before any lease record, or under a released or
expired lease, are not this checker's concern (``lease_integrity`` judges those). No lease
history or no attributed write is **unknown**.

    leader_exclusive(run).details["violations"][0]["write"]["writer"]   # "controller-manager-1_a3"
"""

from __future__ import annotations

from typing import Any

from harness.checker.controllers.context import Context, context, seconds
from harness.checker.controllers.leaders import (
    COMPONENT_LEASES,
    Write,
    attributed_writes,
    lease_for,
    lease_terms,
    term_at,
)
from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import K8sResource

MAX_LISTED = 10
OTHER_WRITES = 5


def leader_exclusive(run: RunData) -> CheckResult:
    return judge(context(run))


def judge(ctx: Context) -> CheckResult:
    h = ctx.objects
    terms = lease_terms(h, [k for k in h.keys(K8sResource.LEASES) if k in COMPONENT_LEASES])
    held = {k: ts for k, ts in terms.items() if any(t.holder for t in ts)}
    writes = attributed_writes(h)
    if not held:
        return CheckResult.unknown(
            "no component Lease with a holder in the history: cannot tell who led when",
            attributed_writes=len(writes),
        )
    if not writes:
        return CheckResult.unknown(
            "no write carries a fencing annotation (chaosplane.io/writer): nothing to judge",
            terms={k: len(ts) for k, ts in held.items()},
        )
    by_identity: dict[str, list[Write]] = {}
    for w in writes:
        by_identity.setdefault(w.identity, []).append(w)
    violations: list[dict[str, Any]] = []
    judged = unplaced = 0
    for w in writes:
        lease = lease_for(w.identity, held)
        term = term_at(held.get(lease, []), w.rv) if lease is not None else None
        if term is None:
            unplaced += 1
            continue
        judged += 1
        if not term.holder or term.holder == w.identity:
            continue
        renewed = max((r for r in term.renewals if r.rv <= w.rv), key=lambda r: r.rv)
        duration_s = term.duration_s or ctx.timings.le_lease_duration_s
        if w.time > renewed.time + int(duration_s * NS_PER_S):
            continue  # the holder's lease had run out by then: no valid lease was held
        around = [
            o.to_json()
            for o in by_identity.get(term.holder, [])
            if abs(o.time - w.time) <= int(duration_s * NS_PER_S)
        ]
        violations.append(
            {
                "lease": lease,
                "write": w.to_json(),
                "holder": term.to_json(),
                "holder_renewed_at_s": seconds(renewed.time),
                "holder_writes_nearby": around[:OTHER_WRITES],
            }
        )
    details: dict[str, Any] = {
        "attributed_writes": len(writes),
        "judged": judged,
        "before_any_lease": unplaced,
        "terms": {k: [t.to_json() for t in ts][-MAX_LISTED:] for k, ts in held.items()},
    }
    if violations:
        first = violations[0]
        return CheckResult.invalid(
            f"{len(violations)} write(s) while another identity held a valid lease; first: "
            f"{first['write']['writer']} wrote {first['write']['key']} at rv "
            f"{first['write']['rv']} ({first['write']['at_s']} s) while "
            f"{first['holder']['holder']} held {first['lease']}",
            violations=violations[:MAX_LISTED],
            **details,
        )
    if not judged:
        return CheckResult.unknown(
            f"none of {len(writes)} attributed writes falls inside a recorded lease term",
            **details,
        )
    return CheckResult.valid(
        f"{judged} attributed write(s) by {len(by_identity)} identities, each by the holder of "
        "a valid lease",
        **details,
    )

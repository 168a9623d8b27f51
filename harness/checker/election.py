"""Election Safety: at most one leader per Raft term, judged from the status samples.

In a nutshell: Raft's Election Safety property (Raft paper §5.2, Figure 3: "at most one leader
can be elected in a given term") must hold over the whole run, not only at one instant: a term
belongs to one leader forever. ``election_safety(samples)`` gathers, per term, the evidence that
a member led it — its own samples saying ``role: leader`` in that term, and other members'
samples naming it as ``leader`` in that term. Two different members, each with at least
``MIN_EVIDENCE`` such samples for one term, is **invalid**, with the term, the members and when
each was first seen. No samples that show a leader prove nothing: **unknown**.

    election_safety(run.status).details["violations"]
    # [{"term": 7, "leaders": {"store-1": 3.2, "store-3": 5.9}}]   (first seen, s)

Why two samples: a member's ``/status`` is not read atomically. PySyncObj sets the new term
before the new role, so a leader deposed by a candidate's RequestVote can be sampled, once, as
"leader in the candidate's term" (seen in a real run: store-3 "leader, term 2" at 1.53 s,
follower at the next sample, store-1 elected in term 2). A second sample of the same claim
cannot come from that microsecond window. Samples are polled (every 0.2 s by the run's probe),
so a second leader shorter-lived than that can be missed: valid says "none seen", never "none
existed".
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import StatusSample

LEADER_ROLE = "leader"
MIN_EVIDENCE = 2  # samples that must back a (term, leader) claim; see the module docstring
MAX_LISTED = 20


def applies(run: RunData) -> bool:
    # A run without status samples is judged by recovered/converged, which say so already.
    return not run.bare and bool(run.status)


def election(run: RunData) -> CheckResult:
    """The registry's entry point: Election Safety over the run's status samples."""
    return election_safety(run.status)


def election_safety(samples: Iterable[StatusSample]) -> CheckResult:
    # term -> claimed leader -> times (ns) of the samples backing the claim
    evidence: dict[int, dict[str, list[int]]] = {}
    count = 0
    for s in samples:
        count += 1
        if not s.reachable or s.term is None:
            continue
        if s.role == LEADER_ROLE:
            evidence.setdefault(s.term, {}).setdefault(s.member, []).append(s.time)
        elif s.leader is not None and s.leader != s.member:
            evidence.setdefault(s.term, {}).setdefault(s.leader, []).append(s.time)
    if count == 0:
        return CheckResult.unknown("no status samples: cannot tell who led which term")
    leaders = {
        term: {m: min(ts) for m, ts in by_member.items() if len(ts) >= MIN_EVIDENCE}
        for term, by_member in evidence.items()
    }
    leaders = {term: by_member for term, by_member in leaders.items() if by_member}
    transient = [
        {"term": term, "member": m, "at_s": round(ts[0] / NS_PER_S, 3)}
        for term, by_member in sorted(evidence.items())
        for m, ts in sorted(by_member.items())
        if len(ts) < MIN_EVIDENCE and m not in leaders.get(term, {})
    ]
    if not leaders:
        return CheckResult.unknown(
            f"no leader confirmed by {MIN_EVIDENCE} samples in {count} status samples",
            samples=count,
        )
    violations = [
        {
            "term": term,
            "leaders": {m: round(t / NS_PER_S, 3) for m, t in sorted(by_member.items())},
        }
        for term, by_member in sorted(leaders.items())
        if len(by_member) > 1
    ]
    details: dict[str, object] = {"samples": count, "transient_claims": transient[:MAX_LISTED]}
    if violations:
        term, by_member = next((t, b) for t, b in sorted(leaders.items()) if len(b) > 1)
        names = ", ".join(sorted(by_member))
        return CheckResult.invalid(
            f"{len(violations)} term(s) with two leaders; term {term}: {names}",
            violations=violations[:MAX_LISTED],
            **details,
        )
    return CheckResult.valid(
        f"one leader per term over {len(leaders)} term(s) with a leader ({count} samples)",
        leaders_by_term={
            str(t): next(iter(b)) for t, b in list(sorted(leaders.items()))[:MAX_LISTED]
        },
        **details,
    )

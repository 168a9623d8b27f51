"""Election Safety: at most one leader per Raft term, judged from the status samples.

In a nutshell: Raft's Election Safety property (Raft paper §5.2, Figure 3: "at most one leader
can be elected in a given term") must hold over the whole run, not only at one instant: a term
belongs to one leader forever. ``election_safety(samples)`` collects, per term, the members that
reported ``role: leader`` in that term anywhere in ``status.jsonl``; two different members for
one term is **invalid**, with the term, the members and when each was first seen. No status
samples, or samples that never show a leader, prove nothing: **unknown**.

    election_safety(run.status).details["violations"]
    # [{"term": 7, "leaders": {"store-1": 3.2, "store-3": 5.9}}]   (first seen, s)

Samples are polled (every 0.2 s by the run's probe), so a second leader that lived shorter than
one poll can be missed: a valid verdict says "none seen", never "none existed".
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import StatusSample

LEADER_ROLE = "leader"
MAX_LISTED = 20


def applies(run: RunData) -> bool:
    # A run without status samples is judged by recovered/converged, which say so already.
    return not run.bare and bool(run.status)


def election(run: RunData) -> CheckResult:
    """The registry's entry point: Election Safety over the run's status samples."""
    return election_safety(run.status)


def election_safety(samples: Iterable[StatusSample]) -> CheckResult:
    # term -> member -> first time (ns) it reported itself leader in that term
    leaders: dict[int, dict[str, int]] = {}
    count = 0
    for s in samples:
        count += 1
        if not s.reachable or s.role != LEADER_ROLE or s.term is None:
            continue
        first_seen = leaders.setdefault(s.term, {})
        first_seen[s.member] = min(first_seen.get(s.member, s.time), s.time)
    if count == 0:
        return CheckResult.unknown("no status samples: cannot tell who led which term")
    if not leaders:
        return CheckResult.unknown(
            f"no member reported itself leader in {count} status samples", samples=count
        )
    violations = [
        {
            "term": term,
            "leaders": {m: round(t / NS_PER_S, 3) for m, t in sorted(by_member.items())},
        }
        for term, by_member in sorted(leaders.items())
        if len(by_member) > 1
    ]
    terms = {term: sorted(by_member) for term, by_member in sorted(leaders.items())}
    if violations:
        term, by_member = next((t, b) for t, b in sorted(leaders.items()) if len(b) > 1)
        names = ", ".join(sorted(by_member))
        return CheckResult.invalid(
            f"{len(violations)} term(s) with two leaders; term {term}: {names}",
            violations=violations[:MAX_LISTED],
            samples=count,
        )
    return CheckResult.valid(
        f"one leader per term over {len(terms)} term(s) with a leader ({count} samples)",
        leaders_by_term={str(t): ms[0] for t, ms in list(terms.items())[:MAX_LISTED]},
        samples=count,
    )

"""Vote persistence: a restarted store member still holds the vote it had cast in its term.

In a nutshell: Raft's Figure 2 lists ``currentTerm`` and ``votedFor`` as *persistent* state,
"updated on stable storage before responding to RPCs". A member that forgets them across a
restart can vote a second time in a term it already voted in, and so elect two leaders in one
term. The double vote itself is hard to catch (it needs a restart inside one election round);
the forgetting is not: ``/status`` reports ``voted_for``, and the status probe records it.
``vote_persistence(samples)`` walks each member's samples in time order. A member seen with
``voted_for = X`` in term T that, after a gap in reachability (a kill and restart), is seen again
in the same term T with no vote or another one — or in a *lower* term — forgot its persistent
state: **invalid**, with both samples as evidence. No member reporting a vote: the checker does
not apply (engines such as etcd do not expose it).

    vote_persistence(run.status).details["violations"]
    # [{"member": "store-2", "term": 3, "voted_for": "store-1", "vote_seen_s": 2.4,
    #   "last_up_s": 7.0, "back_s": 9.1, "back_term": 3, "back_voted_for": None}]

Tolerance: PySyncObj writes term and vote to ``journal.meta`` on a 1-second timer, not before
answering the RequestVote (a known deviation from Figure 2, see the engine's docstring). A vote
granted less than a second before a SIGKILL can therefore be lost by the *correct* system. Only
a vote first seen at least ``PERSIST_TOLERANCE_S`` (1.5 s: the timer's period plus slack for a
loaded machine) before the member's last reachable sample ahead of the gap is judged; fresher
votes are counted as ``too_fresh`` and never flagged. A change of vote *without* a gap is not
judged here either: the engine reads term and vote as one pair, but this checker is about
persistence, and Election Safety is the ``election`` checker's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import StatusSample

PERSIST_TOLERANCE_S = 1.5  # see the module docstring: PySyncObj persists votes every 1 s
MAX_LISTED = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class _Vote:
    term: int
    voted_for: str
    seen_ns: int  # first sample showing this vote: the vote was cast at or before it


@dataclass(frozen=True, slots=True, kw_only=True)
class _Counts:
    survived: int = 0
    moved_on: int = 0
    too_fresh: int = 0


def applies(run: RunData) -> bool:
    # Engines that do not report votes (etcd, older images) have nothing to judge.
    return not run.bare and any(s.voted_for is not None for s in run.status)


def votes(run: RunData) -> CheckResult:
    """The registry's entry point: vote persistence over the run's status samples."""
    return vote_persistence(run.status)


def vote_persistence(
    samples: Iterable[StatusSample], *, tolerance_s: float = PERSIST_TOLERANCE_S
) -> CheckResult:
    by_member: dict[str, list[StatusSample]] = {}
    for s in samples:
        by_member.setdefault(s.member, []).append(s)
    if not any(s.voted_for is not None for ss in by_member.values() for s in ss):
        return CheckResult.unknown("no status sample reports a vote: nothing to judge")
    violations: list[dict[str, object]] = []
    survived = moved_on = too_fresh = 0
    for member, member_samples in sorted(by_member.items()):
        found, counts = _check_member(
            member, sorted(member_samples, key=lambda s: s.time), tolerance_s
        )
        violations += found
        survived += counts.survived
        moved_on += counts.moved_on
        too_fresh += counts.too_fresh
    details: dict[str, object] = {
        "votes_survived_restart": survived,
        "newer_term_after_restart": moved_on,
        "too_fresh_to_judge": too_fresh,
        "tolerance_s": tolerance_s,
    }
    if violations:
        first = violations[0]
        return CheckResult.invalid(
            f"{len(violations)} forgotten vote(s); {first['member']} voted for "
            f"{first['voted_for']} in term {first['term']} and came back in term "
            f"{first['back_term']} voting for {first['back_voted_for']}",
            violations=violations[:MAX_LISTED],
            **details,
        )
    return CheckResult.valid(
        f"no forgotten vote: {survived} vote(s) survived a restart, {moved_on} superseded by "
        f"a newer term, {too_fresh} too fresh to judge (< {tolerance_s} s old)",
        **details,
    )


def _check_member(
    member: str, samples: list[StatusSample], tolerance_s: float
) -> tuple[list[dict[str, object]], _Counts]:
    """Violations, and counts of votes that survived a gap, were superseded by a newer term
    before the member was seen again, or were lost but too fresh to judge."""
    violations: list[dict[str, object]] = []
    survived = moved_on = too_fresh = 0
    vote: _Vote | None = None
    last_up_ns: int | None = None  # last reachable sample
    down_after_ns: int | None = None  # last reachable sample before a gap since ``vote`` was seen
    for s in samples:
        if not s.reachable or s.term is None:
            if vote is not None and down_after_ns is None and last_up_ns is not None:
                down_after_ns = last_up_ns
            continue
        last_up_ns = s.time
        if vote is not None and down_after_ns is not None:
            if s.term == vote.term and s.voted_for == vote.voted_for:
                survived += 1
                down_after_ns = None  # persisted for sure: keep when it was first seen
                continue
            if s.term > vote.term:
                moved_on += 1  # learned a newer term before we looked: nothing to judge
            elif vote.seen_ns > down_after_ns - int(tolerance_s * NS_PER_S):
                too_fresh += 1  # may not have reached journal.meta yet: not judged
            else:
                violations.append(
                    {
                        "member": member,
                        "term": vote.term,
                        "voted_for": vote.voted_for,
                        "vote_seen_s": _s(vote.seen_ns),
                        "last_up_s": _s(down_after_ns),
                        "back_s": _s(s.time),
                        "back_term": s.term,
                        "back_voted_for": s.voted_for,
                    }
                )
            vote, down_after_ns = None, None  # judged once per gap; track what it holds now
        if s.voted_for is None:
            if vote is not None and s.term != vote.term:
                vote = None  # a new term starts without a vote
            continue
        if vote is None or vote.term != s.term or vote.voted_for != s.voted_for:
            vote = _Vote(term=s.term, voted_for=s.voted_for, seen_ns=s.time)
    return violations, _Counts(survived=survived, moved_on=moved_on, too_fresh=too_fresh)


def _s(ns: int) -> float:
    return round(ns / NS_PER_S, 3)

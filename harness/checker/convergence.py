"""Converged: after the last heal, every store member reports the same applied index and state hash.

In a nutshell: from the last fault ``end`` event (or the start of a fault that has none, or
the start of the run when there was no fault), walk the status samples in time order keeping
each member's latest sample; the run has converged at the first sample time when every member
seen in ``status.jsonl`` is reachable and all agree on ``applied_index`` and ``state_hash``.
Valid when that happens within ``expect.converged_within_s``; invalid when it does not although
the samples cover the deadline; unknown when the samples stop before the deadline (or there
are none).

    converged(run).details["converged_after_s"]  # 1.7
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checker.rundata import NS_PER_S, RunData
from harness.checker.verdict import CheckResult
from harness.history import FaultPhase, StatusSample


def applies(run: RunData) -> bool:
    return run.expect.get("converged_within_s") is not None and not run.bare


def converged(run: RunData) -> CheckResult:
    within_s = float(run.expect["converged_within_s"])
    if not run.status:
        return CheckResult.unknown("no status samples: cannot tell whether the members converged")
    ended = {f.id for f in run.faults if f.type is FaultPhase.END}
    ends = [f.time for f in run.faults if f.type is FaultPhase.END]
    # A fault with no end event (an instant kill) counts from its start.
    ends += [f.time for f in run.faults if f.type is FaultPhase.START and f.id not in ended]
    since = max(ends, default=0)
    members = sorted({s.member for s in run.status})
    latest: dict[str, StatusSample] = {}
    for s in run.status:
        if s.time < since:
            continue
        latest[s.member] = s
        if len(latest) == len(members) and _agree(latest.values()):
            after_s = (s.time - since) / NS_PER_S
            details = {
                "converged_after_s": round(after_s, 3),
                "applied_index": s.applied_index,
                "members": members,
                "since_s": round(since / NS_PER_S, 3),
            }
            if after_s <= within_s:
                return CheckResult.valid(
                    f"converged {after_s:.2f} s after the last heal", **details
                )
            return CheckResult.invalid(
                f"converged only {after_s:.2f} s after the last heal (limit {within_s} s)",
                **details,
            )
    last = run.status[-1].time
    final = {
        m: {"reachable": s.reachable, "applied_index": s.applied_index, "state_hash": s.state_hash}
        for m, s in sorted(latest.items())
    }
    summary: dict[str, Any] = {
        "members": members,
        "final": final,
        "since_s": round(since / NS_PER_S, 3),
    }
    if (last - since) / NS_PER_S >= within_s:
        return CheckResult.invalid(
            f"members did not converge within {within_s} s of the last heal", **summary
        )
    return CheckResult.unknown(
        f"status samples stop {(last - since) / NS_PER_S:.2f} s after the last heal, "
        f"before the {within_s} s deadline, and the members had not converged",
        **summary,
    )


def _agree(samples: Iterable[StatusSample]) -> bool:
    values = list(samples)
    if not all(s.reachable and s.applied_index is not None for s in values):
        return False
    return len({(s.applied_index, s.state_hash) for s in values}) == 1

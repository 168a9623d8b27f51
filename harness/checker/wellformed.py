"""Validity first: is the history well formed, and did the run prove anything (adequacy)?

In a nutshell: ``well_formed`` checks Jepsen's rules on the raw history — each invoke has at
most one completion, a process has one open op at a time, a process is never used again after
an ``info`` (the client continues under a fresh id), times never go backwards in file order.
``adequacy`` reads ``run.json``'s ``adequacy`` record (``{"ok": bool, "reason": str, ...}``,
written by the run: traffic before the fault, the fault took effect, …). Either failing gives
``unknown``: a malformed history cannot be judged (the registry then skips the history-based
checkers) and an inadequate run proved little — but an ``invalid`` another checker found in
an inadequate run still stands, since the violation really happened.

    well_formed(run).verdict  # Verdict.UNKNOWN when a process ran two ops at once
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.checker.verdict import CheckResult
from harness.history import OpType

if TYPE_CHECKING:  # rundata reads through lean.py, which imports MAX_LISTED from here
    from harness.checker.rundata import RunData

MAX_LISTED = 20


def well_formed(run: RunData) -> CheckResult:
    problems = list(run.problems) if run.problems is not None else _problems(run)
    if problems:
        return CheckResult.unknown(
            f"history is not well formed: {len(problems)} problems; first: {problems[0]}",
            problems=problems[:MAX_LISTED],
            count=len(problems),
        )
    calls = run.paired.calls
    return CheckResult.valid(
        f"{len(calls)} calls, {len(run.paired.events)} events",
        calls=len(calls),
        events=len(run.paired.events),
        ok=sum(1 for c in calls if c.outcome is OpType.OK),
        fail=sum(1 for c in calls if c.outcome is OpType.FAIL),
        info=sum(1 for c in calls if c.indefinite),
    )


def _problems(run: RunData) -> list[str]:
    """Pairing problems, then the per-record ones (``lean.py`` finds the same while reading)."""
    problems = list(run.paired.problems)
    retired: dict[int, int] = {}  # process → index of its info
    last_time: int | None = None
    for op in run.ops:
        if last_time is not None and op.time < last_time:
            problems.append(f"op {op.index}: time {op.time} is before the previous {last_time}")
        last_time = op.time if last_time is None else max(last_time, op.time)
        if op.process in retired:
            problems.append(
                f"op {op.index}: process {op.process} used after its info "
                f"(op {retired[op.process]})"
            )
        if op.type is OpType.INFO:
            retired[op.process] = op.index
    return problems


def adequacy(run: RunData) -> CheckResult:
    record = run.meta.get("adequacy")
    if not isinstance(record, dict):
        return CheckResult.unknown(
            "run.json has no adequacy record: cannot tell the run proved anything"
        )
    details = {k: v for k, v in record.items() if k not in ("ok", "reason")}
    reason = str(record.get("reason", ""))
    if record.get("ok") is True:
        return CheckResult.valid(reason or "adequate", **details)
    return CheckResult.unknown(f"run inadequate: {reason or 'no reason given'}", **details)

"""No lost writes: every acknowledged add is in the final read, and no failed add is.

In a nutshell: the set workload (and the objects workload) adds unique elements, then after
healing reads everything back with an op whose ``f`` is ``final-read`` and whose ok value is
the list of elements (or object names, or objects with a ``name``) observed. For every ok
final read:
- an ``ok`` add / create / write whose element is missing is a **lost write** (invalid);
- a ``fail`` add whose element is present is a **phantom write** (invalid: fail means it
  certainly did not happen) — unless another add of the same element was ok or info;
- an ``info`` add may or may not be present (counted, never a violation);
- an element removed by an ok or info ``delete`` is not expected any more.

The element of an add is its value when scalar, ``value["name"]`` when an object, else its key.

    no_lost_writes(run).details["lost"]  # ["e-17"] when e-17 was acknowledged but not read back
"""

from __future__ import annotations

from typing import Any

from harness.checker.pairing import Call
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history import OpType
from harness.model.kinds import workload_feeds

ADD_FS = frozenset({"add", "create", "write"})
FINAL_READ = "final-read"
MAX_LISTED = 50


def element(value: Any, key: str | None) -> Any:
    if isinstance(value, dict):
        meta = value.get("metadata")
        name = value.get("name", meta.get("name") if isinstance(meta, dict) else None)
        return name if name is not None else key
    if isinstance(value, list):
        return repr(value)
    return value if value is not None else key


def applies(run: RunData) -> bool:
    wanted = bool(run.expect.get("no_lost_writes"))
    has_final = any(c.f == FINAL_READ for c in run.paired.calls)
    return wanted and (has_final or workload_feeds(run.workload_kind, "no_lost_writes"))


def no_lost_writes(run: RunData) -> CheckResult:
    calls = run.paired.calls
    finals = [c for c in calls if c.f == FINAL_READ and c.outcome is OpType.OK]
    if not finals:
        return CheckResult.unknown("no successful final read: cannot tell whether writes were lost")
    adds = [c for c in calls if c.f in ADD_FS]
    acknowledged = {element(c.arg, c.key) for c in adds if c.ok}
    maybe = {element(c.arg, c.key) for c in adds if c.indefinite}
    failed = {element(c.arg, c.key) for c in adds if c.outcome is OpType.FAIL}
    failed -= acknowledged | maybe
    deleted = {element(c.arg, c.key) for c in calls if c.f == "delete" and not _failed(c)}
    lost: set[Any] = set()
    phantom: set[Any] = set()
    info_seen: set[Any] = set()
    for final in finals:
        seen = {element(v, None) for v in (final.result or [])}
        lost |= acknowledged - deleted - seen
        phantom |= failed & seen
        info_seen |= maybe & seen
    details = {
        "acknowledged": len(acknowledged),
        "info_adds": len(maybe),
        "info_adds_present": len(info_seen),
        "failed_adds": len(failed),
        "final_reads": len(finals),
        "lost": sorted(map(str, lost))[:MAX_LISTED],
        "phantom": sorted(map(str, phantom))[:MAX_LISTED],
    }
    if lost or phantom:
        return CheckResult.invalid(
            f"{len(lost)} acknowledged writes lost, {len(phantom)} failed writes present (phantom)",
            **details,
        )
    return CheckResult.valid(f"all {len(acknowledged)} acknowledged writes present", **details)


def _failed(c: Call) -> bool:
    return c.outcome is OpType.FAIL

"""A bare ``history.jsonl`` read straight into paired calls, for ``check_history``'s hot path.

In a nutshell: ``read_paired(path)`` parses each line (orjson for files past 0.5 MB, else json) and
pairs invokes with completions in the same pass, building no ``Op`` per record: only the
``Call`` records the linearizability check needs, and the well-formedness problems
``wellformed.well_formed`` would find (same rules, same texts; tests/unit/test_checker_lean.py
keeps the two equal). ``lean_well_formed`` turns them into the same verdict. Unreadable records
raise ``CheckerError`` naming the file and line, like ``rundata``'s reader.

    history = read_paired(Path("history.jsonl"))
    result = lean_well_formed(history)  # then check_linearizable(history.paired.calls, ...)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from harness.checker.gcpause import gc_paused
from harness.checker.pairing import EVENT_FS, Call, Paired, make_call
from harness.checker.verdict import CheckResult
from harness.checker.wellformed import MAX_LISTED
from harness.errors import CheckerError
from harness.history import Op, OpType

# orjson parses our records about 4× faster than json, but importing it costs ~40 ms (it
# loads uuid, datetime, a large extension): that is more than it saves below ~0.5 MB
# (~5,000 records), so small histories, most run directories, use json (already imported).
ORJSON_FROM_BYTES: Final = 1 << 19


def _parser(size: int) -> Callable[[bytes], Any]:
    if size >= ORJSON_FROM_BYTES:
        try:  # optional, so a bare install still checks
            import orjson
        except ImportError:  # pragma: no cover - exercised where orjson is not installed
            pass
        else:
            loads: Callable[[bytes], Any] = orjson.loads
            return loads
    return json.loads


_TYPES = {t.value: t for t in OpType}


@dataclass(frozen=True, slots=True, kw_only=True)
class LeanHistory:
    paired: Paired
    problems: list[str]  # pairing problems first, then the per-record ones, as well_formed lists
    records: int
    last_time: int | None = None  # the time of the last record in file order (None: no record)


def read_paired(path: Path) -> LeanHistory:
    with gc_paused():  # every record is cycle-free (gcpause.py)
        return _read_paired(path)


def _read_paired(path: Path) -> LeanHistory:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckerError(f"{path}: cannot read: {exc}") from exc
    loads = _parser(len(data))
    lines = data.split(b"\n")
    torn_last = not data.endswith(b"\n")
    open_ops: dict[int, tuple[int, dict[str, Any]]] = {}
    slots: list[Call | dict[str, Any]] = []
    events: list[Op] = []
    pair_problems: list[str] = []
    record_problems: list[str] = []
    retired: dict[int, int] = {}
    last_time: int | None = None
    final_time: int | None = None
    count = 0
    invoke, info = OpType.INVOKE, OpType.INFO  # locals: enum member lookups cost on every line
    types, event_fs = _TYPES, EVENT_FS
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            d = loads(line)
        except ValueError as exc:  # json's and orjson's decode errors, bad UTF-8
            if not line.strip():
                continue  # a blank line
            if number == len(lines) and torn_last:
                break  # torn by a crash mid-write: everything before it is intact
            raise CheckerError(f"{path}:{number}: not a JSON object: {exc}") from exc
        if not isinstance(d, dict):
            raise CheckerError(f"{path}:{number}: expected a JSON object, got {type(d).__name__}")
        try:
            index, t, process = d.get("index", 0), d.get("time", 0), d["process"]
            if type(index) is not int or type(t) is not int or type(process) is not int:
                index, t, process = int(index), int(t), int(process)
                d["process"] = process
            d["index"], d["time"] = index, t  # present from here on: _call subscripts them
            typ = d["type"] = types[d["type"]]
            f = d["f"]
            if type(f) is not str:
                f = d["f"] = str(f)
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckerError(f"{path}:{number}: unreadable record: {exc!r}") from exc
        count += 1
        final_time = t
        if last_time is not None and t < last_time:
            record_problems.append(f"op {index}: time {t} is before the previous {last_time}")
        last_time = t if last_time is None or t > last_time else last_time
        if process in retired:
            record_problems.append(
                f"op {index}: process {process} used after its info (op {retired[process]})"
            )
        if typ is info:
            retired[process] = index
        if f in event_fs and typ is not invoke:
            events.append(Op.from_json({**d, "type": typ.value}))
            continue
        if typ is invoke:
            if process in open_ops:
                pair_problems.append(
                    f"op {index}: process {process} invokes {f} while op "
                    f"{open_ops[process][1]['index']} is still open"
                )
            open_ops[process] = (len(slots), d)
            slots.append(d)
            continue
        opened = open_ops.pop(process, None)
        if opened is None:
            pair_problems.append(f"op {index}: {typ.value} {f} of process {process} without invoke")
            continue
        pos, inv = opened
        if inv["f"] != f:
            pair_problems.append(
                f"op {index}: completes {f} but process {process} invoked {inv['f']}"
            )
        slots[pos] = _call(inv, d)
    calls = [s if isinstance(s, Call) else _call(s, None) for s in slots]
    paired = Paired(calls=calls, events=events, problems=pair_problems)
    return LeanHistory(
        paired=paired,
        problems=pair_problems + record_problems,
        records=count,
        last_time=final_time,
    )


def _call(inv: dict[str, Any], done: dict[str, Any] | None) -> Call:
    """The call of an invoke record and its completion (None: never completed). ``process``,
    ``index`` and ``time`` are ints and ``f`` a str here (the reading loop made them so)."""
    key = inv.get("key")
    node = inv.get("node")
    if done is None:
        return make_call(
            inv["process"], inv["f"], None if key is None else str(key), inv.get("value"),
            None, None, inv["time"], None, inv["index"], None, node, None,
        )  # fmt: skip
    if key is None:
        key = done.get("key")
    if node is None:
        node = done.get("node")
    return make_call(
        inv["process"], inv["f"], None if key is None else str(key), inv.get("value"),
        done.get("value"), done["type"], inv["time"], done["time"], inv["index"], done["index"],
        node, done.get("error"),
    )  # fmt: skip


def lean_well_formed(history: LeanHistory) -> CheckResult:
    """``wellformed.well_formed`` on a lean history: the same verdict, reason and details."""
    problems = history.problems
    if problems:
        return CheckResult.unknown(
            f"history is not well formed: {len(problems)} problems; first: {problems[0]}",
            problems=problems[:MAX_LISTED],
            count=len(problems),
        )
    calls = history.paired.calls
    return CheckResult.valid(
        f"{len(calls)} calls, {len(history.paired.events)} events",
        calls=len(calls),
        events=len(history.paired.events),
        ok=sum(1 for c in calls if c.outcome is OpType.OK),
        fail=sum(1 for c in calls if c.outcome is OpType.FAIL),
        info=sum(1 for c in calls if c.indefinite),
    )

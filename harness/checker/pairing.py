"""Pair each ``invoke`` with its completion: the call records every checker works on.

In a nutshell: ``pair_calls(ops)`` walks the history in file order and matches a completion
(ok / fail / info) to the open invoke of the same process (Jepsen's rule: one open op per
process). An invoke that never completes is kept with ``outcome=None`` and is read like
``info`` (it may have taken effect). Lone records whose ``f`` is an *event* (``watch-event``)
are observations, not calls, and are returned separately. Problems (a completion with no open
invoke, a second invoke on a busy process) are collected, never raised: ``well_formed`` turns
them into a verdict.

    calls, events, problems = pair_calls(read_ops(run.history))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from harness.history import Op, OpType

# Records that are observations made by a client, logged as a single ``ok`` line.
EVENT_FS = frozenset({"watch-event"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    process: int
    f: str
    key: str | None
    arg: Any  # the invoke's value
    result: Any  # the completion's value (None while pending)
    outcome: OpType | None  # OK / FAIL / INFO; None = still open when the history ended
    invoke_time: int
    complete_time: int | None
    invoke_index: int
    complete_index: int | None
    node: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.outcome is OpType.OK

    @property
    def indefinite(self) -> bool:
        """Outcome unknown: info, or never completed."""
        return self.outcome is None or self.outcome is OpType.INFO

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "f": self.f,
            "key": self.key,
            "value": self.arg,
            "result": self.result,
            "type": None if self.outcome is None else self.outcome.value,
            "invoke_time": self.invoke_time,
            "complete_time": self.complete_time,
            "index": self.invoke_index,
            "node": self.node,
        }


_CALL_FIELDS: Final = (
    "process",
    "f",
    "key",
    "arg",
    "result",
    "outcome",
    "invoke_time",
    "complete_time",
    "invoke_index",
    "complete_index",
    "node",
    "error",
)
_new = object.__new__
(_p, _f, _k, _a, _r, _o, _it, _ct, _ii, _ci, _n, _e) = (
    Call.__dict__[name].__set__ for name in _CALL_FIELDS
)


def make_call(
    process: int,
    f: str,
    key: str | None,
    arg: Any,
    result: Any,
    outcome: OpType | None,
    invoke_time: int,
    complete_time: int | None,
    invoke_index: int,
    complete_index: int | None,
    node: str | None,
    error: str | None,
) -> Call:
    """``Call(...)`` by position, the same frozen object, built through the slot descriptors:
    about 3× faster than the dataclass ``__init__`` (one ``object.__setattr__`` per field),
    which is the largest cost of reading a long history (lean.py)."""
    c: Call = _new(Call)
    _p(c, process)
    _f(c, f)
    _k(c, key)
    _a(c, arg)
    _r(c, result)
    _o(c, outcome)
    _it(c, invoke_time)
    _ct(c, complete_time)
    _ii(c, invoke_index)
    _ci(c, complete_index)
    _n(c, node)
    _e(c, error)
    return c


@dataclass(frozen=True, slots=True, kw_only=True)
class Paired:
    calls: list[Call]  # in invoke order
    events: list[Op]  # lone observation records (EVENT_FS)
    problems: list[str]  # human-readable well-formedness problems, in file order


def pair_calls(ops: Iterable[Op]) -> Paired:
    open_ops: dict[int, tuple[int, Op]] = {}  # process → (position in calls, invoke op)
    slots: list[Call | Op] = []  # invokes are placeholders until completed
    events: list[Op] = []
    problems: list[str] = []
    for op in ops:
        if op.f in EVENT_FS and op.type is not OpType.INVOKE:
            events.append(op)
            continue
        if op.type is OpType.INVOKE:
            if op.process in open_ops:
                problems.append(
                    f"op {op.index}: process {op.process} invokes {op.f} while op "
                    f"{open_ops[op.process][1].index} is still open"
                )
            open_ops[op.process] = (len(slots), op)
            slots.append(op)
            continue
        opened = open_ops.pop(op.process, None)
        if opened is None:
            problems.append(
                f"op {op.index}: {op.type.value} {op.f} of process {op.process} without invoke"
            )
            continue
        pos, inv = opened
        if inv.f != op.f:
            problems.append(
                f"op {op.index}: completes {op.f} but process {op.process} invoked {inv.f}"
            )
        slots[pos] = _call(inv, op)
    calls = [s if isinstance(s, Call) else _call(s, None) for s in slots]
    return Paired(calls=calls, events=events, problems=problems)


def _call(inv: Op, done: Op | None) -> Call:
    if done is None:
        return make_call(
            inv.process,
            inv.f,
            inv.key,
            inv.value,
            None,
            None,
            inv.time,
            None,
            inv.index,
            None,
            inv.node,
            None,
        )
    return make_call(
        inv.process,
        inv.f,
        inv.key if inv.key is not None else done.key,
        inv.value,
        done.value,
        done.type,
        inv.time,
        done.time,
        inv.index,
        done.index,
        inv.node if inv.node is not None else done.node,
        done.error,
    )

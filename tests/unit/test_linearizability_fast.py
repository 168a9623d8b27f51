"""The unique-value fast path (harness/checker/fastpath.py) agrees with the exact search.

Histories come from a tests-local atomic register driven by Hypothesis draws: each op takes
effect at one instant inside its interval, unless it ends ``info`` (then later, or never). Half
of them are then mutated (a read or a cas expectation changed, an op's interval moved), which
makes many non-linearizable. On every history the fast path, when it decides, must give the
exact search's verdict (sound and complete); its certificate must be non-linearizable on its
own; and histories without compare-failed cas ops must always be decided.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.checker import LinearizabilityOptions, Verdict, check_linearizable
from harness.checker.fastpath import decide
from harness.checker.linearizable import split_by_key
from harness.checker.models import REGISTER, FailCas
from harness.checker.pairing import Call
from harness.history import OpType

EXACT = LinearizabilityOptions(fast_path=False, minimize_budget_s=0)
FAST = LinearizabilityOptions(minimize_budget_s=0.5)


def _call(
    i: int, f: str, arg: Any, result: Any, outcome: OpType | None, t0: int, t1: int | None
) -> Call:
    return Call(
        process=i,
        f=f,
        key="k",
        arg=arg,
        result=result,
        outcome=outcome,
        invoke_time=t0,
        complete_time=t1,
        invoke_index=i,
        complete_index=None if t1 is None else 10_000 + i,
        node=None,
        error="compare failed" if outcome is OpType.FAIL else None,
    )


@st.composite
def register_histories(draw: st.DrawFn) -> list[Call]:
    """Concurrent clients on one atomic register; values unique; times are event numbers."""
    clients = draw(st.integers(1, 4))
    total = draw(st.integers(1, 24))
    state: Any = None
    written: list[Any] = [None]
    next_value = 1
    busy: dict[int, dict[str, Any]] = {}
    late: list[dict[str, Any]] = []  # info ops that may still take effect
    calls: list[Call] = []
    t = 0
    started = 0
    while started < total or busy:
        t += 1
        c = draw(st.integers(0, clients - 1))
        op = busy.get(c)
        if late and draw(st.integers(0, 4)) == 0:  # a timed-out op takes effect now
            p = late.pop(draw(st.integers(0, len(late) - 1)))
            state = _apply(p, state)
        if op is None:
            if started >= total:
                continue
            started += 1
            f = draw(st.sampled_from(["read", "write", "cas"]))
            arg: Any = None
            if f == "write":
                arg, next_value = next_value, next_value + 1
            elif f == "cas":
                expect = draw(st.sampled_from([state, *written]))
                arg, next_value = [expect, next_value], next_value + 1
            written.append(next_value - 1)
            busy[c] = {"f": f, "arg": arg, "t0": t, "done": False, "id": len(calls) + len(busy)}
            continue
        if not op["done"]:
            if draw(st.integers(0, 9)) == 0:  # times out before taking effect
                del busy[c]
                calls.append(
                    _call(len(calls), op["f"], op["arg"], None, OpType.INFO, op["t0"], None)
                )
                if op["f"] != "read" and draw(st.booleans()):
                    late.append(op)
                continue
            op["result"], state = _effect(op, state)
            op["done"] = True
            continue
        del busy[c]
        f, result = op["f"], op["result"]
        outcome = OpType.OK
        if f == "cas" and not result:
            outcome = OpType.FAIL
        if f == "cas":
            result = None
        calls.append(_call(len(calls), f, op["arg"], result, outcome, op["t0"], t))
    return calls


def _effect(op: dict[str, Any], state: Any) -> tuple[Any, Any]:
    if op["f"] == "read":
        return state, state
    if op["f"] == "write":
        return None, op["arg"]
    expect, new = op["arg"]
    return (True, new) if state == expect else (False, state)


def _apply(op: dict[str, Any], state: Any) -> Any:
    return _effect(op, state)[1]


@st.composite
def mutated(draw: st.DrawFn) -> list[Call]:
    calls = draw(register_histories())
    if not calls or draw(st.booleans()):
        return calls
    i = draw(st.integers(0, len(calls) - 1))
    c = calls[i]
    values = [None, 999, *(x.arg if x.f == "write" else (x.arg or [0, 0])[1] for x in calls)]
    how = draw(st.sampled_from(["value", "shift"]))
    if how == "value" and c.f == "read" and c.outcome is OpType.OK:
        calls[i] = replace(c, result=draw(st.sampled_from(values)))
    elif how == "value" and c.f == "cas":
        calls[i] = replace(c, arg=[draw(st.sampled_from(values)), c.arg[1]])
    elif c.complete_time is not None:
        width = c.complete_time - c.invoke_time
        start = draw(st.integers(0, (calls[-1].complete_time or c.invoke_time) + 2))
        calls[i] = replace(c, invoke_time=start, complete_time=start + width)
    return calls


def _verdict(calls: list[Call], options: LinearizabilityOptions) -> Verdict:
    return check_linearizable(calls, options).verdict


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_path_agrees_with_the_exact_search(calls: list[Call]) -> None:
    keys = split_by_key(calls, REGISTER, FailCas.AUTO)
    if not keys:
        return
    fast = decide(keys[0].ops)
    exact = _verdict(calls, EXACT)
    assert exact is not Verdict.UNKNOWN
    if fast.decided:
        assert (Verdict.VALID if fast.ok else Verdict.INVALID) is exact, fast.reason
    if not any(c.f == "cas" and c.outcome is OpType.FAIL for c in calls):
        assert fast.decided, f"undecided without failed cas: {fast.reason}"
    assert _verdict(calls, FAST) is exact


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_certificate_is_not_linearizable_on_its_own(calls: list[Call]) -> None:
    keys = split_by_key(calls, REGISTER, FailCas.AUTO)
    if not keys:
        return
    fast = decide(keys[0].ops)
    if not fast.decided or fast.ok:
        return
    assert fast.subset
    subset = [keys[0].calls[i] for i in fast.subset]
    assert _verdict(subset, EXACT) is Verdict.INVALID, fast.reason


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register_histories())
def test_unmutated_histories_are_valid_on_both_paths(calls: list[Call]) -> None:
    if not split_by_key(calls, REGISTER, FailCas.AUTO):
        return  # only info reads: nothing to check
    assert _verdict(calls, FAST) is Verdict.VALID
    assert _verdict(calls, EXACT) is Verdict.VALID


def _seq(*ops: tuple[str, Any, Any, str, int, int | None]) -> list[Call]:
    """(f, arg, result, type, invoke time, complete time) → calls on key k."""
    return [
        _call(i, f, arg, res, None if kind == "open" else OpType(kind), t0, t1)
        for i, (f, arg, res, kind, t0, t1) in enumerate(ops)
    ]


KNOWN_BAD = {
    "stale read": _seq(
        ("write", 1, None, "ok", 1, 2),
        ("write", 2, None, "ok", 3, 4),
        ("read", None, 1, "ok", 5, 6),
    ),
    "lost write": _seq(("write", 1, None, "ok", 1, 2), ("read", None, None, "ok", 3, 4)),
    "cas on a value never written": _seq(
        ("write", 1, None, "ok", 1, 2), ("cas", [7, 3], None, "ok", 3, 4)
    ),
    "read of a value from the future": _seq(
        ("read", None, 5, "ok", 1, 2), ("write", 5, None, "ok", 3, 4)
    ),
    "write order cycle": _seq(
        ("write", 1, None, "ok", 1, 10),
        ("write", 2, None, "ok", 1, 10),
        ("read", None, 1, "ok", 2, 3),
        ("read", None, 2, "ok", 4, 5),
        ("read", None, 1, "ok", 6, 7),
    ),
    "cas cycle": _seq(("cas", [1, 2], None, "ok", 1, 4), ("cas", [2, 1], None, "ok", 2, 5)),
    "two cas consume one value": _seq(
        ("write", 1, None, "ok", 1, 2),
        ("cas", [1, 2], None, "ok", 3, 4),
        ("cas", [1, 3], None, "ok", 5, 6),
    ),
    "read of an unseen info write after a later write": _seq(
        ("write", 1, None, "info", 1, None),
        ("write", 2, None, "ok", 2, 3),
        ("read", None, 2, "ok", 4, 5),
        ("read", None, 1, "ok", 6, 7),
        ("read", None, 2, "ok", 8, 9),
    ),
}


@pytest.mark.parametrize("name", sorted(KNOWN_BAD))
def test_known_bad_histories_are_rejected_by_the_fast_path(name: str) -> None:
    calls = KNOWN_BAD[name]
    (key,) = split_by_key(calls, REGISTER, FailCas.AUTO)
    fast = decide(key.ops)
    assert fast.decided and not fast.ok, fast.reason
    assert _verdict(calls, EXACT) is Verdict.INVALID
    result = check_linearizable(calls, FAST)
    assert result.verdict is Verdict.INVALID
    assert result.details["unorderable"]


def test_duplicate_values_go_to_the_exact_search() -> None:
    calls = _seq(
        ("write", 1, None, "ok", 1, 2),
        ("write", 1, None, "ok", 3, 4),
        ("read", None, 1, "ok", 5, 6),
    )
    (key,) = split_by_key(calls, REGISTER, FailCas.AUTO)
    assert not decide(key.ops).decided
    assert check_linearizable(calls, FAST).verdict is Verdict.VALID


def test_valid_history_is_counted_as_fast() -> None:
    calls = _seq(
        ("write", 1, None, "ok", 1, 4),
        ("read", None, None, "ok", 2, 3),
        ("cas", [1, 2], None, "ok", 5, 8),
        ("read", None, 1, "ok", 6, 7),
        ("write", 3, None, "info", 9, None),
        ("read", None, 2, "ok", 10, 11),
    )
    result = check_linearizable(calls, FAST)
    assert result.verdict is Verdict.VALID
    assert result.details["fast_path_keys"] == 1

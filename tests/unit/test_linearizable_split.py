"""``split_by_key`` encodes the common calls inline: the ops must equal ``models.encode``'s.

Every combination of verb, outcome, argument and result shape (scalars, null, bools, lists,
dicts, a cas result object) under every ``FailCas`` policy, on both models.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from harness.checker.linearizable import split_by_key
from harness.checker.models import KV, REGISTER, FailCas, Model, encode
from harness.checker.pairing import Call
from harness.history import OpType

VALUES: list[Any] = [None, 0, 7, 1.5, "x", True, False, [1, 2], {"a": 1}]
CAS_ARGS: list[Any] = [[1, 2], [None, 3], ["a", "b"], [True, 1], [[1], 2], (4, 5)]
CAS_RESULTS: list[Any] = [None, [1, 2], {"succeeded": False}, {"succeeded": True}, True]
OUTCOMES = [OpType.OK, OpType.FAIL, OpType.INFO, None]


def _calls() -> list[Call]:
    rows: list[tuple[str, Any, Any]] = []
    for f in ("read", "get"):
        rows += [(f, None, v) for v in VALUES]
    for f in ("write", "put", "append"):
        rows += [(f, v, v) for v in VALUES]
    rows += [("cas", a, r) for a, r in itertools.product(CAS_ARGS, CAS_RESULTS)]
    rows += [("delete", None, r) for r in (None, True, False, {"deleted": True})]
    calls = []
    for i, ((f, arg, result), outcome) in enumerate(itertools.product(rows, OUTCOMES)):
        for error in (None, "compare failed", "timeout"):
            calls.append(
                Call(
                    process=i, f=f, key=f"k{i % 3}", arg=arg, result=result, outcome=outcome,
                    invoke_time=i, complete_time=None if outcome is None else i + 1,
                    invoke_index=i, complete_index=None, node=None, error=error,
                )
            )  # fmt: skip
    return calls


@pytest.mark.parametrize("policy", list(FailCas))
@pytest.mark.parametrize("model", [REGISTER, KV], ids=lambda m: m.name)
def test_inline_encoding_equals_encode(policy: FailCas, model: Model) -> None:
    calls = [c for c in _calls() if c.f in model.fs]
    seen = 0
    for kh in split_by_key(calls, model, policy):
        for op, call in zip(kh.ops, kh.calls, strict=True):
            want = encode(call.f, call.arg, call.result, call.outcome, call.error, policy)
            assert op.op == want, call
            assert type(op.op[1]) is type(want and want[1])  # 1 and True stay apart
            seen += 1
    # and nothing dropped that encode keeps
    kept = [c for c in calls if encode(c.f, c.arg, c.result, c.outcome, c.error, policy)]
    assert seen == len(kept)


def test_a_malformed_cas_still_raises() -> None:
    bad = next(c for c in _calls() if c.f == "cas" and c.outcome is OpType.OK)
    with pytest.raises(ValueError, match="cas value must be"):
        split_by_key([replace(bad, arg=[1, 2, 3])], REGISTER, FailCas.AUTO)

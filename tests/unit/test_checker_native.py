"""The compiled search core (harness/checker/native) decides exactly as the Python one (wgl.py).

Every check here runs a history through both cores (``CHAOSPLANE_CHECKER_CORE=python`` forces
wgl.py) and asserts the same verdict and, for invalid histories, the same failing key. Skipped,
saying why, where the core was not built (an install without cargo) or ../shared is absent.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from corpus_support import CORPUS, ROWS, needs_corpus

from harness.checker import (
    Call,
    CheckResult,
    LinearizabilityOptions,
    Verdict,
    check_linearizable,
    pair_calls,
)
from harness.checker.lean import read_paired
from harness.checker.models import KV, REGISTER, UNKNOWN, WRITE
from harness.checker.searchcore import CORE_ENV, encode_keys, native_core
from harness.checker.wgl import SearchOp
from harness.history import Op, OpType
from harness.testing.simulate import SimParams, simulate_register

needs_native = pytest.mark.skipif(
    native_core() is None,
    reason="the compiled checker core is not built (pip install -e . needs cargo); "
    "the Python search decides",
)


def test_the_compiled_core_is_built_wherever_cargo_is() -> None:
    """A machine with cargo must have built the core: a silently failed build would otherwise
    turn every native test into a skip and leave the slower search deciding."""
    if shutil.which("cargo") is None or os.environ.get("CHAOSPLANE_NATIVE") == "0":
        pytest.skip("no cargo on PATH (or CHAOSPLANE_NATIVE=0): the Python search is expected")
    assert native_core() is not None, (
        "cargo is here but harness.checker._native is not: `make venv`"
    )


SEARCH_ONLY = LinearizabilityOptions(fast_path=False, minimize_budget_s=0.5)


@pytest.fixture
def python_core() -> Iterator[None]:
    os.environ[CORE_ENV] = "python"
    try:
        yield
    finally:
        del os.environ[CORE_ENV]


def _both(calls: list[Call], options: LinearizabilityOptions) -> tuple[CheckResult, CheckResult]:
    native = check_linearizable(calls, options)
    os.environ[CORE_ENV] = "python"
    try:
        python = check_linearizable(calls, options)
    finally:
        del os.environ[CORE_ENV]
    return native, python


def _same(native: CheckResult, python: CheckResult) -> None:
    assert native.verdict is python.verdict, (native.reason, python.reason)
    assert native.details.get("key") == python.details.get("key")
    if native.details.get("core") is not None:  # decided by a search, not the fast path
        assert native.details["core"] == "native"
        assert python.details["core"] == "python"


@needs_native
@needs_corpus
def test_corpus_verdicts_are_equal_in_both_cores() -> None:
    assert len(ROWS) == 108
    for row in ROWS:
        calls = read_paired(CORPUS / row["jsonl"]).paired.calls
        native, python = _both(calls, LinearizabilityOptions())
        _same(native, python)
        expected = Verdict.VALID if row["verdict"] == "linearizable" else Verdict.INVALID
        assert native.verdict is expected, (row["history"], native.reason)
        assert native.details["core"] == "native", row["history"]


def _shuffle_values(ops: list[Op], mod: int) -> list[Op]:
    """Every int value v as v % mod: duplicate values, so the fast path cannot decide and the
    search branches on equal states (verdicts may change; both cores must agree)."""

    def m(v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return v % mod
        if isinstance(v, list):
            return [m(x) for x in v]
        return v

    fields = Op.__slots__
    return [Op(**{**{s: getattr(o, s) for s in fields}, "value": m(o.value)}) for o in ops]


def _stale(ops: list[Op], rng: random.Random) -> list[Op]:
    """One ok read made to return a value an earlier completed write wrote (often stale)."""
    fields = Op.__slots__
    writes = [o.value for o in ops if o.type is OpType.OK and o.f == "write"]
    reads = [i for i, o in enumerate(ops) if o.type is OpType.OK and o.f == "read"]
    if not writes or not reads:
        return ops
    i = reads[rng.randrange(len(reads))]
    out = list(ops)
    out[i] = Op(**{**{s: getattr(ops[i], s) for s in fields}, "value": writes[0]})
    return out


@needs_native
@pytest.mark.parametrize("seed", range(40))
def test_generated_histories_decide_alike(seed: int) -> None:
    rng = random.Random(seed)
    params = SimParams(
        clients=rng.randint(2, 6),
        keys=rng.randint(1, 4),
        ops=rng.randint(20, 160),
        info_per_mille=rng.choice([0, 50, 200]),
        fail_per_mille=rng.choice([0, 50]),
    )
    ops = simulate_register(params, random.Random(seed).randrange)
    valid, _ = _both(pair_calls(ops).calls, SEARCH_ONLY)
    assert valid.verdict is Verdict.VALID, valid.reason  # an atomic register's history
    assert valid.details["core"] == "native"
    for variant in (
        _stale(ops, rng),
        _shuffle_values(ops, 3),
        _shuffle_values(_stale(ops, rng), 2),
    ):
        _same(*_both(pair_calls(variant).calls, SEARCH_ONLY))


@needs_native
def test_a_stale_read_is_invalid_in_the_native_core_with_its_key() -> None:
    good = simulate_register(SimParams(clients=3, keys=3, ops=60), random.Random(5).randrange)
    t = good[-1].time + 1
    tail = [
        ("invoke", "write", 1), ("ok", "write", 1), ("invoke", "write", 1), ("ok", "write", 1),
        ("invoke", "write", 2), ("ok", "write", 2), ("invoke", "read", None), ("ok", "read", 1),
    ]  # fmt: skip  # duplicate values: the fast path leaves it to the search
    bad = [
        Op(index=len(good) + i, time=t + i, process=77, type=OpType(k), f=f, key="zz", value=v)
        for i, (k, f, v) in enumerate(tail)
    ]
    native, python = _both(pair_calls(good + bad).calls, SEARCH_ONLY)
    assert native.verdict is Verdict.INVALID
    assert native.details["key"] == "zz"
    assert native.details["core"] == "native"
    assert len(good) + 6 in {c["index"] for c in native.details["unorderable"]}  # the read
    _same(native, python)


def _kv(events: list[tuple[str, str, str, Any]]) -> list[Call]:
    ops = [
        Op(index=i, time=i, process=0 if f != "get" else 1, type=OpType(t), f=f, key=k, value=v)
        for i, (t, f, k, v) in enumerate(events)
    ]
    return pair_calls(ops).calls


@needs_native
def test_kv_appends_are_checked_by_content() -> None:
    events = [
        ("invoke", "append", "a", "x"), ("ok", "append", "a", "x"),
        ("invoke", "append", "a", "y"), ("ok", "append", "a", "y"),
        ("invoke", "put", "b", "xy"), ("ok", "put", "b", "xy"),
        ("invoke", "get", "a", None), ("ok", "get", "a", "xy"),
    ]  # fmt: skip
    ok = _kv(events)
    native, python = _both(ok, LinearizabilityOptions())
    assert native.verdict is Verdict.VALID and native.details["core"] == "native"
    _same(native, python)
    bad_events = [
        (0, "invoke", "append", "a", "x"), (0, "ok", "append", "a", "x"),
        (0, "invoke", "append", "a", "y"), (0, "ok", "append", "a", "y"),
        (1, "invoke", "get", "a", None), (1, "ok", "get", "a", "yx"),
    ]  # fmt: skip
    wrong = pair_calls(
        [
            Op(index=i, time=i, process=p, type=OpType(t), f=f, key=k, value=v)
            for i, (p, t, f, k, v) in enumerate(bad_events)
        ]
    ).calls
    native, python = _both(wrong, LinearizabilityOptions())
    assert native.verdict is Verdict.INVALID and native.details["key"] == "a"
    _same(native, python)


def test_values_the_core_cannot_take_fall_back_to_python() -> None:
    kv_ops = [SearchOp(op=(5, 7, None, UNKNOWN), call=0, ret=1)]  # a put of an int
    assert encode_keys(KV, [kv_ops]) is None
    float_time = [SearchOp(op=(WRITE, 1, None, UNKNOWN), call=0, ret=1.5)]  # type: ignore[arg-type]
    assert encode_keys(REGISTER, [float_time]) is None
    flat = encode_keys(REGISTER, [[SearchOp(op=(WRITE, "v", None, UNKNOWN), call=0, ret=None)]])
    assert flat is not None and flat.ret == [(1 << 63) - 1] and flat.a == [1]


def test_the_python_core_can_be_forced_and_says_so(python_core: None) -> None:
    calls = _kv([("invoke", "put", "a", "x"), ("ok", "put", "a", "x")])
    result = check_linearizable(calls, LinearizabilityOptions())
    assert result.verdict is Verdict.VALID
    assert result.details["core"] == "python"


def _hard() -> list[Call]:
    ops = simulate_register(
        SimParams(clients=6, keys=1, ops=400, info_per_mille=300), random.Random(3).randrange
    )
    return pair_calls(_shuffle_values(ops, 2)).calls


@needs_native
def test_native_time_budget_gives_unknown_with_the_key_left() -> None:
    result = check_linearizable(
        _hard(), LinearizabilityOptions(time_budget_s=0.0, slice_steps=1, fast_path=False)
    )
    assert result.verdict is Verdict.UNKNOWN
    assert "time budget" in result.reason
    assert result.details["keys_left"] == ["k0"]
    assert result.details["core"] == "native"


@needs_native
def test_native_memory_budget_gives_unknown() -> None:
    result = check_linearizable(
        _hard(), LinearizabilityOptions(memory_budget_bytes=100, slice_steps=10, fast_path=False)
    )
    assert result.verdict is Verdict.UNKNOWN
    assert "memory budget" in result.reason
    assert result.details["core"] == "native"


@needs_native
@pytest.mark.parametrize("seed", range(10))
def test_the_bounded_first_search_proves_keys_and_misses_no_violation(seed: int) -> None:
    ops = simulate_register(
        SimParams(clients=4, keys=3, ops=150, info_per_mille=50), random.Random(seed).randrange
    )
    native, python = _both(pair_calls(ops).calls, LinearizabilityOptions())
    assert native.verdict is python.verdict is Verdict.VALID
    assert native.details["native_quick_keys"] > 0  # unique values: a few steps an op
    assert python.details["native_quick_keys"] == 0
    bad = _stale(ops, random.Random(seed))
    native, python = _both(pair_calls(bad).calls, LinearizabilityOptions())
    _same(native, python)

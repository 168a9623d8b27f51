"""Which core runs the exact search: the compiled one (harness/checker/native) or wgl.py.

In a nutshell: ``native_core()`` is the compiled module, or None where it was not built (an
install without cargo) or ``CHAOSPLANE_CHECKER_CORE=python`` asks for the Python search.
``encode_keys(model, keys)`` turns the keys' ops into the flat arrays the core takes (values
interned to integers, one pass, no per-op objects), or None when a value does not fit the core
(a kv value that is not a string, a time that is not an int): then the Python search decides.
``native_search(...)`` runs the core with the same slices, order and budgets as
``linearizable._check`` runs wgl.py, so both decide the same keys the same way.

    core = native_core()
    flat = encode_keys(REGISTER, keys) if core else None
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Final

from harness.checker.models import CAS, DELETE, GET, KV, READ, UNKNOWN, Model, ModelOp
from harness.checker.wgl import SearchOp

# "python" forces wgl.py; anything else: the native core where it is built
CORE_ENV: Final = "CHAOSPLANE_CHECKER_CORE"
NO_RET: Final = (1 << 63) - 1  # the core's +∞ return
_I64_MIN: Final = -(1 << 63)

_loaded: list[ModuleType | None] = []


def native_core() -> ModuleType | None:
    """The compiled core, or None (not built, or the Python search was asked for)."""
    if os.environ.get(CORE_ENV, "") == "python":
        return None
    if not _loaded:
        try:
            from harness.checker import _native
        except ImportError:
            _loaded.append(None)
        else:
            _loaded.append(_native)
    return _loaded[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatOps:
    """Every key's ops as parallel arrays; key ``k`` holds positions ``starts[k]:starts[k+1]``."""

    model: int  # 0 register, 1 kv
    init: int  # the id of the initial state
    starts: list[int]
    kinds: list[int]
    a: list[int]
    b: list[int]
    out: list[int]
    call: list[int]
    ret: list[int]
    strings: list[str]  # kv: the string of each id


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeAnswer:
    code: int  # 0 valid, 1 invalid, 2 time budget, 3 memory budget
    key: int  # the invalid key's position in ``keys``
    longest: tuple[int, ...]
    stuck: int | None
    memo_entries: int
    max_memo: int
    keys_left: list[int]


def _times_fit(ts: list[int]) -> bool:
    return not ts or (set(map(type, ts)) == {int} and min(ts) > _I64_MIN and max(ts) < NO_RET)


def encode_keys(model: Model, keys: Sequence[Sequence[SearchOp]]) -> FlatOps | None:
    kv = model is KV
    every = [o for ops in keys for o in ops]
    calls = [o.call for o in every]
    if not _times_fit(calls) or not _times_fit([o.ret for o in every if o.ret is not None]):
        return None
    rets = [NO_RET if o.ret is None else o.ret for o in every]
    mops: list[ModelOp] = [o.op for o in every]
    ids: dict[object, int] = {model.init: 0}
    intern = ids.setdefault
    unknown = UNKNOWN
    no_value = (READ, GET, DELETE)
    flags = (CAS, DELETE)
    try:
        kinds = [m[0] for m in mops]
        a_s = [0 if m[0] in no_value else intern(m[1], len(ids)) for m in mops]
        b_s = [intern(m[2], len(ids)) if m[0] == CAS else 0 for m in mops]
        outs = [
            -1
            if m[3] is unknown
            else (1 if m[3] else 0)
            if m[0] in flags
            else intern(m[3], len(ids))
            if m[0] in (READ, GET)
            else -1
            for m in mops
        ]
    except TypeError:  # an unhashable value (not canonical)
        return None
    strings: list[str] = []
    if kv:
        strings = list(ids)  # type: ignore[arg-type]  # checked just below
        if set(map(type, strings)) != {str}:
            return None
    starts = [0]
    for ops in keys:
        starts.append(starts[-1] + len(ops))
    return FlatOps(
        model=1 if kv else 0, init=0, starts=starts, kinds=kinds, a=a_s, b=b_s, out=outs,
        call=calls, ret=rets, strings=strings,
    )  # fmt: skip


def native_search(
    core: ModuleType,
    flat: FlatOps,
    *,
    slice_steps: int,
    time_budget_s: float,
    memory_budget_bytes: int,
) -> NativeAnswer:
    code, key, longest, stuck, entries, max_memo, left = core.check_keys(
        flat.model, flat.init, flat.starts, flat.kinds, flat.a, flat.b, flat.out, flat.call,
        flat.ret, flat.strings, slice_steps, time_budget_s, memory_budget_bytes,
    )  # fmt: skip
    return NativeAnswer(
        code=code,
        key=key,
        longest=tuple(longest),
        stuck=None if stuck < 0 else stuck,
        memo_entries=entries,
        max_memo=max_memo,
        keys_left=list(left),
    )


def native_search_one(
    core: ModuleType,
    flat: FlatOps,
    *,
    slice_steps: int,
    max_slices: int,
    time_budget_s: float,
) -> bool | None:
    """``wgl.search`` on one key (``flat`` holds exactly one): True/False, or None when it
    yielded more than ``max_slices`` times or the time ran out."""
    got = core.search_one(
        flat.model, flat.init, flat.kinds, flat.a, flat.b, flat.out, flat.call, flat.ret,
        flat.strings, slice_steps, max_slices, time_budget_s,
    )  # fmt: skip
    return None if got < 0 else bool(got)


QUICK_STEPS_PER_OP: Final = 8  # the first, bounded try: a unique-valued key needs about 2-3
QUICK_MIN_STEPS: Final = 2_000


def native_quick(core: ModuleType, flat: FlatOps) -> list[int]:
    """Per key 1 linearizable, 0 not, -1 undecided after a bounded ``search`` (see
    ``QUICK_STEPS_PER_OP``): what it proves is exact; the rest goes the usual way."""
    got: list[int] = core.quick_keys(
        flat.model, flat.init, flat.starts, flat.kinds, flat.a, flat.b, flat.out, flat.call,
        flat.ret, flat.strings, QUICK_STEPS_PER_OP, QUICK_MIN_STEPS,
    )  # fmt: skip
    return got

"""Linearizability of per-key registers (or Porcupine's kv model), with budgets and a witness.

In a nutshell: ``check_linearizable(calls, options)`` splits the history by key (keys are
independent: P-compositionality, Herlihy & Wing 1990 §3.3), runs two exact Wing–Gong–Lowe
searches per key (``wgl.search`` and ``wgl.search_in_order``: the first answer decides),
interleaved in round-robin slices so a hard key cannot starve the others, and stops at the
first key that is not linearizable. It returns a ``CheckResult``:

- valid: every key has a linearization;
- invalid: ``details`` name the key, the op the deepest search could not get past (``stuck``),
  a 1-minimal set of ops that cannot be ordered (``unorderable``) and the longest linearizable
  prefix found (``longest_prefix``: history indices of the invokes, in linearization order);
- unknown: the time or memory budget ran out (never an OOM or a hang), with the keys left.

How the history is read (``models.encode``): ``info`` (and never-completed) ops may take effect
at any time after their invoke, or never (return at +∞, any output); ``fail`` writes are
dropped; a ``fail`` read is a read with any result (the same as dropping it); a ``fail`` cas is
"ran, compare failed" by default (``FailCas``). Intervals are closed.

Fast path, sound whatever the values: a read (or successful cas) of a value that no write
invoked before its return could have produced is reported at once, with that op and its
writers as the counterexample. When values are unique per key the same index drops the
``info`` writes nobody observed (a write whose value nobody read can always be placed at +∞),
which keeps the search from branching on them. Whatever the values, every written value that
no op observes is replaced by one token, so such writes are interchangeable to the search.

Which core searches: the compiled one (``harness/checker/native``, Rust through PyO3, the same
two searches step for step) where it is built, else wgl.py (``searchcore.py`` decides;
``CHAOSPLANE_CHECKER_CORE=python`` forces wgl.py). With the compiled core every key first gets
a bounded search (a few steps an op), which proves most keys of our workloads before the fast
path runs in Python. Results say which core decided in ``details["core"]``.

    result = check_linearizable(pair_calls(read_ops(path)).calls, LinearizabilityOptions())
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Final

from harness.checker.fastpath import FastResult, decide
from harness.checker.gcpause import gc_paused
from harness.checker.models import (
    APPEND,
    CAS,
    DELETE,
    GET,
    KV,
    MODELS,
    PUT,
    READ,
    REGISTER,
    UNKNOWN,
    WRITE,
    FailCas,
    Model,
    ModelOp,
    encode,
    fail_cas_ran,
)
from harness.checker.pairing import Call
from harness.checker.searchcore import (
    FlatOps,
    encode_keys,
    native_core,
    native_quick,
    native_search,
)
from harness.checker.verdict import CheckResult
from harness.checker.wgl import SearchOp, SearchResult, search, search_in_order
from harness.history import OpType


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearizabilityOptions:
    model: str = "auto"  # auto (kv when get/put/append appear) | register | kv
    fail_cas: FailCas = FailCas.AUTO
    time_budget_s: float = 60.0
    memory_budget_bytes: int = 1 << 30
    slice_steps: int = 20_000
    minimize_budget_s: float = 2.0  # spent shrinking the counterexample, within time_budget_s
    fast_path: bool = True  # decide unique-value register keys without the search (fastpath.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyHistory:
    key: str
    ops: list[SearchOp]
    calls: list[Call]  # aligned with ops


def choose_model(calls: Sequence[Call], name: str) -> Model:
    """The named model; for ``auto``, kv when a put or append appears (``get`` alone is also a
    verb of the objects workload, which is not a register), else register."""
    if name != "auto":
        return MODELS[name]
    return KV if any(c.f in ("put", "append") for c in calls) else REGISTER


_SCALARS: Final = (type(None), str, int, float)  # canonical() leaves these as they are


def split_by_key(calls: Sequence[Call], model: Model, fail_cas: FailCas) -> list[KeyHistory]:
    """Each key's ops in invoke order, fewest first. The common calls (an ok read / get of a
    scalar, a write / put / append of one) are encoded inline, as ``encode`` would."""
    by_key: dict[str, tuple[list[SearchOp], list[Call]]] = {}
    fs = model.fs
    ok, failed = OpType.OK, OpType.FAIL
    inline_read = {"read": READ, "get": GET}
    inline_write = {"write": WRITE, "put": PUT, "append": APPEND}
    scalars = _SCALARS
    ran_by_error: dict[str | None, bool] = {}  # a failed cas's error text → it ran
    for c in calls:
        f = c.f
        if f not in fs:
            continue
        outcome = c.outcome
        if outcome is ok and f in inline_read and type(c.result) in scalars:
            mop: ModelOp = (inline_read[f], None, None, c.result)
        elif outcome is not failed and f in inline_write and type(c.arg) in scalars:
            mop = (inline_write[f], c.arg, None, UNKNOWN)
        elif (
            f == "cas"
            and type(arg := c.arg) is list
            and len(arg) == 2
            and type(arg[0]) in scalars
            and type(arg[1]) in scalars
            and type(c.result) is not dict
        ):  # an ok cas swapped (unless its result says otherwise); an info one may have
            if outcome is failed:  # ran and compare failed, or never ran: by its error text
                ran = ran_by_error.get(c.error)
                if ran is None:
                    ran = ran_by_error[c.error] = fail_cas_ran(fail_cas, None, c.error)
                if not ran:
                    continue
                mop = (CAS, arg[0], arg[1], False)
            else:
                mop = (CAS, arg[0], arg[1], True if outcome is ok else UNKNOWN)
        else:
            encoded = encode(f, c.arg, c.result, outcome, c.error, fail_cas)
            if encoded is None:
                continue
            mop = encoded
        ret = c.complete_time if outcome is ok or outcome is failed else None
        key = "" if c.key is None else c.key
        entry = by_key.get(key)
        if entry is None:
            entry = by_key[key] = ([], [])
        entry[0].append(SearchOp(mop, c.invoke_time, ret))
        entry[1].append(c)
    return [
        KeyHistory(key=k, ops=by_key[k][0], calls=by_key[k][1])
        for k in sorted(by_key, key=lambda k: len(by_key[k][0]))
    ]


def check_linearizable(calls: Sequence[Call], options: LinearizabilityOptions) -> CheckResult:
    with gc_paused():  # millions of small cycle-free tuples: collections only cost (gcpause.py)
        return _check(calls, options)


def _check(calls: Sequence[Call], options: LinearizabilityOptions) -> CheckResult:
    started = time.monotonic()
    deadline = started + options.time_budget_s
    model = choose_model(calls, options.model)
    keys = split_by_key(calls, model, options.fail_cas)
    if not keys:
        return CheckResult.unknown(
            f"no {'/'.join(sorted(model.fs))} ops to check", model=model.name, keys=0
        )
    pruned = 0
    fast_keys = 0
    fast_ops = 0
    quick_keys = 0  # proven by the compiled core's bounded first search (counted in fast_keys)
    core = native_core()
    if core is not None and options.fast_path:
        # The compiled search first, bounded: most keys of our own workloads it proves
        # linearizable in a few steps an op, cheaper than the fast path in Python. Keys it
        # proves are valid whatever the order, so leaving them out cannot change which key
        # the rest of the pipeline finds invalid first.
        status = _quick(core, model, keys)
        rest = [kh for kh, st in zip(keys, status, strict=True) if st != 1]
        fast_keys = quick_keys = len(keys) - len(rest)
        fast_ops = sum(len(kh.ops) for kh, st in zip(keys, status, strict=True) if st == 1)
        keys = rest
        if not keys:
            counts = _Counts(fast_keys=fast_keys, fast_ops=fast_ops, pruned=0, quick=quick_keys)
            return _valid(model, keys, counts, 0, started, "native")
    if model is REGISTER and options.fast_path:
        undecided: list[KeyHistory] = []
        for kh in keys:
            decided = decide(kh.ops)
            if not decided.decided:
                undecided.append(kh)
            elif not decided.ok:
                return _fast_counterexample(model, kh, decided, deadline, options)
            else:
                fast_keys += 1
                fast_ops += len(kh.ops)
        keys = undecided
    if model is REGISTER:
        for kh in keys:
            early = _impossible_read(kh)
            if early is not None:
                return _invalid(kh, early, (), None, minimal=True, model=model)
        keys, pruned = _prune_unobserved_info(keys)
        keys = [_blur_unobserved(kh) for kh in keys]
    counts = _Counts(fast_keys=fast_keys, fast_ops=fast_ops, pruned=pruned, quick=quick_keys)
    flat = encode_keys(model, [kh.ops for kh in keys]) if core is not None else None
    if core is not None and flat is not None:
        return _native_check(core, flat, model, keys, started, deadline, options, counts)
    # Two exact searches per key, interleaved; the first to answer decides the key (wgl.py).
    searches: dict[tuple[int, int], Generator[int, None, SearchResult]] = {}
    for i, kh in enumerate(keys):
        # ``search`` first in each round: on most keys it answers within its first slice
        # (the corpus: 0.06 M steps against 1.6 M), and then its sibling never runs.
        if any(o.ret is None for o in kh.ops):  # without pending ops the two walk alike
            searches[(i, 0)] = search(model, kh.ops, slice_steps=options.slice_steps)
        searches[(i, 1)] = search_in_order(model, kh.ops, slice_steps=options.slice_steps)
    memo: dict[tuple[int, int], int] = {}
    max_memo = 0
    while searches:
        for sid in list(searches):
            if sid not in searches:
                continue  # its sibling answered for the key in this round
            try:
                memo[sid] = next(searches[sid])
            except StopIteration as done:
                result: SearchResult = done.value
                i = sid[0]
                for v in (0, 1):
                    sibling = searches.pop((i, v), None)
                    if sibling is not None:
                        sibling.close()
                    memo.pop((i, v), None)
                max_memo = max(max_memo, result.memo_entries)
                if not result.ok:
                    for g in searches.values():
                        g.close()
                    return _counterexample(model, keys[i], result, deadline, options, "python")
            total = sum(memo.values())
            max_memo = max(max_memo, total)
            why = _over_budget(total * model.memo_entry_bytes, deadline, options)
            if why:
                left = sorted({keys[j].key for j, _v in searches})
                for g in searches.values():
                    g.close()
                return CheckResult.unknown(
                    why, keys_left=left, keys_total=len(keys), model=model.name, core="python"
                )
    return _valid(model, keys, counts, max_memo, started, "python")


_QUICK_BATCH_OPS: Final = 4_000  # keys are encoded and tried in batches of about this many ops


def _quick(core: ModuleType, model: Model, keys: Sequence[KeyHistory]) -> list[int]:
    """The bounded native try, per key 1 proven, else 0 or -1 (left to the usual way). Keys go
    in batches, fewest ops first, and the first batch with a violation ends it: an invalid
    history then pays for the keys before it only, as the fast path alone would."""
    status = [-1] * len(keys)
    start = 0
    while start < len(keys):
        end, size = start, 0
        while end < len(keys) and (size < _QUICK_BATCH_OPS or end == start):
            size += len(keys[end].ops)
            end += 1
        flat = encode_keys(model, [kh.ops for kh in keys[start:end]])
        if flat is None:
            return status
        got = native_quick(core, flat)
        status[start:end] = got
        if 0 in got:
            return status
        start = end
    return status


@dataclass(frozen=True, slots=True, kw_only=True)
class _Counts:
    fast_keys: int  # decided without the full search: the bounded native try or fastpath.py
    fast_ops: int
    pruned: int
    quick: int  # of fast_keys, those the bounded native try proved


def _valid(
    model: Model,
    keys: Sequence[KeyHistory],
    counts: _Counts,
    max_memo: int,
    started: float,
    core: str,
) -> CheckResult:
    return CheckResult.valid(
        f"{len(keys) + counts.fast_keys} keys linearizable",
        model=model.name,
        keys=len(keys) + counts.fast_keys,
        ops=sum(len(k.ops) for k in keys) + counts.fast_ops,
        fast_path_keys=counts.fast_keys,
        native_quick_keys=counts.quick,
        pruned_info_ops=counts.pruned,
        max_memo_entries=max_memo,
        core=core,  # which exact search decided: "native" (compiled) or "python" (wgl.py)
        elapsed_s=round(time.monotonic() - started, 4),
    )


def _native_check(
    core: ModuleType,
    flat: FlatOps,
    model: Model,
    keys: list[KeyHistory],
    started: float,
    deadline: float,
    options: LinearizabilityOptions,
    counts: _Counts,
) -> CheckResult:
    """The compiled core's answer, in the same words as the Python search's."""
    answer = native_search(
        core,
        flat,
        slice_steps=options.slice_steps,
        time_budget_s=max(0.0, deadline - time.monotonic()),
        memory_budget_bytes=options.memory_budget_bytes,
    )
    if answer.code == 1:
        result = SearchResult(
            ok=False,
            longest=answer.longest,
            stuck=answer.stuck,
            memo_entries=answer.memo_entries,
            steps=0,
        )
        return _counterexample(model, keys[answer.key], result, deadline, options, "native")
    if answer.code in (2, 3):
        why = (
            f"time budget of {options.time_budget_s} s exhausted"
            if answer.code == 2
            else f"memory budget of {options.memory_budget_bytes} bytes exhausted"
        )
        left = sorted({keys[j].key for j in answer.keys_left})
        return CheckResult.unknown(
            why, keys_left=left, keys_total=len(keys), model=model.name, core="native"
        )
    return _valid(model, keys, counts, answer.max_memo, started, "native")


def _over_budget(memo_bytes: int, deadline: float, options: LinearizabilityOptions) -> str:
    if time.monotonic() > deadline:
        return f"time budget of {options.time_budget_s} s exhausted"
    if memo_bytes > options.memory_budget_bytes:
        return (
            f"memory budget of {options.memory_budget_bytes} bytes exhausted "
            f"(memo ≈ {memo_bytes} bytes)"
        )
    return ""


def _impossible_read(kh: KeyHistory) -> list[int] | None:
    """A read / successful cas observing a non-initial value that no write invoked before its
    return produces: the op and every writer of that value, else None."""
    writers: dict[object, list[int]] = defaultdict(list)
    for i, o in enumerate(kh.ops):
        kind, a, b, res = o.op
        if kind == WRITE:
            writers[a].append(i)
        elif kind == CAS and res is not False:  # a compare-failed cas wrote nothing
            writers[b].append(i)
    for i, o in enumerate(kh.ops):
        kind, a, _b, out = o.op
        seen = out if kind == READ else a if kind == CAS and out is True else None
        if seen is None or seen is UNKNOWN:
            continue
        ret = o.ret if o.ret is not None else float("inf")
        ws = writers.get(seen, [])
        if not any(kh.ops[w].call <= ret for w in ws):
            return [*ws, i]
    return None


def _prune_unobserved_info(keys: list[KeyHistory]) -> tuple[list[KeyHistory], int]:
    """Drop info writes/cas whose value nobody observed, on keys with unique written values and
    no op whose acceptance depends on the value being *different* (failed cas, asserted delete)."""
    out: list[KeyHistory] = []
    pruned = 0
    for kh in keys:
        written: list[object] = []
        observed: set[object] = set()
        negative = False
        for o in kh.ops:
            kind, a, b, res = o.op
            if kind == WRITE:
                written.append(a)
            elif kind == CAS:
                written.append(b)
                observed.add(a)  # even a cas of unknown outcome needs ``a`` to write ``b``
                negative = negative or res is False
            elif kind == READ and res is not UNKNOWN:
                observed.add(res)
            elif kind == DELETE:
                negative = negative or res is not UNKNOWN
        if negative or len(set(written)) != len(written):
            out.append(kh)
            continue
        keep = [
            i
            for i, o in enumerate(kh.ops)
            if not (o.ret is None and o.op[0] in (WRITE, CAS) and _written(o) not in observed)
        ]
        pruned += len(kh.ops) - len(keep)
        out.append(
            KeyHistory(key=kh.key, ops=[kh.ops[i] for i in keep], calls=[kh.calls[i] for i in keep])
        )
    return out, pruned


class _Unobserved:
    """The one stand-in for every written value that no op observes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNOBSERVED"


UNOBSERVED: Final = _Unobserved()


def _blur_unobserved(kh: KeyHistory) -> KeyHistory:
    """Replace every written value nobody observes by one token (sound: no read returns it, no
    cas expects it, and a delete only asks whether *some* value is there, so no step can tell
    such values apart). Equal pending writes then become interchangeable (``wgl`` orders
    them) and their states merge in the memo: many timed-out writes stop branching."""
    observed: set[object] = set()
    for o in kh.ops:
        kind, a, _b, out = o.op
        if kind == READ and out is not UNKNOWN:
            observed.add(out)
        elif kind == CAS:
            observed.add(a)
    ops: list[SearchOp] = []
    for o in kh.ops:
        kind, a, b, out = o.op
        if kind == WRITE and a is not None and a not in observed:
            o = SearchOp(op=(kind, UNOBSERVED, b, out), call=o.call, ret=o.ret)
        elif kind == CAS and b is not None and b not in observed:
            o = SearchOp(op=(kind, a, UNOBSERVED, out), call=o.call, ret=o.ret)
        ops.append(o)
    return KeyHistory(key=kh.key, ops=ops, calls=kh.calls)


def _written(o: SearchOp) -> object:
    kind, a, b, _ = o.op
    return a if kind == WRITE else b


def _counterexample(
    model: Model,
    kh: KeyHistory,
    result: SearchResult,
    deadline: float,
    options: LinearizabilityOptions,
    core: str,
) -> CheckResult:
    budget_end = min(deadline, time.monotonic() + options.minimize_budget_s)
    t_stuck = None
    if result.stuck is not None:
        t_stuck = kh.ops[result.stuck].ret
    from harness.checker.counterexample import minimal_unorderable  # invalid runs only

    subset, minimal = minimal_unorderable(model, kh.ops, t_stuck, budget_end)
    return _invalid(
        kh, subset, result.longest, result.stuck, minimal=minimal, model=model, core=core
    )


def _fast_counterexample(
    model: Model,
    kh: KeyHistory,
    decided: FastResult,
    deadline: float,
    options: LinearizabilityOptions,
) -> CheckResult:
    """The fast path's certificate (already small: the ops of a forced chain or of two chains),
    shrunk further by the exact minimiser within the budget."""
    budget_end = min(deadline, time.monotonic() + options.minimize_budget_s)
    sub = list(decided.subset)
    from harness.checker.counterexample import minimal_unorderable  # invalid runs only

    kept, minimal = minimal_unorderable(model, [kh.ops[i] for i in sub], None, budget_end)
    return _invalid(
        kh,
        [sub[i] for i in kept],
        (),
        decided.stuck,
        minimal=minimal,
        model=model,
        why=decided.reason,
    )


def _invalid(
    kh: KeyHistory,
    subset: Sequence[int],
    longest: Sequence[int],
    stuck: int | None,
    *,
    minimal: bool,
    model: Model,
    why: str = "",
    core: str = "",
) -> CheckResult:
    unorderable = [kh.calls[i].to_json() for i in sorted(subset)]
    stuck_json = None if stuck is None else kh.calls[stuck].to_json()
    what = f"op {stuck_json['index']} ({stuck_json['f']})" if stuck_json else "ops"
    extra = f" (fast path: {why})" if why else ""
    return CheckResult.invalid(
        f"key {kh.key!r}: {what} cannot be linearized; {len(unorderable)} ops cannot be "
        f"ordered{extra}",
        model=model.name,
        key=kh.key,
        stuck=stuck_json,
        unorderable=unorderable,
        minimal=minimal,
        longest_prefix=[kh.calls[i].invoke_index for i in longest],
        **({"core": core} if core else {}),
    )

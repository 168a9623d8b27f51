"""Shrink a non-linearizable key history to a small set of ops that cannot be ordered.

In a nutshell: ``prefix_at(ops, t)`` cuts the history at the return time ``t`` of the op the
search got stuck on — ops invoked later are removed and ops still running at ``t`` become
pending (any output, may never take effect), which keeps the cut sound: if the cut is not
linearizable neither is the whole (linearizability is prefix-closed). ``minimal_unorderable``
then removes ops (ddmin-style: halves, quarters, … single ops) while the rest stays
non-linearizable, never removing the last writer of a value a kept op observed, so the
certificate does not blame a read for a write that did exist. Within its deadline the result is
1-minimal; past it, the smallest set reached is returned with ``minimal=False``.

    subset, minimal = minimal_unorderable(REGISTER, ops, prefix_at(ops, t), deadline)
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from harness.checker.models import APPEND, CAS, GET, PUT, READ, UNKNOWN, WRITE, Model
from harness.checker.wgl import SearchOp, SearchResult, search

_STEPS_PER_CHECK = 50_000  # a subset that needs more is treated as "maybe linearizable"


def prefix_at(ops: Sequence[SearchOp], t: int | None) -> list[tuple[int, SearchOp]]:
    """The history cut at time ``t``: (position, op) for ops invoked at or before ``t``, those
    still running at ``t`` made pending. All ops, unchanged, when ``t`` is None."""
    if t is None:
        return list(enumerate(ops))
    out: list[tuple[int, SearchOp]] = []
    for i, o in enumerate(ops):
        if o.call > t:
            continue
        if o.ret is None or o.ret > t:
            kind, a, b, _ = o.op
            if kind in (READ, GET):
                continue  # a read still running at the cut may return anything
            o = SearchOp(op=(kind, a, b, UNKNOWN), call=o.call, ret=None)
        out.append((i, o))
    return out


def _linearizable(model: Model, ops: list[SearchOp], deadline: float) -> bool | None:
    gen = search(model, ops, slice_steps=5_000)
    steps = 0
    while True:
        try:
            next(gen)
        except StopIteration as done:
            result: SearchResult = done.value
            return result.ok
        steps += 5_000
        if steps > _STEPS_PER_CHECK or time.monotonic() > deadline:
            gen.close()
            return None


def _observed(ops: Sequence[SearchOp], keep: Sequence[int]) -> tuple[set[object], list[str]]:
    seen: set[object] = set()
    texts: list[str] = []
    for i in keep:
        kind, a, _b, out = ops[i].op
        if kind == READ and out is not UNKNOWN:
            seen.add(out)
        elif kind == CAS and out is True:
            seen.add(a)
        elif kind == GET and isinstance(out, str):
            texts.append(out)
    return seen, texts


def _written_values(ops: Sequence[SearchOp], keep: Sequence[int]) -> set[object]:
    out: set[object] = set()
    for i in keep:
        kind, a, b, res = ops[i].op
        if kind == WRITE:
            out.add(a)
        elif kind == CAS and res is not False:  # a compare-failed cas wrote nothing
            out.add(b)
    return out


def _explained(ops: Sequence[SearchOp], before: Sequence[int], after: Sequence[int]) -> bool:
    """A removal may not leave a kept observation without any writer that it had before
    (for kv: may not remove a put/append whose text a kept get contains)."""
    seen, texts = _observed(ops, after)
    lost = (_written_values(ops, before) - _written_values(ops, after)) & seen
    if lost:
        return False
    kept = set(after)
    for i in before:
        if i in kept:
            continue
        kind, a, _b, _ = ops[i].op
        if kind in (PUT, APPEND) and isinstance(a, str) and any(a in t for t in texts):
            return False
    return True


def minimal_unorderable(
    model: Model, ops: Sequence[SearchOp], t: int | None, deadline: float
) -> tuple[list[int], bool]:
    """Positions in ``ops`` of a small set that is not linearizable on its own (the history cut
    at ``t``, shrunk), and whether it is 1-minimal. Starts from the whole key history when the
    cut turns out linearizable."""
    cut = prefix_at(ops, t)
    if t is not None and _linearizable(model, [o for _, o in cut], deadline) is not False:
        cut = list(enumerate(ops))
    pos = [i for i, _ in cut]
    sub = [o for _, o in cut]
    keep = list(range(len(sub)))
    chunk = max(1, len(keep) // 2)
    while True:
        removed_any = False
        start = 0
        while start < len(keep):
            if time.monotonic() > deadline:
                return [pos[i] for i in keep], False
            drop = set(keep[start : start + chunk])
            trial = [i for i in keep if i not in drop]
            if (
                trial
                and _explained(sub, keep, trial)
                and _linearizable(model, [sub[i] for i in trial], deadline) is False
            ):
                keep = trial
                removed_any = True
                continue
            start += chunk
        if chunk == 1 and not removed_any:
            return [pos[i] for i in keep], time.monotonic() <= deadline
        if not removed_any:
            chunk = max(1, chunk // 2)

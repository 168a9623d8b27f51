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

from harness.checker.models import APPEND, CAS, DELETE, GET, PUT, READ, UNKNOWN, WRITE, Model
from harness.checker.searchcore import encode_keys, native_core, native_search_one
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
    core = native_core()
    flat = encode_keys(model, [ops]) if core is not None else None
    if core is not None and flat is not None:  # the same search, compiled (searchcore.py)
        return native_search_one(
            core,
            flat,
            slice_steps=5_000,
            max_slices=_STEPS_PER_CHECK // 5_000,
            time_budget_s=max(0.0, deadline - time.monotonic()),
        )
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


def _observation(op: SearchOp) -> tuple[bool, object] | None:
    """What a kept op observed: (True, v) it saw v; (False, e) it saw the value was not e.
    A read, a successful cas's expected value, a delete that found nothing (None) are the
    first; a failed cas and a delete that found something are the second. A cas of unknown
    outcome counts as having seen its expected value, as it needs it to write anything."""
    kind, a, _b, out = op.op
    if kind == CAS:  # a cas of unknown outcome writes only if it saw ``a``: keep a cause of it
        return (out is not False, a)
    if out is UNKNOWN:
        return None
    if kind == READ:
        return (True, out)
    if kind == DELETE:
        return (not out, None)
    return None


def _writes(op: SearchOp) -> tuple[bool, object]:
    """(does it write, what): a delete writes None (absent); a compare-failed cas nothing."""
    kind, a, b, res = op.op
    if kind == WRITE:
        return True, a
    if kind == CAS and res is not False:
        return True, b
    if kind == DELETE:
        return True, None
    return False, None


class _Among:
    """What ``_has_cause`` asks of a set of ops, computed once per set (not once per observer):
    the writers in it, the values they produce, and the completed writers."""

    __slots__ = ("definite", "ops", "produced", "writers", "writes")

    def __init__(
        self, ops: Sequence[SearchOp], writes: Sequence[tuple[bool, object]], among: Sequence[int]
    ) -> None:
        self.ops = ops
        self.writes = writes
        self.writers = [i for i in among if writes[i][0]]
        self.produced = {writes[i][1] for i in self.writers}
        self.definite = [i for i in self.writers if ops[i].ret is not None]


def _has_cause(among: _Among, j: int, *, live: bool) -> bool:
    """Some op in ``among`` may have produced what op ``j`` observed: it writes a matching value
    and is invoked before ``j`` returns; with ``live``, it is also not certainly overwritten
    before ``j`` began (by a completed write that starts after it ends and ends before ``j``
    starts)."""
    ops, writes = among.ops, among.writes
    o = ops[j]
    positive, v = _observation(o)  # type: ignore[misc]
    limit = float("inf") if o.ret is None else o.ret
    # The latest invoke of a completed writer (other than ``j``) that ended before ``j``
    # began: a writer that ended before it is certainly overwritten.
    latest = float("-inf")
    if live:
        for d in among.definite:
            dop = ops[d]
            if d != j and dop.ret is not None and dop.ret < o.call and dop.call > latest:
                latest = dop.call
    for i in among.writers:
        w = ops[i]
        if i == j or w.call > limit:
            continue
        if (writes[i][1] == v) is not positive:
            continue
        if w.op[0] == CAS and w.op[1] is not None and w.op[1] not in among.produced:
            continue  # a cas that nothing enabled cannot have written
        end = w.ret
        if live and end is not None and end < latest:
            continue
        return True
    return False


def _explained(
    ops: Sequence[SearchOp],
    writes: Sequence[tuple[bool, object]],
    before: Sequence[int],
    after: Sequence[int],
) -> bool:
    """A removal may not leave a kept observation without the causes it had before: an op that
    saw v keeps a writer of v invoked before it returned (and one not certainly overwritten,
    if it had one); an op that saw "not e" keeps such a writer of another value. For kv: a
    put/append whose text a kept get contains stays."""
    texts: list[str] = []
    was, now = _Among(ops, writes, before), _Among(ops, writes, after)
    for i in after:
        o = ops[i]
        if o.op[0] == GET and isinstance(o.op[3], str):
            texts.append(o.op[3])
        if _observation(o) is None:
            continue
        for live in (False, True):
            if not _has_cause(now, i, live=live) and _has_cause(was, i, live=live):
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
    writes = [_writes(o) for o in sub]
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
                and _explained(sub, writes, keep, trial)
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

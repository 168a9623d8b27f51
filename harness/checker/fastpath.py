"""Decide a register key in near-linear time when every written value is unique.

In a nutshell: ``decide(ops)`` takes one key's ops (``wgl.SearchOp``) of the ``REGISTER`` model
and answers valid, invalid (with the ops that cannot be ordered) or undecided (the exact search
must answer). With unique written values the system tells us who wrote what each op saw
(reads-from), and a successful cas names the version it follows, so the version order is fixed
up to the order of *chains* (a blind write, or the initial value, followed by the cas ops that
consumed it, one after another). A chain is a contiguous block of the linearization; placed
greedily (each op at the earliest instant its invoke and its predecessors allow) a block started
at time T ends at ``max(T, F)`` (F = the latest invoke in it) and fits iff ``T <= S`` (S = the
earliest return in it). Blocks can be ordered iff every pair can (Gibbons & Korach 1997, "Testing
shared memories", zones): sorting by (F if F <= S else S) and checking the running maximum of F
against each S decides, in O(n log n).

What is reduced away first, each step sound in both directions:
- an info/pending write or cas whose value nobody observes is placed at +∞ (dropped); one whose
  value is observed took effect (a cas: it succeeded) before its readers;
- a compare-failed cas only asks that the value differ from its expected one somewhere in its
  interval: it is dropped to decide, then placed into the greedy witness; when the witness has no
  room for it the key is *undecided* (another linearization might have), never invalid.

Undecided: a delete, a duplicate (or null) written value, an op returning before its invoke, or a
failed cas the witness cannot place. Invalid certificates: a read (or successful cas) of a value
nobody wrote or written only later, two successful cas consuming one value, a cas cycle, an op
forced after one that it precedes in real time, two blocks that cannot be ordered.

    result = decide(key_ops)
    if result.decided and not result.ok: print(result.reason, result.subset)
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.checker.models import CAS, DELETE, READ, UNKNOWN, WRITE
from harness.checker.wgl import SearchOp

_INF = float("inf")
_NEG_INF = float("-inf")
_INIT = -1  # the writer of the initial value (null), before every op


@dataclass(frozen=True, slots=True, kw_only=True)
class FastResult:
    decided: bool
    ok: bool = False
    subset: tuple[int, ...] = ()  # when invalid: op positions that cannot be ordered
    stuck: int | None = None  # when invalid: the op that cannot be placed
    reason: str = ""  # what is wrong, or why the exact search must decide


def _undecided(reason: str) -> FastResult:
    return FastResult(decided=False, reason=reason)


def _invalid(reason: str, subset: Sequence[int], stuck: int | None) -> FastResult:
    kept = tuple(sorted({i for i in subset if i != _INIT}))
    return FastResult(decided=True, ok=False, subset=kept, stuck=stuck, reason=reason)


@dataclass(slots=True, kw_only=True)
class _Block:
    """One chain: the writers in version order, the readers of each value."""

    writers: list[int] = field(default_factory=list)  # _INIT first for the initial chain
    values: list[object] = field(default_factory=list)
    first_ret: float = _INF  # S: the earliest return of any op in the block
    last_call: float = _NEG_INF  # F: the latest invoke
    ops: list[int] = field(default_factory=list)


_RETRIES = 3  # rounds of re-reading unplaced failed cas ops as reads of a neighbour version


def decide(ops: Sequence[SearchOp]) -> FastResult:
    """Valid, invalid or undecided (see the module doc). A compare-failed cas the greedy witness
    cannot place is retried as a *read* of another version: the latest other one whose write
    was invoked before the cas returned, then the witness's next, then its previous version.
    A linearization found that way is one where the cas saw another value, so "valid" stays
    sound; anything else found on a retry is only "undecided"."""
    result, unplaced = _decide_once(ops)
    if result.decided or not unplaced:
        return result
    writes = sorted(
        (o.call, o.op[1] if o.op[0] == WRITE else o.op[2])
        for o in ops
        if o.op[0] == WRITE or (o.op[0] == CAS and o.op[3] is not False)
    )
    starts = [c for c, _v in writes]
    trial = list(ops)
    for attempt in range(_RETRIES):
        for f, before, after in unplaced:
            o = ops[f]
            options = [_latest_other(writes, starts, o), after, before]
            options = [v for v in options if v is not _NONE and v != o.op[1]]
            if not options:
                return result
            other = options[min(attempt, len(options) - 1)]
            trial[f] = SearchOp(op=(READ, None, None, other), call=o.call, ret=o.ret)
        retried, again = _decide_once(trial)
        if retried.decided and retried.ok:
            return retried
        if not retried.decided and again:
            unplaced = again
    return result


def _latest_other(writes: list[tuple[int, object]], starts: list[int], o: SearchOp) -> object:
    """The value of the latest write invoked by ``o``'s return, other than ``o``'s expected
    one; null (the initial value) when there is none."""
    limit = bisect.bisect_right(starts, _INF if o.ret is None else o.ret)
    for k in range(limit - 1, max(-1, limit - 8), -1):
        if writes[k][1] != o.op[1]:
            return writes[k][1]
    return None if o.op[1] is not None else _NONE


class _NoValue:
    __slots__ = ()


_NONE = _NoValue()  # no neighbour version


def _decide_once(ops: Sequence[SearchOp]) -> tuple[FastResult, list[tuple[int, object, object]]]:
    unplaced: list[tuple[int, object, object]] = []  # (failed cas, version before, after)
    return _decide(ops, unplaced), unplaced


def _decide(ops: Sequence[SearchOp], unplaced: list[tuple[int, object, object]]) -> FastResult:
    calls: list[float] = [o.call for o in ops]
    rets: list[float] = [_INF if o.ret is None else o.ret for o in ops]
    writer: dict[object, int] = {}
    # Which values are observed: by ok reads and successful cas, then (to a fixpoint) by the
    # pending cas whose own value is observed, as those must have succeeded.
    observed: set[object] = set()
    reads: list[int] = []
    failed: list[int] = []
    for i, o in enumerate(ops):  # one pass: writers, and what is observed
        kind, a, b, out = o.op
        if kind == DELETE:
            return _undecided("a delete writes null again")
        if rets[i] < calls[i]:
            return _undecided(f"op {i} returns before its invoke")
        if kind == READ:
            if out is not UNKNOWN:
                observed.add(out)
                reads.append(i)
            continue
        if kind == WRITE:
            v = a
        elif kind == CAS:
            if out is False:
                failed.append(i)
                continue
            if out is True:
                observed.add(a)
            v = b
        else:
            continue
        if v is None or v is UNKNOWN:
            return _undecided("a write of null")
        if v in writer:
            return _undecided("a value is written twice")
        writer[v] = i
    work = list(observed)
    while work:
        w = writer.get(work.pop())
        if w is not None and ops[w].op[0] == CAS and ops[w].op[3] is UNKNOWN:
            a = ops[w].op[1]
            if a not in observed:
                observed.add(a)
                work.append(a)
    live: list[int] = []  # writers that took effect, in the reduced history
    for v, w in writer.items():
        if ops[w].ret is not None or v in observed:  # completed, or seen to have taken effect
            live.append(w)
    live_of: dict[object, int] = {}
    for w in live:
        wop = ops[w].op
        live_of[wop[1] if wop[0] == WRITE else wop[2]] = w
    # Reads-from: every positive observation names its writer.
    readers: dict[object, list[int]] = {}
    for i in reads:
        readers.setdefault(ops[i].op[3], []).append(i)
    succ: dict[object, int] = {}
    forks: list[tuple[int, int]] = []
    for w in live:
        kind, a, _b, _out = ops[w].op
        if kind == CAS:
            if a in succ:
                forks.append((succ[a], w))
            else:
                succ[a] = w

    def fail(reason: str, subset: Sequence[int], stuck: int | None) -> FastResult:
        """Invalid, with the certificate closed: a pending writer in it keeps one op that
        observed its value, so on its own it still must have taken effect."""
        out = {i for i in subset if i != _INIT}
        work = list(out)
        while work:
            i = work.pop()
            if ops[i].ret is not None or ops[i].op[0] == READ:
                continue
            v = _written(ops[i])
            seen = readers.get(v) or ([succ[v]] if v in succ else [])
            if seen and seen[0] not in out:
                out.add(seen[0])
                work.append(seen[0])
        return _invalid(reason, sorted(out), stuck)

    for i in reads:
        v = ops[i].op[3]
        if v is not None and v not in live_of:
            return fail(f"op {i} reads {v!r}, which no op wrote", [i], i)
    for w in live:
        kind, a, _b, _out = ops[w].op
        if kind == CAS and a is not None and a not in live_of:
            return fail(f"op {w} is a cas from {a!r}, which no op wrote", [w], w)
    if forks:
        other, w = forks[0]
        a = ops[w].op[1]
        first = [] if a is None else [live_of[a]]
        return fail(f"ops {other} and {w} both swap {a!r} away", [*first, other, w], w)
    # Chains from the initial value and from each blind write; a cas left over is on a cycle.
    blocks: list[_Block] = []
    roots: list[tuple[int, object]] = [(_INIT, None)]
    roots += [(w, ops[w].op[1]) for w in live if ops[w].op[0] == WRITE]
    placed = 0
    for root, value in roots:
        blk = _Block()
        cur: int | None = root
        val: object = value
        while cur is not None:
            blk.writers.append(cur)
            blk.values.append(val)
            nxt = succ.get(val)
            if nxt is None:
                break
            cur, val = nxt, ops[nxt].op[2]
        for k, w in enumerate(blk.writers):
            if w != _INIT:
                blk.ops.append(w)
            blk.ops.extend(readers.get(blk.values[k], ()))
        placed += len(blk.writers) - (1 if root == _INIT else 0)
        blocks.append(blk)
    if placed < len(live):
        on_cycle = set(live) - {w for b in blocks for w in b.writers}
        return fail("cas ops form a cycle of versions", sorted(on_cycle), min(on_cycle))
    # Each block on its own: greedy earliest instants from -inf (the order inside is forced).
    for blk in blocks:
        bad = _walk(blk, calls, rets, readers, _NEG_INF, None)
        if bad is not None:
            return fail(*bad)
        soonest, latest = _INF, _NEG_INF
        for i in blk.ops:
            if rets[i] < soonest:
                soonest = rets[i]
            if calls[i] > latest:
                latest = calls[i]
        blk.first_ret = _NEG_INF if blk.writers[0] == _INIT else soonest
        blk.last_call = latest
    order = sorted(
        range(len(blocks)),
        key=lambda b: (
            (blocks[b].last_call, 0)
            if blocks[b].last_call <= blocks[b].first_ret
            else (blocks[b].first_ret, 1)
        ),
    )
    high, high_block = _NEG_INF, -1
    for b in order:
        blk = blocks[b]
        if high > blk.first_ret:
            prev = blocks[high_block]
            return fail(
                "two chains of versions cannot be ordered (each must end before the other ends)",
                [*prev.ops, *prev.writers, *blk.ops, *blk.writers],
                max(prev.ops, key=lambda i: calls[i]) if prev.ops else None,
            )
        if blk.last_call > high:
            high, high_block = blk.last_call, b
    # The witness: instants of each version; then a place for every compare-failed cas. Two
    # orders of blocks: backward zones as late as they can go (by S; not always a valid order,
    # so checked), then as early (by F; valid whenever any is).
    late = sorted(range(len(blocks)), key=lambda b: (blocks[b].first_ret, blocks[b].last_call))
    candidates = [late, order] if _fits(late, blocks) else [order]
    for attempt in candidates:
        unplaced.clear()
        windows, versions = _windows(attempt, blocks, calls, readers)
        where = {v: k for k, v in enumerate(versions)}
        for f in failed:
            e = ops[f].op[1]
            window = windows.get(e)
            if window is not None and window[0] < calls[f] and rets[f] < window[1]:
                k = where[e]
                before = versions[k - 1] if k > 0 else _NONE
                after = versions[k + 1] if k + 1 < len(versions) else _NONE
                unplaced.append((f, before, after))
        if not unplaced:
            return FastResult(decided=True, ok=True)
    return _undecided(f"op {unplaced[0][0]} (a failed cas) finds no place in the greedy witness")


def _fits(order: list[int], blocks: list[_Block]) -> bool:
    high = _NEG_INF
    for b in order:
        if high > blocks[b].first_ret:
            return False
        high = max(high, blocks[b].last_call)
    return True


def _windows(
    order: list[int], blocks: list[_Block], calls: list[float], readers: dict[object, list[int]]
) -> tuple[dict[object, tuple[float, float]], list[object]]:
    """Each version's [first, last] instant in the greedy witness, and the versions in order."""
    windows: dict[object, tuple[float, float]] = {}
    versions: list[object] = []
    t = _NEG_INF
    for b in order:
        blk = blocks[b]
        for k, w in enumerate(blk.writers):
            p = _NEG_INF if w == _INIT else max(t, calls[w])
            if versions:
                start, _ = windows[versions[-1]]
                windows[versions[-1]] = (start, p)
            value = blk.values[k]
            windows[value] = (p, _INF)
            versions.append(value)
            t = p
            for r in readers.get(value, ()):
                if calls[r] > t:
                    t = calls[r]
    return windows, versions


def _walk(
    blk: _Block,
    calls: list[float],
    rets: list[float],
    readers: dict[object, list[int]],
    t: float,
    src: int | None,
) -> tuple[str, list[int], int] | None:
    """Place one block's ops at their earliest instants from ``t``; None when all fit, else the
    op that cannot and the forced chain from the op whose invoke it must follow."""
    path: list[int] = []  # writers so far, for the certificate
    src_at = 0
    for k, w in enumerate(blk.writers):
        if w != _INIT:
            if calls[w] > t:
                t, src, src_at = calls[w], w, len(path)
            if t > rets[w]:
                chain = [*path[max(0, src_at - 1) :], w]
                return (
                    f"op {w} must follow op {src}, which was invoked after it returned",
                    [*chain, *([] if src is None else [src])],
                    w,
                )
            path.append(w)
        p = t
        for r in readers.get(blk.values[k], []):
            if p > rets[r]:
                chain = path[max(0, src_at - 1) :]
                return (
                    f"op {r} reads a version that op {src} wrote (or followed) only after "
                    "it returned",
                    [*chain, r, *([] if src is None else [src])],
                    r,
                )
        for r in readers.get(blk.values[k], []):
            if calls[r] > t:
                t, src, src_at = calls[r], r, len(path)
    return None


def _written(o: SearchOp) -> object:
    kind, a, b, _ = o.op
    return a if kind == WRITE else b

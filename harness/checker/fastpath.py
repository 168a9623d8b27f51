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


def decide(ops: Sequence[SearchOp]) -> FastResult:  # noqa: C901 - one pass per step, in order
    n = len(ops)
    calls = [float(o.call) for o in ops]
    rets = [_INF if o.ret is None else float(o.ret) for o in ops]
    writer: dict[object, int] = {}
    for i, o in enumerate(ops):
        kind, a, b, out = o.op
        if kind == DELETE:
            return _undecided("a delete writes null again")
        if rets[i] < calls[i]:
            return _undecided(f"op {i} returns before its invoke")
        if kind == WRITE:
            v = a
        elif kind == CAS and out is not False:
            v = b
        else:
            continue
        if v is None or v is UNKNOWN:
            return _undecided("a write of null")
        if v in writer:
            return _undecided("a value is written twice")
        writer[v] = i
    # Which values are observed: by ok reads and successful cas, then (to a fixpoint) by the
    # pending cas whose own value is observed, as those must have succeeded.
    observed: set[object] = set()
    reads: list[int] = []
    failed: list[int] = []
    for i, o in enumerate(ops):
        kind, a, _b, out = o.op
        if kind == READ:
            if out is not UNKNOWN:
                observed.add(out)
                reads.append(i)
        elif kind == CAS:
            if out is True:
                observed.add(a)
            elif out is False:
                failed.append(i)
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
    live_of = {_written(ops[w]): w for w in live}
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
    block_of = [0] * n
    roots: list[tuple[int, object]] = [(_INIT, None)]
    roots += [(w, ops[w].op[1]) for w in live if ops[w].op[0] == WRITE]
    placed = 0
    for root, value in roots:
        blk = _Block()
        w: int | None = root
        v: object = value
        while w is not None:
            blk.writers.append(w)
            blk.values.append(v)
            nxt = succ.get(v)
            if nxt is None:
                break
            w, v = nxt, ops[nxt].op[2]
        bid = len(blocks)
        for k, w in enumerate(blk.writers):
            members = ([] if w == _INIT else [w]) + readers.get(blk.values[k], [])
            for i in members:
                block_of[i] = bid
                blk.ops.append(i)
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
        blk.first_ret = min((rets[i] for i in blk.ops), default=_INF)
        if blk.writers[0] == _INIT:
            blk.first_ret = _NEG_INF
        blk.last_call = max((calls[i] for i in blk.ops), default=_NEG_INF)
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
    # The witness: instants of each version; then a place for every compare-failed cas.
    windows: dict[object, tuple[float, float]] = {}
    t = _NEG_INF
    last: object = _INIT
    for b in order:
        blk = blocks[b]
        for k, w in enumerate(blk.writers):
            p = _NEG_INF if w == _INIT else max(t, calls[w])
            if last is not _INIT:
                start, _ = windows[last]
                windows[last] = (start, p)
            windows[blk.values[k]] = (p, _INF)
            last = blk.values[k]
            t = max([p, *(calls[r] for r in readers.get(blk.values[k], []))])
    for f in failed:
        window = windows.get(ops[f].op[1])
        if window is not None and window[0] < calls[f] and rets[f] < window[1]:
            return _undecided(f"op {f} (a failed cas) finds no place in the greedy witness")
    return FastResult(decided=True, ok=True)


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

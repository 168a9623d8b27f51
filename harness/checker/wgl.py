"""The Wing–Gong–Lowe linearizability search, as Porcupine runs it, resumable in slices.

In a nutshell: ``search(model, ops)`` is a generator over one key's operations. Each ``next()``
runs up to ``slice_steps`` steps and yields the memo size (so a scheduler can interleave keys
and enforce time and memory budgets); it returns a ``SearchResult`` when it has decided.

The algorithm (Lowe, "Testing for linearizability", 2017; Porcupine's ``checkSingle``): call and
return entries sorted by time in a doubly linked list — calls before returns at equal times,
because intervals are closed (Porcupine's README argues this). Walk the list: at a call, try
to linearize that op now (the model accepts its output from the current state and the pair
(linearized set, new state) was not explored before); lift it out of the list and restart
from the head. At a return, the op it closes could not be placed: backtrack. An op whose
return is unknown (``ret=None``, i.e. +∞) sits at the end, so it may take effect any time
after its invoke, or never.

Better than Porcupine on memory: the linearized set is memoised by a 128-bit Zobrist hash
(XOR of one random word per op) instead of a copy of the bitset, so an entry costs O(1) bytes
rather than O(n/8). A false "already explored" needs two different sets to share a 128-bit
hash: with 10⁸ entries the chance is below 10⁻²².

    gen = search(REGISTER, ops, slice_steps=10_000)
    result = drive(gen)            # or interleave several generators
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from harness.checker.models import REJECT, Model, ModelOp

_SEED = 0x5EED_C4EC  # fixed: a search is reproducible


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOp:
    op: ModelOp
    call: int  # time of invoke
    ret: int | None  # time of completion; None = never observed (+∞)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    ok: bool
    longest: tuple[int, ...]  # op positions linearized on the deepest path, in order
    stuck: int | None  # op whose return the deepest path could not pass
    memo_entries: int
    steps: int


def search(
    model: Model, ops: Sequence[SearchOp], *, slice_steps: int = 20_000
) -> Generator[int, None, SearchResult]:
    n = len(ops)
    done_ids = [i for i in range(n) if ops[i].ret is not None]
    pending_ids = sorted((i for i in range(n) if ops[i].ret is None), key=lambda i: ops[i].call)
    # Completed ops: the linked list of call and return entries (head = node 0, tail = the last
    # node), sorted by (time, call-first, op): closed intervals.
    events: list[tuple[int, int, int]] = [(ops[i].call, 0, i) for i in done_ids]
    events += [(ops[i].ret or 0, 1, i) for i in done_ids]
    events.sort()
    size = len(events)
    head = 0
    nxt = list(range(1, size + 3))
    prv = [i - 1 for i in range(size + 2)]
    match = [-1] * (size + 2)  # call node → its return node; -1 for returns and sentinels
    opid = [-1] * (size + 2)
    when = [0] * (size + 2)
    call_node: dict[int, int] = {}
    for pos, (t, is_ret, i) in enumerate(events, start=1):
        opid[pos] = i
        when[pos] = t
        if is_ret:
            match[call_node[i]] = pos
        else:
            call_node[i] = pos
    # Pending ops (unknown return) live in classes of identical ops, each in invoke order. Ops
    # of a class are interchangeable — the one invoked first can take any place the others can
    # — so a class is placed as a prefix: one pointer per class, and only its next op is ever
    # a candidate. A candidate must be invoked by the first return still in the list.
    by_op: dict[object, list[int]] = {}
    for i in pending_ids:
        by_op.setdefault(ops[i].op, []).append(i)
    classes = list(by_op.values())
    ptr = [0] * len(classes)
    rng = random.Random(_SEED)
    zobrist = [0 if ops[i].ret is None else rng.getrandbits(128) for i in range(n)]
    pbit = [0] * n
    for k, i in enumerate(pending_ids):
        pbit[i] = 1 << k
    mops = [o.op for o in ops]
    calls = [o.call for o in ops]
    step = model.step

    # (completed set hash, state) → the sets of pending ops placed with them, none a subset of
    # another. A configuration is skipped when a stored one placed a subset of its pending ops:
    # that one had every option this one has (the extra pending ops could still go last).
    memo: dict[tuple[int, object], list[int]] = {}
    entries = 0
    # Frames: (list node of a completed op, or -1 - class index of a pending op; the state
    # before; the frontier return node when a pending op was placed; the op).
    stack: list[tuple[int, object, int, int]] = []
    state: object = model.init
    linearized = 0
    pending = 0
    best: tuple[int, ...] = ()
    stuck: int | None = None
    at_new_depth = False
    steps = 0
    unplaced = len(done_ids)  # done when every completed op is placed (pending ones go last)
    entry = nxt[head]
    cls = -1  # -1: walking the list; k ≥ 0: trying pending classes from k on
    front_node = 0  # the first return in the list (valid while cls ≥ 0)
    front = 0  # its time
    while unplaced:
        steps += 1
        if steps % slice_steps == 0:
            yield entries
        if cls < 0:
            ret = match[entry]
            if ret < 0:  # the first return: now the pending ops invoked by then
                front_node, front, cls = entry, when[entry], 0
                continue
            i = opid[entry]
        else:
            while cls < len(classes):
                members = classes[cls]
                if ptr[cls] < len(members) and calls[members[ptr[cls]]] <= front:
                    break
                cls += 1
            if cls == len(classes):  # nothing left to try here: backtrack
                if at_new_depth or stuck is None:
                    best = tuple(f[3] for f in stack)
                    stuck = opid[front_node]
                    at_new_depth = False
                if not stack:
                    return SearchResult(
                        ok=False, longest=best, stuck=stuck, memo_entries=entries, steps=steps
                    )
                where, state, front_node, i = stack.pop()
                front = when[front_node]
                if where >= 0:
                    r = match[where]
                    nxt[prv[r]] = r
                    prv[nxt[r]] = r
                    nxt[prv[where]] = where
                    prv[nxt[where]] = where
                    unplaced += 1
                    entry, cls = nxt[where], -1
                else:
                    k = -1 - where
                    ptr[k] -= 1
                    cls = k + 1
                linearized ^= zobrist[i]
                pending &= ~pbit[i]
                continue
            i = classes[cls][ptr[cls]]
        new_state = step(state, mops[i])
        fresh = False
        if new_state is not REJECT:
            h = linearized ^ zobrist[i]
            ps = pending | pbit[i]
            seen = memo.get((h, new_state))
            if seen is None:
                memo[(h, new_state)] = [ps]
                entries += 1
                fresh = True
            elif ps not in seen and all(e & ~ps for e in seen):
                kept = [e for e in seen if ps & ~e]  # drop the ones ps dominates
                entries += len(kept) + 1 - len(seen)
                kept.append(ps)
                memo[(h, new_state)] = kept
                fresh = True
        if not fresh:
            if cls < 0:
                entry = nxt[entry]
            else:
                cls += 1
            continue
        linearized, pending = h, ps
        if cls < 0:
            stack.append((entry, state, 0, i))
            ret = match[entry]
            p, q = prv[entry], nxt[entry]
            nxt[p] = q
            prv[q] = p
            p, q = prv[ret], nxt[ret]
            nxt[p] = q
            prv[q] = p
            unplaced -= 1
        else:
            stack.append((-1 - cls, state, front_node, i))
            ptr[cls] += 1
        state = new_state
        if len(stack) > len(best):
            at_new_depth = True
        entry, cls = nxt[head], -1
    order = tuple(f[3] for f in stack)
    return SearchResult(ok=True, longest=order, stuck=None, memo_entries=entries, steps=steps)


def drive(gen: Generator[int, None, SearchResult]) -> SearchResult:
    """Run a search to the end, without budgets."""
    while True:
        try:
            next(gen)
        except StopIteration as done:
            result: SearchResult = done.value
            return result

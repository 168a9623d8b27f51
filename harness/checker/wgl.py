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
    # Linked list over nodes 1..2n (head = 0, tail = 2n+1); sorted by (time, call-first, op).
    inf = float("inf")
    events: list[tuple[float, int, int]] = [(o.call, 0, i) for i, o in enumerate(ops)]
    events += [(inf if o.ret is None else o.ret, 1, i) for i, o in enumerate(ops)]
    events.sort()
    head = 0  # the tail sentinel is node 2n+1
    nxt = list(range(1, 2 * n + 3))
    prv = [i - 1 for i in range(2 * n + 2)]
    match = [-1] * (2 * n + 2)  # call node → its return node; -1 for returns and sentinels
    opid = [-1] * (2 * n + 2)
    call_node = [0] * n
    ret_node = [0] * n
    for pos, (_t, is_ret, i) in enumerate(events, start=1):
        opid[pos] = i
        if is_ret:
            ret_node[i] = pos
        else:
            call_node[i] = pos
    for i in range(n):
        match[call_node[i]] = ret_node[i]
    rng = random.Random(_SEED)
    # Completed ops enter the memo by Zobrist hash; ops with an unknown return by a plain bit.
    pending_ids = [i for i in range(n) if ops[i].ret is None]
    zobrist = [0 if ops[i].ret is None else rng.getrandbits(128) for i in range(n)]
    pbit = [0] * n
    for k, i in enumerate(pending_ids):
        pbit[i] = 1 << k
    mops = [o.op for o in ops]
    step = model.step
    # Identical ops with an unknown return are interchangeable: the one invoked first can take
    # any place the others can (its interval contains theirs), so they are linearized in invoke
    # order only. This removes the k! orderings of k equal pending writes/deletes.
    after: list[int] = [-1] * n  # the previous identical pending op, which must go first
    last_of: dict[object, int] = {}
    for i in sorted(range(n), key=lambda j: ops[j].call):
        if ops[i].ret is None:
            after[i] = last_of.get(mops[i], -1)
            last_of[mops[i]] = i
    done = [False] * n

    # (completed set hash, state) → the sets of pending ops linearized with them, none a subset
    # of another. A new configuration is skipped when a stored one has a subset of its pending
    # ops: that one had every option this one has (the extra pending ops could still go last).
    memo: dict[tuple[int, object], list[int]] = {}
    entries = 0
    stack: list[tuple[int, object]] = []  # (call node, state before it)
    state: object = model.init
    linearized = 0
    pending = 0
    best: tuple[int, ...] = ()
    stuck: int | None = None
    at_new_depth = False  # the current path is deeper than ``best`` and not yet recorded
    steps = 0
    entry = nxt[head]
    # Done when every completed op is placed: ops with an unknown return may all go last (or
    # never), and stopping here keeps the subset rule above from pruning that very ending.
    unplaced = n - len(pending_ids)
    while unplaced:
        steps += 1
        if steps % slice_steps == 0:
            yield entries
        ret = match[entry]
        if ret >= 0:  # a call: try to linearize it here
            i = opid[entry]
            if after[i] >= 0 and not done[after[i]]:
                entry = nxt[entry]
                continue
            new_state = step(state, mops[i])
            if new_state is not REJECT:
                h = linearized ^ zobrist[i]
                ps = pending | pbit[i]
                seen = memo.get((h, new_state))
                fresh = True
                if seen is None:
                    memo[(h, new_state)] = [ps]
                    entries += 1
                elif ps in seen or any(e & ~ps == 0 for e in seen):
                    fresh = False
                else:
                    kept = [e for e in seen if ps & ~e]  # drop the ones ps dominates
                    entries += len(kept) + 1 - len(seen)
                    kept.append(ps)
                    memo[(h, new_state)] = kept
                if fresh:
                    stack.append((entry, state))
                    state, linearized, pending = new_state, h, ps
                    done[i] = True
                    if not pbit[i]:
                        unplaced -= 1
                    # lift: unlink the call and its return
                    p, q = prv[entry], nxt[entry]
                    nxt[p] = q
                    prv[q] = p
                    p, q = prv[ret], nxt[ret]
                    nxt[p] = q
                    prv[q] = p
                    if len(stack) > len(best):
                        at_new_depth = True
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
            continue
        # a return: the op it closes cannot be linearized on this path
        if at_new_depth or stuck is None:
            best = tuple(opid[c] for c, _s in stack)
            stuck = opid[entry]
            at_new_depth = False
        if not stack:
            return SearchResult(
                ok=False, longest=best, stuck=stuck, memo_entries=entries, steps=steps
            )
        entry, state = stack.pop()
        i = opid[entry]
        linearized ^= zobrist[i]
        pending &= ~pbit[i]
        done[i] = False
        if not pbit[i]:
            unplaced += 1
        ret = match[entry]
        # unlift, in the reverse order of lift
        nxt[prv[ret]] = ret
        prv[nxt[ret]] = ret
        nxt[prv[entry]] = entry
        prv[nxt[entry]] = entry
        entry = nxt[entry]
    order = tuple(opid[c] for c, _s in stack)
    return SearchResult(ok=True, longest=order, stuck=None, memo_entries=entries, steps=steps)


def drive(gen: Generator[int, None, SearchResult]) -> SearchResult:
    """Run a search to the end, without budgets."""
    while True:
        try:
            next(gen)
        except StopIteration as done:
            result: SearchResult = done.value
            return result

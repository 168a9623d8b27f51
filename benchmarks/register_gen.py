"""Seeded register histories in the shape our register workload writes (benchmarks only).

In a nutshell: ``generate(shape)`` returns ``history.jsonl`` records (dicts) of ``clients``
concurrent clients doing read / write / cas (40/30/30) on ``keys`` keys of an atomic store,
each op taking effect at one instant inside its interval; written values are unique per key,
cas expects the value its client last saw (so some fail: ``fail`` with "compare failed").
A share of ops (``info_per_mille``) ends ``info``: the process retires and the op takes effect
or not (half each). ``invalid=True`` makes one ok read late in the history return a value that
was overwritten before it began (a stale read). ``hot_info_per_mille`` makes that key's writes
time out more often (the "hard invalid" shape: a stale read late on a key with many crashed ops
pending).

    records = generate(Shape(ops=5_000, keys=20, clients=10, invalid=True, seed=3))
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    ops: int
    keys: int
    clients: int = 10
    info_per_mille: int = 20
    invalid: bool = False
    hot_info_per_mille: int = 0  # info share on key k0 (the stale read's key when set)
    seed: int = 1


def generate(shape: Shape) -> list[dict[str, Any]]:
    rng = random.Random(shape.seed)
    state: dict[str, Any] = {}
    counter: dict[str, int] = {}
    seen: dict[tuple[int, str], Any] = {}  # (client, key) → the value it last read
    # Each client has one op in flight: (effect time, client, ...). Times are ns-like ints.
    events: list[tuple[int, int, str, dict[str, Any]]] = []  # (time, seq, kind, op)
    out: list[tuple[int, int, dict[str, Any]]] = []
    process = list(range(shape.clients))
    next_process = shape.clients
    seq = 0
    started = 0
    keys = [f"k{i}" for i in range(shape.keys)]

    def start(client: int, now: int) -> None:
        nonlocal seq, started
        if started >= shape.ops:
            return
        started += 1
        key = keys[client % len(keys)] if rng.random() < 0.7 else rng.choice(keys)
        r = rng.random()
        f = "read" if r < 0.4 else "write" if r < 0.7 else "cas"
        value: Any = None
        if f != "read":
            counter[key] = counter.get(key, 0) + 1
            new = counter[key]
            value = new if f == "write" else [seen.get((client, key), state.get(key)), new]
        t0 = now + rng.randint(1, 50)
        te = t0 + rng.randint(1, 400)
        t1 = te + rng.randint(1, 400)
        per_mille = shape.hot_info_per_mille if key == "k0" and f != "read" else 0
        info = rng.randrange(1000) < max(shape.info_per_mille, per_mille)
        op = {"client": client, "process": process[client], "f": f, "key": key, "value": value}
        op.update(t0=t0, t1=t1, info=info, applies=not info or rng.random() < 0.5)
        seq += 1
        out.append((t0, seq, _rec(op, "invoke", value)))
        heapq.heappush(events, (te, seq, "effect", op))

    for c in range(shape.clients):
        start(c, 0)
    while events:
        now, _s, kind, op = heapq.heappop(events)
        seq += 1
        if kind == "effect":
            key, f = op["key"], op["f"]
            result: Any = None
            typ = "ok"
            error = None
            if op["applies"]:
                if f == "read":
                    result = state.get(key)
                    seen[(op["client"], key)] = result
                elif f == "write":
                    state[key] = op["value"]
                elif state.get(key) == op["value"][0]:
                    state[key] = op["value"][1]
                else:
                    typ, error = "fail", "compare failed"
            if op["info"]:
                typ, result, error = "info", None, "timed-out"
            op.update(typ=typ, result=result if f == "read" else op["value"], error=error)
            heapq.heappush(events, (op["t1"], seq, "complete", op))
            continue
        rec = _rec(op, op["typ"], op["result"])
        if op["error"]:
            rec["error"] = op["error"]
        out.append((now, seq, rec))
        client = op["client"]
        if op["typ"] == "info":  # the process retires; the client goes on under a new id
            process[client] = next_process
            next_process += 1
        start(client, now)
    out.sort(key=lambda e: (e[0], e[1]))
    records = []
    for index, (t, _s, rec) in enumerate(out):
        rec["index"], rec["time"] = index, t
        records.append(rec)
    if shape.invalid:
        _make_stale(records, "k0" if shape.hot_info_per_mille else None, rng)
    return records


def _rec(op: dict[str, Any], typ: str, value: Any) -> dict[str, Any]:
    return {"process": op["process"], "type": typ, "f": op["f"], "key": op["key"], "value": value}


def _make_stale(records: list[dict[str, Any]], key: str | None, rng: random.Random) -> None:
    """Make an ok read in the last fifth return a value overwritten before the read began:
    the value of a write w1 that completed before a write w2 on that key started, which itself
    completed before the read started."""
    invoke_of: dict[int, dict[str, Any]] = {}
    done: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (invoke, completion) in file order
    for rec in records:
        if rec["type"] == "invoke":
            invoke_of[rec["process"]] = rec
        else:
            inv = invoke_of.pop(rec["process"], None)
            if inv is not None:
                done.append((inv, rec))
    late = len(records) * 4 // 5
    candidates = [
        (inv, comp)
        for inv, comp in done
        if comp["f"] == "read" and comp["type"] == "ok" and inv["index"] >= late
        and (key is None or comp["key"] == key)
    ]  # fmt: skip
    rng.shuffle(candidates)
    for inv, comp in candidates:
        writes = [
            (i, c)
            for i, c in done
            if c["key"] == comp["key"] and c["type"] == "ok" and c["f"] == "write"
            and c["time"] < inv["time"]
        ]  # fmt: skip
        for k in range(len(writes) - 1, 0, -1):
            w2_inv, _w2 = writes[k]
            older = [w for w in writes[:k] if w[1]["time"] < w2_inv["time"]]
            if older:
                comp["value"] = older[-1][1]["value"]
                return
    raise ValueError("no read to make stale: use more ops")


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")

"""Histories of a simulated atomic register, linearizable by construction (tests, benchmarks).

In a nutshell: ``simulate_register(params, choose)`` drives concurrent clients against one
in-memory atomic store per key; every op takes effect at one instant between its invoke and its
completion, so the history is linearizable. Ops may end ``info`` (the process retires; the op
may still take effect later, or never), ``fail`` (certainly no effect — a cas whose compare
failed also ends ``fail``, with ``error="compare failed"``). Written values are unique ints.
``choose(n)`` returns an int in ``[0, n)``: pass ``random.Random(seed).randrange`` or a
Hypothesis draw, so shrinking works.

    ops = simulate_register(SimParams(clients=3, keys=2, ops=20), random.Random(1).randrange)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.history import Op, OpType

FS = ("read", "write", "cas", "delete")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimParams:
    clients: int = 3
    keys: int = 2
    ops: int = 20  # invocations in all
    info_per_mille: int = 50  # chance that a completion is info
    fail_per_mille: int = 30  # chance that a write/delete/read fails without effect
    delete_per_mille: int = 100  # share of deletes among the ops
    time_step_ns: int = 1_000  # ns between two events


@dataclass(slots=True, kw_only=True)
class _Pending:
    process: int
    f: str
    key: str
    value: Any
    applied: bool = False
    outcome: OpType = OpType.OK
    result: Any = None
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class _Sim:
    params: SimParams
    choose: Callable[[int], int]
    state: dict[str, Any] = field(default_factory=dict)
    out: list[Op] = field(default_factory=list)
    time: int = 0
    next_value: int = 1

    def record(self, p: _Pending, kind: OpType, value: Any, error: str | None = None) -> None:
        self.time += self.params.time_step_ns
        self.out.append(
            Op(
                index=len(self.out),
                time=self.time,
                process=p.process,
                type=kind,
                f=p.f,
                key=p.key,
                value=value,
                error=error,
            )
        )

    def roll(self, per_mille: int) -> bool:
        return self.choose(1000) < per_mille

    def invoke(self, process: int) -> _Pending:
        keys = self.params.keys
        key = f"k{self.choose(keys)}"
        f = "delete" if self.roll(self.params.delete_per_mille) else FS[self.choose(3)]
        value: Any = None
        if f == "write":
            value, self.next_value = self.next_value, self.next_value + 1
        elif f == "cas":
            current = self.state.get(key)
            expected = current if self.choose(2) else self.choose(self.next_value)
            value, self.next_value = [expected, self.next_value], self.next_value + 1
        p = _Pending(process=process, f=f, key=key, value=value)
        self.record(p, OpType.INVOKE, value)
        return p

    def apply(self, p: _Pending) -> None:
        """The op's linearization point: it takes effect on the atomic state now."""
        p.applied = True
        current = self.state.get(p.key)
        if p.f == "read":
            p.result = current
        elif p.f == "write":
            self.state[p.key] = p.result = p.value
        elif p.f == "cas":
            p.result = p.value
            if current == p.value[0]:
                self.state[p.key] = p.value[1]
            else:
                p.outcome, p.error = OpType.FAIL, "compare failed"
        else:
            p.result = current is not None
            self.state.pop(p.key, None)


def simulate_register(params: SimParams, choose: Callable[[int], int]) -> list[Op]:
    sim = _Sim(params=params, choose=choose)
    busy: list[_Pending | None] = [None] * params.clients
    procs = list(range(params.clients))
    next_proc = params.clients
    orphans: list[_Pending] = []  # ended info, not applied yet: may apply later or never
    invoked = 0
    while invoked < params.ops or any(busy):
        if orphans and sim.roll(100):
            o = orphans.pop(sim.choose(len(orphans)))
            if sim.choose(2):
                sim.apply(o)
        c = sim.choose(params.clients)
        p = busy[c]
        if p is None:
            if invoked < params.ops:
                busy[c] = sim.invoke(procs[c])
                invoked += 1
            continue
        if sim.roll(params.info_per_mille):
            sim.record(p, OpType.INFO, None, "timed out")
            if not p.applied:
                orphans.append(p)
            busy[c], procs[c], next_proc = None, next_proc, next_proc + 1
            continue
        if not p.applied:
            if p.f != "cas" and sim.roll(params.fail_per_mille):
                sim.record(p, OpType.FAIL, None, "connect error")
                busy[c] = None
            else:
                sim.apply(p)
            continue
        sim.record(p, p.outcome, p.result, p.error)
        busy[c] = None
    return sim.out

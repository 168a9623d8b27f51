"""The one register simulator: histories of an atomic register, linearizable by construction.

In a nutshell: ``AtomicRegister`` is the linearization point every simulated op goes through
(one atomic value per key, unique written values); ``simulate_register(params, choose)``
drives concurrent clients against it; every op takes effect at one instant between its invoke
and its completion, so the history is linearizable. Ops may end ``info`` (the process retires;
the op may still take effect later, or never), ``fail`` (certainly no effect — a cas whose compare
failed also ends ``fail``, with ``error="compare failed"``). Written values are unique ints.
``choose(n)`` returns an int in ``[0, n)``: pass ``random.Random(seed).randrange`` or a
Hypothesis draw, so shrinking works.

``harness.testing.synthetic`` applies its timed calls through the same ``AtomicRegister``.

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
class AtomicRegister:
    """One atomic register per key: ``apply`` is an op's linearization point."""

    state: dict[str, Any] = field(default_factory=dict)
    next_value: int = 1  # written values are unique ints from 1

    def fresh(self) -> int:
        """The next unique value to write."""
        value, self.next_value = self.next_value, self.next_value + 1
        return value

    def current(self, key: str) -> Any:
        return self.state.get(key)

    def apply(self, f: str, key: str, arg: Any) -> tuple[Any, bool]:
        """Take effect now: ``(result, compared)`` — a read's value, a write's or cas's arg, a
        delete's "it existed"; ``compared`` is False only for a cas whose compare failed."""
        current = self.state.get(key)
        if f == "read":
            return current, True
        if f == "write":
            self.state[key] = arg
            return arg, True
        if f == "cas":
            if current != arg[0]:
                return arg, False
            self.state[key] = arg[1]
            return arg, True
        self.state.pop(key, None)  # delete
        return current is not None, True


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
    register: AtomicRegister = field(default_factory=AtomicRegister)
    out: list[Op] = field(default_factory=list)
    time: int = 0

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
            value = self.register.fresh()
        elif f == "cas":
            current = self.register.current(key)
            expected = current if self.choose(2) else self.choose(self.register.next_value)
            value = [expected, self.register.fresh()]
        p = _Pending(process=process, f=f, key=key, value=value)
        self.record(p, OpType.INVOKE, value)
        return p

    def apply(self, p: _Pending) -> None:
        """The op's linearization point: it takes effect on the atomic state now."""
        p.applied = True
        p.result, compared = self.register.apply(p.f, p.key, p.value)
        if not compared:
            p.outcome, p.error = OpType.FAIL, "compare failed"


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

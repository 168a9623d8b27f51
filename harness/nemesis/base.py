"""The nemesis contract: what a fault is, what it gets, and what it hands back.

In a nutshell: a ``Fault`` turns one ``FaultSpec`` into action. ``inject(ctx)`` breaks something
and returns an ``Injection`` naming the members it resolved (who was leader when it struck);
``heal(ctx)`` undoes it and must be safe to call twice. Optional capabilities are separate
Protocols (Jepsen's Kill/Pause/Primary split): ``Verifiable`` proves the fault took effect with
``Evidence``; ``LeaderAware`` resolves the store leader at strike time.

    fault = make_fault(FaultSpec(kind=FaultKind.KILL, at_s=5, target="store-leader"))
    injection = fault.inject(ctx); evidence = fault.verify(ctx); fault.heal(ctx)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness.errors import FaultError
from harness.history import FaultEvent, FaultPhase
from harness.model.cluster import ClusterHandle

if TYPE_CHECKING:
    from harness.nemesis.firewall import Firewall


class ToxiproxyLike(Protocol):
    """The slice of ``harness.toxiproxy.ToxiproxyClient`` the nemesis uses (every call bounded)."""

    def add_toxic(
        self,
        proxy: str,
        *,
        type: str,
        name: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> Any: ...
    def remove_toxic(self, proxy: str, name: str) -> None: ...
    def set_enabled(self, proxy: str, enabled: bool) -> None: ...
    def toxics(self, proxy: str) -> list[dict[str, Any]]: ...
    def metrics(self, proxy: str) -> Any: ...
    def proxies(self) -> dict[str, dict[str, Any]]: ...


class TimelineWriter(Protocol):
    """Where fault events go: a ``JsonlWriter`` in a run, a list-backed fake in tests."""

    def write(self, record: FaultEvent) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultContext:
    """Everything a fault may touch. Built once per run by ``harness.nemesis.make_context``."""

    cluster: ClusterHandle
    toxiproxy: ToxiproxyLike
    timeline: TimelineWriter
    start_ns: int  # the run clock's zero on the monotonic clock (history ``time`` base)
    rng: random.Random  # seeded from the run seed; faults draw from a per-fault child
    firewall: Firewall  # the shared netns rule state (partitions and loss of every fault)

    def now_ns(self) -> int:
        return time.monotonic_ns() - self.start_ns

    def record(
        self,
        phase: FaultPhase,
        fault: str,
        *,
        fault_id: int,
        targets: list[str] | None = None,
        detail: dict[str, Any] | None = None,
        at_ns: int | None = None,  # when it happened on the run clock, if not now
    ) -> None:
        self.timeline.write(
            FaultEvent(
                time=self.now_ns() if at_ns is None else at_ns,
                type=phase,
                fault=fault,
                targets=list(targets or []),
                id=fault_id,
                detail=dict(detail or {}),
            )
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Injection:
    """What an ``inject`` actually did: the members it struck and how it resolved its target."""

    targets: list[str]
    resolved: dict[str, Any] = field(default_factory=dict)  # replayable resolution (grudge, …)
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. {"leader": "store-2", "term": 4}


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """The proof (or disproof) that a fault took effect; ``ok=False`` is recorded, never hidden."""

    ok: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "evidence": self.evidence}
        if self.reason:
            out["reason"] = self.reason
        return out


class Fault(Protocol):
    """The one required contract. ``heal`` is idempotent and runs even after a failed inject."""

    kind: str

    def inject(self, ctx: FaultContext) -> Injection: ...
    def heal(self, ctx: FaultContext) -> None: ...


@runtime_checkable
class Verifiable(Protocol):
    """A fault that can prove it took effect (called right after ``inject``)."""

    def verify(self, ctx: FaultContext) -> Evidence: ...


@runtime_checkable
class LeaderAware(Protocol):
    """A fault whose target depends on who leads the store when it strikes."""

    def strikes_leader(self) -> bool: ...


@runtime_checkable
class Blocking(Protocol):
    """A fault whose ``inject`` runs its own course (rolling restart, repeated leader loss):
    the schedule does not hold it for ``duration_s`` afterwards."""

    def runs_own_course(self) -> bool: ...


@runtime_checkable
class Interruptible(Protocol):
    """A long-running ``inject`` that can be cut short when the run stops."""

    def interrupt(self) -> None: ...


class LeftoverFaultError(FaultError):
    """Healing finished but something is still broken; ``leftovers`` says what, ``fired`` what
    the schedule did (so schedule.json is still written)."""

    def __init__(self, leftovers: list[str], *, fired: list[Any] | None = None) -> None:
        self.leftovers = list(leftovers)
        self.fired = list(fired or [])
        super().__init__(
            "faults left behind after healing: "
            + "; ".join(leftovers)
            + " (hint: `chaosplane clean` reaps the run's containers)"
        )

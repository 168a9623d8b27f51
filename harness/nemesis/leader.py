"""``leader-loss``: find the store leader, take it out, and prove a new leader took over.

In a nutshell: each strike asks the cluster who leads (``cluster.leader()``: the member a
majority names), notes its term, then kills, pauses or isolates it (``params.action``), and waits
for a *different* leader with a *higher* term. ``params.repeat: N`` strikes each new leader in
turn, one every ``params.interval_s``; each strike lasts until the next one, the last for
``duration_s`` (the scenario's ``for``) or, without it, until a new leader is elected. The fault
runs its own course inside ``inject``. The evidence lists every strike.

    - {at: 5s, leader-loss: isolate, for: 2s, repeat: 3, interval: 4s}
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from harness.errors import FaultError
from harness.model import FaultKind, FaultSpec
from harness.nemesis import grudge as g
from harness.nemesis.base import Evidence, FaultContext, Injection
from harness.nemesis.registry import register
from harness.nemesis.targets import members_of, status_term

ACTIONS = ("kill", "pause", "isolate")


@dataclass(frozen=True, slots=True, kw_only=True)
class Strike:
    leader: str
    term: int | None
    new_leader: str | None
    new_term: int | None
    elected_after_s: float | None

    @property
    def ok(self) -> bool:
        return (
            self.new_leader is not None
            and self.new_leader != self.leader
            and (self.term is None or (self.new_term or 0) > self.term)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "leader": self.leader,
            "term": self.term,
            "new_leader": self.new_leader,
            "new_term": self.new_term,
            "elected_after_s": self.elected_after_s,
            "ok": self.ok,
        }


@register(FaultKind.LEADER_LOSS)
class LeaderLossFault:
    kind = FaultKind.LEADER_LOSS.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.fault_id = fault_id
        params = spec.params
        self.action = str(params.get("action", "kill"))
        if self.action not in ACTIONS:
            raise FaultError(
                f"leader-loss: params.action: got {self.action!r}; expected one of {ACTIONS}"
            )
        self.repeat = int(params.get("repeat", 1))
        self.interval_s = float(params.get("interval_s", 5.0))
        self.duration_s = spec.duration_s  # of the last strike; None: until a new leader
        self.elect_timeout_s = float(params.get("elect_timeout_s", 15.0))
        self.replay: list[str] | None = (
            [str(m) for m in params["replay"]["members"]] if "replay" in params else None
        )
        self.strikes: list[Strike] = []
        self.active: str | None = None  # the member struck and not yet healed
        self.stop = threading.Event()

    def strikes_leader(self) -> bool:
        return True

    def runs_own_course(self) -> bool:
        return True

    def interrupt(self) -> None:
        self.stop.set()

    # -- one strike ----------------------------------------------------------------------------

    def _strike(self, ctx: FaultContext, member: str) -> None:
        node = ctx.cluster.node(member)
        if self.action == "kill":
            ctx.firewall.forget_pid(member)
            node.kill()
        elif self.action == "pause":
            node.pause()
        else:
            stores = members_of(ctx.cluster, node.role)
            ctx.firewall.set(self.fault_id, g.isolate(stores, member))
        self.active = member

    def _heal_strike(self, ctx: FaultContext) -> None:
        member, self.active = self.active, None
        if member is None:
            return
        node = ctx.cluster.node(member)
        if self.action == "kill":
            if not node.is_running():
                node.start()
        elif self.action == "pause":
            if node.is_paused():
                node.unpause()
        else:
            ctx.firewall.clear(self.fault_id)

    def _wait_new_leader(self, ctx: FaultContext, old: str) -> tuple[str | None, float]:
        started = time.monotonic()
        deadline = started + self.elect_timeout_s
        while time.monotonic() < deadline and not self.stop.is_set():
            leader = ctx.cluster.leader()
            if leader is not None and leader != old:
                return leader, time.monotonic() - started
            time.sleep(0.1)
        return None, time.monotonic() - started

    # -- the fault -----------------------------------------------------------------------------

    def _next_leader(self, ctx: FaultContext, i: int) -> str | None:
        if self.replay is not None:
            return self.replay[i] if i < len(self.replay) else None
        return ctx.cluster.leader() or ctx.cluster.wait_leader_elected(self.elect_timeout_s)

    def inject(self, ctx: FaultContext) -> Injection:
        """Strike ``repeat`` leaders, one every ``interval_s``. Each strike lasts until the
        next one; the last lasts ``duration_s``, or is healed as soon as a new leader is
        elected when there is none (the scenario loader's reading of ``for``)."""
        began = time.monotonic()
        struck_at = began
        for i in range(self.repeat):
            if i and self.stop.wait(max(0.0, began + i * self.interval_s - time.monotonic())):
                break
            self._heal_strike(ctx)
            leader = self._next_leader(ctx, i)
            if leader is None:
                break
            term = status_term(ctx.cluster, leader)
            struck_at = time.monotonic()
            self._strike(ctx, leader)
            new_leader, after_s = self._wait_new_leader(ctx, leader)
            new_term = status_term(ctx.cluster, new_leader) if new_leader else None
            self.strikes.append(
                Strike(
                    leader=leader,
                    term=term,
                    new_leader=new_leader,
                    new_term=new_term,
                    elected_after_s=round(after_s, 3),
                )
            )
        if self.active is not None:  # the last strike: ``duration_s``, or healed at once
            if self.duration_s is not None:
                self.stop.wait(max(0.0, struck_at + self.duration_s - time.monotonic()))
            self._heal_strike(ctx)
        struck = [s.leader for s in self.strikes]
        return Injection(
            targets=struck,
            resolved={"members": struck},
            detail={"action": self.action, "strikes": [s.to_json() for s in self.strikes]},
        )

    def verify(self, ctx: FaultContext) -> Evidence:
        failures = [
            f"strike on {s.leader} (term {s.term}): new leader {s.new_leader} term {s.new_term}"
            for s in self.strikes
            if not s.ok
        ]
        if not self.strikes:
            failures.append("no leader to strike")
        return Evidence(
            ok=not failures,
            evidence={"strikes": [s.to_json() for s in self.strikes]},
            reason="; ".join(failures),
        )

    def heal(self, ctx: FaultContext) -> None:
        self.stop.set()
        self._heal_strike(ctx)

"""``rolling-restart``: restart members one at a time, each back and ready before the next.

In a nutshell: target ``apiservers`` (default) or ``store``; ``params.interval_s`` waits between
members. The fault runs its own course inside ``inject`` (the schedule does not hold it); the
evidence is that every member came back under a new PID and is running.

    - {at: 5s, rolling-restart: apiservers, params: {interval_s: 2}}
"""

from __future__ import annotations

import random
import threading
from typing import Any

from harness.errors import FaultError
from harness.model import FaultKind, FaultSpec
from harness.model.cluster import Role
from harness.nemesis.base import Evidence, FaultContext, Injection
from harness.nemesis.registry import register
from harness.nemesis.targets import members_of


@register(FaultKind.ROLLING_RESTART)
class RollingRestartFault:
    kind = FaultKind.ROLLING_RESTART.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.fault_id = fault_id
        self.interval_s = float(spec.params.get("interval_s", 1.0))
        self.ready_timeout_s = float(spec.params.get("ready_timeout_s", 30.0))
        self.pids: dict[str, tuple[int, int]] = {}  # member → (before, after)
        self.targets: list[str] = []
        self.stop = threading.Event()  # set by the schedule to cut the course short

    def runs_own_course(self) -> bool:
        return True

    def interrupt(self) -> None:
        self.stop.set()

    def resolve(self, ctx: FaultContext) -> list[str]:
        replay = self.spec.params.get("replay")
        if replay is not None:
            return [str(m) for m in replay["members"]]
        target = self.spec.target or "apiservers"
        if target == "apiservers":
            return members_of(ctx.cluster, Role.APISERVER)
        if target == "store":
            return members_of(ctx.cluster, Role.STORE)
        raise FaultError(f"rolling-restart target: got {target!r}; expected apiservers or store")

    def inject(self, ctx: FaultContext) -> Injection:
        self.targets = self.resolve(ctx)
        for i, member in enumerate(self.targets):
            if i and self.stop.wait(self.interval_s):
                break
            node = ctx.cluster.node(member)
            before = node.pid()
            ctx.firewall.forget_pid(member)
            node.restart()
            node.wait_ready(self.ready_timeout_s)
            self.pids[member] = (before, node.pid())
        pids = {m: list(p) for m, p in self.pids.items()}
        return Injection(
            targets=list(self.targets), resolved={"members": self.targets}, detail={"pids": pids}
        )

    def verify(self, ctx: FaultContext) -> Evidence:
        evidence: dict[str, Any] = {}
        failures = []
        for member in self.targets:
            before, after = self.pids.get(member, (0, 0))
            running = ctx.cluster.node(member).is_running()
            evidence[member] = {"pid_before": before, "pid_after": after, "running": running}
            if member not in self.pids:
                failures.append(f"{member} was not restarted (stopped early)")
            elif before == after or not running:
                failures.append(f"{member} pid {before}→{after}, running={running}")
        return Evidence(ok=not failures, evidence=evidence, reason="; ".join(failures))

    def heal(self, ctx: FaultContext) -> None:
        self.stop.set()
        for member in self.targets:
            node = ctx.cluster.node(member)
            if not node.is_running():
                node.start()

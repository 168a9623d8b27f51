"""``kill`` and ``pause``: process faults on members, proved from the container's state.

In a nutshell: ``kill`` SIGKILLs the target's container and waits until it has exited; heal
starts it again (the cluster's start hook re-applies any partition, then waits until ready).
``pause`` freezes the container's cgroup; heal thaws it. Targets: a member name (or comma list),
``store-leader``, ``random-store``, ``random-apiserver``. Evidence: the container is not running
and its old PID is gone (kill); the container is paused and stops answering (pause).

    - {at: 10s, kill: store-leader, restart_after: 3s}
    - {at: 20s, pause: random-apiserver, for: 5s}
"""

from __future__ import annotations

import os
import random
import urllib.error
import urllib.request
from typing import Any

from harness.cluster.tls import client_context
from harness.model import FaultKind, FaultSpec
from harness.model.cluster import ClusterHandle, Role
from harness.nemesis.base import Evidence, FaultContext, Injection
from harness.nemesis.components import status_of
from harness.nemesis.registry import register
from harness.nemesis.targets import resolve_members


def answers(cluster: ClusterHandle, member: str, timeout_s: float = 0.5) -> bool:
    """Whether the member's own server answers an HTTP request within ``timeout_s``.

    A frozen process still completes TCP handshakes (the kernel does that), so only a request
    that needs the process to run tells paused from alive.
    """
    if cluster.node(member).role == Role.STORE:
        return cluster.status(member, timeout_s=timeout_s) is not None
    if member in cluster.info.components:  # the controller layer: its C3 /status server
        return status_of(cluster, member, timeout_s) is not None
    url = cluster.info.apiservers_direct.get(member)
    if url is None:
        return False
    ca_pem = cluster.info.ca_pem
    context = client_context(ca_pem) if ca_pem else None  # https apiservers: trust the run's CA
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=timeout_s, context=context):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP error status is still an answer
    except (OSError, TimeoutError):
        return False


def pid_alive(pid: int) -> bool:
    return pid > 0 and os.path.exists(f"/proc/{pid}")


class _ProcessFault:
    kind: str

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.fault_id = fault_id
        self.rng = rng
        self.targets: list[str] = []
        self.leader_at_strike: str | None = None

    def resolve(self, ctx: FaultContext) -> list[str]:
        replay = self.spec.params.get("replay")
        if replay is not None:
            return [str(m) for m in replay["members"]]
        return resolve_members(self.spec.target, ctx.cluster, self.rng)

    def strikes_leader(self) -> bool:
        return self.spec.target == "store-leader"

    def _injection(self, ctx: FaultContext, detail: dict[str, Any]) -> Injection:
        if self.strikes_leader():
            detail["leader"] = self.targets[0]
        return Injection(
            targets=list(self.targets), resolved={"members": self.targets}, detail=detail
        )


@register(FaultKind.KILL)
class KillFault(_ProcessFault):
    kind = FaultKind.KILL.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        super().__init__(spec, fault_id=fault_id, rng=rng)
        self.old_pids: dict[str, int] = {}

    def inject(self, ctx: FaultContext) -> Injection:
        self.targets = self.resolve(ctx)
        for member in self.targets:
            node = ctx.cluster.node(member)
            self.old_pids[member] = node.pid()
            ctx.firewall.forget_pid(member)
            node.kill()
        return self._injection(ctx, {"pids": dict(self.old_pids)})

    def verify(self, ctx: FaultContext) -> Evidence:
        evidence: dict[str, Any] = {}
        failures = []
        for member in self.targets:
            running = ctx.cluster.node(member).is_running()
            alive = pid_alive(self.old_pids.get(member, 0))
            evidence[member] = {"running": running, "old_pid_alive": alive}
            if running or alive:
                failures.append(f"{member} still running (pid {self.old_pids.get(member)})")
        return Evidence(ok=not failures, evidence=evidence, reason="; ".join(failures))

    def heal(self, ctx: FaultContext) -> None:
        for member in self.targets:
            node = ctx.cluster.node(member)
            if not node.is_running():
                node.start()


@register(FaultKind.PAUSE)
class PauseFault(_ProcessFault):
    kind = FaultKind.PAUSE.value

    def inject(self, ctx: FaultContext) -> Injection:
        self.targets = self.resolve(ctx)
        for member in self.targets:
            ctx.cluster.node(member).pause()
        return self._injection(ctx, {})

    def verify(self, ctx: FaultContext) -> Evidence:
        evidence: dict[str, Any] = {}
        failures = []
        for member in self.targets:
            paused = ctx.cluster.node(member).is_paused()
            answered = answers(ctx.cluster, member)
            evidence[member] = {"paused": paused, "answered": answered}
            if not paused or answered:
                failures.append(f"{member} paused={paused} answered={answered}")
        return Evidence(ok=not failures, evidence=evidence, reason="; ".join(failures))

    def heal(self, ctx: FaultContext) -> None:
        for member in self.targets:
            node = ctx.cluster.node(member)
            if node.is_paused():
                node.unpause()

"""How network faults reach a member's netns: ``nsenter`` from the host, or a helper container.

In a nutshell: a ``NetnsDriver`` runs the firewall's three commands (replace the rule chain,
read its counters, probe a TCP address) inside one member's network namespace. The
``nsenter`` path uses the host's binaries (2 ms a call, needs root on the machine that runs
the containers, and the engine's PIDs must be this machine's); the ``helper`` path runs the same
commands in a long-lived container that joins the member's netns with only ``NET_ADMIN``
(``helper.py``), which works against a remote or rootless engine. ``choose_path`` picks one
from the environment (``CHAOSPLANE_FAULT_PATH=auto|nsenter|helper``, default ``auto``) and
says why; the firewall records the choice in every network fault's events. Whether the engine
is local is checked, not guessed from ``DOCKER_HOST``'s spelling: a running container's PID,
as the engine reports it, must be that container's process in this host's ``/proc``
(``harness.cluster.engine``); only an engine with no running container falls back to the
socket rule (``engine_is_local``).

    choice = choose_path_from_env()      # PathChoice(path=FaultPath.NSENTER, reason="…")
    driver = make_driver(choice)         # NsenterDriver() or HelperDriver()
"""

from __future__ import annotations

import enum
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.cluster.engine import EngineLocality, current_engine_locality
from harness.errors import FaultError
from harness.model.cluster import Node
from harness.nemesis.iptables import Netns, ProbeResult, RuleCounter

ENV = "CHAOSPLANE_FAULT_PATH"


class FaultPath(enum.StrEnum):
    NSENTER = "nsenter"  # host binaries, ``nsenter -t <pid> -n``
    HELPER = "helper"  # a NET_ADMIN container in the member's netns (``docker exec``)


class Requested(enum.StrEnum):
    AUTO = "auto"
    NSENTER = "nsenter"
    HELPER = "helper"


@dataclass(frozen=True, slots=True, kw_only=True)
class PathChoice:
    path: FaultPath
    reason: str  # why this path: recorded with every network fault

    def to_json(self) -> dict[str, str]:
        return {"path": self.path.value, "reason": self.reason}


def engine_is_local(docker_host: str | None) -> tuple[bool, str]:
    """Whether the engine's container PIDs are this machine's (so ``nsenter`` can reach them).

    Unset or a unix socket: local, unless the socket is a rootless engine's (under
    ``/run/user/<uid>/``: its containers live in a user namespace root on the host cannot
    join as such). Anything else (``tcp://``, ``ssh://``, ``npipe://``): remote — even
    ``tcp://127.0.0.1`` may be a tunnel to another machine, and there is no way to tell.
    """
    if not docker_host:
        return True, "DOCKER_HOST is unset (the local engine)"
    if docker_host.startswith("unix://"):
        path = docker_host.removeprefix("unix://")
        if path.startswith("/run/user/"):
            return False, f"DOCKER_HOST={docker_host} is a rootless engine's socket"
        return True, f"DOCKER_HOST={docker_host} is a local unix socket"
    return False, f"DOCKER_HOST={docker_host} is not a local unix socket (a remote engine)"


def choose_path(
    *,
    requested: str | None,
    nsenter: str | None,
    euid: int,
    docker_host: str | None,
    locality: EngineLocality | None = None,
) -> PathChoice:
    """Pure choice: ``requested`` is the env value, ``nsenter`` the binary's path (or None),
    ``locality`` the checked answer to "are the engine's PIDs this host's" (None: not
    checked; ``DOCKER_HOST``'s form decides)."""
    value = (requested or "auto").strip().lower()
    try:
        wanted = Requested(value)
    except ValueError:
        choices = ", ".join(r.value for r in Requested)
        raise FaultError(
            f"{ENV}={requested!r} is not a fault path; expected one of {choices} "
            f"(auto picks nsenter when it can work here, else helper)"
        ) from None
    if wanted is Requested.HELPER:
        return PathChoice(path=FaultPath.HELPER, reason=f"forced by {ENV}=helper")
    if locality is not None:
        local, engine = locality.local, locality.reason
    else:
        local, engine = engine_is_local(docker_host)
        engine += " (no running container to check the engine's PIDs against this host's)"
    if wanted is Requested.NSENTER:
        problems = nsenter_problems(nsenter=nsenter, euid=euid, local=local, engine=engine)
        if problems:
            raise FaultError(
                f"{ENV}=nsenter cannot work here: {'; '.join(problems)}; "
                f"set {ENV}=helper (or auto) to make faults from a NET_ADMIN helper container"
            )
        return PathChoice(path=FaultPath.NSENTER, reason=f"forced by {ENV}=nsenter")
    problems = nsenter_problems(nsenter=nsenter, euid=euid, local=local, engine=engine)
    if problems:
        return PathChoice(path=FaultPath.HELPER, reason="auto: " + "; ".join(problems))
    return PathChoice(
        path=FaultPath.NSENTER, reason=f"auto: nsenter at {nsenter}, running as root, {engine}"
    )


def nsenter_problems(*, nsenter: str | None, euid: int, local: bool, engine: str) -> list[str]:
    problems = []
    if nsenter is None:
        problems.append("nsenter is not on PATH")
    if euid != 0:
        problems.append(f"not running as root (euid {euid}): nsenter cannot join a netns")
    if not local:
        problems.append(engine)
    return problems


def choose_path_from_env(
    env: Mapping[str, str] | None = None,
    locate: Callable[[], EngineLocality | None] = current_engine_locality,
) -> PathChoice:
    """The choice for this process's engine; ``locate`` asks the engine (skipped when the
    helper path is forced: it works on any engine)."""
    env = os.environ if env is None else env
    requested = env.get(ENV)
    forced = (requested or "").strip().lower() == Requested.HELPER.value
    return choose_path(
        requested=requested,
        nsenter=shutil.which("nsenter"),
        euid=os.geteuid(),
        docker_host=env.get("DOCKER_HOST"),
        locality=None if forced else locate(),
    )


class NetnsDriver(Protocol):
    """The firewall's commands in one member incarnation's netns (``pid`` names the
    incarnation: a restarted container has a new PID and a fresh netns)."""

    choice: PathChoice

    def restore(self, node: Node, pid: int, rules_text: str, *, install_hook: bool) -> None: ...
    def counters(self, node: Node, pid: int) -> list[RuleCounter]: ...
    def tcp_probe(
        self, node: Node, pid: int, ip: str, port: int, *, timeout_s: float = 0.5
    ) -> ProbeResult: ...
    def touched(self, member: str) -> bool: ...  # did this driver ever reach member's netns
    def close(self) -> None: ...


class NsenterDriver:
    """The host path: ``Netns`` (host binaries via nsenter); every running member is reachable."""

    def __init__(self, netns: Netns | None = None, choice: PathChoice | None = None) -> None:
        self.netns = netns or Netns()
        self.choice = choice or PathChoice(path=FaultPath.NSENTER, reason="given a Netns")

    def restore(self, node: Node, pid: int, rules_text: str, *, install_hook: bool) -> None:
        self.netns.restore(pid, rules_text, install_hook=install_hook)

    def counters(self, node: Node, pid: int) -> list[RuleCounter]:
        return self.netns.counters(pid)

    def tcp_probe(
        self, node: Node, pid: int, ip: str, port: int, *, timeout_s: float = 0.5
    ) -> ProbeResult:
        return self.netns.tcp_probe(pid, ip, port, timeout_s=timeout_s)

    def touched(self, member: str) -> bool:
        return True  # reading a netns costs 2 ms: read every member back

    def close(self) -> None:
        return None


def make_driver(choice: PathChoice | None = None, **helper_options: Any) -> NetnsDriver:
    choice = choice or choose_path_from_env()
    if choice.path is FaultPath.HELPER:
        from harness.nemesis.helper import HelperDriver

        return HelperDriver(choice=choice, **helper_options)
    return NsenterDriver(choice=choice)

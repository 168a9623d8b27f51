"""Faults on the controller layer's members: isolation through their links, and clock skew.

In a nutshell: a component member (``controller-manager-<i>``, ``scheduler-<i>``, ``node-<i>``)
reaches the apiservers only through its own Toxiproxy links ``<member>-api-<j>`` (C5), so
**isolating** it means taking those links down: connections are refused and cut, the process
keeps running (a partitioned node keeps its pods but cannot heartbeat). ``partition:
isolate:node-2`` resolves to this; ``link-down: node-2-api-1`` cuts it from one apiserver only.
Evidence: a TCP connect to each link's listen address is refused.

**Clock skew** (``clock-skew``): every component container starts with libfaketime preloaded
and reading its offset from ``FAKETIME_FILE`` (``FAKETIME_TIMESTAMP_FILE``, re-read each
second), so the fault writes ``+5`` / ``-5 x1.5`` into that file with ``docker exec`` — no
privileges, no restart — and heals by writing ``+0``. Evidence: the ``now`` the member's own
``/status`` reports differs from the host's clock by the offset (± a tolerance).

    - {at: 5s, partition: isolate:node-2, for: 8s}
    - {at: 5s, clock-skew: controller-manager-leader, for: 10s, offset_s: -5}
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

import httpx

from harness.cluster.faketime import FAKETIME_FILE
from harness.errors import FaultError
from harness.model import FaultKind, FaultSpec
from harness.model.cluster import ClusterHandle
from harness.nemesis.base import Evidence, FaultContext, Injection
from harness.nemesis.link import tcp_connects
from harness.nemesis.registry import register
from harness.nemesis.targets import resolve_members

COMPONENT_MEMBER = re.compile(r"^(controller-manager|scheduler|node)-\d+$")
SKEW_TOLERANCE_S = 1.5  # the file is re-read each second; the status request takes time too
SKEW_WAIT_S = 6.0


def is_component(member: str) -> bool:
    return COMPONENT_MEMBER.match(member) is not None


def links_of(cluster: ClusterHandle, member: str) -> list[str]:
    """The member's own links to the apiservers (``<member>-api-<j>``)."""
    links = sorted(link.name for link in cluster.info.links if link.source == member)
    if not links:
        raise FaultError(
            f"{member}: no links <member>-api-<j> in this cluster; a component member needs "
            "cluster.controller_managers / schedulers / nodes"
        )
    return links


def status_of(cluster: ClusterHandle, member: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """The member's C3 ``/status`` (None when it does not answer)."""
    url = cluster.info.components.get(member)
    if url is None:
        return None
    try:
        resp = httpx.get(f"{url.rstrip('/')}/status", timeout=timeout_s)
        body = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) else None


# ---- isolation -------------------------------------------------------------------------------


class ComponentIsolation:
    """``partition: isolate:<component member>``: all the member's links down, then back up."""

    kind = FaultKind.PARTITION.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.member = (spec.target or "").removeprefix("isolate:")
        self.links: list[str] = []

    def inject(self, ctx: FaultContext) -> Injection:
        replay = self.spec.params.get("replay")
        self.links = (
            [str(n) for n in replay["links"]] if replay else links_of(ctx.cluster, self.member)
        )
        for link in self.links:
            ctx.toxiproxy.set_enabled(link, False)
        return Injection(
            targets=[self.member],
            resolved={"links": self.links, "members": [self.member]},
            detail={"how": "links down", "links": self.links},
        )

    def verify(self, ctx: FaultContext) -> Evidence:
        listen = {link.name: link.listen for link in ctx.cluster.info.links}
        evidence = {link: {"connects": tcp_connects(listen[link])} for link in self.links}
        still = [link for link, e in evidence.items() if e["connects"]]
        reason = f"still accepting connections: {', '.join(still)}" if still else ""
        return Evidence(ok=bool(self.links) and not still, evidence=evidence, reason=reason)

    def heal(self, ctx: FaultContext) -> None:
        errors = []
        for link in self.links:
            try:
                ctx.toxiproxy.set_enabled(link, True)
            except Exception as exc:  # why broad: re-enable every link, then report
                errors.append(f"{link}: {exc}")
        if errors:
            raise FaultError(f"re-enabling {self.member}'s links failed: " + "; ".join(errors))


def set_links(ctx: FaultContext, member: str, enabled: bool) -> list[str]:
    links = links_of(ctx.cluster, member)
    for link in links:
        ctx.toxiproxy.set_enabled(link, enabled)
    return links


# ---- clock skew ------------------------------------------------------------------------------


def faketime_spec(offset_s: float, rate: float) -> str:
    """libfaketime's relative format: ``+5`` / ``-2.5`` seconds, ``x1.5`` for the speed."""
    text = f"{offset_s:+g}"
    return text if rate == 1 else f"{text} x{rate:g}"


def write_faketime(cluster: ClusterHandle, member: str, spec: str) -> None:
    """Write ``spec`` into the member's faketime file (``docker exec``; no privileges)."""
    container = getattr(cluster.node(member), "container", None)
    if container is None:
        raise FaultError(f"clock-skew: {member} has no container to exec in")
    result = container.exec_run(
        [
            "sh",
            "-c",
            f"printf '%s\\n' '{spec}' > {FAKETIME_FILE}.new && mv {FAKETIME_FILE}.new "
            f"{FAKETIME_FILE}",
        ],
        environment={"LD_PRELOAD": ""},
    )
    code = getattr(result, "exit_code", None)
    if code not in (0, None):
        output = getattr(result, "output", b"") or b""
        raise FaultError(
            f"clock-skew: writing {FAKETIME_FILE} in {member} failed ({code}): "
            f"{output.decode(errors='replace')[-300:]}"
        )


@register(FaultKind.CLOCK_SKEW)
class ClockSkewFault:
    kind = FaultKind.CLOCK_SKEW.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        self.offset_s = float(spec.params.get("offset_s", 0.0))
        self.rate = float(spec.params.get("rate", 1.0))
        if self.rate <= 0:
            raise FaultError(f"clock-skew: params.rate: got {self.rate}; expected > 0")
        self.targets: list[str] = []
        self.skews: dict[str, float | None] = {}

    def inject(self, ctx: FaultContext) -> Injection:
        replay = self.spec.params.get("replay")
        self.targets = (
            [str(m) for m in replay["members"]]
            if replay
            else resolve_members(self.spec.target, ctx.cluster, self.rng)
        )
        spec = faketime_spec(self.offset_s, self.rate)
        for member in self.targets:
            if not is_component(member):
                raise FaultError(f"clock-skew: {member} is not a controller-layer member")
            write_faketime(ctx.cluster, member, spec)
        return Injection(
            targets=list(self.targets),
            resolved={"members": self.targets},
            detail={"faketime": spec, "offset_s": self.offset_s, "rate": self.rate},
        )

    def measured_skew(self, ctx: FaultContext, member: str) -> float | None:
        before = time.time()
        status = status_of(ctx.cluster, member)
        after = time.time()
        now = (status or {}).get("now")
        if not isinstance(now, int | float):
            return None
        return float(now) - (before + after) / 2

    def verify(self, ctx: FaultContext) -> Evidence:
        """The member's own clock (``/status`` ``now``) is off by the offset; with a rate ≠ 1
        it is at least moving away from the host's in the right direction."""
        failures = []
        evidence: dict[str, Any] = {}
        for member in self.targets:
            deadline = time.monotonic() + SKEW_WAIT_S
            skew = self.measured_skew(ctx, member)
            while not self._took(skew) and time.monotonic() < deadline:
                time.sleep(0.3)
                skew = self.measured_skew(ctx, member)
            self.skews[member] = skew
            evidence[member] = {"skew_s": None if skew is None else round(skew, 3)}
            if not self._took(skew):
                failures.append(f"{member}: clock off by {skew} s, expected ≈ {self.offset_s} s")
        return Evidence(ok=not failures, evidence=evidence, reason="; ".join(failures))

    def _took(self, skew: float | None) -> bool:
        if skew is None:
            return False
        if self.rate != 1 and self.offset_s == 0:
            return (skew > 0.05) if self.rate > 1 else (skew < -0.05)
        return abs(skew - self.offset_s) <= SKEW_TOLERANCE_S + abs(self.rate - 1) * 10

    def heal(self, ctx: FaultContext) -> None:
        errors = []
        for member in self.targets:
            try:
                write_faketime(ctx.cluster, member, "+0")
            except FaultError as exc:
                errors.append(str(exc))
        if errors:
            raise FaultError("; ".join(errors))

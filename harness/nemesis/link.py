"""``toxic`` and ``link-down``: faults on the Toxiproxy links between client, apiservers and store.

In a nutshell: the target is a link name or a glob over ``client-api-<i>`` and
``api-<i>-store-<j>``. ``toxic`` adds one named toxic per link (``params.type`` latency,
bandwidth, timeout, reset_peer, slicer, limit_data or slow_close, with ``attributes``,
``stream``, ``toxicity``); evidence is the toxic listed on the proxy plus its metrics.
``link-down`` disables the proxies; evidence is that a TCP connect to the link's listen address
is refused. Heal removes the toxic / re-enables the proxy, then checks it is really gone.

    - {at: 5s, toxic: "client-api-*", for: 10s, params: {type: latency, attributes: {latency: 200}}}
    - {at: 5s, link-down: api-1-store-2, for: 3s}
"""

from __future__ import annotations

import random
import socket
from typing import Any

from harness.errors import FaultError
from harness.model import FaultKind, FaultSpec
from harness.model.cluster import ClusterHandle
from harness.nemesis.base import Evidence, FaultContext, Injection
from harness.nemesis.registry import register
from harness.nemesis.targets import resolve_links

TOXIC_TYPES = (
    "latency",
    "bandwidth",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
    "slow_close",
)


def link_members(cluster: ClusterHandle, names: list[str]) -> list[str]:
    by_name = {link.name: link for link in cluster.info.links}
    return sorted({m for n in names for m in (by_name[n].source, by_name[n].target)} - {"client"})


def tcp_connects(address: str, timeout_s: float = 0.5) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return True
    except OSError:
        return False


def _replay_links(spec: FaultSpec, ctx: FaultContext) -> list[str]:
    replay = spec.params.get("replay")
    if replay is not None:
        return [str(n) for n in replay["links"]]
    return resolve_links(spec.target, ctx.cluster)


@register(FaultKind.TOXIC)
class ToxicFault:
    kind = FaultKind.TOXIC.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        params = spec.params
        self.type = str(params.get("type", ""))
        if self.type not in TOXIC_TYPES:
            raise FaultError(
                f"toxic: params.type: got {self.type!r}; expected one of {TOXIC_TYPES}"
            )
        self.stream = str(params.get("stream", "downstream"))
        if self.stream not in ("upstream", "downstream"):
            raise FaultError(
                f"toxic: params.stream: got {self.stream!r}; expected upstream or downstream"
            )
        self.toxicity = float(params.get("toxicity", 1.0))
        self.attributes: dict[str, Any] = dict(params.get("attributes") or {})
        self.name = str(params.get("name", f"chaosplane-{fault_id}-{self.type}"))
        self.links: list[str] = []

    def inject(self, ctx: FaultContext) -> Injection:
        self.links = _replay_links(self.spec, ctx)
        for link in self.links:
            ctx.toxiproxy.add_toxic(
                link,
                type=self.type,
                name=self.name,
                stream=self.stream,
                toxicity=self.toxicity,
                attributes=self.attributes,
            )
        return Injection(
            targets=list(self.links),
            resolved={"links": self.links},
            detail={
                "toxic": self.name,
                "type": self.type,
                "stream": self.stream,
                "attributes": self.attributes,
                "members": link_members(ctx.cluster, self.links),
            },
        )

    def _present(self, ctx: FaultContext, link: str) -> bool:
        return any(t.get("name") == self.name for t in ctx.toxiproxy.toxics(link))

    def verify(self, ctx: FaultContext) -> Evidence:
        evidence: dict[str, Any] = {}
        missing = []
        for link in self.links:
            present = self._present(ctx, link)
            evidence[link] = {"present": present, "metrics": ctx.toxiproxy.metrics(link)}
            if not present:
                missing.append(link)
        reason = f"toxic {self.name} missing on {', '.join(missing)}" if missing else ""
        return Evidence(ok=not missing, evidence=evidence, reason=reason)

    def heal(self, ctx: FaultContext) -> None:
        errors = []
        for link in self.links:
            try:
                if self._present(ctx, link):
                    ctx.toxiproxy.remove_toxic(link, self.name)
            except Exception as exc:  # why broad: heal every link, then report all failures
                errors.append(f"{link}: {exc}")
        if errors:
            raise FaultError(f"removing toxic {self.name} failed: " + "; ".join(errors))


@register(FaultKind.LINK_DOWN)
class LinkDownFault:
    kind = FaultKind.LINK_DOWN.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.links: list[str] = []

    def inject(self, ctx: FaultContext) -> Injection:
        self.links = _replay_links(self.spec, ctx)
        for link in self.links:
            ctx.toxiproxy.set_enabled(link, False)
        return Injection(
            targets=list(self.links),
            resolved={"links": self.links},
            detail={"members": link_members(ctx.cluster, self.links)},
        )

    def verify(self, ctx: FaultContext) -> Evidence:
        listen = {link.name: link.listen for link in ctx.cluster.info.links}
        evidence = {link: {"connects": tcp_connects(listen[link])} for link in self.links}
        still = [link for link, e in evidence.items() if e["connects"]]
        reason = f"still accepting connections: {', '.join(still)}" if still else ""
        return Evidence(ok=not still, evidence=evidence, reason=reason)

    def heal(self, ctx: FaultContext) -> None:
        errors = []
        for link in self.links:
            try:
                ctx.toxiproxy.set_enabled(link, True)
            except Exception as exc:  # why broad: re-enable every link, then report
                errors.append(f"{link}: {exc}")
        if errors:
            raise FaultError("re-enabling links failed: " + "; ".join(errors))

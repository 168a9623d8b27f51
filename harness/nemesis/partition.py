"""``partition`` and ``loss``: grudges made real with iptables in the receivers' netns.

In a nutshell: ``partition`` resolves its target (``halves``, ``isolate-leader``, …) into a
grudge over the store members (``params.members: apiservers | all`` widens it), hands it to the
run's firewall and proves it: a TCP connect across every cut times out and the receiver's DROP
counters grow. ``loss`` drops a random share of packets (``params.probability``) on the same
pairs a partition target would cut, or on every pair of the scope (``all``, the default).

    - {at: 5s, partition: majority-minority, for: 10s, one_way: minority}
    - {at: 5s, loss: isolate:store-1, for: 10s, probability: 0.3}
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.errors import FaultError
from harness.model import FaultKind, FaultSpec
from harness.model.cluster import Role
from harness.nemesis import grudge as g
from harness.nemesis.base import Evidence, Fault, FaultContext, Injection
from harness.nemesis.components import ComponentIsolation, is_component
from harness.nemesis.iptables import ProbeResult
from harness.nemesis.registry import register
from harness.nemesis.targets import current_store_leader, member_port, members_of


def scope_members(ctx: FaultContext, params: dict[str, Any]) -> list[str]:
    scope = str(params.get("members", "store"))
    if scope == "store":
        return members_of(ctx.cluster, Role.STORE)
    if scope == "apiservers":
        return members_of(ctx.cluster, Role.APISERVER)
    if scope == "all":
        return members_of(ctx.cluster, Role.STORE) + members_of(ctx.cluster, Role.APISERVER)
    raise FaultError(f"params.members: got {scope!r}; expected store, apiservers or all")


def every_member(ctx: FaultContext) -> list[str]:
    return sorted(n.name for n in ctx.cluster.nodes())


def targets_of(grudge: g.Grudge) -> list[str]:
    """Members on the receiving or sending end of at least one cut."""
    return sorted({m for pair in g.cut_pairs(grudge) for m in pair})


class _NetFault:
    """Shared shape of partition and loss: resolve a grudge, give it to the firewall, heal."""

    kind: str
    probability: float | None = None

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec
        self.fault_id = fault_id
        self.rng = rng
        self.grudge: g.Grudge = {}

    def resolve(self, ctx: FaultContext) -> tuple[g.Grudge, dict[str, Any]]:
        params = self.spec.params
        if "replay" in params:
            return g.from_json(params["replay"]["grudge"]), {"replayed": True}
        members = scope_members(ctx, params)
        target = self.spec.target or "halves"
        if target.startswith("isolate:") and target.split(":", 1)[1] not in members:
            # An apiserver reaches the store and its clients only through the link proxy, so
            # isolating it means cutting it from the proxy as well as from every member.
            members = every_member(ctx)
        leader = current_store_leader(ctx.cluster, target) if target == "isolate-leader" else None
        one_way = params.get("one_way")
        grudge = g.build_grudge(
            target,
            members,
            rng=self.rng,
            leader=leader,
            one_way_side=None if one_way in (None, False) else str(one_way),
        )
        return grudge, ({"leader": leader} if leader else {})

    def inject(self, ctx: FaultContext) -> Injection:
        self.grudge, detail = self.resolve(ctx)
        ctx.firewall.set(self.fault_id, self.grudge, self.probability)
        resolved = {"grudge": g.to_json(self.grudge)}
        # How the rules reached the netns (nsenter or helper container, and why): a run on a
        # remote engine is read back knowing which path made its partitions.
        detail = {**detail, "fault_path": ctx.firewall.path.to_json()}
        return Injection(targets=targets_of(self.grudge), resolved=resolved, detail=detail)

    def heal(self, ctx: FaultContext) -> None:
        ctx.firewall.clear(self.fault_id)


class PartitionFault(_NetFault):
    kind = FaultKind.PARTITION.value

    def verify(self, ctx: FaultContext) -> Evidence:
        """Per receiver, one cut sender probes it over TCP (must time out) and the receiver's
        DROP counters must grow (the probe's own SYNs count, so this holds on an idle cluster).
        Each cut apiserver→store link is probed from the apiserver to the proxy port too."""
        receivers = {r: sorted(d) for r, d in self.grudge.items() if d}
        if not receivers:
            return Evidence(ok=False, reason="the grudge cuts nothing")
        before = ctx.firewall.counters(sorted(receivers))
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = {
                r: pool.submit(ctx.firewall.probe, s[0], r, member_port(ctx.cluster, r))
                for r, s in receivers.items()
            }
            links = {
                (api, port): pool.submit(ctx.firewall.probe_address, api, ip, port)
                for api, ip, port in ctx.firewall.cut_links(self.grudge)
            }
            probes = {r: (receivers[r][0], f.result()) for r, f in futures.items()}
            link_probes = {key: f.result() for key, f in links.items()}
        after = ctx.firewall.counters(sorted(receivers))
        evidence: dict[str, Any] = {}
        failures = []
        for (api, port), result in sorted(link_probes.items()):
            evidence.setdefault("links", []).append(
                {"apiserver": api, "proxy_port": port, "probe": result.value}
            )
            if result != ProbeResult.TIMEOUT:
                failures.append(f"{api}→proxy:{port} probe {result.value}")
        for receiver, (sender, result) in sorted(probes.items()):
            dropped = sum(c.packets for c in after.get(receiver, [])) - sum(
                c.packets for c in before.get(receiver, [])
            )
            evidence[receiver] = {"probe_from": sender, "probe": result.value, "dropped": dropped}
            if result != ProbeResult.TIMEOUT:
                failures.append(f"{sender}→{receiver} probe {result.value}")
            if dropped <= 0:
                failures.append(f"{receiver} dropped no packets")
        return Evidence(ok=not failures, evidence=evidence, reason="; ".join(failures))


@register(FaultKind.LOSS)
class LossFault(_NetFault):
    kind = FaultKind.LOSS.value

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        super().__init__(spec, fault_id=fault_id, rng=rng)
        probability = spec.params.get("probability")
        if not isinstance(probability, int | float) or not 0 < probability <= 1:
            raise FaultError(f"loss: params.probability: got {probability!r}; expected 0 < p <= 1")
        self.probability = float(probability)

    def resolve(self, ctx: FaultContext) -> tuple[g.Grudge, dict[str, Any]]:
        """``all``: every pair in the ``members`` scope; otherwise the pairs the partition
        target (``isolate:store-1``, ``halves``, …) would cut, with random loss instead."""
        if (self.spec.target or "all") == "all" and "replay" not in self.spec.params:
            members = scope_members(ctx, self.spec.params)
            return g.complete([[m] for m in members]), {}
        return super().resolve(ctx)

    def verify(self, ctx: FaultContext) -> Evidence:
        """Every receiver's chain holds its random-drop rules (counters are recorded too; a
        probabilistic drop need not have fired yet on a quiet link)."""
        expected = {r: len(d) for r, d in self.grudge.items() if d}
        counters = ctx.firewall.counters(sorted(expected))
        evidence: dict[str, Any] = {}
        failures = []
        for receiver, want in sorted(expected.items()):
            lossy = [c for c in counters.get(receiver, []) if c.probability is not None]
            evidence[receiver] = {
                "rules": len(lossy),
                "dropped": sum(c.packets for c in lossy),
            }
            if len(lossy) < want:
                failures.append(f"{receiver} has {len(lossy)} loss rule(s), expected {want}")
        return Evidence(ok=not failures, evidence=evidence, reason="; ".join(failures))


@register(FaultKind.PARTITION)
def make_partition(spec: FaultSpec, *, fault_id: int, rng: random.Random) -> Fault:
    """``isolate:<component member>`` cuts its links (``components.py``); the rest: iptables."""
    target = (spec.target or "").removeprefix("isolate:")
    if (spec.target or "").startswith("isolate:") and is_component(target):
        return ComponentIsolation(spec, fault_id=fault_id, rng=rng)
    return PartitionFault(spec, fault_id=fault_id, rng=rng)

"""Resolve a fault's target string into member names, at the moment it strikes.

In a nutshell: ``store-leader`` asks the cluster who leads now; ``random-store`` and
``random-apiserver`` draw from the fault's seeded RNG; a member name or a comma list is taken as
is (and checked). Links accept a name or a glob (``api-*-store-1``).

    resolve_members("store-leader", ctx.cluster, rng)  # → ["store-2"]
    resolve_links("client-api-*", ctx.cluster)          # → ["client-api-1", "client-api-2"]
"""

from __future__ import annotations

import fnmatch
import random
import time
from typing import Any

from harness.errors import ClusterError, FaultError
from harness.model.cluster import ClusterHandle, Role

MEMBER_TARGETS = (
    "<member name>",
    "store-leader",
    "random-store",
    "random-apiserver",
    "controller-manager-leader",
    "scheduler-leader",
    "random-node",
)
# ``<component>-leader``: the member holding that component's Lease (C5 ``lease_holder``).
LEASE_TARGETS = {"controller-manager-leader": "controller-manager", "scheduler-leader": "scheduler"}
HOLDER_WAIT_S = 10.0
LEADER_WAIT_S = 10.0
LEASE_NAMES = {"controller-manager": "kube-controller-manager", "scheduler": "kube-scheduler"}


def members_of(cluster: ClusterHandle, role: Role) -> list[str]:
    return sorted(n.name for n in cluster.nodes() if n.role == role)


def resolve_members(target: str | None, cluster: ClusterHandle, rng: random.Random) -> list[str]:
    if not target:
        raise FaultError(f"fault needs a target; expected one of {', '.join(MEMBER_TARGETS)}")
    if target == "store-leader":
        return [current_store_leader(cluster, "target store-leader")]
    if target == "random-store":
        return [rng.choice(members_of(cluster, Role.STORE))]
    if target == "random-apiserver":
        return [rng.choice(members_of(cluster, Role.APISERVER))]
    if target in LEASE_TARGETS:
        return [wait_lease_holder(cluster, LEASE_TARGETS[target], HOLDER_WAIT_S)]
    if target == "random-node":
        nodes = members_of(cluster, Role.KUBELET)
        if not nodes:
            raise FaultError("target random-node: the cluster has no nodes (cluster.nodes is 0)")
        return [rng.choice(nodes)]
    known = {n.name for n in cluster.nodes()}
    names = [t.strip() for t in target.split(",") if t.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise FaultError(
            f"target {target!r}: no member {', '.join(unknown)}; expected one of "
            f"{', '.join(MEMBER_TARGETS[1:])} or a member of {sorted(known)}"
        )
    return names


def current_store_leader(cluster: ClusterHandle, what: str) -> str:
    """The store leader now, or the next one elected within ``LEADER_WAIT_S``.

    A single status round can miss the leader (an election in progress, a member answering
    /status late on a loaded machine); a fault aimed at the leader waits for one rather than
    failing its strike.
    """
    leader = cluster.leader()
    if leader is not None:
        return leader
    try:
        return cluster.wait_leader_elected(LEADER_WAIT_S)
    except ClusterError as exc:
        raise FaultError(f"{what}: no store leader is elected right now ({exc})") from exc


def wait_lease_holder(cluster: ClusterHandle, component: str, timeout_s: float) -> str:
    """The member holding ``component``'s Lease, waiting up to ``timeout_s`` for one."""
    deadline = time.monotonic() + timeout_s
    while True:
        holder = cluster.lease_holder(component)
        if holder is not None:
            return holder
        if time.monotonic() >= deadline:
            lease = LEASE_NAMES.get(component, component)
            raise FaultError(
                f"target {component}-leader: no member held Lease kube-system/{lease} within "
                f"{timeout_s:g} s (is cluster.{component.replace('-', '_')}s ≥ 1?)"
            )
        time.sleep(0.2)


def resolve_links(target: str | None, cluster: ClusterHandle) -> list[str]:
    names = [link.name for link in cluster.info.links]
    pattern = target or "*"
    matched = sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
    if not matched:
        raise FaultError(f"link target {pattern!r} matches none of {sorted(names)}")
    return matched


def member_port(cluster: ClusterHandle, member: str) -> int:
    """The member's own listening port (store HTTP or apiserver), for TCP probes."""
    info = cluster.info
    url = info.store.get(member) or info.apiservers_direct.get(member)
    if url is None and cluster.node(member).role == Role.PROXY:
        url = info.toxiproxy  # its API port: listening, and on the proxy's own address
    if url is None:
        raise FaultError(f"no address for member {member!r}")
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def status_term(cluster: ClusterHandle, member: str, timeout_s: float = 1.0) -> int | None:
    status: dict[str, Any] | None = cluster.status(member, timeout_s=timeout_s)
    if not status or status.get("term") is None:
        return None
    return int(status["term"])

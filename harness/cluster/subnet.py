"""One /24 per run from a reserved /16, and the addresses inside it.

In a nutshell: ``first_slot(run_id)`` hashes the run id into one of the 256 /24s of
10.201.0.0/16; ``create_network`` tries that slot and, when Docker answers "Pool overlaps"
(another run holds it), the next one. The daemon is the lock, so parallel runs on one host
never collide. A /24 the host already routes (another engine's
bridge, a VPN: ``/proc/net/route``) is skipped before Docker is asked — a second engine on
this host does not know the first one's networks, and a remote engine's subnet that this host
routes elsewhere would be unreachable. The pool is read when a network is made
(``CHAOSPLANE_SUBNET_POOL``; give each engine on one host its own, as
``tests/integration/engine2.sh`` does). Member addresses are fixed offsets in the /24.

    plan = SubnetPlan.for_slot(POOL, 7)    # 10.201.7.0/24, gateway 10.201.7.1
    plan.store_ip(1), plan.proxy_ip        # "10.201.7.11", "10.201.7.2"
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import ClusterError

POOL_ENV = "CHAOSPLANE_SUBNET_POOL"
DEFAULT_POOL = "10.201.0.0/16"
POOL = ipaddress.IPv4Network(os.environ.get(POOL_ENV, DEFAULT_POOL))


def current_pool() -> ipaddress.IPv4Network:
    """The pool as the environment says now (``POOL`` is the value at import)."""
    value = os.environ.get(POOL_ENV, DEFAULT_POOL)
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ClusterError(
            f"{POOL_ENV}={value!r} is not an IPv4 network ({exc}); expected e.g. 10.202.0.0/16 "
            f"(a /16 no other network on this host uses)"
        ) from None


def host_routes(path: str = "/proc/net/route") -> list[ipaddress.IPv4Network]:
    """This host's IPv4 routes except the default route (which overlaps everything)."""
    routes: list[ipaddress.IPv4Network] = []
    try:
        with open(path, encoding="ascii") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return routes  # not Linux, or no procfs: Docker's own overlap check remains
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
        mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
        net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        if net.prefixlen > 0:
            routes.append(net)
    return routes


PROXY_HOST = 2
STORE_BASE = 10  # store-j at .10+j
API_BASE = 30  # api-i at .30+i


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetPlan:
    subnet: ipaddress.IPv4Network

    @classmethod
    def for_slot(cls, pool: ipaddress.IPv4Network, slot: int) -> SubnetPlan:
        subnets = list(pool.subnets(new_prefix=24))
        return cls(subnet=subnets[slot % len(subnets)])

    def host(self, offset: int) -> str:
        return str(self.subnet.network_address + offset)

    @property
    def gateway(self) -> str:
        return self.host(1)

    @property
    def proxy_ip(self) -> str:
        return self.host(PROXY_HOST)

    def store_ip(self, j: int) -> str:
        return self.host(STORE_BASE + j)

    def api_ip(self, i: int) -> str:
        return self.host(API_BASE + i)


def slot_count(pool: ipaddress.IPv4Network = POOL) -> int:
    return 1 << (24 - pool.prefixlen) if pool.prefixlen <= 24 else 0


def first_slot(run_id: str, pool: ipaddress.IPv4Network = POOL) -> int:
    digest = hashlib.sha256(run_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % slot_count(pool)


def candidate_slots(run_id: str, pool: ipaddress.IPv4Network = POOL) -> Iterator[int]:
    """Every slot once, starting at the run id's hash and wrapping around."""
    count = slot_count(pool)
    start = first_slot(run_id, pool)
    for k in range(count):
        yield (start + k) % count


def is_overlap_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "pool overlaps" in text or "overlaps with other" in text


def create_network(
    run_id: str,
    create: Callable[[SubnetPlan], Any],
    *,
    pool: ipaddress.IPv4Network | None = None,
    max_tries: int = 64,
    routes: list[ipaddress.IPv4Network] | None = None,
) -> tuple[Any, SubnetPlan]:
    """Call ``create(plan)`` on successive slots until one is free; return its result and plan.

    ``pool`` defaults to ``current_pool()``, ``routes`` to ``host_routes()``.
    """
    pool = current_pool() if pool is None else pool
    routed = host_routes() if routes is None else routes
    tried = 0
    for slot in candidate_slots(run_id, pool):
        plan = SubnetPlan.for_slot(pool, slot)
        if any(plan.subnet.overlaps(route) for route in routed):
            continue  # the host routes it already: Docker on another engine would not know
        try:
            return create(plan), plan
        except Exception as exc:
            if not is_overlap_error(exc):
                raise
        tried += 1
        if tried >= max_tries:
            break
    raise ClusterError(
        f"no free /24 in {pool} after {tried} tries (every one overlaps a Docker network or "
        f"a route of this host); run `chaosplane clean` to reap leftovers or set "
        f"{POOL_ENV} to a free /16"
    )

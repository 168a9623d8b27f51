"""Per-run subnets: hash slot, wrap-around, retry on "Pool overlaps", addresses, exhaustion."""

from __future__ import annotations

import ipaddress

import pytest

from harness.cluster.subnet import (
    POOL,
    SubnetPlan,
    candidate_slots,
    create_network,
    first_slot,
    slot_count,
)
from harness.errors import ClusterError


def test_first_slot_is_deterministic_and_in_range() -> None:
    assert slot_count() == 256
    assert first_slot("cp-1") == first_slot("cp-1")
    slots = {first_slot(f"cp-{n:08x}") for n in range(200)}
    assert all(0 <= s < 256 for s in slots)
    assert len(slots) > 100  # spread: 200 ids would not land on a handful of slots


def test_candidate_slots_visit_every_slot_once_starting_at_the_hash() -> None:
    pool = ipaddress.IPv4Network("10.9.0.0/22")  # 4 slots
    slots = list(candidate_slots("cp-x", pool))
    assert slots[0] == first_slot("cp-x", pool)
    assert sorted(slots) == [0, 1, 2, 3]


def test_plan_addresses() -> None:
    plan = SubnetPlan.for_slot(POOL, 7)
    assert str(plan.subnet) == "10.201.7.0/24"
    assert plan.gateway == "10.201.7.1"
    assert plan.proxy_ip == "10.201.7.2"
    assert [plan.store_ip(j) for j in (1, 7)] == ["10.201.7.11", "10.201.7.17"]
    assert [plan.api_ip(i) for i in (1, 5)] == ["10.201.7.31", "10.201.7.35"]


def test_overlap_moves_to_the_next_slot() -> None:
    tried: list[str] = []
    taken = {str(SubnetPlan.for_slot(POOL, first_slot("cp-a")).subnet)}

    def create(plan: SubnetPlan) -> str:
        tried.append(str(plan.subnet))
        if str(plan.subnet) in taken:
            raise RuntimeError(
                "400 Client Error: Pool overlaps with other one on this address space"
            )
        return "net"

    net, plan = create_network("cp-a", create)
    assert net == "net" and len(tried) == 2
    assert plan.subnet == SubnetPlan.for_slot(POOL, first_slot("cp-a") + 1).subnet


def test_other_errors_are_not_retried() -> None:
    calls = 0

    def create(plan: SubnetPlan) -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("permission denied")

    with pytest.raises(RuntimeError, match="permission denied"):
        create_network("cp-a", create)
    assert calls == 1


def test_a_full_pool_is_a_cluster_error_with_the_fix() -> None:
    pool = ipaddress.IPv4Network("10.9.0.0/23")

    def create(plan: SubnetPlan) -> str:
        raise RuntimeError("Pool overlaps with other one on this address space")

    with pytest.raises(ClusterError, match=r"no free /24 in 10\.9\.0\.0/23 after 2 tries.*clean"):
        create_network("cp-a", create, pool=pool)

"""Per-run subnets: hash slot, wrap-around, retry on "Pool overlaps", addresses, exhaustion."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from harness.cluster.subnet import (
    POOL,
    SubnetPlan,
    candidate_slots,
    create_network,
    current_pool,
    first_slot,
    host_routes,
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

    net, plan = create_network("cp-a", create, pool=POOL, routes=[])
    assert net == "net" and len(tried) == 2
    assert plan.subnet == SubnetPlan.for_slot(POOL, first_slot("cp-a") + 1).subnet


def test_other_errors_are_not_retried() -> None:
    calls = 0

    def create(plan: SubnetPlan) -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("permission denied")

    with pytest.raises(RuntimeError, match="permission denied"):
        create_network("cp-a", create, pool=POOL, routes=[])
    assert calls == 1


def test_a_full_pool_is_a_cluster_error_with_the_fix() -> None:
    pool = ipaddress.IPv4Network("10.9.0.0/23")

    def create(plan: SubnetPlan) -> str:
        raise RuntimeError("Pool overlaps with other one on this address space")

    with pytest.raises(ClusterError, match=r"no free /24 in 10\.9\.0\.0/23 after 2 tries.*clean"):
        create_network("cp-a", create, pool=pool, routes=[])


def test_a_subnet_the_host_already_routes_is_skipped_before_docker_is_asked() -> None:
    # A second engine on this host does not know the first one's bridges: Docker would
    # happily create the same /24 twice. The host's routing table is the shared truth.
    first = SubnetPlan.for_slot(POOL, first_slot("cp-a")).subnet
    tried: list[str] = []

    def create(plan: SubnetPlan) -> str:
        tried.append(str(plan.subnet))
        return "net"

    _, plan = create_network("cp-a", create, pool=POOL, routes=[first])
    assert str(first) not in tried and plan.subnet != first and len(tried) == 1


def test_a_pool_wholly_routed_is_a_cluster_error() -> None:
    pool = ipaddress.IPv4Network("10.9.0.0/23")
    with pytest.raises(ClusterError, match="route of this host"):
        create_network("cp-a", lambda plan: "net", pool=pool, routes=[pool])


def test_host_routes_reads_proc_net_route(tmp_path: Path) -> None:
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "br-1\t0007C90A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
        encoding="ascii",
    )
    assert host_routes(str(table)) == [ipaddress.IPv4Network("10.201.7.0/24")]
    assert host_routes(str(tmp_path / "missing")) == []


def test_the_pool_is_read_when_the_network_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOSPLANE_SUBNET_POOL", "10.202.0.0/16")
    assert current_pool() == ipaddress.IPv4Network("10.202.0.0/16")
    monkeypatch.setenv("CHAOSPLANE_SUBNET_POOL", "ten")
    with pytest.raises(ClusterError, match="CHAOSPLANE_SUBNET_POOL='ten'"):
        current_pool()

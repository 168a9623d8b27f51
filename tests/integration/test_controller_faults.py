"""The controller layer's faults against one real cluster: each takes effect, proved
independently of the fault's own ``verify``, and heals.

One module-scoped cluster (1 store member, 2 apiservers, 2 controller-managers,
2 schedulers, 2 nodes) serves every test; each leaves it healed (no leftovers, every link
enabled, a holder of each Lease, every node Ready), so the order does not matter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.history import JsonlWriter
from harness.model import FaultKind, FaultSpec
from harness.nemesis import FaultContext, find_leftovers, make_context, make_fault
from harness.nemesis.components import status_of
from harness.nemesis.link import tcp_connects

pytestmark = pytest.mark.docker

docker = pytest.importorskip("docker")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    try:
        docker.from_env().ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine: {exc}")
    from harness.cluster import ClusterSpec, start_cluster
    from harness.errors import ImageError
    from harness.images import ensure_images

    try:
        images = ensure_images()
    except ImageError as exc:
        pytest.skip(f"project images unavailable: {exc}")
    spec = ClusterSpec(
        store_members=1,
        apiservers=2,
        controller_managers=2,
        schedulers=2,
        nodes=2,
        ready_timeout_s=120.0,
    )
    with start_cluster(spec, images=images) as c:
        yield c


@pytest.fixture(scope="module")
def ctx(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultContext]:
    from harness.toxiproxy import ToxiproxyClient

    path = tmp_path_factory.mktemp("nemesis") / "faults.jsonl"
    with JsonlWriter(path) as timeline:
        context = make_context(
            cluster=cluster,
            toxiproxy=ToxiproxyClient(cluster.info.toxiproxy, timeout_s=5.0),
            timeline=timeline,
            start_ns=time.monotonic_ns(),
            seed=1,
        )
        yield context
        context.firewall.close()


def wait(cond: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s} s: {what}")


@pytest.fixture(autouse=True)
def healed(ctx: FaultContext, cluster: Any) -> Iterator[None]:
    yield
    assert find_leftovers(ctx) == []
    for component in ("controller-manager", "scheduler"):
        wait(lambda c=component: cluster.lease_holder(c), 30, f"a {component} Lease holder")
    wait(lambda: all(node_ready(cluster).values()), 30, "every node Ready again")


def fault(kind: FaultKind, target: str | None = None, **params: Any) -> Any:
    spec = FaultSpec(kind=kind, at_s=0.0, target=target, params=params)
    return make_fault(spec, fault_id=random.randrange(1, 10**6), rng=random.Random(3))


def node_ready(cluster: Any) -> dict[str, bool]:
    from harness.cluster.controllers import ApiReader

    with ApiReader(cluster.info) as api:
        nodes = api.get("/api/v1/nodes") or {}
    return {
        n["metadata"]["name"]: any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in n.get("status", {}).get("conditions", [])
        )
        for n in nodes.get("items", [])
    }


def links_of(cluster: Any, member: str) -> dict[str, str]:
    return {k.name: k.listen for k in cluster.info.links if k.source == member}


@pytest.mark.parametrize("action", ["kill", "isolate"])
def test_controller_manager_leader_loss_hands_the_lease_over(
    ctx: FaultContext, cluster: Any, action: str
) -> None:
    before = wait(lambda: cluster.lease_holder("controller-manager"), 30, "a holder")
    loss = fault(FaultKind.LEADER_LOSS, action=action, component="controller-manager")
    try:
        injection = loss.inject(ctx)  # runs its own course: strike, wait for the next holder
        assert injection.targets == [before]
        evidence = loss.verify(ctx)
        assert evidence.ok, evidence
        after = cluster.lease_holder("controller-manager")
        assert after is not None and after != before  # independently: the Lease moved
    finally:
        loss.heal(ctx)
    if action == "isolate":
        assert all(tcp_connects(addr) for addr in links_of(cluster, before).values())


def test_scheduler_leader_paused_hands_the_lease_over(ctx: FaultContext, cluster: Any) -> None:
    before = wait(lambda: cluster.lease_holder("scheduler"), 30, "a holder")
    loss = fault(FaultKind.LEADER_LOSS, action="pause", component="scheduler")
    try:
        loss.inject(ctx)
        assert loss.verify(ctx).ok
        assert cluster.node(before).is_paused() is False  # healed as soon as a holder was back
        assert cluster.lease_holder("scheduler") not in (None, before)
    finally:
        loss.heal(ctx)


def test_partitioned_node_goes_not_ready_and_comes_back(ctx: FaultContext, cluster: Any) -> None:
    partition = fault(FaultKind.PARTITION, "isolate:node-2")
    try:
        injection = partition.inject(ctx)
        assert injection.targets == ["node-2"]
        assert partition.verify(ctx).ok
        assert not any(tcp_connects(a) for a in links_of(cluster, "node-2").values())
        assert cluster.node("node-2").is_running()  # it keeps running, it cannot heartbeat
        wait(lambda: node_ready(cluster).get("node-2") is False, 30, "node-2 not Ready")
    finally:
        partition.heal(ctx)
    wait(lambda: node_ready(cluster).get("node-2") is True, 30, "node-2 Ready again")


def test_node_cut_from_one_apiserver_only_fails_over_and_stays_ready(
    ctx: FaultContext, cluster: Any
) -> None:
    down = fault(FaultKind.LINK_DOWN, "node-1-api-1")
    try:
        down.inject(ctx)
        assert down.verify(ctx).ok
        assert tcp_connects(links_of(cluster, "node-1")["node-1-api-2"])
        time.sleep(6)  # longer than the grace: it must keep heartbeating through api-2
        assert node_ready(cluster).get("node-1") is True
    finally:
        down.heal(ctx)


def test_kill_and_pause_of_a_node_by_target(ctx: FaultContext, cluster: Any) -> None:
    pause = fault(FaultKind.PAUSE, "random-node")
    injection = pause.inject(ctx)
    try:
        (member,) = injection.targets
        assert member.startswith("node-")
        evidence = pause.verify(ctx)
        assert evidence.ok and evidence.evidence[member]["answered"] is False, evidence
    finally:
        pause.heal(ctx)
    assert status_of(cluster, member) is not None


def test_clock_skew_moves_the_components_own_clock_and_heals(
    ctx: FaultContext, cluster: Any
) -> None:
    def skew(member: str) -> float:
        before = time.time()
        status = status_of(cluster, member) or {}
        return float(status["now"]) - (before + time.time()) / 2

    leader = wait(lambda: cluster.lease_holder("controller-manager"), 30, "a holder")
    assert abs(skew(leader)) < 1.0
    clock = fault(FaultKind.CLOCK_SKEW, "controller-manager-leader", offset_s=-5.0)
    try:
        assert clock.inject(ctx).targets == [leader]
        evidence = clock.verify(ctx)
        assert evidence.ok, evidence
        assert -6.5 < skew(leader) < -3.5  # read independently from the process's /status
        other = "controller-manager-2" if leader.endswith("-1") else "controller-manager-1"
        assert abs(skew(other)) < 1.0  # only the target's clock moved
    finally:
        clock.heal(ctx)
    wait(lambda: abs(skew(leader)) < 1.5, 10, "the clock set right")


def test_stale_apiserver_keeps_components_on_it(ctx: FaultContext, cluster: Any) -> None:
    down = fault(FaultKind.LINK_DOWN, "api-1-store-*")
    url = cluster.info.apiservers["api-1"]
    try:
        down.inject(ctx)
        assert down.verify(ctx).ok
        # api-1 still accepts connections (the components stay on it) but cannot serve reads
        from harness.cluster.tls import client_context

        verify: Any = client_context(cluster.info.ca_pem) if cluster.info.ca_pem else True
        r = httpx.get(f"{url}/readyz", verify=verify, timeout=5.0)
        assert r.status_code == 503
    finally:
        down.heal(ctx)

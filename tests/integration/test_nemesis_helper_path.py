"""Network faults through the NET_ADMIN helper container (no nsenter), proved from the host.

The firewall here is forced onto the helper path; the proof of effect is independent of it:
a TCP probe and the DROP counters read with ``nsenter`` from the host (the other path), and
Docker's own view of the helper containers (joined netns, NET_ADMIN only, not privileged,
labelled for the reaper, one per member incarnation).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.history import FaultPhase, JsonlWriter, read_faults
from harness.model import FaultKind, FaultSpec
from harness.nemesis import FaultContext, find_leftovers, make_context, make_fault, run_schedule
from harness.nemesis.helper import HELPER_LABEL, HelperDriver
from harness.nemesis.iptables import Netns, ProbeResult
from harness.nemesis.netpath import FaultPath, PathChoice
from harness.nemesis.targets import member_port

pytestmark = pytest.mark.docker

docker = pytest.importorskip("docker")

FORCED = PathChoice(path=FaultPath.HELPER, reason="forced by the test")


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
    with start_cluster(ClusterSpec(store_members=3, apiservers=1), images=images) as c:
        yield c


@pytest.fixture(scope="module")
def driver() -> HelperDriver:
    return HelperDriver(choice=FORCED)


@pytest.fixture(scope="module")
def ctx(
    cluster: Any, driver: HelperDriver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultContext]:
    from harness.toxiproxy import ToxiproxyClient

    toxiproxy = ToxiproxyClient(cluster.info.toxiproxy, timeout_s=5.0)
    path = tmp_path_factory.mktemp("helper") / "faults.jsonl"
    with JsonlWriter(path) as timeline:
        context = make_context(
            cluster=cluster,
            toxiproxy=toxiproxy,
            timeline=timeline,
            start_ns=time.monotonic_ns(),
            seed=1,
            netns=driver,
        )
        yield context
        context.firewall.close()
        cluster.remove_start_hook(context.firewall.on_start)


@pytest.fixture(autouse=True)
def healed(ctx: FaultContext, cluster: Any) -> Iterator[None]:
    yield
    cluster.wait_leader_elected(30.0)
    assert find_leftovers(ctx) == []


def fault(kind: FaultKind, target: str | None = None, **params: Any) -> Any:
    spec = FaultSpec(kind=kind, at_s=0.0, target=target, params=params)
    return make_fault(spec, fault_id=random.randrange(1, 10**6), rng=random.Random(3))


def host_probe(cluster: Any, sender: str, receiver: str) -> ProbeResult:
    """From the host with nsenter: not the path under test."""
    pid = cluster.node(sender).pid()
    port = member_port(cluster, receiver)
    return Netns().tcp_probe(pid, cluster.node(receiver).ip, port, timeout_s=1.0)


def helpers_of(cluster: Any) -> dict[str, Any]:
    client = docker.from_env()
    flt = {"label": [f"chaosplane.run={cluster.run_id}", HELPER_LABEL]}
    return {c.labels[HELPER_LABEL]: c for c in client.containers.list(filters=flt)}


def test_partition_through_the_helper_cuts_traffic_and_heal_restores_it(
    ctx: FaultContext, cluster: Any, driver: HelperDriver
) -> None:
    assert ctx.firewall.path.path is FaultPath.HELPER
    assert host_probe(cluster, "store-2", "store-1") == ProbeResult.CONNECTED
    partition = fault(FaultKind.PARTITION, "isolate:store-1")
    injection = partition.inject(ctx)
    try:
        assert injection.detail["fault_path"]["path"] == "helper"
        assert host_probe(cluster, "store-2", "store-1") == ProbeResult.TIMEOUT
        assert host_probe(cluster, "store-1", "store-3") == ProbeResult.TIMEOUT
        assert host_probe(cluster, "store-2", "store-3") == ProbeResult.CONNECTED
        # The rules the helper made are in the member's own netns, read from the host.
        host_rules = Netns().counters(cluster.node("store-1").pid())
        assert {c.source_ip for c in host_rules} == {
            cluster.node("store-2").ip,
            cluster.node("store-3").ip,
        }
        evidence = partition.verify(ctx)
        assert evidence.ok, evidence
        assert evidence.evidence["store-1"]["dropped"] > 0
    finally:
        partition.heal(ctx)
    assert host_probe(cluster, "store-2", "store-1") == ProbeResult.CONNECTED
    assert Netns().counters(cluster.node("store-1").pid()) == []


def test_helpers_join_the_members_netns_with_net_admin_only_one_each(
    ctx: FaultContext, cluster: Any, driver: HelperDriver
) -> None:
    partition = fault(FaultKind.PARTITION, "isolate:store-2")
    partition.inject(ctx)
    try:
        started = driver.started
        assert partition.verify(ctx).ok
        assert driver.started == started  # verify reuses the helpers inject started
    finally:
        partition.heal(ctx)
    helpers = helpers_of(cluster)
    assert {"store-1", "store-2", "store-3"} <= set(helpers)
    for member, helper in helpers.items():
        host = helper.attrs["HostConfig"]
        target = cluster.container_node(member).container
        assert host["NetworkMode"] == f"container:{target.id}"
        assert host["CapAdd"] == ["NET_ADMIN"]
        assert host["Privileged"] is False
        assert host["PidMode"] == ""
        assert helper.labels["chaosplane"] == "1"
        assert helper.labels["chaosplane.owner"] == target.labels["chaosplane.owner"]


def test_loss_through_the_helper_drops_a_share_of_packets(ctx: FaultContext, cluster: Any) -> None:
    loss = fault(FaultKind.LOSS, "isolate:store-3", probability=0.5)
    loss.inject(ctx)
    try:
        results = [host_probe(cluster, "store-1", "store-3") for _ in range(8)]
        host_rules = Netns().counters(cluster.node("store-3").pid())
        assert host_rules and all(c.probability == pytest.approx(0.5) for c in host_rules)
        evidence = loss.verify(ctx)
        assert evidence.ok, evidence
        assert evidence.evidence["store-3"]["dropped"] > 0
        assert ProbeResult.CONNECTED in results or evidence.evidence["store-3"]["dropped"] >= 8
    finally:
        loss.heal(ctx)
    assert host_probe(cluster, "store-1", "store-3") == ProbeResult.CONNECTED


def test_a_restarted_member_gets_its_rules_back_through_a_new_helper(
    ctx: FaultContext, cluster: Any
) -> None:
    partition = fault(FaultKind.PARTITION, "isolate:store-2")
    partition.inject(ctx)
    try:
        node = cluster.node("store-2")
        old_helper = helpers_of(cluster)["store-2"]
        node.kill()
        node.start()  # fresh netns: the start hook re-applies through a new helper
        assert host_probe(cluster, "store-1", "store-2") == ProbeResult.TIMEOUT
        new_helper = helpers_of(cluster)["store-2"]
        assert new_helper.id != old_helper.id
        assert str(node.pid()) in new_helper.name
    finally:
        partition.heal(ctx)
    assert host_probe(cluster, "store-1", "store-2") == ProbeResult.CONNECTED


def test_the_fault_events_record_the_helper_path(
    ctx: FaultContext, cluster: Any, tmp_path: Path
) -> None:
    specs = [FaultSpec(kind=FaultKind.PARTITION, at_s=0.0, target="halves", duration_s=1.0)]
    with JsonlWriter(tmp_path / "faults.jsonl") as timeline:
        run_ctx = dataclasses.replace(ctx, timeline=timeline, start_ns=time.monotonic_ns())
        fired = run_schedule(specs, run_ctx, threading.Event())
    assert fired and all(f.effect_ok for f in fired), fired
    start = next(e for e in read_faults(tmp_path / "faults.jsonl") if e.type == FaultPhase.START)
    assert start.detail["fault_path"] == FORCED.to_json()

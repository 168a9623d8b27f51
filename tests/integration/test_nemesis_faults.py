"""Every fault kind against one real cluster: it takes effect (proved independently) and heals.

One module-scoped cluster (3 store members, 2 apiservers) serves every test; each test leaves
it healed (``find_leftovers`` is asserted empty), so the order does not matter.
"""

from __future__ import annotations

import dataclasses
import os
import random
import ssl
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.history import FaultPhase, JsonlWriter, read_faults
from harness.model import FaultKind, FaultSpec
from harness.nemesis import FaultContext, find_leftovers, make_context, make_fault, run_schedule
from harness.nemesis.iptables import Netns, ProbeResult
from harness.nemesis.targets import member_port

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
    with start_cluster(ClusterSpec(store_members=3, apiservers=2), images=images) as c:
        yield c


@pytest.fixture(scope="module")
def ctx(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultContext]:
    from harness.toxiproxy import ToxiproxyClient

    toxiproxy = ToxiproxyClient(cluster.info.toxiproxy, timeout_s=5.0)
    path = tmp_path_factory.mktemp("nemesis") / "faults.jsonl"
    with JsonlWriter(path) as timeline:
        context = make_context(
            cluster=cluster,
            toxiproxy=toxiproxy,
            timeline=timeline,
            start_ns=time.monotonic_ns(),
            seed=1,
        )
        yield context
        context.firewall.close()


@pytest.fixture(autouse=True)
def healed(ctx: FaultContext, cluster: Any) -> Iterator[None]:
    """Each test must leave the cluster as it found it: read back, nothing left over."""
    yield
    cluster.wait_leader_elected(30.0)
    assert find_leftovers(ctx) == []


def fault(kind: FaultKind, target: str | None = None, **params: Any) -> Any:
    spec = FaultSpec(kind=kind, at_s=0.0, target=target, params=params)
    return make_fault(spec, fault_id=random.randrange(1, 10**6), rng=random.Random(3))


def probe(cluster: Any, sender: str, receiver: str) -> ProbeResult:
    """Independent of the firewall: a TCP connect from ``sender``'s netns to ``receiver``."""
    pid = cluster.node(sender).pid()
    port = member_port(cluster, receiver)
    return Netns().tcp_probe(pid, cluster.node(receiver).ip, port, timeout_s=1.0)


def test_partition_stops_traffic_between_isolated_members_and_heal_restores_it(
    ctx: FaultContext, cluster: Any
) -> None:
    assert probe(cluster, "store-2", "store-1") == ProbeResult.CONNECTED
    partition = fault(FaultKind.PARTITION, "isolate:store-1")
    injection = partition.inject(ctx)
    try:
        assert injection.targets == ["store-1", "store-2", "store-3"]
        assert probe(cluster, "store-2", "store-1") == ProbeResult.TIMEOUT
        assert probe(cluster, "store-1", "store-3") == ProbeResult.TIMEOUT
        assert probe(cluster, "store-2", "store-3") == ProbeResult.CONNECTED  # same side
        evidence = partition.verify(ctx)
        assert evidence.ok, evidence
        assert evidence.evidence["store-1"]["dropped"] > 0
    finally:
        partition.heal(ctx)
    assert probe(cluster, "store-2", "store-1") == ProbeResult.CONNECTED
    assert probe(cluster, "store-1", "store-3") == ProbeResult.CONNECTED


def test_restarted_member_gets_its_partition_rules_back(ctx: FaultContext, cluster: Any) -> None:
    partition = fault(FaultKind.PARTITION, "isolate:store-2")
    partition.inject(ctx)
    try:
        node = cluster.node("store-2")
        old_pid = node.pid()
        node.kill()
        node.start()  # new netns: the start hook must re-apply the grudge
        assert node.pid() != old_pid
        assert probe(cluster, "store-1", "store-2") == ProbeResult.TIMEOUT
    finally:
        partition.heal(ctx)
    assert probe(cluster, "store-1", "store-2") == ProbeResult.CONNECTED


def test_loss_installs_random_drop_rules_that_drop_packets(ctx: FaultContext, cluster: Any) -> None:
    loss = fault(FaultKind.LOSS, "isolate:store-3", probability=0.5)
    loss.inject(ctx)
    try:
        results = [probe(cluster, "store-1", "store-3") for _ in range(6)]
        evidence = loss.verify(ctx)
        assert evidence.ok, evidence
        assert evidence.evidence["store-3"]["dropped"] > 0
        assert ProbeResult.CONNECTED in results or evidence.evidence["store-3"]["dropped"] >= 6
    finally:
        loss.heal(ctx)
    assert probe(cluster, "store-1", "store-3") == ProbeResult.CONNECTED


def test_kill_stops_the_process_and_heal_brings_it_back(ctx: FaultContext, cluster: Any) -> None:
    node = cluster.node("store-3")
    old_pid = node.pid()
    kill = fault(FaultKind.KILL, "store-3")
    kill.inject(ctx)
    try:
        assert not node.is_running()
        assert not os.path.exists(f"/proc/{old_pid}")
        assert cluster.status("store-3", timeout_s=0.5) is None
        assert kill.verify(ctx).ok
    finally:
        kill.heal(ctx)
    assert node.is_running() and node.pid() != old_pid
    assert cluster.status("store-3", timeout_s=2.0) is not None


def test_pause_freezes_the_member_and_heal_thaws_it(ctx: FaultContext, cluster: Any) -> None:
    pause = fault(FaultKind.PAUSE, "random-store")
    injection = pause.inject(ctx)
    (member,) = injection.targets
    try:
        assert cluster.node(member).is_paused()
        assert cluster.status(member, timeout_s=0.5) is None
        assert pause.verify(ctx).ok
    finally:
        pause.heal(ctx)
    assert not cluster.node(member).is_paused()
    assert cluster.status(member, timeout_s=2.0) is not None


def median_request_s(url: str, token: str, verify: ssl.SSLContext, n: int = 5) -> float:
    times = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=5.0, headers=headers, verify=verify) as http:
        for _ in range(n):
            started = time.perf_counter()
            http.get(f"{url}/api/v1/namespaces/default")
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_latency_toxic_adds_measurable_latency_to_an_apiserver_request(
    ctx: FaultContext, cluster: Any
) -> None:
    url, token = cluster.info.apiservers["api-1"], cluster.info.api_token
    before_s = median_request_s(url, token, cluster.ssl_context)
    toxic = fault(FaultKind.TOXIC, "client-api-1", type="latency", attributes={"latency": 300})
    toxic.inject(ctx)
    try:
        evidence = toxic.verify(ctx)
        assert evidence.ok, evidence
        during_s = median_request_s(url, token, cluster.ssl_context)
    finally:
        toxic.heal(ctx)
    after_s = median_request_s(url, token, cluster.ssl_context)
    assert during_s - before_s > 0.25, (before_s, during_s)
    # Healed: the 300 ms are gone (compared with the toxic, not absolute: the machine may be busy).
    assert after_s < during_s - 0.2, (before_s, during_s, after_s)


def test_link_down_refuses_connections_until_healed(ctx: FaultContext, cluster: Any) -> None:
    url = cluster.info.apiservers["api-2"]
    link_down = fault(FaultKind.LINK_DOWN, "client-api-2")
    link_down.inject(ctx)
    try:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz", timeout=1.0, verify=cluster.ssl_context)
        assert link_down.verify(ctx).ok
    finally:
        link_down.heal(ctx)
    assert httpx.get(f"{url}/healthz", timeout=2.0, verify=cluster.ssl_context).status_code == 200


def test_leader_loss_produces_a_new_leader_with_a_higher_term(
    ctx: FaultContext, cluster: Any
) -> None:
    old = cluster.wait_leader_elected(15.0)
    old_term = cluster.status(old)["term"]
    leader_loss = fault(FaultKind.LEADER_LOSS, None, action="kill", elect_timeout_s=20.0)
    injection = leader_loss.inject(ctx)
    try:
        assert injection.targets == [old]
        new = cluster.leader()
        assert new is not None and new != old
        assert cluster.status(new)["term"] > old_term
        assert leader_loss.verify(ctx).ok
    finally:
        leader_loss.heal(ctx)
    assert cluster.node(old).is_running()


def test_rolling_restart_restarts_each_apiserver_and_each_comes_back(
    ctx: FaultContext, cluster: Any
) -> None:
    before = {n.name: n.pid() for n in cluster.apiserver_nodes()}
    rolling = fault(FaultKind.ROLLING_RESTART, "apiservers", interval_s=0.2)
    rolling.inject(ctx)
    after = {n.name: n.pid() for n in cluster.apiserver_nodes()}
    assert all(before[m] != after[m] for m in before)
    assert rolling.verify(ctx).ok
    for url in cluster.info.apiservers_direct.values():
        assert (
            httpx.get(f"{url}/healthz", timeout=2.0, verify=cluster.ssl_context).status_code == 200
        )
    rolling.heal(ctx)


def test_schedule_records_the_timeline_and_leaves_nothing_behind(
    ctx: FaultContext, cluster: Any, tmp_path: Path
) -> None:
    specs = [
        FaultSpec(kind=FaultKind.PARTITION, at_s=0.0, target="majority-minority", duration_s=1.0),
        FaultSpec(
            kind=FaultKind.TOXIC,
            at_s=0.2,
            target="api-*-store-1",
            duration_s=0.5,
            params={"type": "latency", "attributes": {"latency": 50}},
        ),
        FaultSpec(kind=FaultKind.PAUSE, at_s=1.5, target="store-leader", duration_s=0.5),
    ]
    with JsonlWriter(tmp_path / "faults.jsonl") as timeline:
        run_ctx = dataclasses.replace(ctx, timeline=timeline, start_ns=time.monotonic_ns())
        fired = run_schedule(specs, run_ctx, threading.Event())
    assert [f.kind for f in fired] == ["partition", "toxic", "pause"]
    assert all(f.effect_ok for f in fired), fired
    events = list(read_faults(tmp_path / "faults.jsonl"))
    for f in fired:
        phases = [e.type for e in events if e.id == f.id]
        assert phases[0] == FaultPhase.HEALTH and phases[-1] == FaultPhase.END
        assert FaultPhase.START in phases and FaultPhase.EFFECT in phases
    pause_start = next(e for e in events if e.id == 3 and e.type == FaultPhase.START)
    assert pause_start.detail["leader"] == pause_start.targets[0]


def test_isolating_an_apiserver_cuts_it_from_the_link_proxy_too(
    ctx: FaultContext, cluster: Any
) -> None:
    url_1, url_2 = cluster.info.apiservers["api-1"], cluster.info.apiservers["api-2"]
    partition = fault(FaultKind.PARTITION, "isolate:api-1", members="store")
    partition.inject(ctx)
    try:
        assert probe(cluster, "toxiproxy", "api-1") == ProbeResult.TIMEOUT
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url_1}/healthz", timeout=1.0, verify=cluster.ssl_context)
        assert (
            httpx.get(f"{url_2}/healthz", timeout=2.0, verify=cluster.ssl_context).status_code
            == 200
        )
        assert partition.verify(ctx).ok
    finally:
        partition.heal(ctx)
    assert httpx.get(f"{url_1}/healthz", timeout=2.0, verify=cluster.ssl_context).status_code == 200


def test_partition_over_all_members_cuts_the_apiservers_proxy_links_to_the_victim(
    ctx: FaultContext, cluster: Any
) -> None:
    listen = {link.name: link.listen.rsplit(":", 1) for link in cluster.info.links}

    def via_link(name: str) -> ProbeResult:
        ip, port = listen[name]
        pid = cluster.node(name.split("-store-")[0]).pid()
        return Netns().tcp_probe(pid, ip, int(port), timeout_s=1.0)

    partition = fault(FaultKind.PARTITION, "isolate:store-1", members="all")
    partition.inject(ctx)
    try:
        assert via_link("api-1-store-1") == ProbeResult.TIMEOUT
        assert via_link("api-2-store-1") == ProbeResult.TIMEOUT
        assert via_link("api-1-store-2") == ProbeResult.CONNECTED
        evidence = partition.verify(ctx)
        assert evidence.ok, evidence
        assert len(evidence.evidence["links"]) == 2
    finally:
        partition.heal(ctx)
    assert via_link("api-1-store-1") == ProbeResult.CONNECTED

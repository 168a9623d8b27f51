"""The store in containers (harness.cluster): failover and whole-cluster crash in Docker.

The loopback tests prove the Raft behaviour with processes; this proves the same in the real
deployment shape — one member per container on its own IP, data in the container's /data,
``docker kill`` as the crash (Raft paper §5.4 leader completeness, §5.1 persistent state).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from harness.cluster.cluster import DockerCluster
from harness.model.cluster import ClusterSpec

ClusterFactory = Callable[..., DockerCluster]  # the conftest fixture's type

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _put_acked(url: str, key: str, value: object, *, within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    last = ""
    while time.monotonic() < deadline:
        try:
            resp = httpx.put(f"{url}/kv/{key}", json={"value": value, "request_id": key}, timeout=5)
            if resp.status_code == 200:
                return
            last = resp.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.05)
    raise AssertionError(f"PUT {key} via {url} not acknowledged within {within_s}s: {last}")


def _read_all(url: str) -> dict[str, object]:
    resp = httpx.get(f"{url}/kv", params={"prefix": "t/"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return {item["key"]: item["value"] for item in resp.json()["items"]}


def _converged(cluster: DockerCluster, *, within_s: float = 30.0) -> set[str]:
    deadline = time.monotonic() + within_s
    seen: set[tuple[object, object]] = set()
    while time.monotonic() < deadline:
        statuses = [cluster.status(n.name) for n in cluster.store_nodes()]
        seen = {(s["applied_index"], s["state_hash"]) if s else (None, None) for s in statuses}
        if len(seen) == 1 and (None, None) not in seen:
            return {str(h) for _, h in seen}
        time.sleep(0.1)
    raise AssertionError(f"store members did not converge within {within_s}s: {seen}")


def test_store_in_containers_survives_leader_kill_and_full_crash(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory(ClusterSpec(store_members=3, apiservers=1))
    urls = cluster.info.store
    leader = cluster.wait_leader_elected(20.0)
    follower = next(name for name in urls if name != leader)
    acked: dict[str, object] = {}
    for i in range(10):
        _put_acked(urls[follower], f"t/a{i}", i)
        acked[f"t/a{i}"] = i

    cluster.node(leader).kill()
    survivors = [name for name in urls if name != leader]
    for i in range(5):
        _put_acked(urls[survivors[0]], f"t/b{i}", i)
        acked[f"t/b{i}"] = i
    new_leader = cluster.wait_leader_elected(20.0)
    assert new_leader != leader
    for name in survivors:
        assert _read_all(urls[name]) == acked

    cluster.node(leader).start()
    _converged(cluster)
    assert _read_all(urls[leader]) == acked

    nodes = cluster.store_nodes()
    for node in nodes:
        node.kill()
    for node in nodes:
        node.start()
    cluster.wait_leader_elected(30.0)
    for name in urls:
        assert _read_all(urls[name]) == acked
    _converged(cluster)

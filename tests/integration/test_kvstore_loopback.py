"""Three real store members as processes on 127.0.0.1 (no Docker): Raft behaviour end to end.

Each test cites the Raft rule it checks (Ongaro & Ousterhout, "In Search of an Understandable
Consensus Algorithm", 2014): leader election (§5.2), leader completeness — no committed entry is
lost when the leader dies (§5.4), persistence of state across crashes (§5.1, Figure 2 "persistent
state"), and follower catch-up / state machine safety (§5.3, §5.4.3).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.testing.loopback import LoopbackCluster

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    with LoopbackCluster(base_dir=tmp_path) as c:
        yield c


def _put(c: LoopbackCluster, member: str, key: str, value: object, *, timeout_s: float = 5) -> int:
    resp = httpx.put(
        f"{c.url(member)}/kv/{key}", json={"value": value, "request_id": key}, timeout=timeout_s
    )
    assert resp.status_code == 200, resp.text
    revision: int = resp.json()["revision"]
    return revision


def _read_all(c: LoopbackCluster, member: str) -> dict[str, object]:
    resp = httpx.get(f"{c.url(member)}/kv", params={"prefix": ""}, timeout=10)
    assert resp.status_code == 200, resp.text
    return {item["key"]: item["value"] for item in resp.json()["items"]}


def _put_until_acked(c: LoopbackCluster, member: str, key: str, value: object) -> float:
    """Retry one PUT (same request id) until acknowledged; returns when it was."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            resp = httpx.put(
                f"{c.url(member)}/kv/{key}", json={"value": value, "request_id": key}, timeout=5
            )
            if resp.status_code == 200:
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"PUT {key} never acknowledged by {member}")


def test_leader_elected_and_every_member_agrees(cluster: LoopbackCluster) -> None:
    # §5.2: one leader per term, known to all members.
    leader = cluster.wait_leader(timeout_s=15)
    statuses = {n: cluster.status(n) for n in cluster.members}
    assert all(s is not None and s["leader"] == leader for s in statuses.values())
    roles = sorted(s["role"] for s in statuses.values() if s is not None)
    assert roles == ["follower", "follower", "leader"]
    terms = {s["term"] for s in statuses.values() if s is not None}
    assert len(terms) == 1


def test_failover_restart_and_whole_cluster_crash_lose_no_acknowledged_write(
    cluster: LoopbackCluster,
) -> None:
    leader = cluster.wait_leader(timeout_s=15)
    follower = next(n for n in cluster.members if n != leader)
    acked: dict[str, object] = {}

    # Writes through a follower are forwarded to the leader and acknowledged once committed.
    for i in range(20):
        _put(cluster, follower, f"before/{i}", i)
        acked[f"before/{i}"] = i

    # §5.4 leader completeness: kill -9 the leader; the new leader has every committed entry.
    cluster.kill(leader)
    survivors = [n for n in cluster.members if n != leader]
    new_leader = cluster.wait_leader(timeout_s=15, among=survivors, not_=leader)
    assert new_leader != leader
    for i in range(10):
        _put_until_acked(cluster, survivors[0], f"during/{i}", i)
        acked[f"during/{i}"] = i
    for member in survivors:
        assert _read_all(cluster, member) == acked

    # §5.3: the restarted member catches up from the leader and converges (same state hash).
    cluster.start(leader)
    converged = cluster.wait_converged(timeout_s=20)
    assert len({s["state_hash"] for s in converged.values()}) == 1
    assert _read_all(cluster, leader) == acked

    # §5.1 persistent state: kill -9 everyone at once, restart, nothing acknowledged is gone.
    cluster.kill_all()
    cluster.start_all()
    cluster.wait_leader(timeout_s=20)
    for member in cluster.members:
        assert _read_all(cluster, member) == acked
    cluster.wait_converged(timeout_s=20)


def test_retried_write_with_request_id_applies_once(cluster: LoopbackCluster) -> None:
    leader = cluster.wait_leader(timeout_s=15)
    url = cluster.url(leader)
    first = httpx.put(f"{url}/kv/k", json={"value": 1, "request_id": "same"}, timeout=5).json()
    httpx.put(f"{url}/kv/k", json={"value": 2}, timeout=5)
    again = httpx.put(f"{url}/kv/k", json={"value": 1, "request_id": "same"}, timeout=5).json()
    assert again == first
    assert httpx.get(f"{url}/kv/k", timeout=5).json()["value"] == 2


def test_cas_via_different_members_is_decided_in_log_order(cluster: LoopbackCluster) -> None:
    cluster.wait_leader(timeout_s=15)
    names = list(cluster.members)
    results = []
    for name in names:  # every member tries to move the key from absent to its own name
        body = {"expect_revision": 0, "value": name}
        results.append(httpx.post(f"{cluster.url(name)}/kv/c/cas", json=body, timeout=5).json())
    assert [r["succeeded"] for r in results] == [True, False, False]
    assert {r["value"] for r in results} == {names[0]}


def test_watch_on_a_follower_sees_writes_made_on_the_leader(cluster: LoopbackCluster) -> None:
    leader = cluster.wait_leader(timeout_s=15)
    follower = next(n for n in cluster.members if n != leader)
    rev = _put(cluster, leader, "w/1", "a")
    _put(cluster, leader, "w/2", "b")
    resp = httpx.get(
        f"{cluster.url(follower)}/watch",
        params={"prefix": "w/", "since_revision": rev - 1, "timeout_s": 5},
        timeout=10,
    )
    assert [e["key"] for e in resp.json()["events"]] == ["w/1", "w/2"]


def test_state_survives_crashes_after_log_compaction(tmp_path: Path) -> None:
    # Raft §7 (log compaction): once the log is replaced by a snapshot (PySyncObj's full dump),
    # a crashed member restores from snapshot + remaining log, and a member that fell behind
    # the snapshot is brought up to date by the leader's snapshot transfer.
    env = {"KV_LOG_COMPACTION_ENTRIES": "20"}
    with LoopbackCluster(base_dir=tmp_path, extra_env=env) as c:
        leader = c.wait_leader(timeout_s=15)
        lagging = next(n for n in c.members if n != leader)
        acked: dict[str, object] = {}
        for i in range(100):
            if i == 40:
                c.kill(lagging)  # several compactions happen while it is down
            _put(c, leader, f"c/{i}", i)
            acked[f"c/{i}"] = i
        c.start(lagging)
        c.wait_converged(timeout_s=30)
        assert any((c.members[n].data_dir / "raft.dump").exists() for n in c.members)
        c.kill_all()
        c.start_all()
        c.wait_leader(timeout_s=20)
        for member in c.members:
            assert _read_all(c, member) == acked

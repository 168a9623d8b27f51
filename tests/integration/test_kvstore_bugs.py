"""Each store bug switch really misbehaves, and the same steps without it do not.

Three real members on 127.0.0.1; "partitions" are made by SIGSTOPping members (a stopped process
neither sends nor answers, exactly like a dead link), so the test needs no privileges. Every
scenario runs twice — with the switch (the misbehaviour must show) and without it (the control
must behave) — so a switch that silently does nothing fails here.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from harness.testing.loopback import LoopbackCluster

pytestmark = pytest.mark.slow


def _put(c: LoopbackCluster, member: str, key: str, value: object) -> httpx.Response:
    return httpx.put(f"{c.url(member)}/kv/{key}", json={"value": value}, timeout=10)


def _get(c: LoopbackCluster, member: str, key: str) -> httpx.Response:
    return httpx.get(f"{c.url(member)}/kv/{key}", timeout=10)


@pytest.mark.parametrize("bug", [True, False], ids=["bug", "control"])
def test_stale_follower_reads_serves_an_overwritten_value(tmp_path: Path, bug: bool) -> None:
    with LoopbackCluster(base_dir=tmp_path, bugs="stale-follower-reads" if bug else "") as c:
        leader = c.wait_leader()
        lagging, other = (n for n in c.members if n != leader)
        assert _put(c, leader, "k", 1).status_code == 200
        c.wait_converged()
        time.sleep(1.5)  # PySyncObj persists the commit index on a 1 s timer
        # A member that misses a write: killed (a paused one would find the write in its socket
        # buffer on resume), then restarted alone from its journal while the others are frozen.
        c.kill(lagging)
        assert _put(c, leader, "k", 2).status_code == 200
        c.pause(leader)
        c.pause(other)
        c.start(lagging)
        _wait_revision(c, lagging, 1)  # it replays its journal up to its persisted commit index
        resp = _get(c, lagging, "k")
        if bug:
            assert resp.status_code == 200 and resp.json()["value"] == 1  # stale: 2 was acked
        else:
            assert resp.status_code == 503


def _wait_revision(c: LoopbackCluster, member: str, revision: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = c.status(member)
        if status is not None and status["revision"] >= revision:
            return
        time.sleep(0.05)
    raise AssertionError(f"{member} never applied revision {revision}: {c.status(member)}")


# Slow elections for everyone but the member that should lead first (see the test below).
_SLOW = {"KV_RAFT_MIN_TIMEOUT_S": "1.5", "KV_RAFT_MAX_TIMEOUT_S": "2.0"}


@pytest.mark.parametrize("bug", [True, False], ids=["bug", "control"])
def test_no_step_down_deposed_leader_keeps_role_and_serves_stale_reads(
    tmp_path: Path, bug: bool
) -> None:
    # The old leader must not hear the new leader's higher term, or it steps down correctly.
    # PySyncObj links are dialled by the member whose address sorts higher, so when that member
    # is the old leader and is frozen, the others drop the link (connectionTimeout 1 s, before
    # their 1.5 s election timeout) and cannot reopen it: the old leader is truly partitioned.
    c = LoopbackCluster(base_dir=tmp_path, bugs="no-step-down" if bug else "")
    try:
        old = max(c.members, key=lambda n: c.members[n].raft_address)
        others = [n for n in c.members if n != old]
        c.start(old, wait=False)
        for n in others:
            c.start(n, env=_SLOW, wait=False)
        assert c.wait_leader(timeout_s=20) == old
        assert _put(c, old, "k", 1).status_code == 200
        c.pause(old)
        new = c.wait_leader(among=others, not_=old, timeout_s=20)
        assert _put(c, new, "k", 2).status_code == 200
        for n in others:
            c.pause(n)
        c.resume(old)  # cut off from a majority that has moved on
        time.sleep(1.5)  # well past leaderFallbackTimeout (0.8 s) without a response
        status = c.status(old)
        resp = _get(c, old, "k")
        assert status is not None
        if bug:
            assert status["role"] == "leader"
            assert resp.status_code == 200 and resp.json()["value"] == 1  # stale: 2 was acked
        else:
            assert status["role"] != "leader"
            assert resp.status_code == 503
    finally:
        c.close()


@pytest.mark.parametrize("bug", [True, False], ids=["bug", "control"])
def test_ack_before_commit_acknowledges_a_write_that_is_then_lost(
    tmp_path: Path, bug: bool
) -> None:
    with LoopbackCluster(base_dir=tmp_path, bugs="ack-before-commit" if bug else "") as c:
        leader = c.wait_leader()
        followers = [n for n in c.members if n != leader]
        for n in followers:
            c.pause(n)
        resp = _put(c, leader, "k", "acked?")
        if not bug:
            assert resp.status_code == 503  # no quorum, no acknowledgement
            return
        assert resp.status_code == 200  # acknowledged with no follower reachable
        c.kill(leader)
        for n in followers:
            c.resume(n)
        c.wait_leader(among=followers, not_=leader)
        assert _get(c, followers[0], "k").status_code == 404  # the acknowledged write is gone


def _restored(log: str) -> tuple[int, str]:
    found = re.findall(r"restored term=(\d+) voted_for=(\S+)", log)
    assert found, log
    term, voted = found[-1]
    return int(term), voted


@pytest.mark.parametrize("bug", [True, False], ids=["bug", "control"])
def test_forget_vote_restart_loses_the_persisted_vote(tmp_path: Path, bug: bool) -> None:
    with LoopbackCluster(base_dir=tmp_path) as c:
        leader = c.wait_leader()
        before = c.status(leader)
        assert before is not None
        # PySyncObj persists term/vote on a 1 s timer; wait for it so the control is fair.
        time.sleep(1.5)
        c.kill(leader)
        c.start(leader, bugs="forget-vote" if bug else "")
        term, voted = _restored(c.log_text(leader))
        if bug:
            # Raft §5.1: votedFor must survive a restart. Forgotten, the member may grant a
            # second vote in a term it already voted in.
            assert voted == "None"
            assert "bug forget-vote: removed" in c.log_text(leader)
        else:
            assert (term, voted) == (before["term"], leader)  # it had voted for itself

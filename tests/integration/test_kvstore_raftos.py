"""The raftos engine on three loopback processes: it runs at all (the compatibility patches),
replicates past raftos' old 5-entry stall, forwards from followers, and a member with a
non-empty log restarts and catches up (the fifth compat patch: before it, no such member
could restart). Its Raft bugs are left for the harness's checkers to find."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.testing.loopback import LoopbackCluster

pytest.importorskip("raftos", reason="the raftos extra is not installed")
pytestmark = pytest.mark.slow

RAFTOS = {"KV_ENGINE": "raftos"}


def test_raftos_replicates_through_a_follower_past_five_entries(tmp_path: Path) -> None:
    with LoopbackCluster(base_dir=tmp_path, extra_env=RAFTOS) as c:
        leader = c.wait_leader(timeout_s=20)
        follower = next(n for n in c.members if n != leader)
        for i in range(12):
            resp = httpx.put(f"{c.url(follower)}/kv/k{i}", json={"value": i}, timeout=10)
            assert resp.status_code == 200, resp.text
        statuses = c.wait_converged(timeout_s=20)
        assert {s["engine"] for s in statuses.values()} == {"raftos"}
        assert {s["revision"] for s in statuses.values()} == {12}
        got = httpx.get(f"{c.url(follower)}/kv/k11", timeout=10).json()
        assert got["value"] == 11


def test_raftos_member_with_a_log_restarts_and_catches_up(tmp_path: Path) -> None:
    with LoopbackCluster(base_dir=tmp_path, extra_env=RAFTOS) as c:
        leader = c.wait_leader(timeout_s=20)
        follower = next(n for n in c.members if n != leader)
        for i in range(8):
            assert httpx.put(f"{c.url(leader)}/kv/a{i}", json={"value": i}, timeout=10).is_success
        c.wait_converged(timeout_s=20)
        c.kill(follower)
        for i in range(4):
            assert httpx.put(f"{c.url(leader)}/kv/b{i}", json={"value": i}, timeout=10).is_success
        c.start(follower)
        statuses = c.wait_converged(timeout_s=30)
        assert statuses[follower]["revision"] == 12

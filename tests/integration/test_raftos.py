"""raftos 0.2.6 as the store engine: a cluster elects a leader, and the harness catches its defects.

One 3-member raftos cluster (UDP between peers, our compatibility layer, nothing of raftos'
Raft logic fixed) serves the first test: every member runs ``engine: raftos``, exactly one
leader is elected, and a write through a follower is forwarded and read back. Then the three
cheapest known-bad scenarios of ``scenarios/raftos`` run side by side in ``chaosplane run``
processes, and each must come out INVALID on the checker that proves its defect — the harness
catching raftos is the test. Each also proves its fault really bit (writes ending ``info``,
terms churning, a partition that took effect and replicas left apart).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scenario_runs import checks_of, run_in_parallel

from harness.cluster.cluster import DockerCluster
from harness.images import ImageTags
from harness.model.cluster import ClusterSpec

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ClusterFactory = Callable[..., DockerCluster]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "raftos"
CONCURRENT = SCENARIOS / "raftos-concurrent-writers-hang.yaml"
LARGE_VALUE = SCENARIOS / "raftos-large-value-wedge.yaml"
SPLIT_BRAIN = SCENARIOS / "raftos-split-brain-halves.yaml"
SEED = 1
RUN_TIMEOUT_S = 300.0
# raftos' default election timeout is 1.5-4.5 s, and its followers can refuse votes for a few
# rounds (they do not reset voted_for in a new term): leave room for several rounds.
ELECTION_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def raftos_cluster(images: ImageTags, cluster_factory: ClusterFactory) -> Iterator[DockerCluster]:
    del images
    cluster = cluster_factory(ClusterSpec(engine="raftos", store_members=3, apiservers=1))
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture(scope="module")
def scenario_runs(images: ImageTags, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Start the three known-bad runs at once (each owns its cluster); their run directories."""
    del images
    root = tmp_path_factory.mktemp("raftos-runs")
    return run_in_parallel(
        [CONCURRENT, LARGE_VALUE, SPLIT_BRAIN], root, seed=SEED, timeout_s=RUN_TIMEOUT_S
    )


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write_outcomes(run_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for op in _jsonl(run_dir / "history.jsonl"):
        if op["f"] == "write" and op["type"] != "invoke":
            counts[op["type"]] = counts.get(op["type"], 0) + 1
    return counts


def test_raftos_members_elect_one_leader_and_replicate(raftos_cluster: DockerCluster) -> None:
    leader = raftos_cluster.wait_leader_elected(ELECTION_TIMEOUT_S)
    statuses = raftos_cluster.statuses()
    assert all(s is not None and s["engine"] == "raftos" for s in statuses.values()), statuses
    roles = {m: s["role"] for m, s in statuses.items() if s is not None}
    assert list(roles.values()).count("leader") <= 1 and roles.get(leader) == "leader", roles
    # A write through a follower is forwarded to the leader (raftos itself has no forwarding).
    follower = next(m for m in statuses if m != leader)
    url = f"{raftos_cluster.info.store[follower]}/kv/raftos-probe"
    put = httpx.put(url, json={"value": 42}, timeout=10)
    assert put.status_code == 200, put.text
    got = httpx.get(url, timeout=10)
    assert got.status_code == 200 and got.json()["value"] == 42, got.text


def test_concurrent_writers_hang(scenario_runs: dict[str, Path]) -> None:
    run_dir = scenario_runs[CONCURRENT.stem]
    checks = checks_of(run_dir)
    assert checks["availability"]["verdict"] == "invalid", checks
    # The defect itself: most writes never got an answer (raftos orphaned their futures).
    outcomes = _write_outcomes(run_dir)
    assert outcomes.get("info", 0) > outcomes.get("ok", 0), outcomes


def test_large_values_wedge_the_cluster(scenario_runs: dict[str, Path]) -> None:
    run_dir = scenario_runs[LARGE_VALUE.stem]
    checks = checks_of(run_dir)
    assert checks["availability"]["verdict"] == "invalid", checks
    outcomes = _write_outcomes(run_dir)
    assert outcomes.get("ok", 0) == 0 and outcomes.get("info", 0) > 0, outcomes
    # The oversized entry cannot reach the followers, so they keep starting elections.
    terms = {s["term"] for s in _jsonl(run_dir / "status.jsonl") if s.get("term") is not None}
    assert max(terms) >= 5, sorted(terms)


def test_split_brain_halves_commit_conflicting_values(scenario_runs: dict[str, Path]) -> None:
    run_dir = scenario_runs[SPLIT_BRAIN.stem]
    checks = checks_of(run_dir)
    caught = {n for n in ("linearizable", "converged", "election")
              if checks.get(n, {}).get("verdict") == "invalid"}  # fmt: skip
    assert caught, checks
    # The fault bit: the 2|2 partition took effect (each half's probe of the other dropped).
    effects = [f for f in _jsonl(run_dir / "faults.jsonl") if f["type"] == "effect"]
    assert effects and all(f["detail"]["ok"] for f in effects), effects
    # And the replicas really differ at the end: more than one state hash among the members.
    final: dict[str, str] = {}
    for s in _jsonl(run_dir / "status.jsonl"):
        if s.get("state_hash"):
            final[s["member"]] = s["state_hash"]
    if checks["converged"]["verdict"] == "invalid":
        assert len(set(final.values())) > 1, final

"""Hypothesis finds a failing fault schedule when a bug is planted, shrinks it, replays it k of n
times and writes it as a scenario file; on one cluster reused between examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cluster import ClusterSpec, start_cluster
from harness.images import require_images
from harness.scenario import load_scenario
from harness.search import SearchOptions, search_failing_schedule

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_search_finds_shrinks_and_keeps_a_planted_bug(tmp_path: Path) -> None:
    # cas-without-check: the apiserver ignores the resourceVersion precondition (lost updates).
    spec = ClusterSpec(store_members=3, apiservers=2, bugs=("cas-without-check",))
    with start_cluster(spec, images=require_images()) as cluster:
        options = SearchOptions(
            out=tmp_path, max_examples=6, duration_s=6.0, replays=2, required=1,
            shrink_budget_s=45.0, seed=3,
        )  # fmt: skip
        found = search_failing_schedule(cluster, options)
        nodes = cluster.nodes()  # one cluster served every example: still the same containers
        assert len(nodes) == 6
    assert found.failing is not None, f"no failure found in {found.examples_run} examples"
    assert found.examples_run >= 2  # it kept running examples (shrinking) after the first failure
    assert found.reproduced >= 1, f"the shrunk schedule never failed again in {found.replays}"
    assert found.scenario_file is not None and found.scenario_file.exists()
    kept = load_scenario(found.scenario_file)  # a valid scenario file a user can rerun
    assert kept.name == found.scenario_file.stem
    assert len(kept.faults) <= len(found.failing.faults)
    assert kept.workload.through == "apiserver"  # the bug lives in the apiserver


def test_search_keeps_nothing_on_a_correct_cluster(tmp_path: Path) -> None:
    with start_cluster(ClusterSpec(store_members=3, apiservers=2), images=require_images()) as c:
        found = search_failing_schedule(
            c, SearchOptions(out=tmp_path, max_examples=2, duration_s=6.0, seed=5)
        )
    assert found.examples_run == 2
    assert found.failing is None and found.scenario_file is None
    assert not list(tmp_path.glob("found-*.yaml"))

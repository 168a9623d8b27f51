"""Fixtures for scenario tests written in Python: the same machinery the YAML files use.

In a nutshell: ``chaos_options`` (the session's ``RunOptions``), ``run_scenario``, ``cluster``,
``nemesis``, ``history``. The harness behind them is imported when a fixture is first used, so
loading the plugin imports no Docker code.

``cluster`` is module-scoped (bringing one up takes seconds): tests in a module share it, and
``nemesis`` heals and checks for leftovers after each test so the next one starts clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.plugin.options import run_options

if TYPE_CHECKING:
    from harness.history import JsonlWriter
    from harness.model.cluster import ClusterHandle
    from harness.nemesis import FaultContext
    from harness.run import RunOptions, RunOutcome
    from harness.scenario import Scenario


@pytest.fixture(scope="session")
def chaos_options(pytestconfig: pytest.Config) -> RunOptions:
    return run_options(pytestconfig)


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[ClusterHandle]:
    """A 3-member store and 2 apiservers in containers; override the spec with
    ``@pytest.mark.cluster_spec(store_members=5)`` on the module."""
    from harness.cluster import start_cluster
    from harness.images import require_images
    from harness.model.cluster import ClusterSpec

    marker = request.node.get_closest_marker("cluster_spec")
    spec = ClusterSpec(**(marker.kwargs if marker else {}))
    with start_cluster(spec, images=require_images()) as running:
        yield running


@pytest.fixture
def history(tmp_path: Path) -> Iterator[JsonlWriter]:
    from harness.history import JsonlWriter

    with JsonlWriter(tmp_path / "history.jsonl") as writer:
        yield writer


@pytest.fixture
def nemesis(cluster: ClusterHandle, tmp_path: Path) -> Iterator[FaultContext]:
    """A fault context on ``cluster``; after the test, nothing may be left broken."""
    from harness.history import JsonlWriter
    from harness.nemesis import LeftoverFaultError, find_leftovers, make_context
    from harness.toxiproxy import ToxiproxyClient

    with JsonlWriter(tmp_path / "faults.jsonl") as timeline:
        ctx = make_context(
            cluster=cluster,
            toxiproxy=ToxiproxyClient(cluster.info.toxiproxy),
            timeline=timeline,
            start_ns=time.monotonic_ns(),
            seed=0,
        )
        yield ctx
        leftovers = find_leftovers(ctx)
        ctx.firewall.close()
        if leftovers:
            raise LeftoverFaultError(leftovers, fired=[])


@pytest.fixture
def run_scenario(chaos_options: RunOptions) -> Callable[..., RunOutcome]:
    """``run_scenario(path_or_scenario, **RunOptions overrides) -> RunOutcome``."""
    from dataclasses import replace

    from harness.run import run_scenario as _run_scenario
    from harness.scenario import Scenario, load_scenario

    def run(target: Scenario | str | Path, **overrides: Any) -> RunOutcome:
        scenario = target if isinstance(target, Scenario) else load_scenario(Path(target))
        return _run_scenario(scenario, replace(chaos_options, **overrides))

    return run

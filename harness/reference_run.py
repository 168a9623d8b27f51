"""The fault-free reference run that ``reference_end_state`` compares a run with.

In a nutshell (Sieve's differential oracle, OSDI '22): before a run of a ``deployments``
scenario, :func:`run_reference` runs the same scenario — same cluster, bugs, workload, seed and
duration — with no faults, on its own cluster, and stores that run directory as
``<run dir>/reference/``, where the checker looks for it. The deployments workload's client ops
are a pure function of the seed (``OpPlan``), so both runs send the same sequence of ops. The
reference's own verdicts are in its ``verdicts.json``; it is never part of the run's verdict.
Opt-in (``RunOptions.reference``, ``chaosplane run --reference``): it doubles the run's time.

    ref = run_reference(scenario, seed, run_dir, runner=run_scenario, options=options)
    # <run dir>/reference/history.jsonl, or None for a workload without a reference
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from harness.history import RunDir
from harness.model import WorkloadKind
from harness.scenario import Scenario

REFERENCE_DIR = "reference"  # harness.checker.controllers.reference reads this name
_STAGING = ".reference-staging"


class _Outcome(Protocol):
    @property
    def run_dir(self) -> Path: ...


def needs_reference(scenario: Scenario) -> bool:
    """Only the deployments workload has an end state ``reference_end_state`` compares."""
    return scenario.workload.kind is WorkloadKind.DEPLOYMENTS


def reference_scenario(scenario: Scenario) -> Scenario:
    """The same scenario without its faults (its duration already includes any tail)."""
    return replace(scenario, name=f"{scenario.name}-reference", faults=())


def run_reference(
    scenario: Scenario,
    seed: int,
    run_dir: RunDir,
    *,
    runner: Callable[[Scenario, Any], _Outcome],
    options: Any,
) -> Path | None:
    """Run the fault-free twin of ``scenario`` with ``seed`` into ``run_dir/reference``.

    ``runner`` is ``harness.run.run_scenario`` (passed in: this module is called from it);
    ``options`` its ``RunOptions``, of which seed, reports dir, replay, cluster reuse and the
    reference flag itself are replaced."""
    if not needs_reference(scenario):
        return None
    staging = run_dir.root / _STAGING
    ref_options = replace(
        options,
        reports_dir=staging,
        seed=seed,
        replay=None,
        keep_cluster=False,
        render_report=False,
        cluster=None,
        reference=False,
        bugs=(),  # already in scenario.cluster.bugs (overrides applied)
    )
    outcome = runner(reference_scenario(scenario), ref_options)
    target = run_dir.root / REFERENCE_DIR
    shutil.move(str(outcome.run_dir), str(target))
    shutil.rmtree(staging, ignore_errors=True)
    return target

"""Search for a failing fault schedule with Hypothesis, shrink it, and keep it only if it replays.

In a nutshell: ``search_failing_schedule(cluster, SearchOptions(...))`` runs short scenarios
drawn by ``harness.strategies`` against ONE live cluster (reused between examples: each run
gets its own key prefix, and the nemesis heals everything after each run, so no example sees
another's state). When a run's linearizability or no-lost-writes verdict is invalid, Hypothesis
shrinks the schedule towards fewer, shorter, simpler faults. Chaos is nondeterministic, so the
shrunk schedule is then replayed ``replays`` times and accepted only if at least ``required``
of them fail too; an accepted failure is written as a scenario file.

    found = search_failing_schedule(cluster, SearchOptions(out=Path("reports/search")))
    print(found.scenario_file, f"{found.reproduced}/{found.replays}")
"""

from __future__ import annotations

import contextlib
import itertools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky

from harness.model.cluster import ClusterHandle
from harness.run import RunOptions, RunOutcome, run_scenario
from harness.scenario import Scenario, scenario_to_yaml
from harness.strategies import scenarios

SAFETY_CHECKS = ("linearizable", "no_lost_writes")


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOptions:
    out: Path
    max_examples: int = 10
    duration_s: float = 8.0
    replays: int = 3  # n
    required: int = 2  # k: the shrunk failure must reproduce in k of n replays
    seed: int = 0
    members: int = 3
    apiservers: int = 2
    shrink_budget_s: float | None = None  # stop shrinking this long after the first failure


@dataclass(slots=True, kw_only=True)
class SearchResult:
    examples_run: int = 0
    failing: Scenario | None = None  # the shrunk schedule, if any example failed
    failing_outcome: RunOutcome | None = None
    reproduced: int = 0
    replays: int = 0
    scenario_file: Path | None = None  # written only when it reproduced k of n
    runs: list[Path] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.scenario_file is not None


def violated(outcome: RunOutcome) -> list[str]:
    """The safety guarantees this run broke (recovery and availability are not searched for)."""
    return [
        name
        for name in SAFETY_CHECKS
        if name in outcome.verdicts.checks
        and outcome.verdicts.checks[name].verdict.value == "invalid"
    ]


def search_failing_schedule(cluster: ClusterHandle, options: SearchOptions) -> SearchResult:
    result = SearchResult()
    prefixes = (f"x{n}-" for n in itertools.count())
    first_failure_at: list[float] = []

    def budget_spent() -> bool:
        budget = options.shrink_budget_s
        return (
            budget is not None
            and bool(first_failure_at)
            and (time.monotonic() - first_failure_at[0] > budget)
        )

    def run_once(scenario: Scenario) -> RunOutcome:
        workload = replace(scenario.workload, key_prefix=next(prefixes))
        outcome = run_scenario(
            replace(scenario, workload=workload),
            RunOptions(
                reports_dir=options.out / "runs",
                cluster=cluster,
                render_report=False,
                seed=options.seed,
            ),
        )
        result.runs.append(outcome.run_dir)
        return outcome

    @hypothesis_seed(options.seed)
    @settings(
        max_examples=options.max_examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(
        scenarios(
            members=options.members, apiservers=options.apiservers, duration_s=options.duration_s
        )
    )
    def property_holds(scenario: Scenario) -> None:
        if budget_spent():
            return  # reads as a pass, so Hypothesis stops shrinking; the smallest so far stays
        result.examples_run += 1
        outcome = run_once(scenario)
        broken = violated(outcome)
        if broken:
            # Hypothesis shrinks from here; the last failing example it tries is the smallest.
            result.failing, result.failing_outcome = scenario, outcome
            first_failure_at[:1] = first_failure_at[:1] or [time.monotonic()]
            raise AssertionError(f"{', '.join(broken)} violated: {outcome.run_dir}")

    # The failing example is kept in ``result``; the replays below decide whether it counts.
    with contextlib.suppress(AssertionError, Flaky):
        property_holds()
    if result.failing is None:
        return result
    result.replays = options.replays
    result.reproduced = sum(
        bool(violated(run_once(result.failing))) for _ in range(options.replays)
    )
    if result.reproduced >= options.required:
        result.scenario_file = write_regression(result.failing, options.out)
    return result


def write_regression(scenario: Scenario, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"found-{len(list(out.glob('found-*.yaml'))):03d}.yaml"
    named = replace(
        scenario,
        name=path.stem,
        description="A fault schedule found and shrunk by Hypothesis; it reproduced on replay.",
    )
    path.write_text(scenario_to_yaml(named), encoding="utf-8")
    return path

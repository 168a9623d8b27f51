"""Scenario files as pytest collectors and items, with failures a person can read.

In a nutshell: ``ScenarioFile`` loads one YAML file (a load error is a collection error on that
file alone); its one ``ScenarioItem`` runs it with the session's ``RunOptions`` and fails with
the verdicts, the rerun command and the report path. The scenario loader and the run machinery
are imported when a file is collected, not when the plugin loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import HarnessError, ScenarioError

if TYPE_CHECKING:
    from harness.run import RunOutcome
    from harness.scenario import Scenario


class ScenarioRunFailed(Exception):
    """A run whose overall verdict is not valid; carries the outcome for the failure text."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__(outcome.verdicts.overall.value)
        self.outcome = outcome


class ScenarioRunInvalid(ScenarioRunFailed):
    """The checkers found a violation (what a ``known_bad`` scenario expects)."""


def failure_of(outcome: RunOutcome) -> ScenarioRunFailed:
    invalid = outcome.verdicts.overall.value == "invalid"
    return (ScenarioRunInvalid if invalid else ScenarioRunFailed)(outcome)


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.scenario import load_scenario

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            # A collection error on this one file, shown as the loader's message alone.
            raise self.CollectError(str(exc)) from None
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        item.add_marker(pytest.mark.scenario)
        item.add_marker(pytest.mark.docker)
        for marker in scenario.markers:
            item.add_marker(getattr(pytest.mark, marker))
        if "known_bad" in scenario.markers:
            # It shows a known defect: only an INVALID verdict is the expected outcome; a
            # valid run (the harness missed it) fails the test, and so does unknown.
            reason = "known_bad: the harness must find this defect"
            item.add_marker(
                pytest.mark.xfail(reason=reason, strict=True, raises=ScenarioRunInvalid)
            )
        yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        from harness.plugin.options import run_options
        from harness.run import run_scenario

        outcome = run_scenario(self.scenario, run_options(self.config))
        self.user_properties.extend(
            [
                ("seed", outcome.seed),
                ("run_dir", str(outcome.run_dir)),
                ("report", str(outcome.report or "")),
                ("overall", outcome.verdicts.overall.value),
                ("rerun", outcome.rerun),
            ]
        )
        print(f"\n{self.scenario.name}: {outcome.verdicts.overall.value} — report {outcome.report}")
        if not outcome.passed:
            raise failure_of(outcome)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, ScenarioRunFailed):
            return describe_failure(excinfo.value.outcome)
        if isinstance(excinfo.value, HarnessError):
            return f"{self.scenario.name}: harness error: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, 0, f"scenario: {self.scenario.name}"


def describe_failure(outcome: RunOutcome) -> str:
    lines = [f"verdict: {outcome.verdicts.overall.value.upper()} (seed {outcome.seed})"]
    for name, check in outcome.verdicts.checks.items():
        lines.append(f"  {name:16} {check.verdict.value:8} {check.reason}")
    lines.append(f"rerun:  {outcome.rerun}")
    lines.append(f"report: {outcome.report or outcome.run_dir}")
    if outcome.kept_cluster:
        lines.append(f"cluster kept: chaosplane down {outcome.kept_cluster}")
    return "\n".join(lines)

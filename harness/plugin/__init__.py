"""pytest plugin: scenario files are tests; fixtures for tests written in Python.

In a nutshell: registered through the ``pytest11`` entry point. A YAML file is a scenario when
it is under a directory of the ``chaosplane_scenarios`` ini option, is named
``*.scenario.yaml``, or is named on the command line (``hooks``). Importing the plugin imports
neither Docker nor the run machinery; options are computed once per session (``options``). A
scenario file that does not load is a collection error on that file alone (the
message names file, line, field and fix — no traceback). A run that is not valid fails with
its verdicts, recovery figures, the rerun command and the report path. Options are prefixed
``--chaos-``; fixtures: ``chaos_options``, ``run_scenario``, ``cluster``, ``nemesis``, ``history``.

    pytest scenarios/suite/leader-killed.yaml --chaos-seed 7 --chaos-keep-cluster
"""

from __future__ import annotations

from harness.plugin.fixtures import chaos_options, cluster, history, nemesis, run_scenario
from harness.plugin.hooks import (
    pytest_addoption,
    pytest_collect_file,
    pytest_configure,
    pytest_report_header,
)
from harness.plugin.items import ScenarioFile, ScenarioItem, ScenarioRunFailed, ScenarioRunInvalid

__all__ = [
    "ScenarioFile",
    "ScenarioItem",
    "ScenarioRunFailed",
    "ScenarioRunInvalid",
    "chaos_options",
    "cluster",
    "history",
    "nemesis",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_configure",
    "pytest_report_header",
    "run_scenario",
]

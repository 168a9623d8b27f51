"""The plugin's pytest hooks: ``--chaos-*`` options, markers, the header and collection.

In a nutshell: a YAML file is collected as a scenario only when it declares itself one — it is
under a directory listed in the ``chaosplane_scenarios`` ini option, its name ends in
``.scenario.yaml``, or it is named on the command line. A project that merely has chaosplane
installed keeps its own ``scenarios/*.yaml`` to itself.

    [tool.pytest.ini_options]
    chaosplane_scenarios = ["scenarios"]
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model import Engine
from harness.plugin.options import INI_SCENARIO_DIRS, settings


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_SCENARIO_DIRS,
        type="paths",
        default=[],
        help="directories (relative to the rootdir) whose *.yaml files are chaosplane scenarios",
    )
    group = parser.getgroup("chaosplane", "chaosplane scenario runs")
    group.addoption("--chaos-seed", type=int, default=None, help="seed for every scenario run")
    group.addoption(
        "--chaos-engine",
        default=None,
        choices=[e.value for e in Engine],
        help="store engine for every scenario (overrides the files)",
    )
    group.addoption(
        "--chaos-report-dir",
        default="reports",
        help="where run directories and reports go (default: reports/)",
    )
    group.addoption(
        "--chaos-keep-cluster",
        action="store_true",
        default=False,
        help="leave the cluster of a failed run running for inspection (chaosplane down RUN_ID)",
    )
    group.addoption(
        "--chaos-replay",
        default=None,
        help="schedule.json of an earlier run: replay its faults exactly",
    )
    group.addoption(
        "--chaos-bug",
        action="append",
        default=[],
        help="plant a bug-zoo bug in the control plane (repeatable), e.g. stale-follower-reads",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario: a chaosplane scenario file")
    config.addinivalue_line("markers", "slow: a scenario or test that takes long")
    config.addinivalue_line("markers", "docker: needs Docker and the project's images")
    config.addinivalue_line(
        "markers", "known_bad: a scenario expected to be INVALID (it shows a known defect)"
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    found = settings(config)
    if not (found.scenario_dirs or found.named_files):
        return None
    return f"chaosplane: reports in {found.reports_dir}/, seed {found.seed or 'per scenario'}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not settings(parent.config).is_scenario(file_path.resolve()):
        return None
    from harness.plugin.items import ScenarioFile

    return ScenarioFile.from_parent(parent, path=file_path)

"""The plugin's command-line options (all ``--chaos-*``) and the collection hook for YAML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run import RunOptions

SCENARIO_DIR_NAME = "scenarios"
SCENARIO_SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaosplane", "chaosplane scenario runs")
    group.addoption("--chaos-seed", type=int, default=None, help="seed for every scenario run")
    group.addoption(
        "--chaos-engine",
        default=None,
        choices=("pysyncobj", "raftos", "etcd"),
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
    if not _wants_scenarios(config):
        return None
    opts = run_options(config)
    return f"chaosplane: reports in {opts.reports_dir}/, seed {opts.seed or 'per scenario'}"


def _wants_scenarios(config: pytest.Config) -> bool:
    return any(SCENARIO_DIR_NAME in Path(str(a)).parts for a in config.args)


def run_options(config: pytest.Config) -> RunOptions:
    bugs: list[str] = []
    for value in config.getoption("--chaos-bug") or []:
        bugs.extend(b.strip() for b in str(value).split(",") if b.strip())
    replay = config.getoption("--chaos-replay")
    return RunOptions(
        reports_dir=Path(config.getoption("--chaos-report-dir")),
        seed=config.getoption("--chaos-seed"),
        replay=Path(replay) if replay else None,
        engine=config.getoption("--chaos-engine"),
        bugs=tuple(bugs),
        keep_cluster=bool(config.getoption("--chaos-keep-cluster")),
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in SCENARIO_SUFFIXES or SCENARIO_DIR_NAME not in file_path.parts:
        return None
    from harness.plugin.items import ScenarioFile

    return ScenarioFile.from_parent(parent, path=file_path)

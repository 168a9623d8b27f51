"""Scenario ``cluster:`` fields of the controller layer (C5): values and file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.scenario import ScenarioFileError, load_scenario
from harness.scenario.dump import scenario_to_dict

GOOD = """\
name: controllers
cluster:
  apiservers: 2
  controller_managers: 2
  schedulers: 2
  nodes: 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fields_map_to_cluster_config(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    c = scenario.cluster
    assert (c.controller_managers, c.schedulers, c.nodes) == (2, 2, 3)
    assert c.has_components
    assert scenario_to_dict(scenario)["cluster"]["nodes"] == 3


def test_defaults_keep_todays_scenarios_unchanged(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "name: plain\n"))
    c = scenario.cluster
    assert (c.controller_managers, c.schedulers, c.nodes) == (0, 0, 0)
    assert "nodes" not in scenario_to_dict(scenario)["cluster"]


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("  nodes: 11", "cluster.nodes", "0–10"),
        ("  schedulers: -1", "cluster.schedulers", "0–3"),
        ("  controller_managers: two", "cluster.controller_managers", "integer"),
    ],
)
def test_bad_values_name_file_line_and_field(
    tmp_path: Path, line: str, field: str, expected: str
) -> None:
    path = write(tmp_path, f"name: bad\ncluster:\n  apiservers: 2\n{line}\n")
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path}:4: {field}: got " in message
    assert expected in message


def test_unknown_field_suggests_the_right_name(tmp_path: Path) -> None:
    path = write(tmp_path, "name: bad\ncluster:\n  controller_manager: 2\n")
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    assert f"{path}:3: cluster.controller_manager" in str(info.value)
    assert "controller_managers" in str(info.value)


def test_up_accepts_the_component_flags() -> None:
    args = build_parser().parse_args(
        ["up", "--controller-managers", "2", "--schedulers", "1", "--nodes", "3"]
    )
    assert (args.controller_managers, args.schedulers, args.nodes) == (2, 1, 3)


def test_up_rejects_out_of_range_counts(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli.up import run

    args = build_parser().parse_args(["up", "--nodes", "11"])
    assert run(args) == 2
    assert "--nodes: got 11; expected 0-10" in capsys.readouterr().err

"""``chaosplane validate``: exit 0 when every file is valid, 1 otherwise, one problem per line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.scenario import ScenarioFileError, load_scenario

BAD = Path(__file__).parent / "scenarios_bad"


def good_file(tmp_path: Path, name: str = "good") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nfaults: [{{at: 1s, kill: store-1}}]\n", encoding="utf-8")
    return path


def test_valid_files_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(good_file(tmp_path, "a")), str(good_file(tmp_path, "b"))]) == 0
    out, err = capsys.readouterr()
    assert out == "ok: 2 scenario file(s) valid\n" and err == ""


def test_invalid_file_exits_1_with_one_problem_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = BAD / "targets.yaml"
    assert main(["validate", str(good_file(tmp_path)), str(bad)]) == 1
    out, err = capsys.readouterr()
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(bad)
    expected = [p.render() for p in info.value.problems]
    assert err.splitlines() == [*expected, "invalid: 8 problem(s) in 1 of 2 file(s)"]
    assert out == ""


def test_folders_are_walked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BAD)]) == 1
    err = capsys.readouterr().err
    files = len(list(BAD.glob("*.yaml")))
    assert err.splitlines()[-1].endswith(f"in {files} of {files} file(s)")


def test_duplicate_names_across_files_are_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = good_file(tmp_path, "same")
    two = tmp_path / "copy.yaml"
    two.write_text(one.read_text())
    assert main(["validate", str(tmp_path)]) == 1
    assert "name: got 'same' (string); expected a name no other scenario uses" in (
        capsys.readouterr().err
    )


def test_schema_flag_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "chaosplane scenario"


def test_no_traceback_from_the_real_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "validate", str(BAD / "yaml-features.yaml"),
         "/nonexistent/x.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "/nonexistent/x.yaml: (document): got '/nonexistent/x.yaml' (missing file)" in (
        result.stderr
    )

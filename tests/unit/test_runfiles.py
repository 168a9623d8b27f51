"""run.json and schedule.json through their one typed, versioned reader and writer
(``harness.model.runfiles``): round trips, version checks, bad fields named with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.model.runfiles import (
    RUN_VERSION,
    RunFileError,
    RunMeta,
    ScheduleDoc,
    read_run_meta,
    read_schedule_doc,
    write_run_meta,
    write_schedule_doc,
)

META = RunMeta(run_id="r-s7", scenario="leader-killed", seed=7, command="chaosplane run x")


def test_run_meta_round_trips_with_its_version_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write_run_meta(path, META)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == RUN_VERSION
    assert "checker" not in doc and "reference_run" not in doc  # optional parts: only when set
    doc["checker"] = {"time_budget_s": 5}
    doc["written_by_a_newer_minor"] = [1, 2]  # kept, not dropped, when rewritten
    path.write_text(json.dumps(doc), encoding="utf-8")
    back = read_run_meta(path)
    assert back.checker == {"time_budget_s": 5}
    assert back.extra == {"written_by_a_newer_minor": [1, 2]}
    write_run_meta(path, back)
    assert json.loads(path.read_text(encoding="utf-8")) == doc


def test_a_run_json_without_version_is_version_1() -> None:
    doc = META.to_json()
    del doc["version"]
    assert RunMeta.from_json(doc).version == 1


def test_another_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({**META.to_json(), "version": 2}), encoding="utf-8")
    with pytest.raises(RunFileError) as info:
        read_run_meta(path)
    err = info.value
    assert (err.field, err.got) == ("version", 2)
    assert str(path) in str(err) and "another chaosplane version" in str(err)


@pytest.mark.parametrize(
    ("field", "value"),
    [("seed", "7"), ("seed", True), ("expect", []), ("duration_s", "3s"), ("run_id", None)],
)
def test_a_bad_field_names_file_field_value_and_rule(field: str, value: object) -> None:
    doc = {**META.to_json(), field: value}
    with pytest.raises(RunFileError) as info:
        RunMeta.from_json(doc, path="reports/r/run.json")
    assert info.value.field == field
    assert str(info.value).startswith(f"reports/r/run.json: {field}: got {value!r}")


def test_lenient_reading_keeps_what_is_good_and_says_what_is_not() -> None:
    doc = {**META.to_json(), "version": 9, "duration_s": "3s"}
    meta = RunMeta.from_json(doc, strict=False)
    assert meta.seed == 7 and meta.duration_s is None
    assert len(meta.problems) == 2
    assert any("version" in p for p in meta.problems)
    assert "problems" not in meta.to_json()


def test_schedule_round_trips_and_checks_its_version(tmp_path: Path) -> None:
    path = tmp_path / "schedule.json"
    write_schedule_doc(path, ScheduleDoc(seed=3, faults=({"id": 1, "kind": "kill"},)))
    assert read_schedule_doc(path) == ScheduleDoc(seed=3, faults=({"id": 1, "kind": "kill"},))
    path.write_text(json.dumps({"version": 0, "seed": 3, "faults": []}), encoding="utf-8")
    with pytest.raises(RunFileError, match="version: got 0"):
        read_schedule_doc(path)
    path.write_text(json.dumps({"version": 1, "seed": 3, "faults": {}}), encoding="utf-8")
    with pytest.raises(RunFileError, match="faults"):
        read_schedule_doc(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RunFileError, match="JSON"):
        read_schedule_doc(path)

"""The lean history reader (harness/checker/lean.py) agrees with the Op path it replaces.

On well-formed and malformed histories (a completion without invoke, a busy process, a retired
process reused, time going backwards, a torn last line) ``read_paired`` + ``lean_well_formed``
give the same calls, problems and verdict as ``read_ops`` + ``pair_calls`` + ``well_formed``.
"""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path
from typing import Any

import pytest

from harness.checker import lean, load_run, pair_calls, run_checkers
from harness.checker.lean import lean_well_formed, read_paired
from harness.checker.pairing import Call, make_call
from harness.checker.rundata import LazyOps, from_history
from harness.checker.wellformed import well_formed
from harness.errors import CheckerError
from harness.history import OpType, RunDir, read_ops

RECORDS: dict[str, list[dict[str, Any]]] = {
    "good": [
        {"process": 0, "type": "invoke", "f": "write", "key": "a", "value": 1},
        {"process": 1, "type": "invoke", "f": "cas", "key": "a", "value": [1, 2]},
        {"process": 0, "type": "ok", "f": "write", "key": "a", "value": 1, "node": "n1"},
        {"process": 1, "type": "fail", "f": "cas", "value": [1, 2], "error": "compare failed"},
        {"process": 2, "type": "invoke", "f": "read", "key": "a", "value": None},
        {"process": 2, "type": "info", "f": "read", "key": "a", "value": None},
        {"process": 3, "type": "invoke", "f": "read", "key": "a"},
        {"process": 9, "type": "ok", "f": "watch-event", "key": "a", "value": {"rev": 3}},
    ],
    "malformed": [
        {"process": 0, "type": "ok", "f": "read", "key": "a", "value": 1},
        {"process": 1, "type": "invoke", "f": "read", "key": "a"},
        {"process": 1, "type": "invoke", "f": "write", "key": "a", "value": 3},
        {"process": 1, "type": "ok", "f": "read", "key": "a", "value": 3},
        {"process": 2, "type": "invoke", "f": "write", "key": "a", "value": 4},
        {"process": 2, "type": "info", "f": "write", "key": "a", "value": 4},
        {"process": 2, "type": "invoke", "f": "read", "key": "a", "time": -5},
    ],
}


def _write(tmp_path: Path, name: str, torn: bool = False) -> Path:
    lines = []
    for i, rec in enumerate(RECORDS[name]):
        lines.append(json.dumps({"index": i, "time": i, **rec}) + "\n")
    if torn:
        lines.append('{"index": 99, "proc')
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(lines))
    return path


@pytest.fixture(params=["json", "orjson"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both parsers the lean reader picks between (by file size)."""
    if request.param == "orjson":
        pytest.importorskip("orjson")
        monkeypatch.setattr(lean, "ORJSON_FROM_BYTES", 0)
    else:
        monkeypatch.setattr(lean, "ORJSON_FROM_BYTES", 1 << 62)
    return str(request.param)


@pytest.mark.parametrize("name", sorted(RECORDS))
@pytest.mark.parametrize("torn", [False, True])
def test_lean_reader_matches_the_op_path(
    tmp_path: Path, name: str, torn: bool, parser: str
) -> None:
    path = _write(tmp_path, name, torn)
    lean = read_paired(path)
    ops = list(read_ops(path))
    paired = pair_calls(ops)
    assert lean.paired.calls == paired.calls
    assert lean.paired.problems == paired.problems
    assert lean.paired.events == paired.events
    assert lean_well_formed(lean) == well_formed(from_history(path, ops))


def test_unreadable_record_names_the_file_and_line(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"index": 0, "time": 0, "type": "invoke", "f": "read"}\n{}\n')
    with pytest.raises(CheckerError, match=r"h\.jsonl:1: unreadable record"):
        read_paired(path)
    path.write_text('not json\n{"index": 0}\n')
    with pytest.raises(CheckerError, match=r"h\.jsonl:1: not a JSON object"):
        read_paired(path)
    path.write_bytes(b'{"f": "\xff"}\n{"index": 0}\n')  # not UTF-8
    with pytest.raises(CheckerError, match=r"h\.jsonl:1: not a JSON object"):
        read_paired(path)


@pytest.mark.parametrize("name", sorted(RECORDS))
@pytest.mark.parametrize("torn", [False, True])
def test_run_directory_reads_lean_with_the_same_verdicts(
    tmp_path: Path, name: str, torn: bool
) -> None:
    """``load_run`` reads the history lean and leaves the raw records unparsed until asked;
    every checker's verdict equals the one computed from the Op records."""
    root = tmp_path / "run"
    root.mkdir()
    _write(tmp_path, name, torn).rename(root / "history.jsonl")
    (root / "faults.jsonl").write_text(
        json.dumps({"time": 3, "id": 1, "fault": "kill", "type": "start", "targets": ["n1"]}) + "\n"
    )
    lean = load_run(RunDir(root))
    assert repr(lean.records).endswith("loaded=False)")
    ops = list(read_ops(root / "history.jsonl"))
    full = replace(lean, records=LazyOps(root / "history.jsonl", ops), problems=None)
    assert lean.paired == pair_calls(ops)
    assert lean.end_time == full.end_time
    assert _timeless(run_checkers(lean).to_json()) == _timeless(run_checkers(full).to_json())
    assert repr(lean.records).endswith("loaded=False)")  # no register checker read the records
    assert lean.ops == ops


def _timeless(verdicts: dict[str, Any]) -> dict[str, Any]:
    for check in verdicts["checks"].values():
        check["details"].pop("elapsed_s", None)
    return verdicts


def test_make_call_builds_the_same_frozen_call() -> None:
    values: dict[str, Any] = {
        "process": 3,
        "f": "cas",
        "key": "k",
        "arg": [1, 2],
        "result": [1, 2],
        "outcome": OpType.FAIL,
        "invoke_time": 5,
        "complete_time": 9,
        "invoke_index": 0,
        "complete_index": 1,
        "node": "n1",
        "error": "compare failed",
    }
    assert [f.name for f in fields(Call)] == list(values)  # a new field must reach make_call
    made = make_call(*values.values())
    assert made == Call(**values)
    with pytest.raises(FrozenInstanceError):
        made.f = "read"  # type: ignore[misc]


def test_records_without_index_or_time_read_as_zero_on_both_paths(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(
        '{"process": 0, "type": "invoke", "f": "read", "key": "a"}\n'
        '{"process": 0, "type": "ok", "f": "read", "key": "a", "value": null}\n'
    )
    assert read_paired(path).paired.calls == pair_calls(list(read_ops(path))).calls


def test_blank_and_whitespace_lines_are_skipped_on_both_paths(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(
        '\n{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "read", "key": "a"}\n'
        "   \n\t\r\n"
        '{"index": 1, "time": 1, "process": 0, "type": "ok", "f": "read", "value": 1}\r\n\n'
    )
    lean = read_paired(path)
    assert lean.records == 2
    assert lean.paired.calls == pair_calls(list(read_ops(path))).calls

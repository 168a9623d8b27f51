"""``chaosplane check``: one JSON line per path, exit 0 valid / 1 invalid / 2 unknown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main


def _history(path: Path, events: list[tuple[int, str, str, Any]]) -> Path:
    rows = [
        {"index": i, "time": i, "process": p, "type": t, "f": f, "key": "x", "value": v}
        for i, (p, t, f, v) in enumerate(events)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


GOOD = [
    (0, "invoke", "write", 1),
    (0, "ok", "write", 1),
    (1, "invoke", "read", None),
    (1, "ok", "read", 1),
]
BAD = [
    (0, "invoke", "write", 1),
    (0, "ok", "write", 1),
    (1, "invoke", "read", None),
    (1, "ok", "read", 2),
]
MALFORMED = [(0, "ok", "read", 1)]


@pytest.mark.parametrize(
    ("histories", "code"),
    [
        ([GOOD], 0),
        ([BAD], 1),
        ([MALFORMED], 2),
        ([GOOD, MALFORMED], 2),
        ([MALFORMED, BAD, GOOD], 1),
    ],
)
def test_exit_code_and_one_line_per_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], histories: list[Any], code: int
) -> None:
    paths = [_history(tmp_path / f"h{i}.jsonl", h) for i, h in enumerate(histories)]
    assert main(["check", *map(str, paths)]) == code
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["path"] for line in lines] == [str(p) for p in paths]


def test_run_directory_gets_verdicts_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _history(run / "history.jsonl", GOOD)
    expect = {"converged_within_s": None, "recovered_within_s": None}  # no status.jsonl here
    meta = {"adequacy": {"ok": True, "reason": "fine"}, "expect": expect}
    (run / "run.json").write_text(json.dumps(meta))
    assert main(["check", str(run)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["overall"] == "valid"
    assert json.loads((run / "verdicts.json").read_text())["overall"] == "valid"


def test_missing_path_is_unknown_and_does_not_hide_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _history(tmp_path / "bad.jsonl", BAD)
    assert main(["check", str(tmp_path / "nope"), str(bad)]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["overall"] == "unknown"
    assert second["overall"] == "invalid"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_many_paths_in_parallel_keep_their_order_and_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    kinds: list[list[tuple[int, str, str, Any]]] = [GOOD, BAD, MALFORMED, GOOD, BAD, GOOD]
    paths = [_history(tmp_path / f"h{i}.jsonl", h) for i, h in enumerate(kinds)]
    code = main(["check", "--jobs", jobs, *map(str, paths)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [line["path"] for line in lines] == [str(p) for p in paths]
    expected = {id(GOOD): "valid", id(BAD): "invalid", id(MALFORMED): "unknown"}
    assert [line["overall"] for line in lines] == [expected[id(h)] for h in kinds]


def test_check_does_not_import_docker_or_rich() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from harness.cli import main\n"
        "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('docker', 'testcontainers', 'rich', 'harness') and not m.startswith("
        "('harness.checker', 'harness.cli', 'harness.history', 'harness.errors', 'harness.model'))"
        " and m != 'harness')\n"
        "print('IMPORTED:' + ','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "IMPORTED:", out.stdout

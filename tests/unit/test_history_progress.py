"""The progress marker: a run that never finished recording is cut short, with where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

from harness.checker import check_run
from harness.history import RunDir, cut_short, mark_finished, mark_running


def run_with_records(tmp_path: Path) -> RunDir:
    run = RunDir(tmp_path / "run").create()
    run.meta.write_text(json.dumps({"workload": {"duration_s": 14}}), encoding="utf-8")
    ops = [
        {
            "index": 0,
            "time": 1_000_000_000,
            "process": 0,
            "type": "invoke",
            "f": "read",
            "key": "k",
        },
        {"index": 1, "time": 6_200_000_000, "process": 0, "type": "ok", "f": "read", "key": "k"},
    ]
    text = "".join(json.dumps(op) + "\n" for op in ops) + '{"index": 2, "ti'  # torn by the kill
    run.history.write_text(text, encoding="utf-8")
    run.status.write_text(json.dumps({"time": 6_500_000_000}) + "\n", encoding="utf-8")
    return run


def test_a_directory_without_the_marker_is_not_judged(tmp_path: Path) -> None:
    assert cut_short(run_with_records(tmp_path)) is None


def test_a_running_marker_means_cut_short_with_where_the_records_stop(tmp_path: Path) -> None:
    run = run_with_records(tmp_path)
    mark_running(run)
    short = cut_short(run)
    assert short is not None
    assert short.last_op_s == 6.2 and short.stopped_s == 6.5 and short.ops == 2
    assert short.planned_s == 14.0 and short.last_fault_s is None
    statement = short.statement()
    assert statement.startswith("cut short: the runner stopped before the run finished, at t≈6.5 s")
    assert "of a planned 14 s workload" in statement and "killed" in statement


def test_a_recorded_error_is_named_instead_of_a_kill(tmp_path: Path) -> None:
    run = run_with_records(tmp_path)
    run.meta.write_text(json.dumps({"error": "ClusterError: no leader"}), encoding="utf-8")
    mark_running(run)
    short = cut_short(run)
    assert short is not None and "error: ClusterError: no leader" in short.statement()
    assert "killed" not in short.statement()


def test_a_finished_marker_is_not_cut_short(tmp_path: Path) -> None:
    run = run_with_records(tmp_path)
    mark_running(run)
    mark_finished(run)
    assert cut_short(run) is None


def test_an_unreadable_marker_never_proves_the_run_finished(tmp_path: Path) -> None:
    run = run_with_records(tmp_path)
    run.progress.write_text("{torn", encoding="utf-8")
    assert cut_short(run) is not None


def test_check_run_puts_the_cut_short_statement_first(tmp_path: Path) -> None:
    run = run_with_records(tmp_path)
    mark_running(run)
    verdicts = check_run(run.root, write=False)
    assert next(iter(verdicts.checks)) == "completed"
    assert verdicts.checks["completed"].reason.startswith("cut short:")
    assert verdicts.overall.value in ("unknown", "invalid")
    mark_finished(run)
    assert "completed" not in check_run(run.root, write=False).checks

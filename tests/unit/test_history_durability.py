"""harness.history's durability promises: a torn last line is dropped (any other bad line is an
error), and a writer SIGKILLed mid-run leaves a valid prefix holding everything it wrote more
than one flush interval before the kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.history import Op, OpType, read_jsonl, read_ops


def _op(i: int) -> dict[str, object]:
    return Op(index=i, time=i * 10, process=i % 3, type=OpType.INVOKE, f="read", key="k").to_json()


def _lines(n: int) -> str:
    return "".join(json.dumps(_op(i)) + "\n" for i in range(n))


def test_torn_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    full = json.dumps(_op(3))
    path.write_text(_lines(3) + full[: len(full) // 2])  # killed mid-write: no newline
    assert [op.index for op in read_ops(path)] == [0, 1, 2]


def test_torn_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(_lines(2) + '{"index": 2, "ti\n' + _lines(1))
    with pytest.raises(ValueError, match=r"h\.jsonl:3"):
        list(read_jsonl(path))


def test_bad_last_line_with_newline_is_an_error(tmp_path: Path) -> None:
    # A complete (newline-terminated) line was written whole: garbage there is not a crash.
    path = tmp_path / "h.jsonl"
    path.write_text(_lines(2) + "not json\n")
    with pytest.raises(ValueError, match=r"h\.jsonl:3"):
        list(read_jsonl(path))


def test_non_object_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(_lines(1) + "[1, 2]\n")
    with pytest.raises(ValueError, match="expected a JSON object"):
        list(read_jsonl(path))


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(_lines(1) + "\n\n" + _lines(2)[len(_lines(1)) :])
    assert [op.index for op in read_ops(path)] == [0, 1]


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from harness.history import JsonlWriter, Op, OpType
    path, burst = Path(sys.argv[1]), int(sys.argv[2])
    writer = JsonlWriter(path, flush_interval_s=0.1)
    i = 0
    for i in range(burst):
        writer.write(Op(index=i, time=i, process=0, type=OpType.INVOKE, f="write", value=i))
    print(f"burst {burst}", flush=True)
    if sys.argv[3] == "idle":
        time.sleep(60)  # never closes: only the flush timer can have saved the records
    while True:  # keep writing until killed, so the kill lands mid-stream
        i += 1
        writer.write(Op(index=i, time=i, process=0, type=OpType.INVOKE, f="write", value=i))
    """
)


def _run_and_kill(tmp_path: Path, burst: int, mode: str, wait_s: float) -> Path:
    path = tmp_path / "history.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(burst), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == f"burst {burst}"
        time.sleep(wait_s)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL  # it really died by SIGKILL, no close ran
    return path


def test_flush_timer_saves_records_of_a_sigkilled_writer(tmp_path: Path) -> None:
    # 0.6 s idle is six flush intervals: every record written before must be on disk.
    path = _run_and_kill(tmp_path, burst=500, mode="idle", wait_s=0.6)
    assert [op.index for op in read_ops(path)] == list(range(500))


def test_writer_killed_mid_stream_leaves_a_valid_prefix(tmp_path: Path) -> None:
    path = _run_and_kill(tmp_path, burst=200, mode="busy", wait_s=0.5)
    indices = [op.index for op in read_ops(path)]  # raises if anything but the tail is torn
    assert indices == list(range(len(indices)))  # a gap-free prefix
    assert len(indices) >= 200

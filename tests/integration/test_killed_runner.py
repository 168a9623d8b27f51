"""A runner SIGKILLed during the workload: its run directory is still checked and reported, both
say it was cut short, and the next cluster start reaps its containers.

The runner is a real ``chaosplane run`` process; the kill comes once the partition of
``minority-partition`` (4 s–10 s) has started and ops are recorded past t=5 s, so the
workload, the nemesis and the probes are all mid-flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import labels as L

pytestmark = pytest.mark.docker

docker = pytest.importorskip("docker")

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "suite" / "minority-partition.yaml"
CHAOSPLANE = [sys.executable, "-m", "harness"]
KILL_AFTER_S = 5.0  # run clock: inside the fault window
WAIT_S = 240.0  # bring-up on a loaded 2-core machine; a bound, not a speed claim


def last_op_s(history: Path) -> float:
    last = 0.0
    if not history.is_file():
        return last
    for line in history.read_text(encoding="utf-8").splitlines():
        try:
            last = max(last, json.loads(line)["time"] / 1e9)
        except (ValueError, KeyError):
            continue  # a line torn mid-write
    return last


def fault_started(faults: Path) -> bool:
    return faults.is_file() and '"type":"start"' in faults.read_text(encoding="utf-8")


def run_dir_of(reports: Path) -> Path | None:
    dirs = [p for p in reports.iterdir() if p.is_dir()] if reports.is_dir() else []
    return dirs[0] if dirs else None


def containers_of(client: Any, pid: int) -> list[Any]:
    prefix = f"{L.boot_id()}:{pid}:"
    found = client.containers.list(all=True, filters={"label": [L.KEY]}, sparse=True)
    # sparse: the list call's own labels (``.labels`` would need a reload per container).
    return [c for c in found if (c.attrs.get("Labels") or {}).get(L.OWNER, "").startswith(prefix)]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine: {exc}")
    from harness.errors import ImageError
    from harness.images import ensure_images

    try:
        ensure_images()
    except ImageError as exc:
        pytest.skip(f"project images unavailable: {exc}")
    reports = tmp_path_factory.mktemp("killed")
    runner = subprocess.Popen(
        [*CHAOSPLANE, "run", str(SCENARIO), "--reports", str(reports), "--no-index"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + WAIT_S
    run_dir = None
    try:
        while time.monotonic() < deadline and runner.poll() is None:
            run_dir = run_dir_of(reports)
            if (
                run_dir is not None
                and fault_started(run_dir / "faults.jsonl")
                and last_op_s(run_dir / "history.jsonl") >= KILL_AFTER_S
            ):
                break
            time.sleep(0.2)
        assert runner.poll() is None, f"the runner ended by itself (exit {runner.returncode})"
        assert run_dir is not None, f"no run directory in {reports} after {WAIT_S} s"
        left = containers_of(client, runner.pid)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=30)
    return {"run_dir": run_dir, "pid": runner.pid, "containers": left, "client": client}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHAOSPLANE, *args], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )


def test_check_says_the_partial_run_was_cut_short(killed: dict[str, Any]) -> None:
    run_dir: Path = killed["run_dir"]
    assert json.loads((run_dir / "progress.json").read_text())["state"] == "running"
    done = cli("check", str(run_dir))
    assert done.returncode == 2, done.stderr  # unknown: never valid, never a crash
    line = json.loads(done.stdout.strip().splitlines()[-1])
    completed = line["checks"]["completed"]
    assert completed["verdict"] == "unknown"
    assert completed["reason"].startswith("cut short: the runner stopped")
    assert "killed" in completed["reason"]  # no error recorded: a kill, not a crash
    assert completed["details"]["last_op_s"] >= KILL_AFTER_S
    assert completed["details"]["last_fault_s"] is not None
    assert completed["details"]["planned_s"] >= 14  # the scenario's 14 s, plus any recovery tail
    assert "cut short" in done.stderr
    # The part that was recorded is still judged: the linearizability check ran on it.
    assert line["checks"]["linearizable"]["verdict"] in ("valid", "invalid")
    verdicts = json.loads((run_dir / "verdicts.json").read_text())
    assert verdicts["overall"] == "unknown" and "completed" in verdicts["checks"]


def test_report_renders_the_partial_run_and_says_it_was_cut_short(killed: dict[str, Any]) -> None:
    run_dir: Path = killed["run_dir"]
    done = cli("report", str(run_dir))
    assert done.returncode == 0, done.stderr
    assert "cut short" in done.stderr
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    assert 'id="cut-short"' in page and "cut short</b>: the runner stopped" in page


def test_the_next_cluster_start_reaps_the_killed_runs_containers(killed: dict[str, Any]) -> None:
    client = killed["client"]
    assert killed["containers"], "the killed runner had no containers to leave behind"
    assert containers_of(client, killed["pid"]), "its containers should outlive the SIGKILL"
    from harness.cluster import ClusterSpec, start_cluster

    with start_cluster(ClusterSpec(store_members=1, apiservers=1)):
        assert containers_of(client, killed["pid"]) == []

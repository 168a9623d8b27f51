"""Each bug-zoo regression catches its bug: one real run per bug, invalid on the expected checker.

The six runs (``scenarios/regressions/bug-<bug>.yaml`` with ``--bug <bug>``) start together in
separate ``chaosplane run`` processes, a few at a time (each owns its cluster, network and
subnet), so the module costs about two run lengths, not six; each test then reads its run's
``verdicts.json``. The same files without the bug must pass: ``pytest scenarios/regressions``
runs them on the correct control plane, and ``benchmarks/catch_rates.py`` measures both rates.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.images import ImageTags

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REGRESSIONS = Path(__file__).resolve().parents[2] / "scenarios" / "regressions"
AT_ONCE = 3  # runs side by side; the machine has two cores
RUN_TIMEOUT_S = 300.0
SEED = 1

# bug → the checkers any one of which proves the catch (the regression's design)
EXPECTED: dict[str, tuple[str, ...]] = {
    "stale-follower-reads": ("linearizable",),
    "ack-before-commit": ("no_lost_writes",),
    "no-step-down": ("linearizable",),
    "forget-vote": ("vote_persistence", "election", "linearizable", "converged"),
    "cas-without-check": ("linearizable",),
    "watch-gap": ("watch",),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BugRun:
    bug: str
    returncode: int
    output: str
    verdicts: dict[str, object] | None


@pytest.fixture(scope="module")
def bug_runs(
    images: ImageTags, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, BugRun]]:
    del images  # built (or the module skipped) before any run starts
    root = tmp_path_factory.mktemp("bug-zoo")
    pending = list(EXPECTED)
    running: dict[str, tuple[subprocess.Popen[str], Path, float]] = {}
    done: dict[str, BugRun] = {}
    try:
        while pending or running:
            while pending and len(running) < AT_ONCE:
                bug = pending.pop(0)
                running[bug] = (*_start(bug, root / bug), time.monotonic())
            for bug, (proc, out, started) in list(running.items()):
                if proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT_S:
                    continue
                if proc.poll() is None:
                    proc.kill()  # the harness reaps its containers at the next start
                output, _ = proc.communicate()
                done[bug] = BugRun(
                    bug=bug,
                    returncode=proc.returncode,
                    output=output[-4000:],
                    verdicts=_verdicts(out),
                )
                del running[bug]
            time.sleep(0.5)
        yield done
    finally:
        for proc, _out, _started in running.values():
            proc.kill()
            proc.wait()


def _start(bug: str, out: Path) -> tuple[subprocess.Popen[str], Path]:
    argv = [
        sys.executable, "-m", "harness", "run", str(REGRESSIONS / f"bug-{bug}.yaml"),
        "--seed", str(SEED), "--bug", bug, "--reports", str(out), "--no-index",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, out


def _verdicts(out: Path) -> dict[str, object] | None:
    found = sorted(out.glob("*/verdicts.json"))
    if not found:
        return None
    verdicts: dict[str, object] = json.loads(found[-1].read_text(encoding="utf-8"))
    return verdicts


@pytest.mark.parametrize("bug", list(EXPECTED))
def test_regression_catches_its_bug(bug: str, bug_runs: dict[str, BugRun]) -> None:
    run = bug_runs[bug]
    assert run.verdicts is not None, f"no verdicts (exit {run.returncode}):\n{run.output}"
    checks = run.verdicts.get("checks")
    assert isinstance(checks, dict)
    invalid = sorted(
        n for n, c in checks.items() if isinstance(c, dict) and c["verdict"] == "invalid"
    )
    expected = EXPECTED[bug]
    assert set(invalid) & set(expected), (
        f"bug {bug} not caught by {' or '.join(expected)}: overall {run.verdicts.get('overall')}, "
        f"invalid: {invalid or 'none'}\n{run.output}"
    )

"""Run scenario files through ``chaosplane run`` in parallel subprocesses, as users do.

Each run owns its cluster, network and subnet, so several go side by side; the caller gets
each run's directory (the one holding ``verdicts.json``) and reads its checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_in_parallel(
    scenarios: list[Path], root: Path, *, seed: int, timeout_s: float
) -> dict[str, Path]:
    """Start every scenario at once; its run directory, keyed by file stem."""
    procs = {
        path.stem: subprocess.Popen(
            [sys.executable, "-m", "harness", "run", str(path), "--seed", str(seed),
             "--reports", str(root / path.stem), "--no-index"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for path in scenarios
    }  # fmt: skip
    dirs: dict[str, Path] = {}
    for name, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        found = sorted((root / name).glob("*/verdicts.json"))
        assert found, f"{name}: no verdicts.json (exit {proc.returncode}); output:\n{output}"
        dirs[name] = found[-1].parent
    return dirs


def checks_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    return dict(doc["checks"])

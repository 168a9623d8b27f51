"""``run.json``: what a run was (scenario, seed, git SHA, image tags) and how to rerun it.

In a nutshell: ``start_meta(...)`` builds the document (``harness.model.RunMeta``, frozen) at
the start of a run; a ``RunRecord`` is its one writer (``update(...)``, ``finish(...)``). The
checkers read ``expect``, ``workload`` and ``adequacy`` from it; the report shows the rest.

    record = RunRecord(run_dir.meta, start_meta(run_id=..., scenario=s, seed=7, replay=None))
    record.update(image_tags=images.to_json())
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.model.runfiles import RunMeta, write_run_meta
from harness.scenario import Scenario


def new_run_id(scenario_name: str, seed: int) -> str:
    """Run ids carry their scenario and seed (Jepsen's test names), plus a unique suffix."""
    slug = re.sub(r"[^a-z0-9-]+", "-", scenario_name.lower()).strip("-")[:40] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{slug}-s{seed}-{stamp}-{secrets.token_hex(2)}"


def git_sha(root: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root or Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def rerun_command(scenario: Scenario, seed: int, replay: Path | None = None) -> str:
    source = str(scenario.source) if scenario.source else f"<scenario {scenario.name}>"
    argv = ["chaosplane", "run", source, "--seed", str(seed)]
    if scenario.cluster.bugs:
        argv += ["--bug", ",".join(scenario.cluster.bugs)]
    argv += ["--engine", scenario.cluster.engine]
    if replay is not None:
        argv += ["--replay", str(replay)]
    return shlex.join(argv)


def start_meta(*, run_id: str, scenario: Scenario, seed: int, replay: Path | None) -> RunMeta:
    """run.json as it is known before anything starts."""
    w = scenario.workload
    return RunMeta(
        run_id=run_id,
        scenario=scenario.name,
        scenario_file=str(scenario.source) if scenario.source else None,
        description=scenario.description,
        seed=seed,
        git_sha=git_sha(),
        command=rerun_command(scenario, seed, replay),
        started_at=time.time(),
        cluster={
            "engine": str(scenario.cluster.engine),
            "store_members": scenario.cluster.store_members,
            "apiservers": scenario.cluster.apiservers,
            "bugs": list(scenario.cluster.bugs),
            **(
                {
                    "controller_managers": scenario.cluster.controller_managers,
                    "schedulers": scenario.cluster.schedulers,
                    "nodes": scenario.cluster.nodes,
                }
                if scenario.cluster.has_components
                else {}
            ),
        },
        workload={
            "kind": str(w.kind),
            "clients": w.clients,
            "keys": w.keys,
            "rate": w.rate,
            "duration_s": w.duration_s,
            "op_timeout_s": w.op_timeout_s,
            "through": w.through,
            "read_consistency": w.read_consistency,
        },
        expect=scenario.expect.to_json(),
    )


class RunRecord:
    """The one writer of a run's ``run.json``: every change makes a new frozen ``RunMeta`` and
    writes it at once (atomically), so a crash at any point leaves the latest known state."""

    def __init__(self, path: Path, meta: RunMeta) -> None:
        self.path = path
        self._meta = meta
        write_run_meta(path, meta)

    @property
    def meta(self) -> RunMeta:
        return self._meta

    def update(self, **changes: Any) -> RunMeta:
        self._meta = replace(self._meta, **changes)
        write_run_meta(self.path, self._meta)
        return self._meta

    def finish(self, duration_s: float, *, error: str | None = None) -> RunMeta:
        return self.update(duration_s=round(duration_s, 3), finished_at=time.time(), error=error)

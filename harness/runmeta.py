"""``run.json``: what a run was (scenario, seed, git SHA, image tags) and how to rerun it.

In a nutshell: ``RunMeta.start(...)`` at the start of a run, ``write(path)`` whenever it
changes (atomically), ``finish(duration_s)`` at the end. The checkers read ``expect``,
``workload`` and ``adequacy`` from it; the report shows the rest.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass(slots=True, kw_only=True)
class RunMeta:
    run_id: str
    scenario: str
    scenario_file: str | None
    description: str
    seed: int
    git_sha: str | None
    command: str
    started_at: float
    cluster: dict[str, Any]
    workload: dict[str, Any]
    expect: dict[str, Any]
    image_tags: dict[str, str] = field(default_factory=dict)
    cluster_run_id: str | None = None
    adequacy: dict[str, Any] | None = None
    controlplane_timings: dict[str, float] | None = None  # C4; None: no controller layer
    duration_s: float | None = None
    finished_at: float | None = None
    error: str | None = None

    @classmethod
    def start(
        cls, *, run_id: str, scenario: Scenario, seed: int, options_replay: Path | None
    ) -> RunMeta:
        w = scenario.workload
        return cls(
            run_id=run_id,
            scenario=scenario.name,
            scenario_file=str(scenario.source) if scenario.source else None,
            description=scenario.description,
            seed=seed,
            git_sha=git_sha(),
            command=rerun_command(scenario, seed, options_replay),
            started_at=time.time(),
            cluster={
                "engine": scenario.cluster.engine,
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

    def finish(self, duration_s: float) -> None:
        self.duration_s = round(duration_s, 3)
        self.finished_at = time.time()

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(path)

"""The layout of one run directory; every writer and reader names files through it.

reports/<run-id>/
  run.json         seed, git SHA, image tags, rerun command, timings (rewritten as it goes)
  scenario.yaml    the scenario as resolved
  schedule.json    the faults as they actually fired (``--replay`` input)
  history.jsonl    operations          faults.jsonl  fault timeline       status.jsonl  probes
  verdicts.json    checker output      index.html    the report           logs/<member>.log
  progress.json    "running" until the recording finished (progress.py: a cut-short run)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RunDir:
    root: Path

    @property
    def meta(self) -> Path:
        return self.root / "run.json"

    @property
    def scenario(self) -> Path:
        return self.root / "scenario.yaml"

    @property
    def schedule(self) -> Path:
        return self.root / "schedule.json"

    @property
    def history(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def faults(self) -> Path:
        return self.root / "faults.jsonl"

    @property
    def status(self) -> Path:
        return self.root / "status.jsonl"

    @property
    def verdicts(self) -> Path:
        return self.root / "verdicts.json"

    @property
    def report(self) -> Path:
        return self.root / "index.html"

    @property
    def progress(self) -> Path:
        return self.root / "progress.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def create(self) -> RunDir:
        self.logs.mkdir(parents=True, exist_ok=True)
        return self

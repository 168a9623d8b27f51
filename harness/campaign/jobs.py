"""Which runs a campaign makes, and which of them belong to this shard."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.scenario import Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    count: int

    def owns(self, position: int) -> bool:
        return position % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise HarnessError(f"--shard {text!r}: expected i/N, e.g. 1/4")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise HarnessError(f"--shard {text!r}: need 1 <= i <= N, e.g. 1/{max(count, 1)}")
    return Shard(index=index, count=count)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    scenario: str  # name
    file: Path
    seed: int
    position: int  # in the whole campaign, before sharding

    @property
    def job_id(self) -> str:
        digest = hashlib.sha256(f"{self.file}|{self.seed}".encode()).hexdigest()[:6]
        return f"{self.position:04d}-{self.scenario}-s{self.seed}-{digest}"


def plan_jobs(scenarios: list[Scenario], seeds: list[int], shard: Shard | None = None) -> list[Job]:
    """Every scenario with every seed, in a fixed order (file path, then seed)."""
    ordered = sorted(scenarios, key=lambda s: (str(s.source), s.name))
    jobs: list[Job] = []
    for scenario in ordered:
        if scenario.source is None:
            raise HarnessError(f"scenario {scenario.name!r} has no file; campaigns run files")
        for seed in seeds:
            jobs.append(
                Job(scenario=scenario.name, file=scenario.source, seed=seed, position=len(jobs))
            )
    return [j for j in jobs if shard is None or shard.owns(j.position)]

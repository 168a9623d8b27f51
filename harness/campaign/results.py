"""What a campaign found: one ``JobResult`` per run, ``campaign.json``, merging shards.

The order of results is the plan's order (``position``), so a merged set of shards serialises
exactly as one unsharded campaign does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN, EXIT_HARNESS = 0, 1, 2, 3


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    position: int
    job_id: str
    scenario: str
    file: str
    seed: int
    overall: str  # valid | invalid | unknown | error (the harness itself failed)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → verdict, reason
    run_dir: str | None = None  # relative to the campaign folder
    report: str | None = None
    schedule: str | None = None
    rerun: str | None = None
    duration_s: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> JobResult:
        fields: dict[str, Any] = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignResult:
    results: list[JobResult]
    shard: str | None = None  # "i/N" for one shard's output, None when whole or merged
    budget_exhausted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "shard": self.shard,
            "budget_exhausted": self.budget_exhausted,
            "results": [r.to_json() for r in sorted(self.results, key=lambda r: r.position)],
            "reproduction": reproduction_rates(self.results),
        }

    def write(self, folder: Path) -> Path:
        path = folder / "campaign.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, folder: Path) -> CampaignResult:
        path = folder / "campaign.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HarnessError(f"{path}: not a campaign result ({exc})") from exc
        return cls(
            results=[JobResult.from_json(r) for r in doc.get("results", [])],
            shard=doc.get("shard"),
            budget_exhausted=bool(doc.get("budget_exhausted")),
        )


def reproduction_rates(results: list[JobResult]) -> dict[str, dict[str, Any]]:
    """Per scenario: how many of its runs were invalid (the failure's reproduction rate)."""
    by_scenario: dict[str, list[JobResult]] = defaultdict(list)
    for r in results:
        by_scenario[r.scenario].append(r)
    out: dict[str, dict[str, Any]] = {}
    for name, runs in sorted(by_scenario.items()):
        invalid = sum(r.overall == "invalid" for r in runs)
        out[name] = {"runs": len(runs), "invalid": invalid, "rate": round(invalid / len(runs), 3)}
    return out


def exit_code(results: list[JobResult]) -> int:
    overall = {r.overall for r in results}
    if "error" in overall:
        return EXIT_HARNESS
    if "invalid" in overall:
        return EXIT_INVALID
    if "unknown" in overall:
        return EXIT_UNKNOWN
    return EXIT_VALID


def merge_campaigns(folders: list[Path], out: Path) -> CampaignResult:
    """Join shard outputs into one campaign folder (run folders are linked, not copied)."""
    out.mkdir(parents=True, exist_ok=True)
    merged: dict[int, JobResult] = {}
    exhausted = False
    for folder in folders:
        part = CampaignResult.read(folder)
        exhausted |= part.budget_exhausted
        for r in part.results:
            if r.position in merged:
                raise HarnessError(f"{folder}: run #{r.position} ({r.job_id}) is in two shards")
            merged[r.position] = _relocate(r, folder, out)
    return CampaignResult(results=[merged[p] for p in sorted(merged)], budget_exhausted=exhausted)


def _relocate(result: JobResult, source: Path, out: Path) -> JobResult:
    """Make the result's paths relative to ``out``, linking its run folder there."""
    if result.run_dir is None:
        return result
    src = (source / result.run_dir).resolve()
    dst = out / result.run_dir
    if not dst.exists() and src.exists() and src != dst.resolve():
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src, target_is_directory=True)
    return result

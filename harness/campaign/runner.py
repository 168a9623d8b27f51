"""Run a campaign's jobs as separate processes, a few at a time, within a time budget.

Each job is ``chaosplane run FILE --seed S`` in its own process with its own reports folder:
its own cluster, network and /24 subnet, so jobs run side by side on one Docker engine, and a
job that crashes or hangs costs only itself. Its output goes to ``runs/<job>.log``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.campaign.jobs import Job
from harness.campaign.junit import write_junit
from harness.campaign.results import CampaignResult, JobResult

JOB_TIMEOUT_S = 900.0  # one run is minutes at most; past this it is a harness error


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignOptions:
    out: Path
    parallel: int = 1
    budget_s: float | None = None  # no new job starts once this much time has passed
    engine: str | None = None
    bugs: tuple[str, ...] = ()
    shard: str | None = None  # recorded in campaign.json


def run_campaign(jobs: list[Job], options: CampaignOptions) -> CampaignResult:
    (options.out / "runs").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: list[JobResult] = []
    lock = threading.Lock()
    exhausted = threading.Event()

    with _progress() as progress, ThreadPoolExecutor(max(1, options.parallel)) as pool:
        task = progress.add_task("campaign", total=len(jobs), status="")

        def one(job: Job) -> None:
            if options.budget_s is not None and time.monotonic() - started > options.budget_s:
                exhausted.set()
                progress.advance(task)
                return
            result = run_job(job, options)
            with lock:
                results.append(result)
                CampaignResult(results=list(results), shard=options.shard).write(options.out)
            progress.update(task, advance=1, status=f"{job.scenario} s{job.seed}: {result.overall}")

        list(pool.map(one, jobs))

    result = CampaignResult(
        results=sorted(results, key=lambda r: r.position),
        shard=options.shard,
        budget_exhausted=exhausted.is_set(),
    )
    finish(result, options.out)
    return result


def finish(result: CampaignResult, out: Path) -> None:
    """campaign.json, junit.xml and the index page for ``result`` in ``out``."""
    result.write(out)
    write_junit(out / "junit.xml", result.results)
    try:
        from harness.report import render_campaign_index
    except ImportError:
        return
    runs = [out / r.run_dir for r in result.results if r.run_dir]
    render_campaign_index(out, runs)


def run_job(job: Job, options: CampaignOptions) -> JobResult:
    reports = options.out / "runs" / job.job_id
    reports.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "harness", "run", str(job.file), "--seed", str(job.seed)]
    argv += ["--reports", str(reports), "--no-index"]
    if options.engine:
        argv += ["--engine", options.engine]
    for bug in options.bugs:
        argv += ["--bug", bug]
    started = time.monotonic()
    log = options.out / "runs" / f"{job.job_id}.log"
    with log.open("w", encoding="utf-8") as out:
        try:
            proc = subprocess.run(
                argv, stdout=out, stderr=subprocess.STDOUT, timeout=JOB_TIMEOUT_S, check=False
            )
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
    duration = time.monotonic() - started
    return collect(job, reports, options.out, code, duration, log)


def collect(
    job: Job, reports: Path, out: Path, code: int | None, duration_s: float, log: Path
) -> JobResult:
    run_dirs = sorted(p.parent for p in reports.glob("*/run.json"))
    base: dict[str, Any] = {
        "position": job.position,
        "job_id": job.job_id,
        "scenario": job.scenario,
        "file": str(job.file),
        "seed": job.seed,
        "duration_s": round(duration_s, 3),
    }
    if not run_dirs:
        why = "timed out" if code is None else f"exit code {code}"
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        return JobResult(
            overall="error", error=f"no run directory ({why}); log tail:\n{tail}", **base
        )
    run_dir = run_dirs[-1]
    verdicts = _read_json(run_dir / "verdicts.json")
    meta = _read_json(run_dir / "run.json")
    overall = str(verdicts.get("overall") or "error")
    report = run_dir / "index.html"
    return JobResult(
        overall=overall if code is not None else "error",
        checks={k: dict(v) for k, v in (verdicts.get("checks") or {}).items()},
        run_dir=str(run_dir.relative_to(out)),
        report=str(report.relative_to(out)) if report.exists() else None,
        schedule=str((run_dir / "schedule.json").relative_to(out)),
        rerun=meta.get("command"),
        error=meta.get("error") or (None if code is not None else "timed out"),
        **base,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )

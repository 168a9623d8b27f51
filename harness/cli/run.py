"""``chaosplane run PATH...``: run scenario files (or folders of them) one after another.

Prints one line per run (verdict, seed, report), then the path of an index page over all of
them. Exit codes: 0 all valid, 1 any invalid, 2 any unknown and none invalid, 3 harness error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.model import Engine
from harness.run import RunOptions, RunOutcome, run_scenario
from harness.scenario import load_scenarios

EXIT_BY_VERDICT = {"valid": 0, "invalid": 1, "unknown": 2}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run", help="run scenario files and write their reports"
    )
    p.add_argument("paths", nargs="+", type=Path, help="scenario files or folders of them")
    p.add_argument("--seed", type=int, default=None, help="seed for every run")
    p.add_argument("--replay", type=Path, default=None, help="schedule.json to replay exactly")
    p.add_argument("--engine", choices=[e.value for e in Engine], default=None)
    p.add_argument("--bug", action="append", default=[], help="plant a bug-zoo bug")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="output folder")
    p.add_argument("--keep-cluster", action="store_true", help="keep a failed run's cluster")
    p.add_argument(
        "--reference",
        action="store_true",
        help="deployments workload: first a fault-free run of the same seed (reference_end_state)",
    )
    p.add_argument("--no-index", action="store_true", help="skip the index page over the runs")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    scenarios = load_scenarios(args.paths)
    bugs = tuple(b.strip() for value in args.bug for b in value.split(",") if b.strip())
    options = RunOptions(
        reports_dir=args.reports,
        seed=args.seed,
        replay=args.replay,
        engine=args.engine,
        bugs=bugs,
        keep_cluster=args.keep_cluster,
        reference=args.reference,
    )
    outcomes: list[RunOutcome] = []
    errors = 0
    started = time.monotonic()
    for number, scenario in enumerate(scenarios, start=1):
        print(f"[{number}/{len(scenarios)}] {scenario.name} …", flush=True)
        try:
            outcome = run_scenario(scenario, options)
        except HarnessError as exc:
            errors += 1
            print(f"    harness error: {exc}", file=sys.stderr, flush=True)
            continue
        except Exception as exc:  # why broad: one broken run must not end the whole suite
            errors += 1
            print(f"    harness error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            continue
        outcomes.append(outcome)
        print(
            f"    {outcome.verdicts.overall.value.upper():8} seed {outcome.seed}  "
            f"{outcome.duration_s:5.1f} s  {outcome.report or outcome.run_dir}",
            flush=True,
        )
        for name, check in outcome.verdicts.checks.items():
            if check.verdict.value != "valid":
                print(f"      {name}: {check.verdict.value} — {check.reason}", flush=True)
    index = None if args.no_index else write_index(args.reports, outcomes)
    total = time.monotonic() - started
    print(f"\n{len(outcomes)} runs in {total:.0f} s; {summary(outcomes)}")
    if index is not None:
        print(f"index: {index}")
    if errors:
        return 3
    return max((EXIT_BY_VERDICT[o.verdicts.overall.value] for o in outcomes), default=0)


def summary(outcomes: list[RunOutcome]) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdicts.overall.value] = counts.get(o.verdicts.overall.value, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no runs"


def write_index(reports: Path, outcomes: list[RunOutcome]) -> Path | None:
    if not outcomes:
        return None
    try:
        from harness.report import render_campaign_index
    except ImportError:
        return None
    index_dir = reports / f"index-{time.strftime('%Y%m%d-%H%M%S')}"
    index_dir.mkdir(parents=True, exist_ok=True)
    path: Path = render_campaign_index(index_dir, [o.run_dir for o in outcomes])
    return path

"""``chaosplane campaign PATH...``: scenarios × seeds in parallel, for CI.

Writes ``campaign.json``, ``junit.xml`` and ``index.html`` into ``--out``. Exit codes: 0 all
valid, 1 any invalid, 2 any unknown and none invalid, 3 a harness error.

    chaosplane campaign scenarios/suite --seeds 3 --parallel 2 --budget 30m --shard 1/4
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from harness.campaign import CampaignOptions, exit_code, parse_shard, plan_jobs, run_campaign
from harness.errors import HarnessError
from harness.model import Engine
from harness.scenario import load_scenarios
from harness.scenario.durations import DurationError, parse_duration


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("campaign", help="scenarios × seeds, for CI")
    p.add_argument("paths", nargs="+", type=Path, help="scenario files or folders of them")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=1, help="run each scenario with seeds 1..N")
    seeds.add_argument("--seed-list", default=None, help="comma list of seeds, e.g. 3,7,11")
    p.add_argument("--parallel", type=int, default=1, help="runs at once (each owns a network)")
    p.add_argument("--budget", default=None, help="time budget, e.g. 30m: no run starts after")
    p.add_argument("--shard", default=None, help="i/N: run only this shard of the campaign")
    p.add_argument("--generated", type=int, default=0, help="add N Hypothesis-generated schedules")
    p.add_argument("--engine", choices=[e.value for e in Engine], default=None)
    p.add_argument("--bug", action="append", default=[], help="plant a bug-zoo bug")
    p.add_argument("--out", type=Path, default=None, help="output folder (reports/campaign-…)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    out: Path = args.out or Path("reports") / f"campaign-{time.strftime('%Y%m%d-%H%M%S')}"
    scenarios = load_scenarios(args.paths)
    if args.generated:
        from harness.strategies import write_generated_scenarios

        generated = write_generated_scenarios(out / "generated", args.generated)
        scenarios += load_scenarios(generated)
    seeds = _seeds(args)
    shard = parse_shard(args.shard) if args.shard else None
    jobs = plan_jobs(scenarios, seeds, shard)
    budget = _budget(args.budget)
    print(f"campaign: {len(jobs)} runs ({len(scenarios)} scenarios × {len(seeds)} seeds"
          f"{', shard ' + args.shard if shard else ''}) → {out}")  # fmt: skip
    result = run_campaign(
        jobs,
        CampaignOptions(
            out=out,
            parallel=args.parallel,
            budget_s=budget,
            engine=args.engine,
            bugs=tuple(args.bug),
            shard=args.shard,
        ),
    )
    counts: dict[str, int] = {}
    for r in result.results:
        counts[r.overall] = counts.get(r.overall, 0) + 1
    print(", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no runs")
    if result.budget_exhausted:
        print("time budget reached: some runs were not started")
    print(f"index: {out / 'index.html'}\njunit: {out / 'junit.xml'}")
    return exit_code(result.results)


def _budget(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise HarnessError(f"--budget {text!r}: {exc}; expected e.g. 45s, 30m, 2h") from None


def _seeds(args: argparse.Namespace) -> list[int]:
    if args.seed_list:
        try:
            return [int(s) for s in args.seed_list.split(",") if s.strip()]
        except ValueError:
            raise HarnessError(f"--seed-list {args.seed_list!r}: expected e.g. 3,7,11") from None
    if args.seeds < 1:
        raise HarnessError(f"--seeds {args.seeds}: expected 1 or more")
    return list(range(1, args.seeds + 1))

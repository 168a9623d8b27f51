"""Detection power: how often each bug-zoo regression catches its bug, and how often it cries wolf.

In a nutshell: for every bug, runs ``scenarios/regressions/bug-<bug>.yaml`` N times with the bug
planted (seeds 1..N) and M times without it (seeds 1001..1000+M) as campaigns, then prints one
JSON line per bug::

    {"bug": "watch-gap", "scenario": "bug-watch-gap", "runs": 10, "caught": 10,
     "catch_rate": 1.0, "caught_by_expected": 10, "evidence": {"watch": 10},
     "control_runs": 3, "false_alarms": 0, "control_unknown": 0, ...}

``caught`` counts runs whose overall verdict is invalid; ``evidence`` counts, over the runs with
the bug, which checker said invalid (a run can name several); ``caught_by_expected`` those where
the checker the regression is designed for did. ``false_alarms`` counts invalid runs without
the bug; unknown runs are counted apart on both sides — unknown is never a catch nor a pass.

Run folders land in ``--out/<bug>/{on,off}-<batch>``; ``--tally`` re-reads every batch
under ``--out`` without running anything, so batches run at different times add up;
``--recheck`` judges the stored runs again with the current checkers (offline, no Docker).

    .venv/bin/python benchmarks/catch_rates.py --runs 10 --controls 3 --parallel 2
    .venv/bin/python benchmarks/catch_rates.py --tally --out reports/catch-rates
    .venv/bin/python benchmarks/catch_rates.py --bugs controllers --runs 20 --controls 5

``--bugs controllers`` names the five bugs of the controller layer (``CONTROLLER_BUGS``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.campaign import CampaignOptions, CampaignResult, Job, JobResult, plan_jobs
from harness.campaign.runner import run_job
from harness.checker import check_run
from harness.scenario import load_scenarios

REGRESSIONS = Path(__file__).resolve().parent.parent / "scenarios" / "regressions"
CONTROL_SEED_BASE = 1000
LOAD_FILE = "load.jsonl"  # per batch folder: the 1-minute load average as each run finished

# The checker each regression is designed to trip (any of them counts).
EXPECTED: dict[str, tuple[str, ...]] = {
    "stale-follower-reads": ("linearizable",),
    "ack-before-commit": ("no_lost_writes",),
    "no-step-down": ("linearizable",),
    "forget-vote": ("vote_persistence", "election", "linearizable", "converged"),
    "cas-without-check": ("linearizable",),
    "watch-gap": ("watch",),
    # The controller layer (issue 16).
    "no-renew-deadline": ("leader_exclusive", "lease_integrity"),
    "lease-clock": ("leader_exclusive",),
    "no-expectations": ("no_overshoot",),
    "eviction-before-grace": ("node_failure",),
    "bind-without-check": ("binding",),
}
CONTROLLER_BUGS = (
    "no-renew-deadline",
    "lease-clock",
    "no-expectations",
    "eviction-before-grace",
    "bind-without-check",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bugs", default=",".join(EXPECTED), help="comma list of bugs")
    parser.add_argument("--runs", type=int, default=10, help="runs with the bug planted")
    parser.add_argument("--controls", type=int, default=3, help="runs without the bug")
    parser.add_argument("--first-seed", type=int, default=1, help="first seed of this batch")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("reports/catch-rates"))
    parser.add_argument("--tally", action="store_true", help="only re-read earlier batches")
    parser.add_argument(
        "--recheck", action="store_true", help="re-run today's checkers on the stored runs"
    )
    args = parser.parse_args()
    bugs = [b.strip() for b in args.bugs.split(",") if b.strip()]
    if "controllers" in bugs:
        bugs = [b for b in bugs if b != "controllers"] + list(CONTROLLER_BUGS)
    unknown = sorted(set(bugs) - set(EXPECTED))
    if unknown:
        parser.error(f"--bugs: unknown {', '.join(unknown)}; known: {', '.join(EXPECTED)}")
    if not args.tally:
        run_batch(bugs, args, time.strftime("%Y%m%d-%H%M%S"))
    for bug in bugs:
        print(json.dumps(tally(bug, args.out / bug, recheck=args.recheck)), flush=True)
    return 0


def scenario_file(bug: str) -> Path:
    return REGRESSIONS / f"bug-{bug}.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Planned:
    job: Job
    options: CampaignOptions


def run_batch(bugs: list[str], args: argparse.Namespace, batch: str) -> None:
    """Every bug's runs in one pool, interleaved, so ``--parallel`` runs are always going.

    Uses the campaign's ``run_job`` (one ``chaosplane run`` process per run) and writes each
    folder's ``campaign.json`` as runs finish, so an interrupted batch still tallies."""
    planned: list[_Planned] = []
    for bug in bugs:
        scenarios = load_scenarios([scenario_file(bug)])
        first = args.first_seed
        for planted, count, seed0 in (
            (True, args.runs, first),
            (False, args.controls, CONTROL_SEED_BASE + first),
        ):
            out = args.out / bug / f"{'on' if planted else 'off'}-{batch}"
            options = CampaignOptions(out=out, bugs=(bug,) if planted else ())
            seeds = list(range(seed0, seed0 + max(count, 0)))
            planned += [_Planned(job=j, options=options) for j in plan_jobs(scenarios, seeds, None)]
    # Round-robin over bugs: an early stop still leaves a few runs of every bug.
    planned.sort(key=lambda p: (p.job.seed % CONTROL_SEED_BASE, str(p.options.out)))
    done: dict[Path, list[JobResult]] = defaultdict(list)
    lock = threading.Lock()

    def one(p: _Planned) -> None:
        (p.options.out / "runs").mkdir(parents=True, exist_ok=True)
        result = run_job(p.job, p.options)
        with lock:
            done[p.options.out].append(result)
            CampaignResult(results=sorted(done[p.options.out], key=lambda r: r.seed)).write(
                p.options.out
            )
            load = os.getloadavg()[0]  # the shared machine's load: part of every figure
            with (p.options.out / LOAD_FILE).open("a", encoding="utf-8") as f:
                f.write(json.dumps({"seed": p.job.seed, "load_1m": round(load, 2)}) + "\n")
            where = f"{p.options.out.parent.name} {p.options.out.name} s{p.job.seed}"
            print(
                f"{where}: {result.overall} {invalid_checks(result)} load {load:.1f}",
                file=sys.stderr,
            )

    with ThreadPoolExecutor(max(1, args.parallel)) as pool:
        list(pool.map(one, planned))


def _results(root: Path, prefix: str, *, recheck: bool) -> list[JobResult]:
    out: list[JobResult] = []
    for folder in sorted(root.glob(f"{prefix}-*")):
        if (folder / "campaign.json").is_file():
            results = CampaignResult.read(folder).results
            out.extend(_rechecked(folder, r) if recheck else r for r in results)
    return out


def _rechecked(folder: Path, result: JobResult) -> JobResult:
    """The stored run judged by the checkers as they are now (pure: no Docker)."""
    if result.run_dir is None or result.overall == "error":
        return result
    verdicts = check_run(folder / result.run_dir, write=False).to_json()
    return replace(result, overall=verdicts["overall"], checks=verdicts["checks"])


def invalid_checks(result: JobResult) -> list[str]:
    return sorted(n for n, c in result.checks.items() if c.get("verdict") == "invalid")


def _loads(root: Path) -> list[float]:
    out: list[float] = []
    for f in sorted(root.glob(f"*/{LOAD_FILE}")):
        out += [float(json.loads(line)["load_1m"]) for line in f.read_text().splitlines() if line]
    return out


def tally(bug: str, root: Path, *, recheck: bool = False) -> dict[str, Any]:
    """One JSON-able line for ``bug`` from every batch under ``root``."""
    on, off = _results(root, "on", recheck=recheck), _results(root, "off", recheck=recheck)
    loads = _loads(root)
    caught = [r for r in on if r.overall == "invalid"]
    evidence = Counter(name for r in caught for name in invalid_checks(r))
    expected = EXPECTED[bug]
    by_expected = [r for r in caught if set(invalid_checks(r)) & set(expected)]
    alarms = [r for r in off if r.overall == "invalid"]
    return {
        "bug": bug,
        "scenario": f"bug-{bug}",
        "runs": len(on),
        "caught": len(caught),
        "catch_rate": round(len(caught) / len(on), 3) if on else None,
        "caught_by_expected": len(by_expected),
        "expected_checkers": list(expected),
        "evidence": dict(sorted(evidence.items())),
        "unknown": sum(r.overall not in ("valid", "invalid") for r in on),
        "missed_seeds": [r.seed for r in on if r.overall == "valid"],
        "control_runs": len(off),
        "false_alarms": len(alarms),
        "false_alarm_evidence": dict(Counter(n for r in alarms for n in invalid_checks(r))),
        "control_unknown": sum(r.overall not in ("valid", "invalid") for r in off),
        "load_1m": [min(loads), max(loads)] if loads else None,
        "mean_run_s": round(sum(r.duration_s for r in on + off) / len(on + off), 1)
        if on or off
        else None,
    }


if __name__ == "__main__":
    sys.exit(main())

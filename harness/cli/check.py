"""``chaosplane check PATH...``: re-check stored runs (or bare histories) offline.

In a nutshell: each PATH is a run directory (its ``verdicts.json`` is rewritten unless
``--no-write``) or a bare ``history.jsonl`` (well-formedness and linearizability). One JSON line
per PATH on stdout, in the order given: ``{"path", "overall", "checks"}``. ``--jobs N`` checks
N paths at a time in worker processes (default: one per core when there are several paths).
Exit code: 0 when every PATH is valid, 1 when any is invalid, 2 when any is unknown and none
invalid. Start-up imports only the checkers (``harness.cli`` loads this subcommand alone).

    chaosplane check reports/isolate-leader-s7 ../shared/histories/porcupine/jsonl/etcd_000.jsonl
    chaosplane check reports/*/ --jobs 2 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.checker import (
    CheckResult,
    LinearizabilityOptions,
    RunVerdicts,
    Verdict,
    check_history,
    check_run,
    combine,
)
from harness.checker.registry import COMPLETED
from harness.errors import CheckerError

EXIT_CODES = {Verdict.VALID: 0, Verdict.INVALID: 1, Verdict.UNKNOWN: 2}


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "check", help="re-check run directories or history.jsonl files offline"
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="run dir or history.jsonl")
    p.add_argument("--no-write", action="store_true", help="do not rewrite verdicts.json")
    p.add_argument(
        "--time-budget-s", type=float, default=None, help="linearizability time budget (bare files)"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="paths checked at once, in worker processes (default: the number of cores)",
    )
    p.set_defaults(func=run)


def check_path(path: Path, *, write: bool, options: LinearizabilityOptions) -> RunVerdicts:
    if path.is_dir():
        return check_run(path, write=write)
    if path.is_file():
        return check_history(path, options=options)
    raise CheckerError(f"{path}: no such run directory or history file")


def _one(job: tuple[Path, bool, LinearizabilityOptions]) -> tuple[str, str | None, Verdict]:
    """One path's JSON line, cut-short note and overall verdict (runs in a worker with --jobs)."""
    path, write, options = job
    try:
        verdicts = check_path(path, write=write, options=options)
    except CheckerError as exc:  # one bad PATH must not hide the verdicts of the others
        verdicts = RunVerdicts.of({"well_formed": CheckResult.unknown(str(exc))})
    line = json.dumps({"path": str(path), **verdicts.to_json()}, default=str)
    completed = verdicts.checks.get(COMPLETED)
    # a killed runner's directory: say so in words, not only in the JSON
    note = f"chaosplane check: {path}: {completed.reason}" if completed is not None else None
    return line, note, verdicts.overall


def _results(
    jobs: list[tuple[Path, bool, LinearizabilityOptions]], workers: int
) -> Iterator[tuple[str, str | None, Verdict]]:
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_one, jobs)
        return
    import multiprocessing  # only when parallel: it costs start-up time

    # forkserver, not fork: a fork copies a parent's threads' locks (a test session's, the
    # compiled core's) and its child can wait on one forever; the server preloads the checkers.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["harness.checker", "harness.cli.check"])
    with ctx.Pool(min(workers, len(jobs))) as pool:
        yield from pool.imap(_one, jobs, chunksize=max(1, len(jobs) // (8 * workers)))


def run(args: argparse.Namespace) -> int:
    options = LinearizabilityOptions()
    if args.time_budget_s is not None:
        options = replace(options, time_budget_s=args.time_budget_s)
    if args.jobs < 0:
        raise CheckerError(f"--jobs must be ≥ 0 (0 = one per core), got {args.jobs}")
    workers = args.jobs or (os.cpu_count() or 1)
    jobs = [(path, not args.no_write, options) for path in args.paths]
    overall: list[Verdict] = []
    for line, note, verdict in _results(jobs, workers):
        overall.append(verdict)
        if note is not None:
            print(note, file=sys.stderr)
        print(line, flush=True)
    return EXIT_CODES[combine(overall)]

"""``chaosplane check PATH...``: re-check stored runs (or bare histories) offline.

In a nutshell: each PATH is a run directory (its ``verdicts.json`` is rewritten unless
``--no-write``) or a bare ``history.jsonl`` (well-formedness and linearizability). One JSON line
per PATH on stdout: ``{"path", "overall", "checks"}``. Exit code: 0 when every PATH is valid,
1 when any is invalid, 2 when any is unknown and none invalid.

    chaosplane check reports/isolate-leader-s7 ../shared/histories/porcupine/jsonl/etcd_000.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
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
    p.set_defaults(func=run)


def check_path(path: Path, *, write: bool, options: LinearizabilityOptions) -> RunVerdicts:
    if path.is_dir():
        return check_run(path, write=write)
    if path.is_file():
        return check_history(path, options=options)
    raise CheckerError(f"{path}: no such run directory or history file")


def run(args: argparse.Namespace) -> int:
    options = LinearizabilityOptions()
    if args.time_budget_s is not None:
        options = replace(options, time_budget_s=args.time_budget_s)
    overall: list[Verdict] = []
    for path in args.paths:
        try:
            verdicts = check_path(path, write=not args.no_write, options=options)
        except CheckerError as exc:  # one bad PATH must not hide the verdicts of the others
            verdicts = RunVerdicts.of({"well_formed": CheckResult.unknown(str(exc))})
        overall.append(verdicts.overall)
        completed = verdicts.checks.get(COMPLETED)
        if completed is not None:  # a killed runner's directory: say so in words, not only JSON
            print(f"chaosplane check: {path}: {completed.reason}", file=sys.stderr)
        print(json.dumps({"path": str(path), **verdicts.to_json()}, default=str), flush=True)
    return EXIT_CODES[combine(overall)]

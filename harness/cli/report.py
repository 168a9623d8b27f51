"""``chaosplane report RUN_DIR...``: regenerate runs' HTML reports offline.

In a nutshell: each RUN_DIR gets a fresh ``index.html`` from whatever it holds (no Docker, no
network; re-run ``chaosplane check`` first for fresh verdicts); its path is printed, one per
line. ``--index DIR`` also writes a campaign index over all of them in DIR. Exit 0 when every
RUN_DIR was rendered, 3 when any is not a directory (named on stderr; the others still render).

    chaosplane report reports/isolate-leader-s7-* --index reports/index
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.history import RunDir, cut_short
from harness.report import render_campaign_index, render_run_report


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="regenerate run directories' HTML reports offline",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run directory")
    parser.add_argument(
        "--index", type=Path, default=None, metavar="DIR", help="also write a campaign index in DIR"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rendered: list[Path] = []
    code = 0
    for run_dir in args.run_dirs:
        if not run_dir.is_dir():
            print(f"chaosplane report: {run_dir}: not a run directory", file=sys.stderr)
            code = 3
            continue
        short = cut_short(RunDir(run_dir))
        if short is not None:
            print(f"chaosplane report: {run_dir}: {short.statement()}", file=sys.stderr)
        print(render_run_report(run_dir), flush=True)
        rendered.append(run_dir)
    if args.index is not None and rendered:
        print(render_campaign_index(args.index, rendered), flush=True)
    return code

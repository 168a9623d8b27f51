"""``chaosplane clean``: reap Docker objects of runs whose owner process is dead.

``--all`` removes everything labelled ``chaosplane``, live and detached runs included.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.cluster.reaper import dead_runs, reap_all, reap_dead


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("clean", help="reap leftovers of dead runs (by label)")
    parser.add_argument(
        "--all", action="store_true", help="remove every chaosplane object, live runs' too"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list the runs that would be reaped, remove nothing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import docker

    client = docker.from_env()
    if args.dry_run:
        print(json.dumps({"dead_runs": sorted(dead_runs(client)), "removed_objects": 0}))
        return 0
    if args.all:
        print(json.dumps({"removed_objects": reap_all(client)}))
    else:
        print(json.dumps({"reaped_runs": reap_dead(client)}))
    return 0

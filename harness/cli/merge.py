"""``chaosplane merge SHARD_DIR... --out DIR``: join campaign shards into one result.

The merged ``campaign.json``, ``junit.xml`` and ``index.html`` are the same as one unsharded
campaign of the same jobs would give. Exit code as for ``chaosplane campaign``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.campaign import exit_code, merge_campaigns
from harness.campaign.runner import finish


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("merge", help="join campaign shards")
    p.add_argument("shards", nargs="+", type=Path, help="shard output folders")
    p.add_argument("--out", type=Path, required=True, help="merged output folder")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    result = merge_campaigns(args.shards, args.out)
    finish(result, args.out)
    print(f"{len(result.results)} runs from {len(args.shards)} shards\n"
          f"index: {args.out / 'index.html'}\njunit: {args.out / 'junit.xml'}")  # fmt: skip
    return exit_code(result.results)

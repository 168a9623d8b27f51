"""``chaosplane build``: build the base, app and link-proxy images (no registry involved).

Prints the tags as one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.images import Steps, ensure_images


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="build the images (debootstrap base, app, proxy)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    steps = Steps(quiet=args.quiet)
    tags = ensure_images(steps=steps)
    out = {**tags.to_json(), "timings_s": {k: round(v, 2) for k, v in steps.timings_s.items()}}
    print(json.dumps(out))
    return 0

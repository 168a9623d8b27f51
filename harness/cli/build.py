"""``chaosplane build``: build the base, app, link-proxy and etcd images (no registry involved).

Prints the tags as one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.errors import ImageError
from harness.images import Steps, ensure_images
from harness.images.etcd import ensure_etcd_image


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="build the images (debootstrap base, app, proxy)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    steps = Steps(quiet=args.quiet)
    tags = ensure_images(steps=steps)
    extra: dict[str, str] = {}
    try:  # cheap (a tag lookup; ~2-20 s once); only etcd scenarios need it
        extra["etcd"] = ensure_etcd_image(steps=steps)
    except ImageError as exc:
        steps.note(f"etcd image not built (only engine: etcd scenarios need it): {exc}")
    out = {
        **tags.to_json(),
        **extra,
        "timings_s": {k: round(v, 2) for k, v in steps.timings_s.items()},
    }
    print(json.dumps(out))
    return 0

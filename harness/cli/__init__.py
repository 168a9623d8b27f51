"""``chaosplane`` command line: one module per subcommand in this package.

Each subcommand module defines ``register(subparsers) -> None`` which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code). A module that is
not present yet is skipped, so the command grows with the project. Errors the harness raises on
purpose (``HarnessError``) are printed as one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness.errors import HarnessError

SUBCOMMANDS = (
    "build",  # images
    "up",  # start a cluster and leave it running
    "down",
    "clean",  # reap leftovers by label
    "run",  # run scenarios (the main job)
    "validate",  # check scenario files without running them
    "check",  # re-check stored runs offline
    "report",  # regenerate a run's HTML report
    "campaign",  # scenarios × seeds, JUnit, index
    "merge",  # join campaign shards into one result
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand's parser, or only ``only``'s: ``chaosplane check`` then imports what
    checking needs and not Docker, testcontainers or the cluster code (~0.6 s of start-up)."""
    parser = argparse.ArgumentParser(prog="chaosplane", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only is not None else SUBCOMMANDS:
        try:
            module = importlib.import_module(f"harness.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"harness.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    only = words[0] if words and words[0] in SUBCOMMANDS else None
    args = build_parser(only).parse_args(words)
    try:
        code: int = args.func(args)
    except HarnessError as exc:
        print(f"chaosplane: error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("chaosplane: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

"""``chaosplane validate FILE_OR_DIR...``: check scenario files without starting anything.

In a nutshell: loads every file (directories: every ``*.yaml``/``*.yml`` below, sorted) with the
same loader ``run`` uses; prints each problem on its own line on stderr
(``file:line: field: got …; expected …; fix``), then a one-line summary; exit 0 when every file is
valid, 1 otherwise. ``--schema`` prints the JSON Schema for editors instead.

    chaosplane validate scenarios/            # exit 0: "ok: 12 scenarios in 12 files"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.scenario.loader import load_scenario, scenario_files
from harness.scenario.problems import ScenarioFileError
from harness.scenario.schema import render_schema


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check scenario files without running them",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("paths", nargs="*", metavar="FILE", help="scenario files or folders")
    parser.add_argument(
        "--schema", action="store_true", help="print the scenario JSON Schema and exit"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.schema:
        sys.stdout.write(render_schema())
        return 0
    if not args.paths:
        print("chaosplane validate: name at least one scenario file or folder", file=sys.stderr)
        return 2
    files = scenario_files(args.paths)
    if not files:
        print(f"chaosplane validate: no *.yaml files in {' '.join(args.paths)}", file=sys.stderr)
        return 1
    bad_files = 0
    problems = 0
    names: dict[str, Path] = {}
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioFileError as exc:
            bad_files += 1
            problems += len(exc.problems)
            for problem in exc.problems:
                print(problem.render(), file=sys.stderr)
            continue
        first = names.setdefault(scenario.name, path)
        if first != path:
            bad_files += 1
            problems += 1
            print(
                f"{path}: name: got {scenario.name!r} (string); expected a name no other "
                f"scenario uses; rename it ({first} uses it already)",
                file=sys.stderr,
            )
    if bad_files:
        print(
            f"invalid: {problems} problem(s) in {bad_files} of {len(files)} file(s)",
            file=sys.stderr,
        )
        return 1
    print(f"ok: {len(files)} scenario file(s) valid")
    return 0

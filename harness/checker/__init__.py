"""Verdicts from a run directory: pure checkers, never Docker, so any stored run re-checks offline.

In a nutshell: ``check_run(path)`` reads a run directory, runs every applicable checker
(well_formed, adequacy, linearizable, no_lost_writes, converged, recovered, availability,
watch) and writes ``verdicts.json``; ``check_history(path)`` checks a bare ``history.jsonl``
for well-formedness and linearizability. Verdicts are three-valued (valid / invalid /
unknown); a crashed or out-of-budget checker is unknown, never a pass.

    verdicts = check_run(Path("reports/isolate-leader-s7"))
    print(verdicts.overall, verdicts.checks["linearizable"].reason)
"""

from harness.checker.linearizable import LinearizabilityOptions, check_linearizable
from harness.checker.models import FailCas
from harness.checker.pairing import Call, pair_calls
from harness.checker.registry import (
    REGISTRY,
    CheckerSpec,
    check_history,
    check_run,
    register_checker,
    run_checkers,
)
from harness.checker.rundata import RunData, from_history, load_run
from harness.checker.verdict import CheckResult, RunVerdicts, Verdict, combine

__all__ = [
    "REGISTRY",
    "Call",
    "CheckResult",
    "CheckerSpec",
    "FailCas",
    "LinearizabilityOptions",
    "RunData",
    "RunVerdicts",
    "Verdict",
    "check_history",
    "check_linearizable",
    "check_run",
    "combine",
    "from_history",
    "load_run",
    "pair_calls",
    "register_checker",
    "run_checkers",
]

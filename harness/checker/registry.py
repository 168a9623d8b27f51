"""Checkers by name, and the two entry points: ``check_run`` and ``check_history``.

In a nutshell: a ``CheckerSpec`` pairs a name with a pure function ``RunData → CheckResult``
and an ``applies`` predicate (from the scenario's expectations and what the history holds).
``check_run`` loads a run directory once, runs ``well_formed`` first — when the history is not
well formed, the checkers that read it answer unknown instead of guessing — then every
applicable checker, and writes ``verdicts.json``. A checker that raises yields ``unknown`` with
the error, never a pass. ``check_history`` checks a bare ``history.jsonl``: well-formedness and
linearizability.

    verdicts = check_run(Path("reports/isolate-leader-s7"))
    verdicts.overall  # Verdict.VALID
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.checker import availability as availability_mod
from harness.checker import convergence, election, lostwrites, recovery, votes, watch
from harness.checker.controllers import CONTROLLER_APPLIES, CONTROLLER_CHECKS, CONTROLLER_MEANINGS
from harness.checker.lean import lean_well_formed, read_paired
from harness.checker.linearizable import LinearizabilityOptions, check_linearizable
from harness.checker.models import KV, REGISTER, FailCas
from harness.checker.rundata import RunData, load_run
from harness.checker.verdict import CheckResult, RunVerdicts, Verdict
from harness.checker.wellformed import adequacy, well_formed
from harness.errors import CheckerError
from harness.history import RunDir, cut_short
from harness.model.kinds import workload_feeds

COMPLETED = "completed"  # present only when the run was cut short (harness/history/progress.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckerSpec:
    name: str
    check: Callable[[RunData], CheckResult]
    applies: Callable[[RunData], bool]
    reads_history: bool = True  # meaningless on a malformed history
    meaning: str = ""  # what it guarantees, in one line: the report's row (harness.report)


def _always(_run: RunData) -> bool:
    return True


def _linearizable_applies(run: RunData) -> bool:
    """Register runs, and runs of an unnamed workload whose ops the models know; never the
    objects / set / watch workloads (their verbs are not a register's)."""
    if not run.expect.get("linearizable"):
        return False
    kind = run.workload_kind
    if kind is not None:
        return workload_feeds(kind, "linearizable")
    fs = REGISTER.fs | KV.fs
    return any(c.f in fs for c in run.paired.calls)


def linearizability_options(run: RunData) -> LinearizabilityOptions:
    """Defaults, overridden by ``run.json``'s optional ``"checker"`` object."""
    raw: dict[str, Any] = dict(run.meta.get("checker") or {})
    opts = LinearizabilityOptions()
    fields = {"model", "time_budget_s", "memory_budget_bytes", "slice_steps", "minimize_budget_s"}
    overrides: dict[str, Any] = {k: v for k, v in raw.items() if k in fields}
    if "fail_cas" in raw:
        overrides["fail_cas"] = FailCas(raw["fail_cas"])
    return replace(opts, **overrides)


def linearizable(run: RunData) -> CheckResult:
    fs = REGISTER.fs | KV.fs
    if not any(c.f in fs for c in run.paired.calls):
        return CheckResult.unknown("no read/write/cas/delete (or get/put/append) ops to check")
    return check_linearizable(run.paired.calls, linearizability_options(run))


REGISTRY: dict[str, CheckerSpec] = {}


def register_checker(spec: CheckerSpec) -> None:
    """Add a checker: ``check_run`` runs it where ``applies``, the report shows its row."""
    REGISTRY[spec.name] = spec


def unregister_checker(name: str) -> None:
    """For tests that registered a checker of their own."""
    REGISTRY.pop(name, None)


def checker_meanings() -> dict[str, str]:
    """Checker name → its one-line meaning, in registry order (report rows, campaign columns)."""
    return {name: spec.meaning for name, spec in REGISTRY.items()}


_M = {
    "well_formed": "The history pairs every invoke with one completion, so checkers can read it.",
    "adequacy": "The run did enough (traffic before faults, faults fired) to prove something.",
    "linearizable": "Each operation takes effect at one instant between its call and its return "
    "(per key): no stale or impossible reads.",
    "no_lost_writes": "Every acknowledged write is present in the final read after healing.",
    "converged": "After the last heal, all store members reach the same applied index and state.",
    "recovered": "After each heal or leader loss, a leader is back and every apiserver serves "
    "within the limit.",
    "availability": "Share of operations that succeeded during each fault window.",
    "watch": "Every watcher sees every event exactly once, in revision order.",
    "election": "At most one leader per Raft term, as far as the status samples show.",
    "vote_persistence": "A restarted store member still holds the term and vote it had (Raft's "
    "persistent state), as far as the status samples show.",
}


for _spec in (
    CheckerSpec(name="well_formed", check=well_formed, applies=_always, reads_history=False),
    CheckerSpec(name="adequacy", check=adequacy, applies=lambda r: not r.bare, reads_history=False),
    CheckerSpec(name="linearizable", check=linearizable, applies=_linearizable_applies),
    CheckerSpec(name="no_lost_writes", check=lostwrites.no_lost_writes, applies=lostwrites.applies),
    CheckerSpec(name="converged", check=convergence.converged, applies=convergence.applies),
    CheckerSpec(name="recovered", check=recovery.recovered, applies=recovery.applies),
    CheckerSpec(
        name="availability", check=availability_mod.availability, applies=availability_mod.applies
    ),
    CheckerSpec(name="watch", check=watch.watch, applies=watch.applies),
    CheckerSpec(name="election", check=election.election, applies=election.applies),
    CheckerSpec(name="vote_persistence", check=votes.votes, applies=votes.applies),
):
    register_checker(replace(_spec, meaning=_M[_spec.name]))
# The controller layer (issue 16): only runs whose cluster had components.
for _name, _check in CONTROLLER_CHECKS.items():
    register_checker(
        CheckerSpec(
            name=_name,
            check=_check,
            applies=CONTROLLER_APPLIES[_name],
            meaning=CONTROLLER_MEANINGS[_name],
        )
    )


def run_checkers(run: RunData, names: Iterable[str] | None = None) -> RunVerdicts:
    specs = [REGISTRY[n] for n in names] if names is not None else list(REGISTRY.values())
    results: dict[str, CheckResult] = {}
    history_ok = True
    for spec in specs:
        if not spec.applies(run):
            continue
        if spec.reads_history and not history_ok:
            results[spec.name] = CheckResult.unknown("history is not well formed; not checked")
            continue
        results[spec.name] = _guarded(spec, run)
        if spec.name == "well_formed" and results[spec.name].verdict is not Verdict.VALID:
            history_ok = False
    return RunVerdicts.of(results)


def _guarded(spec: CheckerSpec, run: RunData) -> CheckResult:
    return _guarded_call(spec.name, lambda: spec.check(run))


def check_run(
    run_dir: Path, *, write: bool = True, names: Iterable[str] | None = None
) -> RunVerdicts:
    run = RunDir(run_dir)
    try:
        data = load_run(run)
    except CheckerError as exc:
        verdicts = RunVerdicts.of(
            {"well_formed": CheckResult.unknown(f"cannot load the run: {exc}")}
        )
    else:
        verdicts = run_checkers(data, names)
    short = cut_short(run)
    if short is not None:  # first, so the report's headline and the CLI name it
        verdicts = RunVerdicts.of(
            {
                COMPLETED: CheckResult.unknown(short.statement(), **short.to_json()),
                **verdicts.checks,
            }
        )
    if write:
        tmp = run.verdicts.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps(verdicts.to_json(), indent=2, default=str) + "\n", encoding="utf-8"
        )
        tmp.replace(run.verdicts)
    return verdicts


def check_history(path: Path, *, options: LinearizabilityOptions | None = None) -> RunVerdicts:
    """Well-formedness and linearizability of a bare ``history.jsonl``, read by the lean path
    (``lean.py``: no ``Op`` per record)."""
    try:
        history = read_paired(path)
    except CheckerError as exc:
        return RunVerdicts.of(
            {"well_formed": CheckResult.unknown(f"cannot read the history: {exc}")}
        )
    wf = lean_well_formed(history)
    results = {"well_formed": wf}
    if wf.verdict is not Verdict.VALID:
        results["linearizable"] = CheckResult.unknown("history is not well formed; not checked")
    else:
        results["linearizable"] = _guarded_call(
            "linearizable",
            lambda: check_linearizable(history.paired.calls, options or LinearizabilityOptions()),
        )
    return RunVerdicts.of(results)


def _guarded_call(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as exc:  # a crashing checker must never read as a pass
        tb = traceback.format_exception(exc)
        return CheckResult.unknown(
            f"checker {name} crashed: {exc!r}", error=repr(exc), traceback=tb[-3:]
        )

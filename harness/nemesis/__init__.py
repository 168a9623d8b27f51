"""The nemesis: faults that break the cluster on a schedule, each proved to take effect.

In a nutshell: ``make_context`` once per run, then ``run_schedule(specs, ctx, stop)`` (or
``NemesisThread``) fires every ``FaultSpec`` at its time, writes the fault timeline
(``start``/``end``/``effect``/``health`` events), heals everything and checks nothing is left.
One module per fault kind registers itself under the scenario's name (``FaultKind``):
partition/loss (``partition``), kill/pause (``process``), toxic/link-down (``link``),
leader-loss (``leader``), rolling-restart (``rolling``). Grudges are pure (``grudge``).

    ctx = make_context(cluster=c, toxiproxy=tp, timeline=w, start_ns=t0, seed=7)
    fired = run_schedule(scenario.faults, ctx, threading.Event())
"""

from harness.nemesis import (  # noqa: F401  (registers)
    components,
    leader,
    link,
    partition,
    process,
    rolling,
)
from harness.nemesis.base import (
    Evidence,
    Fault,
    FaultContext,
    Injection,
    LeaderAware,
    LeftoverFaultError,
    Verifiable,
)
from harness.nemesis.context import make_context
from harness.nemesis.leftovers import find_leftovers
from harness.nemesis.registry import make_fault, register, registered
from harness.nemesis.schedule import (
    FiredFault,
    NemesisThread,
    ScheduleOptions,
    read_schedule,
    replay_specs,
    run_schedule,
    write_schedule,
)

__all__ = [
    "Evidence",
    "Fault",
    "FaultContext",
    "FiredFault",
    "Injection",
    "LeaderAware",
    "LeftoverFaultError",
    "NemesisThread",
    "ScheduleOptions",
    "Verifiable",
    "find_leftovers",
    "make_context",
    "make_fault",
    "read_schedule",
    "register",
    "registered",
    "replay_specs",
    "run_schedule",
    "write_schedule",
]

"""Checkers of the controller layer (issue 16): leaders, leases, replicas, binding, nodes.

In a nutshell: pure functions ``RunData → CheckResult`` over the ``k8s-event`` ops (C4) of a
run's history.jsonl, its faults.jsonl, components.jsonl and run.json's
``controlplane_timings``; each is three-valued and puts the evidence a report shows in its
details. ``CONTROLLER_CHECKS`` maps each name to its function and ``CONTROLLER_APPLIES`` to
when it applies (both registered in ``harness.checker.registry``):

    from harness.checker.controllers import CONTROLLER_CHECKS
    result = CONTROLLER_CHECKS["leader_exclusive"](load_run(RunDir(path)))

| name                | module             | judges                                            |
|---------------------|--------------------|---------------------------------------------------|
| leader_exclusive    | leader_exclusive   | no write while another identity held a lease      |
| lease_integrity     | lease_integrity    | Lease record rules; lost leader stops in time     |
| failover            | failover           | loss → next holder's first action within bound    |
| replicas_converge   | converge           | spec.replicas Running+Ready within T after heal   |
| no_overshoot        | overshoot          | ≤ replicas (+ maxSurge) live pods per owner       |
| binding             | binding            | bound once, to a Ready node with room             |
| node_failure        | nodes              | NotReady timing, eviction timing, rescheduling    |
| no_overcommit       | overcommit         | Running requests ≤ allocatable per node           |
| reference_end_state | reference          | end state = a fault-free reference run's          |
"""

from __future__ import annotations

import re
from collections.abc import Callable

from harness.checker.controllers import (
    binding,
    converge,
    failover,
    leader_exclusive,
    lease_integrity,
    nodes,
    overcommit,
    overshoot,
    reference,
)
from harness.checker.controllers.context import context, has_k8s_events
from harness.checker.faultclass import classes, is_class
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history.k8s import COMPONENTS_FILE
from harness.model.kinds import workload_feeds

Check = Callable[[RunData], CheckResult]

CONTROLLER_CHECKS: dict[str, Check] = {
    "leader_exclusive": leader_exclusive.leader_exclusive,
    "lease_integrity": lease_integrity.lease_integrity,
    "failover": failover.failover,
    "replicas_converge": converge.replicas_converge,
    "no_overshoot": overshoot.no_overshoot,
    "binding": binding.binding,
    "node_failure": nodes.node_failure,
    "no_overcommit": overcommit.no_overcommit,
    "reference_end_state": reference.reference_end_state,
}

CONTROLLER_MEANINGS: dict[str, str] = {  # the report's one line per check
    "leader_exclusive": "No component wrote while another identity held a valid Lease (judged on "
    "each write's fencing annotation and the Lease history).",
    "lease_integrity": "Each Lease's versions form one chain, leaseTransitions grows by one per "
    "change of holder, and a leader that lost its Lease stops writing within "
    "the renew deadline.",
    "failover": "A component leader's loss is followed by the next holder's first action within "
    "the bound derived from the configured lease timings.",
    "replicas_converge": "After the last heal every Deployment and ReplicaSet has exactly "
    "spec.replicas Running, Ready pods on Ready nodes within the limit.",
    "no_overshoot": "Never more than replicas (+ maxSurge) live pods of one owner at once.",
    "binding": "No pod bound twice or moved, none bound to a node that was not Ready or lacked "
    "room.",
    "node_failure": "A node whose heartbeats stop goes NotReady within grace + ε (never below "
    "it), its pods are evicted after the timeout and run elsewhere.",
    "no_overcommit": "The requests of Running pods never exceed a node's allocatable.",
    "reference_end_state": "The workload's objects end as in a fault-free reference run of the "
    "same seed (names, uids and timestamps aside).",
}


COMPONENT_COUNTS = ("controller_managers", "schedulers", "nodes")


def has_components(run: RunData) -> bool:
    """The run's cluster had controller-layer members: run.json's ``cluster`` counts (C5), its
    ``controlplane_timings``, or a ``components.jsonl`` beside the history."""
    cluster = run.meta.get("cluster")
    if isinstance(cluster, dict):
        for name in COMPONENT_COUNTS:
            count = cluster.get(name)
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                return True
    if run.meta.get("controlplane_timings"):
        return True
    root = run.source if run.source.is_dir() else run.source.parent
    path = root / COMPONENTS_FILE
    return path.is_file() and path.stat().st_size > 0


def applies(run: RunData) -> bool:
    """A run of the ``deployments`` workload (which needs the controller layer), or a run whose
    cluster had components and whose history holds their objects' watch events."""
    if run.bare:
        return False
    if workload_feeds(run.workload_kind, "controllers"):
        return True
    return has_components(run) and has_k8s_events(run)


def _reference_applies(run: RunData) -> bool:
    return applies(run) and reference.applies(run)


LEADER_MEMBER = re.compile(r"^(controller-manager|scheduler)-\d+$")  # a member, not a link


def _failover_applies(run: RunData) -> bool:
    """A run that struck a leader-elected member (faults.jsonl targets), or in which a
    component Lease changed holder anyway: otherwise there is no failover to time, and a
    run about nodes or rollouts should not read unknown for it."""
    if not applies(run):
        return False
    by_id = classes(run.faults)  # a take-out (kill, pause, partition …), not a clock skew
    struck = (f for f in run.faults if is_class(by_id, f, lambda c: c.takes_out_members))
    if any(LEADER_MEMBER.match(t) for f in struck for t in f.targets):
        return True
    return bool(failover.holder_changes(context(run)))


CONTROLLER_APPLIES: dict[str, Callable[[RunData], bool]] = {
    name: (
        _reference_applies
        if name == "reference_end_state"
        else _failover_applies
        if name == "failover"
        else applies
    )
    for name in CONTROLLER_CHECKS
}

__all__ = ["CONTROLLER_APPLIES", "CONTROLLER_CHECKS", "applies", "has_components"]

"""Clients and generators: drive the cluster over HTTP and record every op to the history.

In a nutshell: ``make_workload(spec, info, history, start_ns, seed)`` builds the workload the
scenario names (register, objects, set, watch, deployments). ``run(stop)`` blocks, runs its own
event loop until ``spec.duration_s`` passes or ``stop`` is set and returns a ``WorkloadResult``;
``final_read()`` reads back what the checkers need after healing; ``checkers`` names them.
Outcomes follow ``harness.workload.outcome`` (connect failure → fail, unknown → info);
``harness.workload.adequacy`` says whether the run did enough before and around its faults.
With ``spec.workers`` > 1 (or derived, see ``workers.resolve_workers``) register and set
clients run in worker processes (``ParallelWorkload``), recording to the same history.
Errors are ``harness.workload.errors`` (``HarnessError`` subclasses with structured fields).

    workload = make_workload(scenario.workload, cluster.info, writer, start_ns, seed=7)
    result = workload.run(stop_event); workload.final_read()
"""

from __future__ import annotations

from typing import Protocol

from harness.history import JsonlWriter
from harness.model import Engine, WorkloadKind, WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.model.kinds import WorkloadTraits, register_workload_traits, unregister_workload_traits
from harness.workload.adequacy import (
    Adequacy,
    FaultWindow,
    Shortfall,
    Thresholds,
    assess,
    thresholds_for,
)
from harness.workload.base import ClientWorkload, StopFlag, WorkloadResult
from harness.workload.deployments import DeploymentsWorkload
from harness.workload.errors import (
    HistoryWriterError,
    RecorderError,
    WorkerError,
    WorkloadConfigError,
    WorkloadError,
)
from harness.workload.objects import ObjectsWorkload
from harness.workload.outcome import Effect, Outcome, classify_exception, classify_status
from harness.workload.register import RegisterWorkload
from harness.workload.sets import SetWorkload
from harness.workload.watch import WatchWorkload
from harness.workload.workers import ParallelWorkload, plan_shares, resolve_workers


class Workload(Protocol):
    """What the run orchestrator drives."""

    checkers: tuple[str, ...]

    def run(self, stop: StopFlag | None = None) -> WorkloadResult: ...
    def final_read(self) -> None: ...


_KINDS: dict[str, type[ClientWorkload]] = {
    WorkloadKind.REGISTER: RegisterWorkload,
    WorkloadKind.OBJECTS: ObjectsWorkload,
    WorkloadKind.SET: SetWorkload,
    WorkloadKind.WATCH: WatchWorkload,
    WorkloadKind.DEPLOYMENTS: DeploymentsWorkload,
}


def register_workload_kind(traits: WorkloadTraits, cls: type[ClientWorkload]) -> None:
    """Add a workload kind: its descriptor (``harness.model.kinds``: mix ops, store access,
    the checkers it feeds) and its client class; the loader, ``make_workload`` and the
    checkers' ``applies`` pick it up."""
    if traits.kind in _KINDS:
        raise WorkloadConfigError(
            field="workload.kind",
            got=traits.kind,
            expected="a kind not registered yet",
            fix="pick another name for the new workload kind",
        )
    register_workload_traits(traits)
    _KINDS[traits.kind] = cls


def unregister_workload_kind(kind: str) -> None:
    """For tests that registered a kind of their own (built-in kinds stay)."""
    unregister_workload_traits(kind)
    _KINDS.pop(kind, None)


def make_workload(
    spec: WorkloadSpec, info: ClusterInfo, history: JsonlWriter, start_ns: int, seed: int
) -> Workload:
    """The workload ``spec.kind`` names; records into ``history``, times since ``start_ns``."""
    try:
        cls = _KINDS[spec.kind]
    except KeyError:
        valid = ", ".join(_KINDS)
        raise WorkloadConfigError(
            field="workload.kind",
            got=spec.kind,
            expected=f"one of {valid}",
            fix="name one of those workload kinds",
        ) from None
    if cls is RegisterWorkload and spec.through == "store":
        from harness.workload.etcd import EtcdRegisterWorkload, store_is_etcd

        # Real etcd as the store: speak its JSON gateway. The engine the run's spec names;
        # the store is probed only when the ClusterInfo does not say.
        etcd = info.engine == Engine.ETCD if info.engine else store_is_etcd(info)
        if etcd:
            cls = EtcdRegisterWorkload
    local = cls(spec, info, history, start_ns=start_ns, seed=seed)
    workers = resolve_workers(spec, cls)
    if workers <= 1:
        return local
    shares = plan_shares(local, workers)
    if len(shares) <= 1:
        return local
    return ParallelWorkload(local, history, start_ns=start_ns, shares=shares)


__all__ = [
    "Adequacy",
    "ClientWorkload",
    "DeploymentsWorkload",
    "Effect",
    "FaultWindow",
    "HistoryWriterError",
    "ObjectsWorkload",
    "Outcome",
    "ParallelWorkload",
    "RecorderError",
    "RegisterWorkload",
    "SetWorkload",
    "Shortfall",
    "Thresholds",
    "WatchWorkload",
    "WorkerError",
    "Workload",
    "WorkloadConfigError",
    "WorkloadError",
    "WorkloadResult",
    "assess",
    "classify_exception",
    "classify_status",
    "make_workload",
    "plan_shares",
    "register_workload_kind",
    "resolve_workers",
    "thresholds_for",
    "unregister_workload_kind",
]

"""Clients and generators: drive the cluster over HTTP and record every op to the history.

In a nutshell: ``make_workload(spec, info, history, start_ns, seed)`` builds the workload the
scenario names (register, objects, set, watch). ``run(stop)`` blocks, runs its own event loop
until ``spec.duration_s`` passes or ``stop`` is set and returns a ``WorkloadResult``;
``final_read()`` reads back what the checkers need after healing; ``checkers`` names them.
Outcomes follow ``harness.workload.outcome`` (connect failure → fail, unknown → info);
``harness.workload.adequacy`` says whether the run did enough before and around its faults.

    workload = make_workload(scenario.workload, cluster.info, writer, start_ns, seed=7)
    result = workload.run(stop_event); workload.final_read()
"""

from __future__ import annotations

import threading
from typing import Protocol

from harness.cluster.model import ClusterInfo
from harness.history import JsonlWriter
from harness.model import WorkloadKind, WorkloadSpec
from harness.workload.adequacy import Adequacy, FaultWindow, Thresholds, assess
from harness.workload.base import ClientWorkload, WorkloadResult
from harness.workload.objects import ObjectsWorkload
from harness.workload.outcome import Effect, Outcome, classify_exception, classify_status
from harness.workload.register import RegisterWorkload
from harness.workload.sets import SetWorkload
from harness.workload.watch import WatchWorkload


class Workload(Protocol):
    """What the run orchestrator drives."""

    checkers: tuple[str, ...]

    def run(self, stop: threading.Event | None = None) -> WorkloadResult: ...
    def final_read(self) -> None: ...


_KINDS: dict[WorkloadKind, type[ClientWorkload]] = {
    WorkloadKind.REGISTER: RegisterWorkload,
    WorkloadKind.OBJECTS: ObjectsWorkload,
    WorkloadKind.SET: SetWorkload,
    WorkloadKind.WATCH: WatchWorkload,
}


def make_workload(
    spec: WorkloadSpec, info: ClusterInfo, history: JsonlWriter, start_ns: int, seed: int
) -> Workload:
    """The workload ``spec.kind`` names; records into ``history``, times since ``start_ns``."""
    try:
        cls = _KINDS[WorkloadKind(spec.kind)]
    except ValueError:
        valid = ", ".join(k.value for k in WorkloadKind)
        raise ValueError(f"workload kind {spec.kind!r}: expected one of {valid}") from None
    if cls is RegisterWorkload and spec.through == "store":
        from harness.workload.etcd import EtcdRegisterWorkload, store_is_etcd

        if store_is_etcd(info):  # real etcd as the store: speak its JSON gateway
            cls = EtcdRegisterWorkload
    return cls(spec, info, history, start_ns=start_ns, seed=seed)


__all__ = [
    "Adequacy",
    "ClientWorkload",
    "Effect",
    "FaultWindow",
    "ObjectsWorkload",
    "Outcome",
    "RegisterWorkload",
    "SetWorkload",
    "Thresholds",
    "WatchWorkload",
    "Workload",
    "WorkloadResult",
    "assess",
    "classify_exception",
    "classify_status",
    "make_workload",
]

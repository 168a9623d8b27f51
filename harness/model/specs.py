"""The value types every layer shares: what a run is asked to do and what it must show.

In a nutshell: a scenario file resolves to these (``harness.scenario`` builds them, with
``file:line`` errors), the nemesis consumes ``FaultSpec``s, the workload a ``WorkloadSpec``, the
checkers read ``Expectations`` back from ``run.json``. Pure frozen data with no imports of ours,
so any layer may use them without reaching up into the scenario loader.

    FaultSpec(kind=FaultKind.PARTITION, target="isolate-leader", at_s=5.0, duration_s=10.0)
    Expectations().to_json()["recovered_within_s"] == 15.0
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any


class Engine(enum.StrEnum):
    """The store's replication engine (``cluster.store.engine``; ``KV_ENGINE`` in containers)."""

    PYSYNCOBJ = "pysyncobj"
    RAFTOS = "raftos"
    ETCD = "etcd"  # the reference store: Debian's etcd 3.4 behind the same apiservers


class WorkloadKind(enum.StrEnum):
    REGISTER = "register"  # read / write / cas (+delete) on keys; values unique per key
    OBJECTS = "objects"  # Kubernetes-style create / update(resourceVersion) / delete / get / list
    SET = "set"  # unique creates, then a final read after healing
    WATCH = "watch"  # watchers following a resource across apiserver failover
    DEPLOYMENTS = "deployments"  # Deployments and bare pods, every controller-layer change watched


class FaultKind(enum.StrEnum):
    # partition: isolate-leader | isolate:<member> | halves | majority-minority | bridge | ring
    PARTITION = "partition"
    KILL = "kill"  # target: member name | store-leader | random-store | random-apiserver
    PAUSE = "pause"  # target as for kill
    LEADER_LOSS = "leader-loss"  # params: action kill|pause|isolate, component, repeat, interval_s
    TOXIC = "toxic"  # target: link name or glob; params: type, attributes, stream, toxicity
    LINK_DOWN = "link-down"  # target: link name or glob
    ROLLING_RESTART = "rolling-restart"  # target: apiservers | store; params: interval_s
    LOSS = "loss"  # random packet loss (iptables statistic); params: probability
    CLOCK_SKEW = "clock-skew"  # target: a component member or leader; params: offset_s, rate


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadSpec:
    kind: str = WorkloadKind.REGISTER  # a WorkloadKind, or a registered name (harness.model.kinds)
    clients: int = 4
    keys: int = 4
    rate: float = 100.0  # target ops/s over all clients (0 = as fast as possible)
    duration_s: float = 20.0
    op_timeout_s: float = 1.0
    through: str = "apiserver"  # apiserver | store (register only)
    mix: dict[str, float] = field(default_factory=dict)  # op name → weight; {} = workload default
    read_consistency: str = "linearizable"  # linearizable | serializable (etcd only)
    key_prefix: str = ""  # keeps runs on one reused cluster apart (Hypothesis search)
    value_size: int = 0  # bytes of padding in each written value (register through store)
    workers: int = 0  # client processes; 0 = derived (harness.workload.workers)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec:
    kind: str  # a FaultKind for the built-in kinds; a registered name (harness.model.kinds) else
    at_s: float
    duration_s: float | None = None  # None: instantaneous or healed by its own params
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdequacySpec:
    """What a run must prove to decide (``harness.workload.adequacy``); None = derived."""

    min_ok_before: int | None = None  # ok ops before the first fault
    min_ops_during: int | None = None  # completed ops in each fault window
    min_ok_after: int | None = None  # ok ops after the last heal
    min_rate_share: float = 0.0  # of workload.rate before the first fault; 0 = not judged
    require_effect: bool = True  # a fault verified as not in effect makes the run unknown


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    linearizable: bool = True
    no_lost_writes: bool = True
    converged_within_s: float | None = 15.0
    recovered_within_s: float | None = 15.0
    min_availability: float | None = None  # share of ok ops on the majority side during faults
    watch_ordered: bool = False  # watch events in order, none duplicated, none missing

    def to_json(self) -> dict[str, Any]:
        """Every field by name (``run.json`` ``expect``; the checkers' defaults are
        ``Expectations().to_json()``, so a new field needs no second copy)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

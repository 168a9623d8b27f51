"""What each fault kind and workload kind *is*, for every layer: the bottom half of a descriptor.

In a nutshell: a ``FaultTraits`` per fault kind says its ``FaultClass`` (what checkers read from
the ``start`` event's ``detail["class"]``), whether it runs its own course (strikes, restarts in
turn) and when it should be healed on the run clock (``planned_end_s``). A ``WorkloadTraits``
per workload kind says which ops its ``mix`` may weight, whether it may talk to the store
directly, whether it needs the controller layer, and which checkers its history feeds. The
scenario layer's descriptor (``harness.scenario.faultkinds.FaultKindSpec``) carries the traits
together with the schema row, the semantic checks and the Hypothesis draw;
``register_fault_kind`` there registers both halves. Lower layers (nemesis, checkers, run)
ask only this module, so none of them spells a kind name.

    fault_traits("leader-loss").runs_own_course is True
    workload_traits("register").mix_ops == ("read", "write", "cas", "delete")
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.errors import HarnessError
from harness.model.specs import FaultKind, FaultSpec, WorkloadKind


class UnknownKindError(HarnessError):
    """A fault or workload kind nothing registered (a typo in a schedule.json, a plugin whose
    module was not imported)."""

    def __init__(self, what: str, kind: str, known: list[str]) -> None:
        self.what, self.kind, self.known = what, kind, known
        super().__init__(
            f"{what} kind {kind!r} is not registered; known: {', '.join(known)}. Fix the kind, "
            f"or import the module that registers it before the run"
        )


class FaultClass(enum.StrEnum):
    """What a fault does to the cluster, as a checker needs to know it (never the kind name)."""

    PROCESS = "process"  # members stopped or frozen (kill, pause)
    LEADER = "leader"  # the current leader taken out, maybe again and again (leader-loss)
    PARTITION = "partition"  # members cut off from each other (partition)
    DEGRADED = "degraded"  # traffic slowed, dropped or reset; nobody cut off for good (toxic, loss)
    LINK = "link"  # links disabled (link-down)
    RESTART = "restart"  # members restarted one after another (rolling-restart)
    CLOCK = "clock"  # a member's wall clock moved (clock-skew)

    @property
    def holds_members_down(self) -> bool:
        """Its targets are down (not serving) while it is in force: a majority of them means
        no leader can exist until the heal."""
        return self in (FaultClass.PROCESS, FaultClass.LEADER)

    @property
    def takes_out_members(self) -> bool:
        """Its targets stop acting for the cluster (down, or cut off): a leader among them
        must be replaced — a failover to time."""
        return self in (FaultClass.PROCESS, FaultClass.LEADER, FaultClass.PARTITION)


PlannedEnd = Callable[[FaultSpec, int], float]  # (spec, members of the largest group) → s


def held_end_s(spec: FaultSpec, _members: int) -> float:
    """Healed ``for`` (or ``restart_after``) after it struck."""
    return spec.at_s + _hold_s(spec)


def strikes_end_s(spec: FaultSpec, _members: int) -> float:
    """A strike every ``interval``, the last one held (leader-loss ``repeat``)."""
    repeat = int(spec.params.get("repeat") or 1)
    return spec.at_s + (repeat - 1) * float(spec.params.get("interval_s") or 0.0) + _hold_s(spec)


def in_turn_end_s(spec: FaultSpec, members: int) -> float:
    """Every member in turn, ``interval`` apart (rolling-restart)."""
    return spec.at_s + members * float(spec.params.get("interval_s") or 0.0)


def _hold_s(spec: FaultSpec) -> float:
    return spec.duration_s or float(spec.params.get("restart_after_s") or 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultTraits:
    kind: str  # the name scenario files use (a ``FaultKind`` for the built-in kinds)
    fault_class: FaultClass
    runs_own_course: bool = False  # it heals itself (per strike, per member); the schedule waits
    planned_end: PlannedEnd = held_end_s

    def planned_end_s(self, spec: FaultSpec, members: int = 5) -> float:
        """When ``spec`` should be healed on the run clock, as planned (strikes may run late)."""
        return self.planned_end(spec, members)

    def open_ended(self, spec: FaultSpec) -> bool:
        """Healed only at the end of the run (a kill without ``restart_after``)."""
        return (
            not self.runs_own_course
            and spec.duration_s is None
            and not spec.params.get("restart_after_s")
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadTraits:
    kind: str  # the name scenario files use (a ``WorkloadKind`` for the built-in kinds)
    mix_ops: tuple[str, ...] = ()  # op names ``mix`` may weight; () = a fixed shape
    through_store: bool = False  # may run with ``through: store`` (the store's own API)
    needs_components: bool = False  # only on a cluster with a controller layer
    # Checkers (or the group "controllers") whose verdict its history feeds, beyond those
    # every run gets; a checker's ``applies`` asks ``workload_feeds``.
    checks: frozenset[str] = field(default_factory=frozenset)


_FAULTS: dict[str, FaultTraits] = {}
_WORKLOADS: dict[str, WorkloadTraits] = {}


def register_fault_traits(traits: FaultTraits) -> FaultTraits:
    if traits.kind in _FAULTS and _FAULTS[traits.kind] is not traits:
        raise HarnessError(f"fault kind {traits.kind!r} registered twice; pick another name")
    _FAULTS[traits.kind] = traits
    return traits


def unregister_fault_traits(kind: str) -> None:
    """For tests that register a kind of their own and must leave the registry as it was."""
    if kind in {k.value for k in FaultKind}:
        raise HarnessError(f"fault kind {kind!r} is built in and cannot be unregistered")
    _FAULTS.pop(kind, None)


def fault_traits(kind: str) -> FaultTraits:
    try:
        return _FAULTS[kind]
    except KeyError:
        raise UnknownKindError("fault", kind, sorted(_FAULTS)) from None


def fault_kinds() -> list[str]:
    """Every registered fault kind, in registration order (the built-in ones first)."""
    return list(_FAULTS)


def register_workload_traits(traits: WorkloadTraits) -> WorkloadTraits:
    if traits.kind in _WORKLOADS and _WORKLOADS[traits.kind] is not traits:
        raise HarnessError(f"workload kind {traits.kind!r} registered twice; pick another name")
    _WORKLOADS[traits.kind] = traits
    return traits


def unregister_workload_traits(kind: str) -> None:
    if kind in {k.value for k in WorkloadKind}:
        raise HarnessError(f"workload kind {kind!r} is built in and cannot be unregistered")
    _WORKLOADS.pop(kind, None)


def workload_traits(kind: str) -> WorkloadTraits:
    try:
        return _WORKLOADS[kind]
    except KeyError:
        raise UnknownKindError("workload", kind, sorted(_WORKLOADS)) from None


def workload_kinds() -> list[str]:
    return list(_WORKLOADS)


def workload_feeds(kind: str | None, check: str) -> bool:
    """Whether a workload of ``kind`` (as run.json records it) feeds checker ``check``;
    False for an unknown kind (a run recorded by a plugin not loaded now)."""
    traits = _WORKLOADS.get(kind or "")
    return traits is not None and check in traits.checks


K = FaultKind
for _traits in (
    FaultTraits(kind=K.PARTITION, fault_class=FaultClass.PARTITION),
    FaultTraits(kind=K.KILL, fault_class=FaultClass.PROCESS),
    FaultTraits(kind=K.PAUSE, fault_class=FaultClass.PROCESS),
    FaultTraits(
        kind=K.LEADER_LOSS,
        fault_class=FaultClass.LEADER,
        runs_own_course=True,
        planned_end=strikes_end_s,
    ),
    FaultTraits(kind=K.TOXIC, fault_class=FaultClass.DEGRADED),
    FaultTraits(kind=K.LINK_DOWN, fault_class=FaultClass.LINK),
    FaultTraits(
        kind=K.ROLLING_RESTART,
        fault_class=FaultClass.RESTART,
        runs_own_course=True,
        planned_end=in_turn_end_s,
    ),
    FaultTraits(kind=K.LOSS, fault_class=FaultClass.DEGRADED),
    FaultTraits(kind=K.CLOCK_SKEW, fault_class=FaultClass.CLOCK),
):
    register_fault_traits(_traits)

W = WorkloadKind
for _wtraits in (
    WorkloadTraits(
        kind=W.REGISTER,
        mix_ops=("read", "write", "cas", "delete"),
        through_store=True,
        checks=frozenset({"linearizable"}),
    ),
    WorkloadTraits(
        kind=W.OBJECTS,
        mix_ops=("create", "update", "delete", "get", "list"),
        checks=frozenset({"no_lost_writes"}),
    ),
    # fixed shape: unique adds, then one final read
    WorkloadTraits(kind=W.SET, through_store=True, checks=frozenset({"no_lost_writes"})),
    WorkloadTraits(kind=W.WATCH),  # fixed shape: writers plus watchers (watch applies by its ops)
    WorkloadTraits(
        kind=W.DEPLOYMENTS,
        mix_ops=(
            "scale-deployment",
            "roll-deployment",
            "delete-pod",
            "create-pod",
            "delete-deployment",
            "delete-bare-pod",
            "bind-pod",
        ),
        needs_components=True,
        checks=frozenset({"controllers"}),
    ),
):
    register_workload_traits(_wtraits)

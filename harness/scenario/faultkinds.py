"""The fault-kind descriptors: per kind, one ``FaultKindSpec`` that owns everything it means.

In a nutshell: a fault entry is a mapping with exactly one kind key (``partition: halves``)
plus ``at``, maybe ``for``, and kind-specific params. ``FAULT_KINDS[kind]`` is the kind's
descriptor: its schema row (what the kind key's value is, whether ``for`` is
required/optional/forbidden, the params as ``FieldSpec``s, stored in ``FaultSpec.params`` under
``param_key``), its traits for the lower layers (``harness.model.kinds.FaultTraits``: class,
planned end, whether it runs its own course), its cluster-dependent ``check`` and
``check_timing`` (``faultrules.py``) and its Hypothesis ``draw`` (``faultdraws.py``).
``register_fault_kind(spec)`` adds a kind: the loader, the schema, the semantic checks, the
strategies, the schedule (with ``harness.nemesis.register`` for its implementation) and the
checkers (through its class) pick it up. Toxics take extra attributes per toxic type, named as
in Toxiproxy 2.x (``TOXIC_ATTRIBUTES``).

    FAULT_KINDS[FaultKind.KILL].params[0].name == "restart_after"
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.model import FaultKind, FaultSpec
from harness.model.kinds import (
    FaultTraits,
    fault_traits,
    register_fault_traits,
    unregister_fault_traits,
)
from harness.scenario import faultdraws as draws
from harness.scenario import faultrules as rules
from harness.scenario.faultdraws import FaultDraw
from harness.scenario.faultrules import COMPONENT_TARGETS as COMPONENT_TARGETS
from harness.scenario.faultrules import MEMBER_PATTERN as MEMBER_PATTERN
from harness.scenario.faultrules import PARTITION_MIN_MEMBERS as PARTITION_MIN_MEMBERS
from harness.scenario.faultrules import PARTITION_MODES as PARTITION_MODES
from harness.scenario.faultrules import PROCESS_TARGETS as PROCESS_TARGETS
from harness.scenario.fields import FieldSpec, FieldType
from harness.scenario.problems import Path, Problems

F = FieldType

LEADER_COMPONENTS = ("store", "controller-manager", "scheduler")
SCOPES = ("store", "apiservers", "all")  # which members a partition or loss is drawn over
LEADER_LOSS_ACTIONS = ("kill", "pause", "isolate")
ROLLING_GROUPS = ("apiservers", "store")
LINK_PATTERN = r"^[a-z0-9*?\[\]!-]+$"


class DurationUse(enum.StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"


class TargetKind(enum.StrEnum):
    """How the kind key's value is checked against the cluster."""

    PROCESS = "process"  # member name(s), comma-separated, or store-leader | random-store | …
    PARTITION = "partition"  # a partition mode or isolate:<member>
    LINK = "link"  # a link name or glob that matches at least one link
    LOSS = "loss"  # as PARTITION, plus ``all`` (every pair in the scope)
    CHOICE = "choice"  # a fixed vocabulary (the spec's choices)


FaultCheck = Callable[[dict[str, Any], FaultSpec, Path, Problems], None]  # values, fault, path
TimingCheck = Callable[[float, FaultSpec, Path, Problems], None]  # workload duration, fault, path


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultKindSpec:
    kind: str  # the kind key scenario files use (a FaultKind for the built-in kinds)
    traits: FaultTraits  # what the nemesis, the run and the checkers need (the bottom layer)
    value: FieldSpec  # the kind key's value (name == kind)
    target: TargetKind
    value_is: str  # "target" (FaultSpec.target) or a params key (e.g. "action", "type")
    duration: DurationUse
    duration_doc: str
    params: tuple[FieldSpec, ...] = ()
    doc: str = ""
    forbidden_hint: str = ""  # why `for` is refused and what to write instead
    check: FaultCheck | None = None  # against the cluster (targets exist, separate someone)
    check_timing: TimingCheck | None = None  # beyond ``at < workload.duration``
    draw: FaultDraw | None = None  # None: the Hypothesis search never draws this kind

    def param_key(self, name: str) -> str:
        """Where a file param lands in ``FaultSpec.params``: durations gain ``_s``."""
        spec = next(p for p in self.params if p.name == name)
        return f"{name}_s" if spec.type is F.DURATION and spec.output_unit is None else name


AT = FieldSpec(
    name="at",
    type=F.DURATION,
    required=True,
    minimum=0,
    doc="When the fault strikes, from the workload's start; must be < workload.duration.",
)
FOR = FieldSpec(
    name="for",
    type=F.DURATION,
    minimum=0,
    exclusive_minimum=True,
    doc="How long it lasts before it is healed.",
)


def _ms(name: str, doc: str, *, required: bool = False, unit: str = "ms") -> FieldSpec:
    return FieldSpec(
        name=name,
        type=F.DURATION,
        minimum=0,
        required=required,
        default=None if required else f"0{unit}",
        unit_required=True,
        output_unit=unit,
        doc=doc,
    )


def _int(name: str, doc: str, *, minimum: int = 0, required: bool = True) -> FieldSpec:
    return FieldSpec(
        name=name,
        type=F.INTEGER,
        minimum=minimum,
        maximum=2**31 - 1,
        required=required,
        default=None if required else 0,
        doc=doc,
    )


TOXIC_ATTRIBUTES: dict[str, tuple[FieldSpec, ...]] = {
    "latency": (
        _ms("latency", "Added delay (Toxiproxy `latency`, sent in ms).", required=True),
        _ms("jitter", "Random ± variation of the delay (sent in ms)."),
    ),
    "bandwidth": (_int("rate", "Throughput limit in KB/s."),),
    "slow_close": (_ms("delay", "Delay before the connection is closed (ms).", required=True),),
    "timeout": (_ms("timeout", "Close after this; 0 = keep open and drop all data (blackhole)."),),
    "reset_peer": (_ms("timeout", "Reset the connection (TCP RST) after this; 0 = at once."),),
    "slicer": (
        _int("average_size", "Average size of the slices, bytes.", minimum=1),
        _int("size_variation", "± variation of the slice size, bytes.", required=False),
        _ms("delay", "Pause between slices (Toxiproxy counts µs here).", unit="us"),
    ),
    "limit_data": (_int("bytes", "Close the connection after this many bytes."),),
}
TOXIC_COMMON = (
    FieldSpec(
        name="link",
        type=F.TARGET,
        pattern=LINK_PATTERN,
        pattern_doc="a link name or glob matching at least one link of the cluster",
        required=True,
        doc="Link name or glob: client-api-<i> (client → api-<i>), api-<i>-store-<j>.",
    ),
    FieldSpec(
        name="stream",
        type=F.CHOICE,
        choices=("downstream", "upstream"),
        default="downstream",
        doc="Direction: downstream = responses to the client side, upstream = requests.",
    ),
    FieldSpec(
        name="toxicity",
        type=F.NUMBER,
        minimum=0,
        maximum=1,
        default=1,
        doc="Probability that a connection gets the toxic.",
    ),
)
TOXIC_PARAM_NAMES = tuple(sorted({a.name for attrs in TOXIC_ATTRIBUTES.values() for a in attrs}))


def _target(kind: str, doc: str, pattern: str) -> FieldSpec:
    return FieldSpec(name=str(kind), type=F.TARGET, pattern=pattern, required=True, doc=doc)


def _choice(kind: str, choices: tuple[str, ...], doc: str) -> FieldSpec:
    return FieldSpec(name=str(kind), type=F.CHOICE, choices=choices, required=True, doc=doc)


_PROCESS_PATTERN = f"^({'|'.join(PROCESS_TARGETS)}|{MEMBER_PATTERN}(,{MEMBER_PATTERN})*)$"
_PARTITION_PATTERN = f"^({'|'.join(PARTITION_MODES)}|isolate:{MEMBER_PATTERN})$"
_ONE_WAY = FieldSpec(
    name="one_way",
    type=F.CHOICE,
    choices=("minority", "majority"),
    nullable=True,
    default=None,
    doc="Only that side stops hearing the other; null = both ways (not for ring).",
)
_SCOPE = FieldSpec(
    name="members",
    type=F.CHOICE,
    choices=SCOPES,
    default="store",
    doc="Which members the grudge is drawn over: the store members, the apiservers, or all.",
)
FAULT_KINDS: dict[str, FaultKindSpec] = {}
BUILTIN_FAULT_KINDS: tuple[FaultKindSpec, ...] = (
    FaultKindSpec(
        kind=FaultKind.PARTITION,
        traits=fault_traits(FaultKind.PARTITION),
        check=rules.check_partition,
        draw=draws.partition_draw,
        value=_target(
            FaultKind.PARTITION,
            "isolate-leader | isolate:<member> | halves | majority-minority | bridge | ring "
            "(drawn over the `members` scope).",
            _PARTITION_PATTERN,
        ),
        target=TargetKind.PARTITION,
        value_is="target",
        duration=DurationUse.REQUIRED,
        duration_doc="required: the partition heals after it",
        params=(_ONE_WAY, _SCOPE),
        doc="Network partition with iptables in the members' network namespaces.",
    ),
    FaultKindSpec(
        kind=FaultKind.KILL,
        traits=fault_traits(FaultKind.KILL),
        check=rules.check_process,
        draw=draws.kill_draw,
        value=_target(
            FaultKind.KILL,
            "store-<j> | api-<i> | a comma list of members | " + " | ".join(PROCESS_TARGETS),
            _PROCESS_PATTERN,
        ),
        target=TargetKind.PROCESS,
        value_is="target",
        duration=DurationUse.FORBIDDEN,
        duration_doc="not allowed: use restart_after",
        forbidden_hint="a kill is instantaneous; write restart_after: <duration> instead",
        params=(
            FieldSpec(
                name="restart_after",
                type=F.DURATION,
                minimum=0,
                nullable=True,
                default=None,
                doc="Restart the member this long after the kill; null = at the final heal.",
            ),
        ),
        doc="SIGKILL a member's container, restart it later.",
    ),
    FaultKindSpec(
        kind=FaultKind.PAUSE,
        traits=fault_traits(FaultKind.PAUSE),
        check=rules.check_process,
        draw=draws.pause_draw,
        value=_target(
            FaultKind.PAUSE,
            "store-<j> | api-<i> | a comma list of members | " + " | ".join(PROCESS_TARGETS),
            _PROCESS_PATTERN,
        ),
        target=TargetKind.PROCESS,
        value_is="target",
        duration=DurationUse.REQUIRED,
        duration_doc="required: resumed after it",
        doc="Freeze a member (cgroup freezer), resume it later.",
    ),
    FaultKindSpec(
        kind=FaultKind.LEADER_LOSS,
        traits=fault_traits(FaultKind.LEADER_LOSS),
        check=rules.check_leader_loss,
        check_timing=rules.check_strikes_timing,
        value=_choice(
            FaultKind.LEADER_LOSS,
            LEADER_LOSS_ACTIONS,
            "How the current leader is taken out.",
        ),
        target=TargetKind.CHOICE,
        value_is="action",
        duration=DurationUse.OPTIONAL,
        duration_doc="optional: how long the last strike lasts (earlier ones heal at the "
        "next strike); absent = healed as soon as a new leader is elected",
        params=(
            FieldSpec(
                name="repeat",
                type=F.INTEGER,
                minimum=1,
                maximum=100,
                default=1,
                doc="How many leaders in a row (each new leader is the next victim).",
            ),
            FieldSpec(
                name="interval",
                type=F.DURATION,
                minimum=0,
                exclusive_minimum=True,
                default="5s",
                doc="Time between two strikes.",
            ),
            FieldSpec(
                name="component",
                type=F.CHOICE,
                choices=LEADER_COMPONENTS,
                default="store",
                doc="Whose leader: the store's Raft leader, or the member holding the "
                "controller-manager's / scheduler's Lease (isolate = all its links to the "
                "apiservers down).",
            ),
        ),
        doc="Find the leader (store: the status probe; a component: its Lease), then kill, "
        "pause or isolate it.",
    ),
    FaultKindSpec(
        kind=FaultKind.TOXIC,
        traits=fault_traits(FaultKind.TOXIC),
        check=rules.check_toxic,
        draw=draws.toxic_draw,
        value=_choice(
            FaultKind.TOXIC,
            tuple(TOXIC_ATTRIBUTES),
            "Toxiproxy toxic type; its attributes sit beside it (see Toxic attributes).",
        ),
        target=TargetKind.CHOICE,
        value_is="type",
        duration=DurationUse.REQUIRED,
        duration_doc="required: the toxic is removed after it",
        params=TOXIC_COMMON,
        doc="A Toxiproxy toxic on one or more links.",
    ),
    FaultKindSpec(
        kind=FaultKind.LINK_DOWN,
        traits=fault_traits(FaultKind.LINK_DOWN),
        check=rules.check_link_down,
        draw=draws.link_down_draw,
        value=_target(FaultKind.LINK_DOWN, "Link name or glob (as for toxic.link).", LINK_PATTERN),
        target=TargetKind.LINK,
        value_is="target",
        duration=DurationUse.REQUIRED,
        duration_doc="required: the link comes back after it",
        doc="Disable links (Toxiproxy enabled=false): connections refused and cut.",
    ),
    FaultKindSpec(
        kind=FaultKind.ROLLING_RESTART,
        traits=fault_traits(FaultKind.ROLLING_RESTART),
        value=_choice(
            FaultKind.ROLLING_RESTART, ROLLING_GROUPS, "Which group restarts, one by one."
        ),
        target=TargetKind.CHOICE,
        value_is="target",
        duration=DurationUse.FORBIDDEN,
        duration_doc="not allowed: it ends when the last member is back",
        forbidden_hint="a rolling restart ends when the last member is back; tune interval instead",
        params=(
            FieldSpec(
                name="interval",
                type=F.DURATION,
                minimum=0,
                default="2s",
                doc="Wait between one member being ready and the next restart.",
            ),
        ),
        doc="Restart every member of a group in turn, waiting for each to be ready.",
    ),
    FaultKindSpec(
        kind=FaultKind.LOSS,
        traits=fault_traits(FaultKind.LOSS),
        check=rules.check_loss,
        value=_target(
            FaultKind.LOSS,
            "all (every pair in the `members` scope) or a partition target "
            "(isolate:<member>, halves, …): loss on the pairs it would cut.",
            f"^(all|{_PARTITION_PATTERN[2:-2]})$",
        ),
        target=TargetKind.LOSS,
        value_is="target",
        duration=DurationUse.REQUIRED,
        duration_doc="required: the loss stops after it",
        params=(
            FieldSpec(
                name="probability",
                type=F.NUMBER,
                minimum=0,
                maximum=1,
                exclusive_minimum=True,
                required=True,
                doc="Share of packets dropped on each affected pair (iptables statistic).",
            ),
            _ONE_WAY,
            _SCOPE,
        ),
        doc="Random packet loss between members, with iptables in their network namespaces.",
    ),
    FaultKindSpec(
        kind=FaultKind.CLOCK_SKEW,
        traits=fault_traits(FaultKind.CLOCK_SKEW),
        check=rules.check_clock_skew,
        value=_target(
            FaultKind.CLOCK_SKEW,
            "A controller-layer member (controller-manager-<i>, scheduler-<i>, node-<i>), or "
            + " | ".join(COMPONENT_TARGETS),
            f"^({'|'.join(COMPONENT_TARGETS)}|{MEMBER_PATTERN})$",
        ),
        target=TargetKind.PROCESS,
        value_is="target",
        duration=DurationUse.REQUIRED,
        duration_doc="required: the clock is set right after it",
        params=(
            FieldSpec(
                name="offset_s",
                type=F.NUMBER,
                minimum=-86_400,
                maximum=86_400,
                default=0,
                doc="Seconds added to the member's wall clock (negative: behind).",
            ),
            FieldSpec(
                name="rate",
                type=F.NUMBER,
                minimum=0,
                maximum=100,
                exclusive_minimum=True,
                default=1,
                doc="Clock speed (drift): 1 = real time, 1.5 = 50 % fast (libfaketime's x).",
            ),
        ),
        doc="Skew a member's wall clock with libfaketime (no privileges); proved by the "
        "`now` its /status reports.",
    ),
)


def register_fault_kind(spec: FaultKindSpec) -> FaultKindSpec:
    """Add a fault kind: its descriptor here, its traits in ``harness.model.kinds``. Its
    implementation registers with ``harness.nemesis.register(spec.kind)``."""
    if spec.kind in FAULT_KINDS:
        raise HarnessError(f"fault kind {spec.kind!r} registered twice; pick another name")
    if spec.traits.kind != spec.kind or spec.value.name != spec.kind:
        raise HarnessError(
            f"fault kind {spec.kind!r}: traits.kind and value.name must both be {spec.kind!r}"
        )
    register_fault_traits(spec.traits)
    FAULT_KINDS[spec.kind] = spec
    return spec


def unregister_fault_kind(kind: str) -> None:
    """For tests that registered a kind of their own (a built-in kind cannot be removed)."""
    unregister_fault_traits(kind)
    FAULT_KINDS.pop(kind, None)


def kind_names() -> tuple[str, ...]:
    """Every registered kind key, built-in ones first."""
    return tuple(str(k) for k in FAULT_KINDS)


for _spec in BUILTIN_FAULT_KINDS:
    register_fault_kind(_spec)
KIND_NAMES = kind_names()  # the built-in kinds; use kind_names() to see registered ones too


def params_for(spec: FaultKindSpec, value: object) -> tuple[FieldSpec, ...]:
    """The params a fault entry may carry; a toxic adds its type's attributes (all of them
    when the type itself is wrong, so a typo in the type does not flag every attribute)."""
    if spec.kind is not FaultKind.TOXIC:
        return spec.params
    if isinstance(value, str) and value in TOXIC_ATTRIBUTES:
        return spec.params + TOXIC_ATTRIBUTES[value]
    merged = {a.name: a for attrs in TOXIC_ATTRIBUTES.values() for a in attrs}
    return spec.params + tuple(merged.values())

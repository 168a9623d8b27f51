"""The fault-entry table: per fault kind, what its kind key holds and which params it takes.

In a nutshell: a fault entry is a mapping with exactly one kind key (``partition: halves``)
plus ``at``, maybe ``for``, and kind-specific params. ``FAULT_KINDS[kind]`` says what the kind
key's value is, whether ``for`` is required/optional/forbidden, and the params (``FieldSpec``s,
with file names; the loader stores them in ``FaultSpec.params`` under ``param_key``). Toxics
take extra attributes per toxic type, named as in Toxiproxy 2.x (``TOXIC_ATTRIBUTES``).

    FAULT_KINDS[FaultKind.KILL].params[0].name == "restart_after"
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from harness.model import FaultKind
from harness.scenario.fields import FieldSpec, FieldType

F = FieldType

MEMBER_PATTERN = r"(store-[1-7]|api-[1-5])"
PROCESS_TARGETS = ("store-leader", "random-store", "random-apiserver")
PARTITION_MODES = ("isolate-leader", "halves", "majority-minority", "bridge", "ring")
# The fewest store members for which each partition separates anyone (harness.nemesis.grudge).
PARTITION_MIN_MEMBERS = {
    "isolate-leader": 2,
    "halves": 2,
    "majority-minority": 3,
    "bridge": 3,
    "ring": 4,
}
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


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultKindSpec:
    kind: FaultKind
    value: FieldSpec  # the kind key's value (name == kind)
    target: TargetKind
    value_is: str  # "target" (FaultSpec.target) or a params key (e.g. "action", "type")
    duration: DurationUse
    duration_doc: str
    params: tuple[FieldSpec, ...] = ()
    doc: str = ""
    forbidden_hint: str = ""  # why `for` is refused and what to write instead

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


def _target(kind: FaultKind, doc: str, pattern: str) -> FieldSpec:
    return FieldSpec(name=kind.value, type=F.TARGET, pattern=pattern, required=True, doc=doc)


def _choice(kind: FaultKind, choices: tuple[str, ...], doc: str) -> FieldSpec:
    return FieldSpec(name=kind.value, type=F.CHOICE, choices=choices, required=True, doc=doc)


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
FAULT_KINDS: dict[FaultKind, FaultKindSpec] = {
    spec.kind: spec
    for spec in (
        FaultKindSpec(
            kind=FaultKind.PARTITION,
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
            value=_choice(
                FaultKind.LEADER_LOSS,
                LEADER_LOSS_ACTIONS,
                "How the current store leader is taken out.",
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
            ),
            doc="Find the store leader through the status probe, then kill, pause or isolate it.",
        ),
        FaultKindSpec(
            kind=FaultKind.TOXIC,
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
            value=_target(
                FaultKind.LINK_DOWN, "Link name or glob (as for toxic.link).", LINK_PATTERN
            ),
            target=TargetKind.LINK,
            value_is="target",
            duration=DurationUse.REQUIRED,
            duration_doc="required: the link comes back after it",
            doc="Disable links (Toxiproxy enabled=false): connections refused and cut.",
        ),
        FaultKindSpec(
            kind=FaultKind.ROLLING_RESTART,
            value=_choice(
                FaultKind.ROLLING_RESTART, ROLLING_GROUPS, "Which group restarts, one by one."
            ),
            target=TargetKind.CHOICE,
            value_is="target",
            duration=DurationUse.FORBIDDEN,
            duration_doc="not allowed: it ends when the last member is back",
            forbidden_hint="a rolling restart ends when the last member is back; "
            "tune interval instead",
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
    )
}
KIND_NAMES = tuple(k.value for k in FAULT_KINDS)


def params_for(spec: FaultKindSpec, value: object) -> tuple[FieldSpec, ...]:
    """The params a fault entry may carry; a toxic adds its type's attributes (all of them
    when the type itself is wrong, so a typo in the type does not flag every attribute)."""
    if spec.kind is not FaultKind.TOXIC:
        return spec.params
    if isinstance(value, str) and value in TOXIC_ATTRIBUTES:
        return spec.params + TOXIC_ATTRIBUTES[value]
    merged = {a.name: a for attrs in TOXIC_ATTRIBUTES.values() for a in attrs}
    return spec.params + tuple(merged.values())

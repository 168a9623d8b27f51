"""The field tables: the one source of truth for the loader, the JSON Schema and the README.

In a nutshell: every field a scenario file may hold is a ``FieldSpec`` (name, type, bounds,
choices, default, one-line doc). ``ROOT`` nests the sections; fault entries live in
``harness.scenario.faultkinds``. ``check.py`` validates against these tables, ``schema.py``
renders them as JSON Schema and as the README's field reference, so the three cannot drift.

    ROOT.child("workload").child("clients").maximum == 1000
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlplane.bugs import SWITCHES
from harness.model import Engine, WorkloadKind
from harness.model.kinds import workload_kinds, workload_traits

ENGINES = tuple(e.value for e in Engine)
BUG_ZOO = SWITCHES  # the system under test's own list (controlplane/bugs.py), never a copy
# Op names a workload's ``mix`` may weight, per built-in workload kind (Jepsen's ``f`` values),
# from each kind's descriptor (harness.model.kinds); the checks ask ``workload_traits`` live.
MIX_OPS: dict[str, tuple[str, ...]] = {k: workload_traits(k).mix_ops for k in WorkloadKind}
# Workloads that can talk to the store directly (the others need the apiserver's API).
THROUGH_STORE = tuple(k.value for k in WorkloadKind if workload_traits(k).through_store)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
MARKER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,79}$"
MAX_SEED = 2**63 - 1


class FieldType(enum.StrEnum):
    STRING = "string"
    PATTERN = "pattern"  # a string matching ``pattern``
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DURATION = "duration"  # "500ms" / "5s" / number of seconds → float seconds
    CHOICE = "choice"  # one of ``choices``
    CHOICE_LIST = "choice-list"  # distinct items of ``choices``
    PATTERN_LIST = "pattern-list"  # distinct strings matching ``pattern``
    WEIGHTS = "weights"  # mapping of op name → weight ≥ 0 (names checked per workload kind)
    TARGET = "target"  # a member, group, partition or link name, checked against the cluster
    SECTION = "section"  # a mapping of ``fields``
    FAULTS = "faults"  # the list of fault entries (see faultkinds.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    name: str
    type: FieldType
    doc: str
    default: Any = None  # as written in a file (durations as strings); None also means "null"
    required: bool = False
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False  # minimum itself is not allowed (durations that must be > 0)
    choices: tuple[str, ...] = ()
    # Read at each use instead of ``choices`` (a vocabulary others extend: workload kinds).
    choices_from: Callable[[], tuple[str, ...]] | None = None
    pattern: str | None = None  # PATTERN / PATTERN_LIST; for TARGET only the schema's hint
    pattern_doc: str = ""  # the pattern in words, for "expected …"
    fields: tuple[FieldSpec, ...] = ()  # SECTION
    unit_required: bool = False  # DURATION: bare numbers are ambiguous here (Toxiproxy ms vs s)
    output_unit: str | None = None  # DURATION: "ms"/"us" → a whole number in that unit

    def options(self) -> tuple[str, ...]:
        """The valid choices, live when ``choices_from`` is set."""
        return self.choices_from() if self.choices_from is not None else self.choices

    def child(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def rule(self) -> str:
        """What a valid value looks like, completing "expected …"."""
        low = self.minimum
        high = self.maximum
        if self.type in (FieldType.INTEGER, FieldType.NUMBER):
            noun = "an integer" if self.type is FieldType.INTEGER else "a number"
            text = f"{noun} {_range(low, high, self.exclusive_minimum)}".rstrip()
        elif self.type is FieldType.DURATION:
            unit = "with a unit (e.g. 200ms)" if self.unit_required else "(e.g. 500ms, 5s, 1m)"
            bound = "> 0" if self.exclusive_minimum else "≥ 0"
            text = f"a duration {bound} {unit}"
        elif self.type is FieldType.CHOICE:
            text = "one of " + ", ".join(self.options())
        elif self.type is FieldType.CHOICE_LIST:
            text = "a list of distinct names from " + ", ".join(self.options())
        elif self.type is FieldType.PATTERN:
            text = self.pattern_doc or f"a string matching {self.pattern}"
        elif self.type is FieldType.PATTERN_LIST:
            text = f"a list of distinct items, each {self.pattern_doc or self.pattern}"
        elif self.type is FieldType.WEIGHTS:
            text = "a mapping of op name → weight ≥ 0"
        elif self.type is FieldType.SECTION:
            text = "a mapping with fields " + ", ".join(f.name for f in self.fields)
        elif self.type is FieldType.FAULTS:
            text = "a list of fault entries"
        elif self.type is FieldType.BOOLEAN:
            text = "true or false"
        elif self.type is FieldType.TARGET and self.pattern_doc:
            text = self.pattern_doc
        else:
            text = "a string"
        return f"{text} or null" if self.nullable else text


def _range(low: float | None, high: float | None, exclusive_low: bool) -> str:
    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if low is not None and high is not None and not exclusive_low:
        return f"{fmt(low)}–{fmt(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if exclusive_low else '≥'} {fmt(low)}")
    if high is not None:
        parts.append(f"≤ {fmt(high)}")
    return " and ".join(parts)


F = FieldType

CLUSTER = FieldSpec(
    name="cluster",
    type=F.SECTION,
    doc="The system under test: the Raft store and the apiservers in front of it.",
    fields=(
        FieldSpec(
            name="store",
            type=F.SECTION,
            doc="The replicated key-value store (the etcd role).",
            fields=(
                FieldSpec(
                    name="engine",
                    type=F.CHOICE,
                    choices=ENGINES,
                    default="pysyncobj",
                    doc="Raft engine of every store member; etcd is the reference store.",
                ),
                FieldSpec(
                    name="members",
                    type=F.INTEGER,
                    minimum=1,
                    maximum=7,
                    default=3,
                    doc="Store members, named store-1 … store-N.",
                ),
            ),
        ),
        FieldSpec(
            name="apiservers",
            type=F.INTEGER,
            minimum=1,
            maximum=5,
            default=2,
            doc="Apiserver replicas, named api-1 … api-M.",
        ),
        FieldSpec(
            name="controller_managers",
            type=F.INTEGER,
            minimum=0,
            maximum=3,
            default=0,
            doc="kube-controller-manager replicas (one leads, by Lease), controller-manager-1 …; "
            "0: no controller layer.",
        ),
        FieldSpec(
            name="schedulers",
            type=F.INTEGER,
            minimum=0,
            maximum=3,
            default=0,
            doc="kube-scheduler replicas (one leads, by Lease), named scheduler-1 ….",
        ),
        FieldSpec(
            name="nodes",
            type=F.INTEGER,
            minimum=0,
            maximum=10,
            default=0,
            doc="Simulated nodes (kubelets that run no containers), named node-1 ….",
        ),
        FieldSpec(
            name="bugs",
            type=F.CHOICE_LIST,
            choices=BUG_ZOO,
            default=[],
            doc="Bug-zoo switches turned on in the control plane (the harness must catch them).",
        ),
    ),
)

WORKLOAD = FieldSpec(
    name="workload",
    type=F.SECTION,
    doc="The clients and what they do while the faults strike.",
    fields=(
        FieldSpec(
            name="kind",
            type=F.CHOICE,
            choices=tuple(k.value for k in WorkloadKind),
            choices_from=lambda: tuple(str(k) for k in workload_kinds()),
            default="register",
            doc="register: read/write/cas/delete on keys; objects: Kubernetes-style CRUD; "
            "set: unique creates then a final read; watch: watchers across failover; "
            "deployments: Deployments and pods through the controller layer (needs "
            "cluster.controller_managers, schedulers and nodes).",
        ),
        FieldSpec(
            name="clients",
            type=F.INTEGER,
            minimum=1,
            maximum=1000,
            default=4,
            doc="Concurrent client processes.",
        ),
        FieldSpec(
            name="keys",
            type=F.INTEGER,
            minimum=1,
            maximum=100_000,
            default=4,
            doc="Distinct keys (or object names) the clients share.",
        ),
        FieldSpec(
            name="rate",
            type=F.NUMBER,
            minimum=0,
            maximum=100_000,
            default=100,
            doc="Target operations per second over all clients; 0 = as fast as possible.",
        ),
        FieldSpec(
            name="duration",
            type=F.DURATION,
            minimum=0,
            exclusive_minimum=True,
            default="20s",
            doc="How long the workload runs; every fault's `at` must fall inside it.",
        ),
        FieldSpec(
            name="op_timeout",
            type=F.DURATION,
            minimum=0,
            exclusive_minimum=True,
            default="1s",
            doc="Client deadline per operation; a timeout is recorded as `info` (unknown).",
        ),
        FieldSpec(
            name="through",
            type=F.CHOICE,
            choices=("apiserver", "store"),
            default="apiserver",
            doc="Where clients send requests: the apiservers, or the store directly "
            "(register and set only).",
        ),
        FieldSpec(
            name="mix",
            type=F.WEIGHTS,
            default={},
            doc="Op name → relative weight; {} = the workload's default. Ops per kind: "
            + "; ".join(f"{k}: {', '.join(v) or '(no mix)'}" for k, v in MIX_OPS.items())
            + ".",
        ),
        FieldSpec(
            name="read_consistency",
            type=F.CHOICE,
            choices=("linearizable", "serializable"),
            default="linearizable",
            doc="serializable (local, possibly stale reads) only with engine etcd.",
        ),
        FieldSpec(
            name="value_size",
            type=F.INTEGER,
            minimum=0,
            maximum=1_000_000,
            default=0,
            doc="Bytes of padding in every written value (register workload through the "
            "store); 0 = plain integers. Large values probe size limits (raftos: ~48 KB).",
        ),
        FieldSpec(
            name="workers",
            type=F.INTEGER,
            minimum=0,
            maximum=64,
            default=0,
            doc="Processes the clients are spread over (register and set); 0 = derived: one "
            "up to 500 ops/s, else one per core.",
        ),
    ),
)

ADEQUACY = FieldSpec(
    name="adequacy",
    type=F.SECTION,
    doc="What a run must prove to decide; short of it, the verdict is unknown and says which "
    "number fell short. null = derived from the workload.",
    fields=(
        FieldSpec(
            name="min_ok_before",
            type=F.INTEGER,
            nullable=True,
            minimum=0,
            maximum=1_000_000,
            default=None,
            doc="Ok ops before the first fault; null = 2 × workload.clients (at least 5).",
        ),
        FieldSpec(
            name="min_ops_during",
            type=F.INTEGER,
            nullable=True,
            minimum=0,
            maximum=1_000_000,
            default=None,
            doc="Completed ops (any outcome) in each fault window; null = workload.clients. "
            "Never above half the ops the rate schedules in the window.",
        ),
        FieldSpec(
            name="min_ok_after",
            type=F.INTEGER,
            nullable=True,
            minimum=0,
            maximum=1_000_000,
            default=None,
            doc="Ok ops after the last heal; null = workload.clients.",
        ),
        FieldSpec(
            name="min_rate_share",
            type=F.NUMBER,
            minimum=0,
            maximum=1,
            default=0,
            doc="Share of workload.rate reached before the first fault; 0 = not judged.",
        ),
        FieldSpec(
            name="require_effect",
            type=F.BOOLEAN,
            default=True,
            doc="A fault whose verification found it not in effect makes the run unknown.",
        ),
    ),
)

EXPECT = FieldSpec(
    name="expect",
    type=F.SECTION,
    doc="What the checkers must find for the run to pass.",
    fields=(
        FieldSpec(
            name="linearizable",
            type=F.BOOLEAN,
            default=True,
            doc="Every key's history is linearizable.",
        ),
        FieldSpec(
            name="no_lost_writes",
            type=F.BOOLEAN,
            default=True,
            doc="Every acknowledged write is visible in the final read after healing.",
        ),
        FieldSpec(
            name="recovered_within",
            type=F.DURATION,
            nullable=True,
            minimum=0,
            exclusive_minimum=True,
            default="15s",
            doc="After the last heal, a leader and an ok op on every apiserver within this; "
            "null = not checked.",
        ),
        FieldSpec(
            name="converged_within",
            type=F.DURATION,
            nullable=True,
            minimum=0,
            exclusive_minimum=True,
            default="15s",
            doc="After the last heal, all store members agree (applied index, state hash) "
            "within this; null = not checked.",
        ),
        FieldSpec(
            name="min_availability",
            type=F.NUMBER,
            nullable=True,
            minimum=0,
            maximum=1,
            default=None,
            doc="Share of ok ops on the majority side during faults; null = not checked.",
        ),
        FieldSpec(
            name="watch_ordered",
            type=F.BOOLEAN,
            default=False,
            doc="Watch events arrive in order, none duplicated, none missing.",
        ),
    ),
)

ROOT = FieldSpec(
    name="(document)",
    type=F.SECTION,
    doc="A chaos scenario: a cluster, a workload, faults on a schedule, expectations.",
    fields=(
        FieldSpec(
            name="name",
            type=F.PATTERN,
            pattern=NAME_PATTERN,
            pattern_doc="a name of letters, digits, '.', '_' and '-' (≤ 80, no spaces)",
            required=True,
            doc="Scenario id, used in run directories and test ids.",
        ),
        FieldSpec(name="description", type=F.STRING, default="", doc="What the scenario shows."),
        CLUSTER,
        WORKLOAD,
        FieldSpec(
            name="faults",
            type=F.FAULTS,
            default=[],
            doc="Fault entries, each with exactly one kind key (see Faults).",
        ),
        EXPECT,
        ADEQUACY,
        FieldSpec(
            name="seed",
            type=F.INTEGER,
            nullable=True,
            minimum=0,
            maximum=MAX_SEED,
            default=None,
            doc="Seed for every random choice; null = chosen (and recorded) at run time.",
        ),
        FieldSpec(
            name="markers",
            type=F.PATTERN_LIST,
            pattern=MARKER_PATTERN,
            pattern_doc="a Python identifier (a pytest marker name)",
            default=[],
            doc="pytest markers for the collected test, e.g. [slow].",
        ),
    ),
)

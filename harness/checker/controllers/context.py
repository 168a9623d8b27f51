"""What every controller checker reads, parsed once per run: objects, timings, samples, faults.

In a nutshell: ``context(run)`` builds (and caches for the last few runs) a ``Context`` from a
``RunData``: the ``ObjectHistory`` of the k8s-event ops, run.json's ``controlplane_timings``
(C4), the component samples of ``components.jsonl`` beside the history, the workload's client
ops, the last heal, and the tolerances of run.json's optional ``checker.controllers`` object:

    {"checker": {"controllers": {"slack_s": 1.0, "converge_within_s": 30,
                                 "reschedule_within_s": 30, "action_slack_s": 2.0,
                                 "decision_lag_s": 5.0}}}

``slack_s`` (ε) absorbs the watch's delivery delay between the harness seeing two versions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checker.controllers.model import ObjectHistory
from harness.checker.rundata import NS_PER_S, RunData
from harness.history import FaultPhase, Op
from harness.history.k8s import (
    COMPONENTS_FILE,
    K8S_EVENT_F,
    ComponentSample,
    ControlplaneTimings,
    read_components,
)

CLIENT_FS = frozenset(
    {
        "create-deployment",
        "scale-deployment",
        "roll-deployment",
        "delete-deployment",
        "create-pod",
        "delete-pod",
        "bind-pod",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerances:
    slack_s: float = 1.0
    converge_within_s: float = 30.0
    reschedule_within_s: float = 30.0
    # From taking the Lease (and acting) to a first write: seen 2.3 s on a loaded 2-core box.
    action_slack_s: float = 3.0
    # A write checked against the renew deadline just before it is sent may land up to the
    # components' request timeout later (controlplane.kubeclient: 3 s).
    in_flight_s: float = 3.0
    # From a controller's decision to its write reaching the store: seconds on a loaded
    # machine (seen: a ReplicaSet's creations landing 2.6 s after its decision).
    decision_lag_s: float = 5.0

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Tolerances:
        checker = meta.get("checker") or {}
        raw = checker.get("controllers") if isinstance(checker, Mapping) else None
        raw = raw if isinstance(raw, Mapping) else {}
        expect = meta.get("expect") or {}
        values: dict[str, float] = {}
        converge = expect.get("converged_within_s") if isinstance(expect, Mapping) else None
        if converge is not None:
            values["converge_within_s"] = float(converge)
        for name in cls.__dataclass_fields__:
            if name in raw:
                try:
                    values[name] = float(raw[name])
                except (TypeError, ValueError):
                    raise ValueError(
                        f"run.json: checker.controllers.{name}: got {raw[name]!r}; expected seconds"
                    ) from None
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    objects: ObjectHistory
    timings: ControlplaneTimings
    tolerances: Tolerances
    components: list[ComponentSample] = field(default_factory=list)
    client_ops: list[Op] = field(default_factory=list)
    last_heal: int | None = None  # ns; None: the run had no faults
    end_time: int = 0
    faults: list[Any] = field(default_factory=list)  # FaultEvent records, by time

    @property
    def slack_ns(self) -> int:
        return int(self.tolerances.slack_s * NS_PER_S)

    @property
    def lag_ns(self) -> int:
        return int(self.tolerances.decision_lag_s * NS_PER_S)


_CACHE: list[tuple[RunData, Context]] = []
_CACHE_SIZE = 2


def context(run: RunData) -> Context:
    """The parsed run; cached by identity so nine checkers parse one history once."""
    for cached_run, ctx in _CACHE:
        if cached_run is run:
            return ctx
    ctx = build(run)
    _CACHE.insert(0, (run, ctx))
    del _CACHE[_CACHE_SIZE:]
    return ctx


def build(run: RunData) -> Context:
    objects = ObjectHistory.of_ops(run.ops)
    components = _components(run.source)
    client_ops = [o for o in run.ops if o.f in CLIENT_FS]
    heals = [f.time for f in run.faults if f.type is FaultPhase.END]
    starts = {f.id for f in run.faults if f.type is FaultPhase.START}
    ended = {f.id for f in run.faults if f.type is FaultPhase.END}
    # An instantaneous fault (a kill with no end) heals as it starts, as far as we can tell.
    heals += [f.time for f in run.faults if f.type is FaultPhase.START and f.id not in ended]
    # The end of what the watchers recorded: the component probe may sample on for a while
    # after the workload stopped, and nothing seen then can show an object's state.
    end = max([objects.end_time, *(o.time for o in run.ops[-1:])], default=0)
    return Context(
        objects=objects,
        timings=_timings(run.meta, components),
        tolerances=Tolerances.from_meta(run.meta),
        components=components,
        client_ops=client_ops,
        last_heal=max(heals) if heals and starts else None,
        end_time=end,
        faults=list(run.faults),
    )


def _timings(meta: Mapping[str, Any], components: list[ComponentSample]) -> ControlplaneTimings:
    """run.json's ``controlplane_timings`` (C4); else what the components reported."""
    raw = meta.get("controlplane_timings")
    if raw:
        return ControlplaneTimings.from_json(raw)
    return ControlplaneTimings.from_components(components)


def _components(source: Path) -> list[ComponentSample]:
    path = (source if source.is_dir() else source.parent) / COMPONENTS_FILE
    if not path.is_file():
        return []
    return sorted(read_components(path), key=lambda s: s.time)


def has_k8s_events(run: RunData) -> bool:
    return any(o.f == K8S_EVENT_F for o in run.ops)


def seconds(ns: int | float) -> float:
    return round(ns / NS_PER_S, 3)


# A healthy control plane writes several times a second (leader renewals every retry period,
# node heartbeats every renew interval); no version of any object for this long means the
# API accepted no write at all — an outage no component could act through.
SILENCE_NS = 1_500_000_000


def silences(ctx: Context) -> list[tuple[int, int]]:
    """Spans in which no version of any object was observed (longer than ``SILENCE_NS``)."""
    cached = _SILENCES.get(id(ctx))
    if cached is not None and cached[0] is ctx:
        return cached[1]
    leases = [c for k, c in ctx.objects.chains.items() if k.startswith("leases/")]
    if not any(k.startswith("leases/kube-node-lease/") for k in ctx.objects.chains):
        return []  # no heartbeats to expect: a silence says nothing
    times = sorted({v.time for chain in leases for v in chain})
    out = [(a, b) for a, b in itertools.pairwise(times) if b - a > SILENCE_NS]
    _SILENCES.clear()
    _SILENCES[id(ctx)] = (ctx, out)
    return out


_SILENCES: dict[int, tuple[Context, list[tuple[int, int]]]] = {}


def outage_ns(ctx: Context, start: int, until: int) -> int:
    """How long the API was silent between ``start`` and ``until`` — extended while silences
    keep starting before the extended end (a deadline moves past every outage it meets)."""
    extra = 0
    for a, b in silences(ctx):
        if b <= start:
            continue
        if a >= until + extra:
            break
        extra += b - max(a, start)
    return extra


def idle_spans(ctx: Context) -> list[tuple[int, int]]:
    """Spans in which no controller-manager, or no scheduler, said it was acting
    (components.jsonl); empty without samples."""
    out: list[tuple[int, int]] = []
    for prefix in ("controller-manager-", "scheduler-"):
        samples = [c for c in ctx.components if c.member.startswith(prefix)]
        if not samples:
            continue
        acting_by: dict[str, bool] = {}
        idle_from: int | None = None
        for c in samples:
            acting_by[c.member] = c.reachable and c.leader
            anyone = any(acting_by.values())
            if not anyone and idle_from is None:
                idle_from = c.time
            elif anyone and idle_from is not None:
                out.append((idle_from, c.time))
                idle_from = None
        if idle_from is not None:
            out.append((idle_from, ctx.end_time))
    return out


def stalled_ns(ctx: Context, start: int, until: int) -> int:
    """How long, from ``start``, the controllers could not act: API silences and spans with no
    acting leader, merged, extended while they keep starting before the extended end."""
    spans = sorted([*silences(ctx), *idle_spans(ctx)])
    extra = 0
    covered = start
    for a, b in spans:
        if b <= covered:
            continue
        if a >= until + extra:
            break
        lo = max(a, covered)
        extra += b - lo
        covered = b
    return extra

"""Controller-layer records (contract C4): watch events of Kubernetes objects, component status.

In a nutshell: the ``deployments`` workload records every watch event of deployments,
replicasets, pods, nodes and leases as an ``Op`` with ``f = "k8s-event"`` whose value is a
``K8sEvent`` (``event``, ``resource``, ``rv``, ``object``); the object is cut down by the ONE
function :func:`trim_object`, which keeps the metadata and the spec/status fields the
controller checkers read. Component ``/status`` samples (C3) go to ``components.jsonl`` as
``ComponentSample`` records; run.json's ``controlplane_timings`` reads as ``ControlplaneTimings``.

    value = K8sEvent(event=WatchEventType.ADDED, resource=K8sResource.PODS, rv=17,
                     object=trim_object(K8sResource.PODS, pod)).to_json()
    ev = K8sEvent.from_op(op)          # None when op is not a k8s-event

A ``RELIST`` marker (the watcher listed again, after a 410 or a broken stream it could not
resume) has ``object: null``, ``rv`` = the list's resourceVersion, ``keys`` = the keys the list
held and ``gap`` (true unless it is the watcher's first list): events between the last one seen
and the list may be missing. The listed objects follow as ``ADDED`` events with
``listed: true`` (their resourceVersion is the object's, not the list's).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.history.jsonl import read_jsonl
from harness.history.records import Op

K8S_EVENT_F = "k8s-event"
COMPONENTS_FILE = "components.jsonl"
WRITER_ANNOTATION = "chaosplane.io/writer"
TRANSITIONS_ANNOTATION = "chaosplane.io/writer-transitions"
# Annotation prefixes kept on trimmed objects: the fencing annotations (C3) and the deployment
# controller's revision bookkeeping (deployment.kubernetes.io/revision, desired-replicas, ...).
KEPT_ANNOTATION_PREFIXES = ("chaosplane.io/", "deployment.kubernetes.io/")


class K8sResource(enum.StrEnum):
    DEPLOYMENTS = "deployments"
    REPLICASETS = "replicasets"
    PODS = "pods"
    NODES = "nodes"
    LEASES = "leases"


class WatchEventType(enum.StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    RELIST = "RELIST"  # a marker, not an object change: see the module docstring


def event_key(resource: K8sResource | str, namespace: str | None, name: str | None) -> str:
    """``<resource>/<namespace or ->/<name or ->``: the op key of a k8s-event (C4)."""
    return f"{resource}/{namespace or '-'}/{name or '-'}"


# ---- trimming -----------------------------------------------------------------------------------


def trim_object(resource: K8sResource | str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of ``obj`` the checkers read; everything else (managedFields, images' digests,
    timestamps other than deletionTimestamp) is dropped so the history stays small."""
    out: dict[str, Any] = {"metadata": _metadata(obj.get("metadata"))}
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    res = K8sResource(resource)
    if res is K8sResource.PODS:
        out["spec"] = _pod_spec(spec)
        out["status"] = {
            "phase": status.get("phase"),
            "reason": status.get("reason"),
            "conditions": [_condition(c) for c in _list(status.get("conditions"))],
        }
    elif res is K8sResource.NODES:
        out["spec"] = {
            "unschedulable": bool(spec.get("unschedulable", False)),
            "taints": [
                {k: t.get(k) for k in ("key", "effect", "timeAdded") if t.get(k) is not None}
                for t in _list(spec.get("taints"))
            ],
        }
        out["status"] = {
            "allocatable": dict(_dict(status.get("allocatable"))),
            "capacity": dict(_dict(status.get("capacity"))),
            "conditions": [_condition(c) for c in _list(status.get("conditions"))],
        }
    elif res is K8sResource.LEASES:
        keep = ("holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime")
        out["spec"] = {k: spec.get(k) for k in (*keep, "leaseTransitions")}
    else:  # deployments, replicasets
        trimmed: dict[str, Any] = {
            "replicas": spec.get("replicas"),
            "selector": _dict(spec.get("selector")).get("matchLabels"),
            "template": _template(_dict(spec.get("template"))),
        }
        if res is K8sResource.DEPLOYMENTS:
            strategy = _dict(spec.get("strategy"))
            rolling = _dict(strategy.get("rollingUpdate"))
            trimmed["strategy"] = {
                "type": strategy.get("type"),
                "maxSurge": rolling.get("maxSurge"),
                "maxUnavailable": rolling.get("maxUnavailable"),
            }
        out["spec"] = trimmed
        keys = ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas")
        out["status"] = {k: status.get(k) for k in (*keys, "observedGeneration") if k in status}
    return out


def _metadata(raw: Any) -> dict[str, Any]:
    meta = _dict(raw)
    out: dict[str, Any] = {
        k: meta.get(k)
        for k in ("name", "namespace", "uid", "resourceVersion", "generation")
        if meta.get(k) is not None
    }
    out["labels"] = dict(_dict(meta.get("labels")))
    out["annotations"] = {
        k: v
        for k, v in _dict(meta.get("annotations")).items()
        if k.startswith(KEPT_ANNOTATION_PREFIXES)
    }
    owners = [
        {k: o.get(k) for k in ("kind", "name", "uid", "controller") if o.get(k) is not None}
        for o in _list(meta.get("ownerReferences"))
    ]
    if owners:
        out["ownerReferences"] = owners
    for k in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        if meta.get(k) is not None:
            out[k] = meta[k]
    return out


def _pod_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "nodeName": spec.get("nodeName") or None,
        "containers": [
            {
                "name": c.get("name"),
                "image": c.get("image"),
                "requests": dict(_dict(_dict(c.get("resources")).get("requests"))),
            }
            for c in _list(spec.get("containers"))
        ],
    }
    if spec.get("nodeSelector"):
        out["nodeSelector"] = dict(_dict(spec.get("nodeSelector")))
    return out


def _template(template: Mapping[str, Any]) -> dict[str, Any]:
    meta = _dict(template.get("metadata"))
    return {
        "labels": dict(_dict(meta.get("labels"))),
        "spec": _pod_spec(_dict(template.get("spec"))),
    }


def _condition(raw: Any) -> dict[str, Any]:
    c = _dict(raw)
    keep = ("type", "status", "reason", "lastHeartbeatTime", "lastTransitionTime")
    return {k: c[k] for k in keep if c.get(k) is not None}


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


# ---- watch events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class K8sEvent:
    """The value of a ``k8s-event`` op."""

    event: WatchEventType
    resource: K8sResource
    rv: int
    object: dict[str, Any] | None = None  # trimmed; None for RELIST
    keys: tuple[str, ...] = ()  # RELIST only: the keys the list held
    gap: bool = False  # RELIST only: events before the list may be missing
    listed: bool = False  # an ADDED from a (re)list, not a change seen as it happened

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event": self.event.value,
            "resource": self.resource.value,
            "rv": self.rv,
            "object": self.object,
        }
        if self.event is WatchEventType.RELIST:
            out["keys"] = list(self.keys)
            out["gap"] = self.gap
        if self.listed:
            out["listed"] = True
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> K8sEvent:
        obj = d.get("object")
        return cls(
            event=WatchEventType(d["event"]),
            resource=K8sResource(d["resource"]),
            rv=int(d["rv"]),
            object=dict(obj) if isinstance(obj, Mapping) else None,
            keys=tuple(str(k) for k in d.get("keys") or ()),
            gap=bool(d.get("gap", False)),
            listed=bool(d.get("listed", False)),
        )

    @classmethod
    def from_op(cls, op: Op) -> K8sEvent | None:
        """The event an op records, or None when it is another kind of op."""
        if op.f != K8S_EVENT_F or not isinstance(op.value, Mapping):
            return None
        return cls.from_json(op.value)


def object_key(resource: K8sResource | str, obj: Mapping[str, Any]) -> str:
    meta = _dict(obj.get("metadata"))
    return event_key(resource, meta.get("namespace"), meta.get("name"))


# ---- component status samples -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentSample:
    """One probe of one component's ``/status`` (C3), or a failure to reach it."""

    time: int  # ns since the run started
    member: str  # controller-manager-1, scheduler-2, node-3
    reachable: bool
    identity: str | None = None
    leader: bool = False
    lease_transitions: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    bugs: tuple[str, ...] = ()
    pods: tuple[dict[str, Any], ...] = ()  # kubelets: {"namespace", "name", "uid", "phase"}
    node_ready: bool | None = None  # kubelets

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": self.time,
            "member": self.member,
            "reachable": self.reachable,
            "identity": self.identity,
            "leader": self.leader,
            "lease_transitions": self.lease_transitions,
            "timings": dict(self.timings),
            "bugs": list(self.bugs),
        }
        if self.pods:
            out["pods"] = [dict(p) for p in self.pods]
        if self.node_ready is not None:
            out["node_ready"] = self.node_ready
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ComponentSample:
        transitions = d.get("lease_transitions")
        ready = d.get("node_ready")
        return cls(
            time=int(d["time"]),
            member=str(d["member"]),
            reachable=bool(d["reachable"]),
            identity=None if d.get("identity") is None else str(d["identity"]),
            leader=bool(d.get("leader", False)),
            lease_transitions=None if transitions is None else int(transitions),
            timings={str(k): float(v) for k, v in _dict(d.get("timings")).items()},
            bugs=tuple(str(b) for b in d.get("bugs") or ()),
            pods=tuple(dict(p) for p in _list(d.get("pods"))),
            node_ready=None if ready is None else bool(ready),
        )

    @classmethod
    def from_status(cls, *, time: int, member: str, body: Mapping[str, Any]) -> ComponentSample:
        """A sample from a ``GET /status`` answer (C3)."""
        return cls.from_json({**body, "time": time, "member": member, "reachable": True})


def read_components(path: Path) -> Iterator[ComponentSample]:
    for d in read_jsonl(path):
        yield ComponentSample.from_json(d)


def components_path(run_root: Path) -> Path:
    return run_root / COMPONENTS_FILE


# ---- configured timings -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlplaneTimings:
    """run.json's ``controlplane_timings``: the C3 durations the run used, in seconds.

    Keys are the C3 env names lower-cased (``le_lease_duration_s``); the env names themselves
    (``LE_LEASE_DURATION_S``) are accepted too. Absent keys take C3's defaults, and
    ``defaulted`` names them so a checker can say its bound rests on a default.
    """

    le_lease_duration_s: float = 4.0
    le_renew_deadline_s: float = 3.0
    le_retry_period_s: float = 0.5
    node_lease_duration_s: float = 4.0
    node_renew_interval_s: float = 1.0
    node_monitor_period_s: float = 0.5
    node_monitor_grace_s: float = 4.0
    pod_eviction_timeout_s: float = 6.0
    defaulted: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> ControlplaneTimings:
        given = {str(k).lower(): v for k, v in _dict(raw).items()}
        names = [n for n in cls.__dataclass_fields__ if n != "defaulted"]
        values: dict[str, Any] = {}
        for name in names:
            if name in given:
                try:
                    values[name] = float(given[name])
                except (TypeError, ValueError):
                    raise ValueError(
                        f"run.json: controlplane_timings.{name}: got {given[name]!r}; "
                        "expected a number of seconds"
                    ) from None
        defaulted = tuple(n for n in names if n not in values)
        return cls(**values, defaulted=defaulted)

    def to_json(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in self.__dataclass_fields__ if n != "defaulted"}

    @classmethod
    def from_components(cls, samples: Iterable[ComponentSample]) -> ControlplaneTimings:
        """The timings the components report on ``/status`` (feat/ctrl's key names), for a run
        whose run.json lacks ``controlplane_timings``; the first sample naming a key wins."""
        found: dict[str, float] = {}
        for s in samples:
            for key, value in s.timings.items():
                name = STATUS_TIMING_NAMES.get(key)
                if name is not None:
                    found.setdefault(name, value)
        return cls.from_json(found)


# /status "timings" keys of the components (C3 as built) → ControlplaneTimings fields.
STATUS_TIMING_NAMES: dict[str, str] = {
    "lease_duration_s": "le_lease_duration_s",
    "renew_deadline_s": "le_renew_deadline_s",
    "retry_period_s": "le_retry_period_s",
    "node_monitor_period_s": "node_monitor_period_s",
    "node_grace_s": "node_monitor_grace_s",
    "node_eviction_timeout_s": "pod_eviction_timeout_s",
    "node_lease_duration_s": "node_lease_duration_s",
    "node_renew_interval_s": "node_renew_interval_s",
}


__all__ = [
    "COMPONENTS_FILE",
    "K8S_EVENT_F",
    "TRANSITIONS_ANNOTATION",
    "WRITER_ANNOTATION",
    "ComponentSample",
    "ControlplaneTimings",
    "K8sEvent",
    "K8sResource",
    "WatchEventType",
    "components_path",
    "event_key",
    "object_key",
    "read_components",
    "trim_object",
]

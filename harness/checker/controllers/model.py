"""The recorded Kubernetes objects of a run, as per-object version chains in store order.

In a nutshell: ``ObjectHistory.of_ops(ops)`` turns the ``k8s-event`` ops (C4) of every watcher
into one chain of ``Version``s per object key, sorted by resourceVersion (the store's global
revision, so versions of different objects are ordered too) and deduplicated (two watchers, or
a relist, may report the same version). ``time`` (ns since the run started) is the earliest
moment any watcher had seen that revision or a later one: an upper bound on its commit time
that one slow watcher does not push back. A RELIST whose keys lack an object we believed
alive adds an inferred deletion at the list's resourceVersion. ``sweep`` replays every
version in store order.

    h = ObjectHistory.of_ops(run.ops)
    for v, state in h.sweep({K8sResource.PODS, K8sResource.NODES}): ...
    h.at("nodes/-/node-1", rv=120)        # the node as of revision 120, or None

Object predicates used by several checkers (pod Ready, node Ready, owner, requests) live here.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.checker.controllers.quantity import parse_quantity
from harness.history import Op
from harness.history.k8s import (
    TRANSITIONS_ANNOTATION,
    WRITER_ANNOTATION,
    K8sEvent,
    K8sResource,
    WatchEventType,
    object_key,
)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    key: str
    resource: K8sResource
    rv: int
    time: int  # ns, first observation
    obj: Obj  # the object (its last state for a deletion)
    deleted: bool = False
    inferred: bool = False  # a deletion deduced from a relist, not seen as an event
    listed: bool = False  # first seen in a (re)list: changes before it may be unseen


@dataclass(frozen=True, slots=True, kw_only=True)
class Relist:
    resource: K8sResource
    time: int
    rv: int
    gap: bool


@dataclass(slots=True, kw_only=True)
class ObjectHistory:
    chains: dict[str, list[Version]] = field(default_factory=dict)
    relists: list[Relist] = field(default_factory=list)
    events: int = 0
    # Two different objects reported at one (key, resourceVersion): the store forked.
    conflicts: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def of_ops(cls, ops: Iterable[Op]) -> ObjectHistory:
        h = cls()
        seen: set[tuple[str, int, bool]] = set()
        content: dict[tuple[str, int], str] = {}
        for op in ops:
            ev = K8sEvent.from_op(op)
            if ev is None:
                continue
            h.events += 1
            if ev.event is WatchEventType.RELIST:
                h.relists.append(Relist(resource=ev.resource, time=op.time, rv=ev.rv, gap=ev.gap))
                h._infer_deletions(ev, op.time, seen)
                continue
            if ev.object is None:
                continue
            key = object_key(ev.resource, ev.object)
            deleted = ev.event is WatchEventType.DELETED
            # A server may report a deletion at the last live revision: keyed apart from the
            # live version it repeats, and sorted after it.
            if not deleted:
                text = json.dumps(ev.object, sort_keys=True, default=str)
                if content.setdefault((key, ev.rv), text) != text:
                    h.conflicts.append((key, ev.rv))
            if (key, ev.rv, deleted) in seen:
                continue  # the same version from a second watcher or a relist
            seen.add((key, ev.rv, deleted))
            h.chains.setdefault(key, []).append(
                Version(
                    key=key,
                    resource=ev.resource,
                    rv=ev.rv,
                    time=op.time,
                    obj=ev.object,
                    deleted=deleted,
                    listed=ev.listed,
                )
            )
        h._commit_times()
        for chain in h.chains.values():
            chain.sort(key=lambda v: (v.rv, v.deleted))
        return h

    def _commit_times(self) -> None:
        """Re-time each version by the earliest moment any watcher saw it or a later revision.

        Revisions are global, so once revision R' > R has been seen, R was committed already:
        the suffix minimum over revisions is an upper bound on each commit time, as tight as
        the fastest watcher. A watcher that stalled (a broken stream resumed later, a relist)
        then no longer makes its versions look late, which would fake heartbeat gaps or
        early evictions."""
        versions = sorted((v for c in self.chains.values() for v in c), key=lambda v: -v.rv)
        earliest: dict[int, int] = {}
        best: int | None = None
        for v in versions:
            best = v.time if best is None else min(best, v.time)
            earliest[v.rv] = best
        for key, chain in self.chains.items():
            self.chains[key] = [
                v if earliest[v.rv] >= v.time else dataclasses.replace(v, time=earliest[v.rv])
                for v in chain
            ]

    def _infer_deletions(self, ev: K8sEvent, time: int, seen: set[tuple[str, int, bool]]) -> None:
        listed = set(ev.keys)
        prefix = f"{ev.resource}/"
        for key, chain in self.chains.items():
            if not key.startswith(prefix) or key in listed:
                continue
            last = max(chain, key=lambda v: (v.rv, v.deleted))
            if last.deleted or last.rv > ev.rv:
                continue
            seen.add((key, ev.rv, True))
            chain.append(
                Version(
                    key=key,
                    resource=ev.resource,
                    rv=ev.rv,
                    time=time,
                    obj=last.obj,
                    deleted=True,
                    inferred=True,
                )
            )

    # ---- queries --------------------------------------------------------------------------
    def keys(self, resource: K8sResource) -> list[str]:
        prefix = f"{resource}/"
        return sorted(k for k in self.chains if k.startswith(prefix))

    def chain(self, key: str) -> list[Version]:
        return self.chains.get(key, [])

    def at(self, key: str, rv: int) -> Version | None:
        """The latest version of ``key`` with revision ≤ ``rv`` (None: not created yet)."""
        chain = self.chains.get(key)
        if not chain:
            return None
        i = bisect.bisect_right([v.rv for v in chain], rv)
        return chain[i - 1] if i else None

    def all_versions(self, resources: Iterable[K8sResource] | None = None) -> list[Version]:
        wanted = None if resources is None else {str(r) for r in resources}
        out = [
            v
            for chain in self.chains.values()
            for v in chain
            if wanted is None or str(v.resource) in wanted
        ]
        out.sort(key=lambda v: (v.rv, v.deleted, v.key))
        return out

    def sweep(
        self, resources: Iterable[K8sResource] | None = None
    ) -> Iterator[tuple[Version, dict[str, Obj]]]:
        """Each version in store order with the live objects just after it (one dict, updated
        in place: copy what you keep)."""
        state: dict[str, Obj] = {}
        for v in self.all_versions(resources):
            if v.deleted:
                state.pop(v.key, None)
            else:
                state[v.key] = v.obj
            yield v, state

    def final_state(self) -> dict[str, Obj]:
        """The live objects after the last version."""
        state: dict[str, Obj] = {}
        for _, state in self.sweep():  # noqa: B007 - the loop leaves the final state behind
            pass
        return dict(state)

    def gaps(self, resource: K8sResource) -> list[Relist]:
        return [r for r in self.relists if r.resource is resource and r.gap]

    @property
    def end_time(self) -> int:
        return max((v.time for c in self.chains.values() for v in c), default=0)


# ---- object predicates ----------------------------------------------------------------------


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    s = obj.get("spec")
    return s if isinstance(s, Mapping) else {}


def status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    s = obj.get("status")
    return s if isinstance(s, Mapping) else {}


def uid(obj: Mapping[str, Any]) -> str | None:
    u = meta(obj).get("uid")
    return None if u is None else str(u)


def name(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name", ""))


def namespace(obj: Mapping[str, Any]) -> str | None:
    ns = meta(obj).get("namespace")
    return None if ns is None else str(ns)


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid of the controlling owner (ownerReferences with controller: true)."""
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") and ref.get("uid"):
            return str(ref["uid"])
    return None


def terminating(obj: Mapping[str, Any]) -> bool:
    return meta(obj).get("deletionTimestamp") is not None


def pod_phase(obj: Mapping[str, Any]) -> str | None:
    p = status(obj).get("phase")
    return None if p is None else str(p)


def node_name(obj: Mapping[str, Any]) -> str | None:
    n = spec(obj).get("nodeName")
    return str(n) if n else None


def condition(obj: Mapping[str, Any], kind: str) -> str | None:
    for c in status(obj).get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == kind:
            return None if c.get("status") is None else str(c["status"])
    return None


def pod_running_ready(obj: Mapping[str, Any]) -> bool:
    return pod_phase(obj) == "Running" and condition(obj, "Ready") == "True"


def pod_finished(obj: Mapping[str, Any]) -> bool:
    return pod_phase(obj) in ("Succeeded", "Failed")


def pod_live(obj: Mapping[str, Any]) -> bool:
    """Not terminated: neither terminating nor finished (what counts against replicas)."""
    return not terminating(obj) and not pod_finished(obj)


UNREADY_TAINTS = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")


def node_ready(obj: Mapping[str, Any] | None) -> bool:
    return obj is not None and condition(obj, "Ready") == "True"


def node_schedulable(obj: Mapping[str, Any] | None) -> bool:
    """Ready, not cordoned, not tainted unreachable/not-ready (what the scheduler filters on)."""
    if not node_ready(obj) or obj is None or spec(obj).get("unschedulable"):
        return False
    taints = spec(obj).get("taints") or []
    return not any(isinstance(t, Mapping) and t.get("key") in UNREADY_TAINTS for t in taints)


def pod_requests(obj: Mapping[str, Any]) -> dict[str, float]:
    total: dict[str, float] = {}
    for c in spec(obj).get("containers") or []:
        if not isinstance(c, Mapping):
            continue
        for res, q in (c.get("requests") or {}).items():
            total[str(res)] = total.get(str(res), 0.0) + parse_quantity(q)
    return total


def allocatable(obj: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): parse_quantity(v) for k, v in (status(obj).get("allocatable") or {}).items()}


def writer(obj: Mapping[str, Any]) -> tuple[str, int | None] | None:
    """The fencing annotations (C3): (holderIdentity, leaseTransitions), None when unset."""
    notes = meta(obj).get("annotations") or {}
    who = notes.get(WRITER_ANNOTATION)
    if not who:
        return None
    raw = notes.get(TRANSITIONS_ANNOTATION)
    try:
        transitions = None if raw is None else int(raw)
    except (TypeError, ValueError):
        transitions = None
    return str(who), transitions


def without_hash(labels: Mapping[str, Any] | None) -> dict[str, Any]:
    """Labels minus pod-template-hash, which the deployment controller adds to its RS's."""
    return {k: v for k, v in (labels or {}).items() if k != "pod-template-hash"}


def template_signature(obj: Mapping[str, Any]) -> str:
    """A Deployment's or ReplicaSet's pod template, comparable across the two."""
    t = spec(obj).get("template") or {}
    labels = without_hash(t.get("labels") if isinstance(t, Mapping) else None)
    pod = t.get("spec") if isinstance(t, Mapping) else None
    containers = (pod or {}).get("containers") or [] if isinstance(pod, Mapping) else []
    parts = [f"{k}={v}" for k, v in sorted(labels.items())]
    for c in containers:
        if isinstance(c, Mapping):
            reqs = ",".join(f"{k}:{v}" for k, v in sorted((c.get("requests") or {}).items()))
            parts.append(f"{c.get('name')}:{c.get('image')}[{reqs}]")
    return ";".join(parts)


def replicas(obj: Mapping[str, Any]) -> int:
    r = spec(obj).get("replicas")
    return 1 if r is None else int(r)  # Kubernetes defaults spec.replicas to 1

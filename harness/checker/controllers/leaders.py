"""Lease terms and the writes of elected components, shared by the leader checkers.

In a nutshell: ``lease_terms(h)`` cuts each Lease's version chain into ``Term``s — runs of
versions with one (holderIdentity, leaseTransitions) — with the revision and time the term
began, each renewal seen, and where the next term began. ``attributed_writes(h)`` finds the
versions of other objects that an elected component wrote, from the fencing annotations (C3):

- the object was created carrying the annotation (seen as it happened, not in a list), or
- the annotation (writer, transitions) differs from the previous version's, or
- the annotation is unchanged but a field only that component writes changed (a ReplicaSet's
  ``spec.replicas`` or status, a Deployment's status or a Node's taints for the
  controller-manager; a Pod's ``spec.nodeName`` for the scheduler) — a second write by the
  same writer, which the annotation alone cannot show.

A version first seen in a relist is never attributed: changes before it may be unseen.

    terms = lease_terms(h)["leases/kube-system/kube-scheduler"]
    for w in attributed_writes(h): term_at(terms, w.rv)
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.checker.controllers.model import ObjectHistory, Version, spec, status, writer
from harness.history.k8s import K8sResource, event_key

CONTROLLER_MANAGER = "controller-manager"
SCHEDULER = "scheduler"
COMPONENT_LEASES: dict[str, str] = {
    event_key(K8sResource.LEASES, "kube-system", "kube-controller-manager"): CONTROLLER_MANAGER,
    event_key(K8sResource.LEASES, "kube-system", "kube-scheduler"): SCHEDULER,
}


def member_of(identity: str) -> str:
    """``controller-manager-1_3fa9`` → ``controller-manager-1`` (C3's holderIdentity)."""
    return identity.rsplit("_", 1)[0]


def component_of(identity: str) -> str:
    """``controller-manager-1_3fa9`` → ``controller-manager``."""
    member = member_of(identity)
    head, _, tail = member.rpartition("-")
    return head if tail.isdigit() and head else member


@dataclass(slots=True, kw_only=True)
class Term:
    lease: str
    holder: str  # "" for a released lease
    transitions: int
    start_rv: int
    start_time: int
    duration_s: float | None
    acquire_time: Any = None
    renewals: list[Version] = field(default_factory=list)  # every version of this term
    end_rv: int | None = None  # where the next term began (None: to the end of the history)
    end_time: int | None = None

    @property
    def last_renew_time(self) -> int:
        return self.renewals[-1].time

    def to_json(self, ns_per_s: int = 1_000_000_000) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "transitions": self.transitions,
            "acquired_rv": self.start_rv,
            "acquired_at_s": round(self.start_time / ns_per_s, 3),
            "last_renew_at_s": round(self.last_renew_time / ns_per_s, 3),
            "versions": len(self.renewals),
        }


def lease_fields(obj: Mapping[str, Any]) -> tuple[str, int, float | None, Any]:
    s = spec(obj)
    holder = str(s.get("holderIdentity") or "")
    transitions = int(s.get("leaseTransitions") or 0)
    duration = s.get("leaseDurationSeconds")
    return holder, transitions, None if duration is None else float(duration), s.get("acquireTime")


def lease_terms(h: ObjectHistory, keys: Iterable[str] | None = None) -> dict[str, list[Term]]:
    out: dict[str, list[Term]] = {}
    for key in keys if keys is not None else h.keys(K8sResource.LEASES):
        terms: list[Term] = []
        for v in h.chain(key):
            if v.deleted:
                if terms and terms[-1].end_rv is None:
                    terms[-1].end_rv, terms[-1].end_time = v.rv, v.time
                continue
            holder, transitions, duration, acquired = lease_fields(v.obj)
            cur = terms[-1] if terms else None
            if (
                cur is not None
                and cur.end_rv is None
                and (cur.holder, cur.transitions)
                == (
                    holder,
                    transitions,
                )
            ):
                cur.renewals.append(v)
                continue
            if cur is not None and cur.end_rv is None:
                cur.end_rv, cur.end_time = v.rv, v.time
            terms.append(
                Term(
                    lease=key,
                    holder=holder,
                    transitions=transitions,
                    start_rv=v.rv,
                    start_time=v.time,
                    duration_s=duration,
                    acquire_time=acquired,
                    renewals=[v],
                )
            )
        out[key] = terms
    return out


def term_at(terms: list[Term], rv: int) -> Term | None:
    """The term current at revision ``rv`` (None before the first, or after a deletion)."""
    i = bisect.bisect_right([t.start_rv for t in terms], rv)
    if not i:
        return None
    term = terms[i - 1]
    return None if term.end_rv is not None and term.end_rv <= rv else term


@dataclass(frozen=True, slots=True, kw_only=True)
class Write:
    key: str
    rv: int
    time: int
    identity: str
    transitions: int | None
    why: str  # created | annotation-changed | owned-field

    def to_json(self, ns_per_s: int = 1_000_000_000) -> dict[str, Any]:
        return {
            "key": self.key,
            "rv": self.rv,
            "at_s": round(self.time / ns_per_s, 3),
            "writer": self.identity,
            "transitions": self.transitions,
            "why": self.why,
        }


def _owned_field_changed(component: str, resource: K8sResource, old: Version, new: Version) -> bool:
    a, b = old.obj, new.obj
    if component == CONTROLLER_MANAGER:
        if resource is K8sResource.REPLICASETS:
            return spec(a).get("replicas") != spec(b).get("replicas") or status(a) != status(b)
        if resource is K8sResource.DEPLOYMENTS:
            return status(a) != status(b)
        if resource is K8sResource.NODES:
            return spec(a).get("taints") != spec(b).get("taints")
    if component == SCHEDULER and resource is K8sResource.PODS:
        return spec(a).get("nodeName") != spec(b).get("nodeName")
    return False


def attributed_writes(h: ObjectHistory) -> list[Write]:
    out: list[Write] = []
    for key, chain in h.chains.items():
        resource = chain[0].resource
        if resource is K8sResource.LEASES:
            continue
        prev: Version | None = None
        for v in chain:
            if v.deleted:
                prev = None
                continue
            w = writer(v.obj)
            why = ""
            if w is not None and not v.listed:
                if prev is None:
                    why = "created"
                elif writer(prev.obj) != w:
                    why = "annotation-changed"
                elif _owned_field_changed(component_of(w[0]), resource, prev, v):
                    why = "owned-field"
            if why and w is not None:
                out.append(
                    Write(
                        key=key,
                        rv=v.rv,
                        time=v.time,
                        identity=w[0],
                        transitions=w[1],
                        why=why,
                    )
                )
            prev = v
    out.sort(key=lambda w: w.rv)
    return out


def lease_for(identity: str, terms: Mapping[str, list[Term]]) -> str | None:
    """The component lease an identity writes under: the one it held, else by its name."""
    for key, ts in terms.items():
        if key in COMPONENT_LEASES and any(t.holder == identity for t in ts):
            return key
    component = component_of(identity)
    for key, comp in COMPONENT_LEASES.items():
        if comp == component:
            return key
    return None

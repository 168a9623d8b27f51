"""Who owns which pods at one moment: Deployments → ReplicaSets → Pods by controller uid.

In a nutshell: ``Owners.of(state)`` indexes the live objects of a sweep (``ObjectHistory.sweep``)
so the replica checkers can ask, per Deployment or ReplicaSet, how many live pods it has and how
many of them are Running and Ready on a Ready node. ``max_surge`` resolves ``maxSurge`` as the
deployment controller does (a percentage rounds up; RollingUpdate defaults to 25 %).

    owners = Owners.of(state)
    owners.counts("replicasets/default/web-6f7c")     # OwnerCounts(live=3, ready=3, ...)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.checker.controllers.model import (
    Obj,
    controller_uid,
    node_name,
    node_ready,
    pod_live,
    pod_running_ready,
    replicas,
    spec,
    template_signature,
    uid,
)
from harness.history.k8s import K8sResource, event_key


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerCounts:
    replicas: int
    live: int  # non-terminated pods
    ready: int  # Running + Ready on a Ready node (of the current template, for a Deployment)
    pods: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        return self.live == self.replicas and self.ready == self.replicas


@dataclass(slots=True, kw_only=True)
class Owners:
    state: Mapping[str, Obj]
    by_uid: dict[str, str] = field(default_factory=dict)  # uid → key (RS and Deployments)
    pods_of: dict[str, list[str]] = field(default_factory=dict)  # owner uid → pod keys
    rs_of: dict[str, list[str]] = field(default_factory=dict)  # deployment uid → RS keys

    @classmethod
    def of(cls, state: Mapping[str, Obj]) -> Owners:
        o = cls(state=state)
        for key, obj in state.items():
            kind = key.split("/", 1)[0]
            u = uid(obj)
            if kind in (K8sResource.DEPLOYMENTS, K8sResource.REPLICASETS) and u:
                o.by_uid[u] = key
            owner = controller_uid(obj)
            if owner is None:
                continue
            if kind == K8sResource.PODS:
                o.pods_of.setdefault(owner, []).append(key)
            elif kind == K8sResource.REPLICASETS:
                o.rs_of.setdefault(owner, []).append(key)
        return o

    def owners(self) -> list[str]:
        return sorted(
            k
            for k in self.state
            if k.startswith((f"{K8sResource.DEPLOYMENTS}/", f"{K8sResource.REPLICASETS}/"))
        )

    def _pod_ok(self, key: str) -> bool:
        pod = self.state[key]
        node = node_name(pod)
        where = self.state.get(event_key(K8sResource.NODES, None, node)) if node else None
        return pod_running_ready(pod) and node_ready(where)

    def live_pods(self, owner_key: str) -> list[str]:
        obj = self.state.get(owner_key)
        if obj is None:
            return []
        u = uid(obj) or ""
        if owner_key.startswith(f"{K8sResource.DEPLOYMENTS}/"):
            keys = [p for rs in self.rs_of.get(u, []) for p in self._pods(rs)]
        else:
            keys = self._pods(owner_key)
        return sorted(k for k in keys if pod_live(self.state[k]))

    def _pods(self, rs_key: str) -> list[str]:
        rs = self.state.get(rs_key)
        return [] if rs is None else self.pods_of.get(uid(rs) or "", [])

    def counts(self, owner_key: str) -> OwnerCounts:
        obj = self.state[owner_key]
        live = self.live_pods(owner_key)
        if owner_key.startswith(f"{K8sResource.DEPLOYMENTS}/"):
            want = template_signature(obj)
            current = {
                rs
                for rs in self.rs_of.get(uid(obj) or "", [])
                if template_signature(self.state[rs]) == want
            }
            ready = sum(
                1 for p in live if self._pod_ok(p) and self._owner_key(self.state[p]) in current
            )
        else:
            ready = sum(1 for p in live if self._pod_ok(p))
        return OwnerCounts(replicas=replicas(obj), live=len(live), ready=ready, pods=tuple(live))

    def _owner_key(self, pod: Obj) -> str | None:
        owner = controller_uid(pod)
        return None if owner is None else self.by_uid.get(owner)

    def deployment_of(self, rs_key: str) -> str | None:
        rs = self.state.get(rs_key)
        owner = None if rs is None else controller_uid(rs)
        return None if owner is None else self.by_uid.get(owner)


def max_surge(deployment: Mapping[str, Any]) -> int:
    strategy = spec(deployment).get("strategy") or {}
    if isinstance(strategy, Mapping) and strategy.get("type") == "Recreate":
        return 0
    raw = strategy.get("maxSurge") if isinstance(strategy, Mapping) else None
    if raw is None:
        raw = "25%"
    if isinstance(raw, str) and raw.endswith("%"):
        return math.ceil(replicas(deployment) * float(raw[:-1]) / 100.0)
    return int(raw)

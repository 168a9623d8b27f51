"""The node lifecycle controller's decisions as a pure core with an injected clock.

In a nutshell (``pkg/controller/nodelifecycle``): :meth:`NodeHealth.observe_lease` records the
LOCAL time at which a node's Lease in ``kube-node-lease`` was last seen renewed (the probe
timestamp; the holder's clock is never consulted). :meth:`NodeHealth.decide` returns, for the
current nodes and pods:

- nodes unheard of for more than the grace period → ``Ready=Unknown`` and the NoExecute taint
  ``node.kubernetes.io/unreachable``;
- healthy nodes whose kubelet reports Ready again → the taint removed;
- pods on a tainted node evicted once they have tolerated the taint for their
  ``tolerationSeconds`` (taint manager). Pods with no such toleration get
  ``POD_EVICTION_TIMEOUT_S`` — the DefaultTolerationSeconds admission plugin's role; a
  toleration without seconds tolerates forever;
- full disruption (every node unhealthy): no node is tainted (existing taints are removed) and
  nothing is evicted — Kubernetes assumes the control plane lost the nodes, not the reverse.

A node seen for the first time counts as just heard from (startup grace), and a taint found
already on a node counts from when this leader first saw it, so a failover never evicts early.

Bug switch ``eviction-before-grace``: a node is unhealthy once one heartbeat is missed (no
renew for 1.5 × the kubelet's renew interval, leaseDuration/4) and its pods are evicted at once.

    h = NodeHealth(timings=NodeTimings(), mono=time.monotonic)
    h.observe_lease("node-1", renew_time="...", lease_duration_s=4)
    d = h.decide(nodes, pods)    # NodeDecision(mark_unknown=(...), taint=(...), ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from controlplane.kubeclient.objects import (
    UNREACHABLE_TAINT,
    Obj,
    condition,
    is_terminating,
    name_of,
    toleration_seconds,
)

UNREACHABLE = {"key": UNREACHABLE_TAINT, "effect": "NoExecute"}


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeTimings:
    monitor_period_s: float = 0.5
    grace_s: float = 4.0
    eviction_timeout_s: float = 6.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeDecision:
    mark_unknown: tuple[str, ...] = ()
    taint: tuple[str, ...] = ()
    untaint: tuple[str, ...] = ()
    evict: tuple[Obj, ...] = ()
    unhealthy: frozenset[str] = frozenset()
    full_disruption: bool = False


def has_unreachable_taint(node: Obj) -> bool:
    return any(
        t.get("key") == UNREACHABLE_TAINT and t.get("effect") == "NoExecute"
        for t in (node.get("spec") or {}).get("taints") or []
    )


@dataclass(slots=True)
class _Probe:
    renew_time: str
    seen_at: float
    lease_duration_s: float = 40.0


@dataclass(slots=True)
class NodeHealth:
    timings: NodeTimings
    mono: Callable[[], float]
    bugs: frozenset[str] = frozenset()
    _probes: dict[str, _Probe] = field(default_factory=dict)
    _tainted_at: dict[str, float] = field(default_factory=dict)

    def observe_lease(self, node: str, *, renew_time: str, lease_duration_s: float) -> None:
        p = self._probes.get(node)
        if p is None or p.renew_time != renew_time:
            self._probes[node] = _Probe(renew_time, self.mono(), lease_duration_s or 40.0)

    def _healthy(self, node: str) -> bool:
        now = self.mono()
        p = self._probes.setdefault(node, _Probe("", now))  # startup grace
        limit = self.timings.grace_s
        if "eviction-before-grace" in self.bugs:
            limit = 1.5 * p.lease_duration_s / 4  # BUG: one missed heartbeat is enough
        return now - p.seen_at <= limit

    def _eviction_due(self, pod: Obj, node: str) -> bool:
        if "eviction-before-grace" in self.bugs:
            return True  # BUG: no tolerationSeconds honoured
        secs = toleration_seconds((pod.get("spec") or {}).get("tolerations"), UNREACHABLE)
        if secs is None:
            return False  # tolerates forever
        if secs == 0.0 and not _tolerates_explicitly(pod):
            secs = self.timings.eviction_timeout_s  # DefaultTolerationSeconds admission
        return self.mono() - self._tainted_at[node] >= secs

    def decide(self, nodes: list[Obj], pods: list[Obj]) -> NodeDecision:
        names = [name_of(n) for n in nodes]
        unhealthy = frozenset(n for n in names if not self._healthy(n))
        full = bool(names) and len(unhealthy) == len(names)
        mark, taint, untaint = [], [], []
        now = self.mono()
        for node in nodes:
            n = name_of(node)
            tainted = has_unreachable_taint(node)
            if tainted:
                self._tainted_at.setdefault(n, now)
            else:
                self._tainted_at.pop(n, None)
            ready = condition(node, "Ready") or {}
            if n in unhealthy:
                if ready.get("status") != "Unknown":
                    mark.append(n)
                if full and tainted:
                    untaint.append(n)  # markNodeAsReachable on entering full disruption
                elif not full and not tainted:
                    taint.append(n)
            elif tainted and ready.get("status") == "True":
                untaint.append(n)
        evict: list[Obj] = []
        if not full:
            for pod in pods:
                n = str((pod.get("spec") or {}).get("nodeName") or "")
                # BUG (eviction-before-grace) evicts at once, without waiting for the taint.
                tainted = n in self._tainted_at or "eviction-before-grace" in self.bugs
                due = n in unhealthy and tainted and not is_terminating(pod)
                if due and self._eviction_due(pod, n):
                    evict.append(pod)
        return NodeDecision(
            mark_unknown=tuple(mark),
            taint=tuple(taint),
            untaint=tuple(untaint),
            evict=tuple(evict),
            unhealthy=unhealthy,
            full_disruption=full,
        )


def _tolerates_explicitly(pod: Obj) -> bool:
    """A toleration of the taint with tolerationSeconds 0 is explicit; no toleration is not."""
    for t in (pod.get("spec") or {}).get("tolerations") or []:
        if (
            t.get("key") in (UNREACHABLE_TAINT, None, "")
            and t.get("effect")
            in (
                "NoExecute",
                None,
                "",
            )
            and ((t.get("operator") == "Exists") or t.get("key") == UNREACHABLE_TAINT)
        ):
            return True
    return False

"""The node lifecycle controller's I/O: every monitor period, decide and write.

In a nutshell: feeds node Leases from the ``kube-node-lease`` informer into
:class:`~controlplane.controllermanager.nodelifecycle_core.NodeHealth`, then applies its
decision: ``Ready=Unknown`` through ``nodes/{name}/status``, the unreachable taint added or
removed through a node update, evictions as fenced pod deletes. All writes are fenced.
"""

from __future__ import annotations

import copy
import datetime
import logging
import threading
import time

from kubernetes.client.exceptions import ApiException

from controlplane.controllermanager.nodelifecycle_core import (
    UNREACHABLE,
    NodeHealth,
    NodeTimings,
)
from controlplane.controllermanager.replicaset import fenced_delete
from controlplane.kubeclient.client import ApiUnavailable, Kube, Obj
from controlplane.kubeclient.events import EventRecorder
from controlplane.kubeclient.informer import Informer, key_of
from controlplane.kubeclient.objects import UNREACHABLE_TAINT, name_of, path, set_condition
from controlplane.leaderelection import NotActing, Term

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeLifecycleController:
    name = "nodelifecycle"

    def __init__(
        self,
        *,
        kube: Kube,
        term: Term,
        nodes: Informer,
        node_leases: Informer,
        pods: Informer,
        timings: NodeTimings,
        bugs: frozenset[str],
        events: EventRecorder | None = None,
    ) -> None:
        self.events = events or EventRecorder.disabled()
        self.kube = kube
        self.term = term
        self.nodes = nodes
        self.leases = node_leases
        self.pods = pods
        self.timings = timings
        self.health = NodeHealth(timings=timings, mono=time.monotonic, bugs=bugs)
        self.evictions = 0
        self.unhealthy: frozenset[str] = frozenset()

    def _observe(self) -> None:
        for lease in self.leases.items():
            spec = lease.get("spec") or {}
            self.health.observe_lease(
                name_of(lease),
                renew_time=str(spec.get("renewTime") or ""),
                lease_duration_s=float(spec.get("leaseDurationSeconds") or 40),
            )

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.timings.monitor_period_s) and not self.term.ended.is_set():
            if not (
                self.nodes.synced.is_set()
                and self.leases.synced.is_set()
                and self.pods.synced.is_set()
            ):
                continue
            if not self.term.active():
                continue
            try:
                self.pass_once()
            except NotActing:
                continue
            except (ApiException, ApiUnavailable) as exc:
                log.info("nodelifecycle: pass failed: %s", getattr(exc, "reason", exc))

    def pass_once(self) -> None:
        self._observe()
        d = self.health.decide(self.nodes.items(), self.pods.items())
        if d.unhealthy != self.unhealthy:
            log.info(
                "nodelifecycle: unhealthy nodes %s (full disruption: %s)",
                sorted(d.unhealthy),
                d.full_disruption,
            )
            self.unhealthy = d.unhealthy
        for n in d.mark_unknown:
            self._mark_unknown(n)
        for n in d.taint:
            self._set_taint(n, add=True)
        for n in d.untaint:
            self._set_taint(n, add=False)
        for pod in d.evict:
            log.info("nodelifecycle: evicting %s from %s", key_of(pod), pod["spec"].get("nodeName"))
            fenced_delete(self.kube, self.term, pod)
            self.evictions += 1
            self.events.record(
                pod,
                reason="TaintManagerEviction",
                message=f"Marking for deletion Pod {key_of(pod)}",
                action="Delete",
            )

    def _mark_unknown(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            return
        body = copy.deepcopy(node)
        old: Obj = next(
            (
                c
                for c in (body.get("status") or {}).get("conditions") or []
                if c.get("type") == "Ready"
            ),
            {},
        )
        set_condition(
            body,
            {
                "type": "Ready",
                "status": "Unknown",
                "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
                "lastHeartbeatTime": old.get("lastHeartbeatTime", _now()),
                "lastTransitionTime": _now(),
            },
        )
        self.kube.update(path("nodes", None, name, "status"), self.term.fence(body))
        log.info("nodelifecycle: node %s Ready=Unknown", name)
        if old.get("status") == "True":  # nodeutil.RecordNodeStatusChange
            message = f"Node {name} status is now: NodeNotReady"
            self.events.record(node, reason="NodeNotReady", message=message)

    def _set_taint(self, name: str, *, add: bool) -> None:
        node = self.nodes.get(name)
        if node is None:
            return
        body = copy.deepcopy(node)
        spec = body.setdefault("spec", {})
        taints = [t for t in spec.get("taints") or [] if t.get("key") != UNREACHABLE_TAINT]
        if add:
            taints.append({**UNREACHABLE, "timeAdded": _now()})
        spec["taints"] = taints
        self.kube.update(path("nodes", None, name), self.term.fence(body))
        log.info(
            "nodelifecycle: node %s taint %s %s",
            name,
            UNREACHABLE_TAINT,
            "added" if add else "removed",
        )

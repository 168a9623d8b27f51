"""Test support: build controller-layer run directories (C4 records) by hand.

In a nutshell: ``K8sHistory`` writes Kubernetes-shaped objects as the ``deployments``
workload's watchers would record them — each put or delete is a ``k8s-event`` op with the next
global resourceVersion, its object cut down by the product's ``trim_object`` — at the time set
with ``at(seconds)``. ``save(tmp_path, ...)`` writes history.jsonl, faults.jsonl,
components.jsonl and run.json, and returns the loaded ``RunData``. Holds no tests itself.

    b = K8sHistory()
    b.at(1.0).lease("kube-controller-manager", "controller-manager-1_a", 0)
    run = b.save(tmp_path, timings={"le_lease_duration_s": 4})
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.checker import RunData, load_run
from harness.history import FaultEvent, FaultPhase, JsonlWriter, Op, OpType, RunDir
from harness.history.k8s import (
    TRANSITIONS_ANNOTATION,
    WRITER_ANNOTATION,
    ComponentSample,
    K8sEvent,
    K8sResource,
    WatchEventType,
    components_path,
    event_key,
    object_key,
    trim_object,
)

NS = 1_000_000_000
Writer = tuple[str, int] | None
CM1 = "controller-manager-1_aaaa"
CM2 = "controller-manager-2_bbbb"
SCHED1 = "scheduler-1_cccc"
SCHED2 = "scheduler-2_dddd"
WATCHER_PROCESS = {r: 100 + i for i, r in enumerate(K8sResource)}


def _meta(name: str, namespace: str | None, writer: Writer, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "uid": f"uid-{name}", **extra}
    if namespace is not None:
        m["namespace"] = namespace
    if writer is not None:
        m["annotations"] = {
            WRITER_ANNOTATION: writer[0],
            TRANSITIONS_ANNOTATION: str(writer[1]),
            "other.io/ignored": "x",
        }
    return m


def _owner(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}]


def _template(image: str, cpu: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "c", "image": image, "resources": {"requests": {"cpu": cpu}}}]
        },
    }


class K8sHistory:
    def __init__(self, *, rv: int = 100) -> None:
        self.ops: list[Op] = []
        self.rv = rv
        self.t_ns = 0
        self.live: dict[str, tuple[K8sResource, dict[str, Any]]] = {}
        self.faults: list[FaultEvent] = []
        self.components: list[ComponentSample] = []

    # ---- time and raw events -----------------------------------------------------------
    def at(self, seconds: float) -> K8sHistory:
        self.t_ns = int(seconds * NS)
        return self

    def _op(
        self, f: str, value: Any, *, process: int, key: str | None, type: OpType = OpType.OK
    ) -> None:
        self.ops.append(
            Op(
                index=len(self.ops),
                time=self.t_ns,
                process=process,
                type=type,
                f=f,
                key=key,
                value=value,
                node="api-1",
            )
        )

    def put(
        self,
        resource: K8sResource,
        obj: dict[str, Any],
        *,
        listed: bool = False,
        silent: bool = False,
    ) -> int:
        """Store ``obj`` at the next revision; ``silent``: a change the watchers never saw."""
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = object_key(resource, obj)
        event = WatchEventType.MODIFIED if key in self.live else WatchEventType.ADDED
        if listed:
            event = WatchEventType.ADDED
        self.live[key] = (resource, obj)
        if silent:
            return self.rv
        self._event(
            K8sEvent(
                event=event,
                resource=resource,
                rv=self.rv,
                object=trim_object(resource, obj),
                listed=listed,
            )
        )
        return self.rv

    def _event(self, ev: K8sEvent) -> None:
        key = (
            event_key(ev.resource, None, None)
            if ev.object is None
            else object_key(ev.resource, ev.object)
        )
        self._op("k8s-event", ev.to_json(), process=WATCHER_PROCESS[ev.resource], key=key)

    def delete(self, resource: K8sResource, namespace: str | None, name: str) -> int:
        key = event_key(resource, namespace, name)
        _, obj = self.live.pop(key)
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._event(
            K8sEvent(
                event=WatchEventType.DELETED,
                resource=resource,
                rv=self.rv,
                object=trim_object(resource, obj),
            )
        )
        return self.rv

    def relist(self, resource: K8sResource, *, gap: bool = True, drop: Iterable[str] = ()) -> None:
        """A relist at the current revision; ``drop`` keys vanished unseen during the gap."""
        for key in drop:
            self.live.pop(key)
        keys = tuple(k for k, (r, _) in self.live.items() if r is resource)
        self._event(
            K8sEvent(event=WatchEventType.RELIST, resource=resource, rv=self.rv, keys=keys, gap=gap)
        )
        for key in keys:
            _, obj = self.live[key]
            self._event(
                K8sEvent(
                    event=WatchEventType.ADDED,
                    resource=resource,
                    rv=int(obj["metadata"]["resourceVersion"]),
                    object=trim_object(resource, obj),
                    listed=True,
                )
            )

    def client(self, f: str, key: str, type: OpType = OpType.OK, *, process: int = 0) -> None:
        self._op(f, {"name": key}, process=process, key=key, type=OpType.INVOKE)
        self._op(f, {"name": key}, process=process, key=key, type=type)

    def fault(
        self, kind: str, targets: list[str], *, start_s: float, end_s: float | None, fid: int = 1
    ) -> None:
        self.faults.append(
            FaultEvent(
                time=int(start_s * NS), type=FaultPhase.START, fault=kind, targets=targets, id=fid
            )
        )
        if end_s is not None:
            self.faults.append(
                FaultEvent(
                    time=int(end_s * NS), type=FaultPhase.END, fault=kind, targets=targets, id=fid
                )
            )

    def sample(self, member: str, **fields: Any) -> None:
        self.components.append(
            ComponentSample(time=self.t_ns, member=member, reachable=True, **fields)
        )

    # ---- objects ------------------------------------------------------------------------
    def lease(
        self,
        name: str,
        holder: str,
        transitions: int,
        *,
        namespace: str = "kube-system",
        duration: int = 4,
        acquire: str | None = None,
        silent: bool = False,
    ) -> int:
        spec = {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": acquire or f"acquired-{holder}-{transitions}",
            "renewTime": f"t{self.t_ns}",
            "leaseTransitions": transitions,
        }
        obj = {"metadata": _meta(name, namespace, None), "spec": spec}
        return self.put(K8sResource.LEASES, obj, silent=silent)

    def heartbeat(self, node: str) -> int:
        return self.lease(node, node, 0, namespace="kube-node-lease", duration=4, acquire="boot")

    def node(
        self,
        name: str,
        *,
        ready: bool = True,
        cpu: str = "2",
        taints: Iterable[str] = (),
        writer: Writer = None,
    ) -> int:
        obj = {
            "metadata": _meta(name, None, writer),
            "spec": {"taints": [{"key": t, "effect": "NoExecute"} for t in taints]},
            "status": {
                "allocatable": {"cpu": cpu, "memory": "4Gi"},
                "capacity": {"cpu": cpu},
                "conditions": [{"type": "Ready", "status": "True" if ready else "Unknown"}],
            },
        }
        return self.put(K8sResource.NODES, obj)

    def deployment(
        self,
        name: str,
        replicas: int,
        *,
        image: str = "img:1",
        surge: int | str = 1,
        writer: Writer = None,
        status: dict[str, Any] | None = None,
        cpu: str = "500m",
    ) -> int:
        obj = {
            "metadata": _meta(name, "default", writer, generation=1),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": _template(image, cpu),
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 0},
                },
            },
            "status": status or {},
        }
        return self.put(K8sResource.DEPLOYMENTS, obj)

    def replicaset(
        self,
        name: str,
        deployment: str | None,
        replicas: int,
        *,
        image: str = "img:1",
        writer: Writer = (CM1, 0),
        status: dict[str, Any] | None = None,
        cpu: str = "500m",
    ) -> int:
        template = _template(image, cpu)
        template["metadata"]["labels"]["pod-template-hash"] = name.rsplit("-", 1)[-1]
        meta = _meta(name, "default", writer)
        if deployment is not None:
            meta["ownerReferences"] = _owner("Deployment", deployment)
        obj = {
            "metadata": meta,
            "spec": {"replicas": replicas, "template": template},
            "status": status or {},
        }
        return self.put(K8sResource.REPLICASETS, obj)

    def pod(
        self,
        name: str,
        *,
        rs: str | None = None,
        node: str | None = None,
        phase: str = "Pending",
        ready: bool = False,
        cpu: str = "500m",
        writer: Writer = (CM1, 0),
        terminating: bool = False,
        image: str = "img:1",
        silent: bool = False,
    ) -> int:
        meta = _meta(name, "default", writer)
        if rs is not None:
            meta["ownerReferences"] = _owner("ReplicaSet", rs)
        if terminating:
            meta["deletionTimestamp"] = "2026-12-03T00:00:00Z"
        obj = {
            "metadata": meta,
            "spec": {
                "nodeName": node,
                "containers": [
                    {"name": "c", "image": image, "resources": {"requests": {"cpu": cpu}}}
                ],
            },
            "status": {
                "phase": phase,
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            },
        }
        return self.put(K8sResource.PODS, obj, silent=silent)

    def running_pod(
        self,
        name: str,
        rs: str,
        node: str,
        *,
        scheduler: str = SCHED1,
        cpu: str = "500m",
        image: str = "img:1",
    ) -> None:
        """Created by the RS controller, bound by the scheduler, started by the kubelet."""
        self.pod(name, rs=rs, cpu=cpu, image=image)
        self.pod(name, rs=rs, node=node, writer=(scheduler, 0), cpu=cpu, image=image)
        self.pod(
            name,
            rs=rs,
            node=node,
            phase="Running",
            ready=True,
            writer=(scheduler, 0),
            cpu=cpu,
            image=image,
        )

    # ---- run directory -----------------------------------------------------------------
    def save(
        self,
        root: Path,
        *,
        timings: dict[str, float] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> RunData:
        run = RunDir(root).create()
        with JsonlWriter(run.history) as w:
            for op in self.ops:
                w.write(op)
        with JsonlWriter(run.faults) as w:
            for f in self.faults:
                w.write(f)
        if self.components:
            with JsonlWriter(components_path(root)) as w:
                for c in self.components:
                    w.write(c)
        body: dict[str, Any] = {"workload": {"kind": "deployments"}, **(meta or {})}
        if timings is not None:
            body["controlplane_timings"] = timings
        run.meta.write_text(json.dumps(body), encoding="utf-8")
        return load_run(run)

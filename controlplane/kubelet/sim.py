"""A simulated kubelet (the kwok idea): a Node, its Lease, and pods that "run" without a runtime.

In a nutshell: :class:`SimKubelet` registers ``v1/Node <CP_NAME>`` (capacity = allocatable from
``NODE_CPU``/``NODE_MEMORY``/``NODE_PODS``, label ``kubernetes.io/hostname``), renews
``kube-node-lease/<node>`` every ``NODE_RENEW_INTERVAL_S`` (resourceVersion-preconditioned
updates, holderIdentity = the node), posts NodeStatus (``Ready=True`` with a fresh heartbeat)
every ``NODE_STATUS_INTERVAL_S``, and watches its pods with ``fieldSelector=spec.nodeName=<node>``.
A newly bound pod is "started" after ``KUBELET_POD_START_DELAY_S`` and reported Running/Ready
through ``pods/{name}/status``. When a pod gets a deletionTimestamp the kubelet stops its
containers and confirms with a DELETE ``gracePeriodSeconds=0`` — which needs the apiserver, so
a cut-off node keeps its pods (pod safety, kubernetes#54368). Every start and stop is logged
(``pod started``/``pod stopped``) and the running pods are on ``/status``.

    k = SimKubelet(env); k.start(stop_event); k.status()["pods"]
"""

from __future__ import annotations

import copy
import datetime
import logging
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from controlplane.kubeclient.client import ApiUnavailable, Kube, Obj, status_code
from controlplane.kubeclient.component import ComponentEnv, env_seconds
from controlplane.kubeclient.informer import Informer, key_of
from controlplane.kubeclient.objects import (
    is_ready,
    is_terminating,
    name_of,
    ns_of,
    path,
    set_condition,
    uid_of,
)
from controlplane.kubeclient.workqueue import WorkQueue

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now_micro() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeletTimings:
    lease_duration_s: float = 4.0
    renew_interval_s: float = 1.0
    status_interval_s: float = 2.0
    pod_start_delay_s: float = 0.3


@dataclass(slots=True, kw_only=True)
class _Running:
    namespace: str
    name: str
    uid: str
    started_at: float


class SimKubelet:
    def __init__(self, env: ComponentEnv) -> None:
        e = env.environ
        self.env = env
        self.node = env.name
        self.timings = KubeletTimings(
            lease_duration_s=env_seconds(e, "NODE_LEASE_DURATION_S", 4.0),
            renew_interval_s=env_seconds(e, "NODE_RENEW_INTERVAL_S", 1.0),
            status_interval_s=env_seconds(e, "NODE_STATUS_INTERVAL_S", 2.0),
            pod_start_delay_s=env_seconds(e, "KUBELET_POD_START_DELAY_S", 0.3),
        )
        self.capacity = {
            "cpu": e.get("NODE_CPU", "4"),
            "memory": e.get("NODE_MEMORY", "8Gi"),
            "pods": e.get("NODE_PODS", "110"),
        }
        self.labels = {"kubernetes.io/hostname": self.node}
        for part in e.get("NODE_LABELS", "").split(","):
            k, sep, v = part.partition("=")
            if sep and k.strip():
                self.labels[k.strip()] = v.strip()
        self.kube = Kube(env.client)
        self.pods = Informer(
            self.kube,
            path("pods"),
            name="pods",
            query={"fieldSelector": f"spec.nodeName={self.node}"},
        )
        self.queue = WorkQueue()
        self.pods.add_handler(lambda old, new: self.queue.add(key_of(new or old or {})))
        self.running: dict[str, _Running] = {}
        self._starting: dict[str, float] = {}  # pod key -> monotonic time it may start
        self._lock = threading.Lock()
        self.node_ready = False
        self.lease_renewals = 0
        self._ip_base = 1 + zlib.crc32(self.node.encode()) % 250
        self._ip_next = 1

    # ---- node and lease ----

    def _node_status(self, status: Obj) -> Obj:
        status["capacity"] = dict(self.capacity)
        status["allocatable"] = dict(self.capacity)
        status["addresses"] = [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": self.node},
        ]
        status["nodeInfo"] = {
            "kubeletVersion": "v1.31.0-chaosplane-sim",
            "operatingSystem": "linux",
            "architecture": "amd64",
        }
        now = _now()
        holder = {"status": status}  # set_condition works on an object with a status
        set_condition(
            holder,
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            },
        )
        return dict(holder["status"])

    def register(self) -> None:
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.node, "labels": dict(self.labels)},
            "spec": {},
            "status": self._node_status({}),
        }
        try:
            self.kube.create(path("nodes"), body)
            log.info("kubelet %s: registered node", self.node)
        except ApiException as exc:
            if status_code(exc) != 409:
                raise
        self.post_status()

    def post_status(self) -> None:
        node = self.kube.get(path("nodes", None, self.node))
        body = copy.deepcopy(node)
        body["status"] = self._node_status(body.get("status") or {})
        updated = self.kube.update(path("nodes", None, self.node, "status"), body)
        self.node_ready = is_ready(updated)

    def renew_lease(self) -> None:
        lease_url = path("leases", "kube-node-lease", self.node)
        spec = {
            "holderIdentity": self.node,
            "leaseDurationSeconds": round(self.timings.lease_duration_s),
            "renewTime": _now_micro(),
        }
        try:
            lease = self.kube.get(lease_url)
        except ApiException as exc:
            if status_code(exc) != 404:
                raise
            self.kube.create(
                path("leases", "kube-node-lease"),
                {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.node, "namespace": "kube-node-lease"},
                    "spec": spec,
                },
            )
        else:
            lease["spec"] = {**(lease.get("spec") or {}), **spec}
            self.kube.update(lease_url, lease)  # carries the rv read: a conflict retries next tick
        self.lease_renewals += 1

    def _loop(self, stop: threading.Event, every_s: float, fn: Any, what: str) -> None:
        while not stop.is_set():
            try:
                fn()
            except (ApiException, ApiUnavailable) as exc:
                log.info("kubelet %s: %s failed: %s", self.node, what, getattr(exc, "reason", exc))
            stop.wait(every_s)

    # ---- pods ----

    def _sync_pod(self, key: str) -> None:
        pod = self.pods.get(key)
        with self._lock:
            run = self.running.get(key)
        if pod is None or (run is not None and run.uid != uid_of(pod)):
            self._stop_pod(key, "object gone")
            if pod is None:
                return
            run = None
        if is_terminating(pod):
            self._stop_pod(key, "deletionTimestamp set")
            self.kube.delete(
                path("pods", ns_of(pod), name_of(pod)),
                {
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": uid_of(pod)},
                },
            )
            return
        if run is None:
            due = self._starting.setdefault(key, time.monotonic() + self.timings.pod_start_delay_s)
            if time.monotonic() < due:
                self.queue.add_after(key, due - time.monotonic())
                return
            self._starting.pop(key, None)
            with self._lock:
                run = self.running[key] = _Running(
                    namespace=ns_of(pod), name=name_of(pod), uid=uid_of(pod), started_at=time.time()
                )
            log.info("kubelet %s: pod started %s uid=%s", self.node, key, uid_of(pod))
        if (pod.get("status") or {}).get("phase") != "Running" or not is_ready(pod):
            self._post_running(pod, run)

    def _post_running(self, pod: Obj, run: _Running) -> None:
        body = copy.deepcopy(pod)
        status = body.setdefault("status", {})
        started = datetime.datetime.fromtimestamp(run.started_at, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        status["phase"] = "Running"
        status["hostIP"] = "127.0.0.1"
        if not status.get("podIP"):
            status["podIP"] = f"10.244.{self._ip_base}.{self._ip_next % 254 + 1}"
            self._ip_next += 1
        status["podIPs"] = [{"ip": status["podIP"]}]
        status.setdefault("startTime", started)
        for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
            set_condition(
                body,
                {
                    "type": kind,
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": started,
                },
            )
        status["containerStatuses"] = [
            {
                "name": c.get("name", "c"),
                "image": c.get("image", ""),
                "imageID": f"sim://{c.get('image', '')}",
                "containerID": f"sim://{run.uid}/{c.get('name', 'c')}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": started}},
            }
            for c in (pod.get("spec") or {}).get("containers") or []
        ]
        self.kube.update(path("pods", ns_of(pod), name_of(pod), "status"), body)

    def _stop_pod(self, key: str, why: str) -> None:
        self._starting.pop(key, None)
        with self._lock:
            run = self.running.pop(key, None)
        if run is not None:
            log.info("kubelet %s: pod stopped %s uid=%s (%s)", self.node, key, run.uid, why)

    def _pod_worker(self, stop: threading.Event) -> None:
        while not stop.is_set():
            key = self.queue.get(timeout_s=0.5)
            if key is None:
                continue
            try:
                self._sync_pod(key)
            except (ApiException, ApiUnavailable) as exc:
                if not (isinstance(exc, ApiException) and status_code(exc) == 404):
                    log.info("kubelet %s: pod %s: %s", self.node, key, getattr(exc, "reason", exc))
                    self.queue.add_after(key, 0.5)
            finally:
                self.queue.done(key)

    # ---- process ----

    def start(self, stop: threading.Event) -> None:
        def boot() -> None:
            while not stop.is_set():
                try:
                    self.register()
                    break
                except (ApiException, ApiUnavailable) as exc:
                    log.info(
                        "kubelet %s: registration failed: %s",
                        self.node,
                        getattr(exc, "reason", exc),
                    )
                    stop.wait(0.5)
            t = self.timings
            for target, args in (
                (self._loop, (stop, t.renew_interval_s, self.renew_lease, "lease renew")),
                (self._loop, (stop, t.status_interval_s, self.post_status, "node status")),
                (self.pods.run, (stop,)),
                (self._pod_worker, (stop,)),
            ):
                threading.Thread(target=target, args=args, daemon=True).start()

        threading.Thread(target=boot, name="kubelet-boot", daemon=True).start()

    def status(self) -> dict[str, Any]:
        with self._lock:
            pods = [
                {"namespace": r.namespace, "name": r.name, "uid": r.uid, "phase": "Running"}
                for r in self.running.values()
            ]
        return {
            "name": self.node,
            "identity": self.node,
            "leader": False,
            "lease_transitions": None,
            "timings": {
                "node_lease_duration_s": self.timings.lease_duration_s,
                "node_renew_interval_s": self.timings.renew_interval_s,
                "node_status_interval_s": self.timings.status_interval_s,
                "pod_start_delay_s": self.timings.pod_start_delay_s,
            },
            "bugs": sorted(self.env.bugs),
            "pods": sorted(pods, key=lambda p: (p["namespace"], p["name"])),
            "node_ready": self.node_ready,
            "lease_renewals": self.lease_renewals,
        }

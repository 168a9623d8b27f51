"""kube-scheduler: leader election, then bind pending pods through ``pods/{name}/binding``.

In a nutshell: each won term of ``kube-system/kube-scheduler`` gets fresh pod and node
informers and one scheduling loop. A pod with no ``spec.nodeName``, ``schedulerName``
``default-scheduler`` (or unset) and no deletionTimestamp is queued; :func:`core.choose_node`
picks a node, counting pods this term bound that the informer has not shown yet (the
scheduler cache's *assumed* pods); the Binding (with the pod's UID, as DefaultBinder sends, and
the fencing annotations) is POSTed. 409 → someone else bound it: dropped. No node → the pod gets
``PodScheduled=False`` (reason ``Unschedulable``) through ``pods/{name}/status`` and is retried
with backoff (and at once when a node changes).
"""

from __future__ import annotations

import copy
import datetime
import logging
import threading
from typing import Any

from kubernetes.client.exceptions import ApiException

from controlplane.controllermanager.base import Controller
from controlplane.kubeclient.client import Kube, Obj, status_code
from controlplane.kubeclient.component import ComponentEnv
from controlplane.kubeclient.events import EventApi, EventRecorder
from controlplane.kubeclient.informer import Informer, key_of
from controlplane.kubeclient.objects import (
    condition,
    is_terminating,
    name_of,
    ns_of,
    path,
    set_condition,
    uid_of,
)
from controlplane.leaderelection import LeaderElection, Term
from controlplane.leaderelection.env import elector_from_env
from controlplane.scheduler.core import choose_node

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"


def pending(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
        and not is_terminating(pod)
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    )


class SchedulingLoop(Controller):
    name = "scheduler"

    def __init__(
        self,
        *,
        kube: Kube,
        term: Term,
        pods: Informer,
        nodes: Informer,
        events: EventRecorder | None = None,
    ) -> None:
        super().__init__(kube=kube, term=term, events=events)
        self.pods = pods
        self.nodes = nodes
        self.assumed: dict[str, tuple[str, str]] = {}  # pod key -> (uid, node)
        self.backoff: dict[str, float] = {}
        self.binds = 0
        pods.add_handler(self._on_pod)
        nodes.add_handler(lambda old, new: self._requeue_pending())

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        pod = new or old or {}
        key = key_of(pod)
        if new is None or (new.get("spec") or {}).get("nodeName"):
            self.assumed.pop(key, None)  # confirmed (or gone): the cache counts it now
        if new is not None and pending(new):
            self.queue.add(key)

    def _requeue_pending(self) -> None:
        for p in self.pods.items():
            if pending(p):
                self.queue.add(key_of(p))

    def resync_keys(self) -> list[str]:
        return [key_of(p) for p in self.pods.items() if pending(p)]

    def _bound(self) -> dict[str, list[Obj]]:
        out: dict[str, list[Obj]] = {}
        seen: set[str] = set()
        for p in self.pods.items():
            n = (p.get("spec") or {}).get("nodeName")
            if n:
                out.setdefault(str(n), []).append(p)
                seen.add(key_of(p))
        for key, (_uid, n) in list(self.assumed.items()):
            assumed = self.pods.get(key)
            if assumed is not None and key not in seen:
                out.setdefault(n, []).append(assumed)
        return out

    def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or not pending(pod):
            self.backoff.pop(key, None)
            return
        if key in self.assumed and self.assumed[key][0] == uid_of(pod):
            return  # bound by us; waiting for the watch to show it
        choice = choose_node(pod, self.nodes.items(), self._bound())
        if choice.node is None:
            self._unschedulable(pod, choice.message)
            delay = min(self.backoff.get(key, 0.25) * 2, 5.0)
            self.backoff[key] = delay
            self.queue.add_after(key, delay)
            return
        binding = self.term.fence(
            {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name_of(pod), "namespace": ns_of(pod), "uid": uid_of(pod)},
                "target": {"apiVersion": "v1", "kind": "Node", "name": choice.node},
            }
        )
        try:
            self.kube.create(path("pods", ns_of(pod), name_of(pod), "binding"), binding)
        except ApiException as exc:
            if status_code(exc) in (404, 409):
                log.info("scheduler: %s not bound (%s %s): dropped", key, exc.status, exc.reason)
                self.backoff.pop(key, None)
                return
            raise
        self.assumed[key] = (uid_of(pod), choice.node)
        self.backoff.pop(key, None)
        self.binds += 1
        log.info("scheduler: bound %s to %s", key, choice.node)
        message = f"Successfully assigned {key} to {choice.node}"
        self.events.record(pod, reason="Scheduled", message=message, action="Binding")

    def _unschedulable(self, pod: Obj, message: str) -> None:
        cur = condition(pod, "PodScheduled") or {}
        if cur.get("status") == "False" and cur.get("message") == message:
            return
        body = copy.deepcopy(pod)
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        set_condition(
            body,
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": now,
            },
        )
        body.setdefault("status", {}).setdefault("phase", "Pending")
        self.kube.update(path("pods", ns_of(pod), name_of(pod), "status"), self.term.fence(body))
        log.info("scheduler: %s unschedulable: %s", key_of(pod), message)
        # Recorded when the condition changes, not on every retry (a repeat would be counted).
        self.events.record(
            pod, reason="FailedScheduling", message=message, action="Scheduling", warning=True
        )


class Scheduler:
    def __init__(self, env: ComponentEnv) -> None:
        self.env = env
        self.kube = Kube(env.client)
        self.elector = elector_from_env(env)
        # kube-scheduler: leader election through core events, pod events through events/v1.
        self.events = EventRecorder(
            self.kube, component=SCHEDULER_NAME, instance=self.elector.identity, host=env.name
        )
        self.election = LeaderElection(
            self.kube,
            lease=("kube-system", "kube-scheduler"),
            elector=self.elector,
            on_started=self._start_term,
            on_stopped=lambda term: None,
            events=self.events,
        )
        self._stop = threading.Event()
        self._loop: SchedulingLoop | None = None
        self.terms = 0

    def start(self, stop: threading.Event) -> None:
        self._stop = stop
        self.events.start(stop)
        threading.Thread(
            target=self.election.run, args=(stop,), name="election", daemon=True
        ).start()

    def _start_term(self, term: Term) -> None:
        self.terms += 1
        stop = threading.Event()
        pods = Informer(self.kube, path("pods"), name="pods")
        nodes = Informer(self.kube, path("nodes"), name="nodes")
        loop = SchedulingLoop(
            kube=self.kube,
            term=term,
            pods=pods,
            nodes=nodes,
            events=self.events.with_component(SCHEDULER_NAME, api=EventApi.EVENTS_V1),
        )
        self._loop = loop

        def body() -> None:
            for inf in (pods, nodes):
                threading.Thread(target=inf.run, args=(stop,), daemon=True).start()
            while not (pods.synced.wait(0.2) and nodes.synced.wait(0.2)):
                if term.ended.is_set() or self._stop.is_set():
                    stop.set()
                    return
            threading.Thread(target=loop.run, args=(stop,), daemon=True).start()
            while not term.ended.wait(0.2) and not self._stop.is_set():
                pass
            stop.set()

        threading.Thread(target=body, name="scheduler-term", daemon=True).start()

    def status(self) -> dict[str, Any]:
        el = self.elector
        term = self.election.term
        return {
            "name": self.env.name,
            "identity": el.identity,
            "leader": bool(term is not None and term.active()),
            "lease_transitions": el.observed.transitions if el.observed else None,
            "lease_holder": el.observed.holder if el.observed else None,
            "terms": self.terms,
            "timings": {
                "lease_duration_s": el.timings.lease_duration_s,
                "renew_deadline_s": el.timings.renew_deadline_s,
                "retry_period_s": el.timings.retry_period_s,
            },
            "bugs": sorted(self.env.bugs),
            "binds": self._loop.binds if self._loop else 0,
            "events": self.events.stats,
        }

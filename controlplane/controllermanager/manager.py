"""kube-controller-manager: leader election, then one term of informers and controllers.

In a nutshell: :class:`ControllerManager` campaigns for ``kube-system/kube-controller-manager``;
each won term gets fresh shared informers (deployments, replicasets, pods, nodes, node leases)
and the Deployment, ReplicaSet and node lifecycle controllers, each on its own thread; the term
ending stops them all (a lost leader goes back to candidate; see ``leaderelection.elector``).

    cm = ControllerManager(env)      # env: ComponentEnv
    cm.start(stop_event); cm.status()
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import Any

from controlplane.controllermanager.deployment import DeploymentController
from controlplane.controllermanager.nodelifecycle import NodeLifecycleController
from controlplane.controllermanager.nodelifecycle_core import NodeTimings
from controlplane.controllermanager.replicaset import ReplicaSetController
from controlplane.kubeclient.client import Kube
from controlplane.kubeclient.component import ComponentEnv, env_count, env_seconds
from controlplane.kubeclient.events import EventRecorder
from controlplane.kubeclient.informer import Informer
from controlplane.kubeclient.objects import path
from controlplane.leaderelection import LeaderElection, Term
from controlplane.leaderelection.env import elector_from_env

log = logging.getLogger(__name__)


class ControllerManager:
    def __init__(self, env: ComponentEnv) -> None:
        self.env = env
        e = env.environ
        self.node_timings = NodeTimings(
            monitor_period_s=env_seconds(e, "NODE_MONITOR_PERIOD_S", 0.5),
            grace_s=env_seconds(e, "NODE_MONITOR_GRACE_S", 4.0),
            eviction_timeout_s=env_seconds(e, "POD_EVICTION_TIMEOUT_S", 6.0),
        )
        # kube-controller-manager's --concurrent-replicaset-syncs / --concurrent-deployment-syncs
        self.replicaset_workers = env_count(e, "CONCURRENT_REPLICASET_SYNCS", 5)
        self.deployment_workers = env_count(e, "CONCURRENT_DEPLOYMENT_SYNCS", 5)
        self.kube = Kube(env.client)
        self.elector = elector_from_env(env)
        self.events = EventRecorder(
            self.kube,
            component="kube-controller-manager",
            instance=self.elector.identity,
            host=env.name,
        )
        self.election = LeaderElection(
            self.kube,
            lease=("kube-system", "kube-controller-manager"),
            elector=self.elector,
            on_started=self._start_term,
            on_stopped=lambda term: None,
            events=self.events,
        )
        self._stop = threading.Event()
        self._rs: ReplicaSetController | None = None
        self._nodes: NodeLifecycleController | None = None
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

        def watch_term() -> None:  # one stop for this term's threads
            while not term.ended.wait(0.2):
                if self._stop.is_set():
                    break
            stop.set()

        k = self.kube
        informers = {
            "deployments": Informer(k, path("deployments"), name="deployments"),
            "replicasets": Informer(k, path("replicasets"), name="replicasets"),
            "pods": Informer(k, path("pods"), name="pods"),
            "nodes": Informer(k, path("nodes"), name="nodes"),
            "leases": Informer(k, path("leases", "kube-node-lease"), name="node-leases"),
        }
        rs = ReplicaSetController(
            kube=k,
            term=term,
            replicasets=informers["replicasets"],
            pods=informers["pods"],
            bugs=self.env.bugs,
            events=self.events.with_component("replicaset-controller"),
            workers=self.replicaset_workers,
        )
        dep = DeploymentController(
            kube=k,
            term=term,
            deployments=informers["deployments"],
            replicasets=informers["replicasets"],
            events=self.events.with_component("deployment-controller"),
            workers=self.deployment_workers,
        )
        nodes = NodeLifecycleController(
            kube=k,
            term=term,
            nodes=informers["nodes"],
            node_leases=informers["leases"],
            pods=informers["pods"],
            timings=self.node_timings,
            bugs=self.env.bugs,
            events=self.events.with_component("node-controller"),
        )
        self._rs, self._nodes = rs, nodes
        threading.Thread(target=watch_term, daemon=True).start()
        for name, inf in informers.items():
            threading.Thread(
                target=inf.run, args=(stop,), name=f"informer-{name}", daemon=True
            ).start()

        def run_after_sync(ctrl: Any) -> None:
            # client-go WaitForCacheSync: no controller acts on a cache that has not listed.
            while not all(i.synced.wait(0.2) for i in informers.values()):
                if stop.is_set():
                    return
            ctrl.run(stop)

        for ctrl in (rs, dep, nodes):
            threading.Thread(
                target=run_after_sync, args=(ctrl,), name=ctrl.name, daemon=True
            ).start()

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
                **{f"node_{k}": v for k, v in asdict(self.node_timings).items()},
            },
            "workers": {
                "replicaset": self.replicaset_workers,
                "deployment": self.deployment_workers,
            },
            "bugs": sorted(self.env.bugs),
            "pods_created": self._rs.creates if self._rs else 0,
            "evictions": self._nodes.evictions if self._nodes else 0,
            "unhealthy_nodes": sorted(self._nodes.unhealthy) if self._nodes else [],
            "events": self.events.stats,
        }

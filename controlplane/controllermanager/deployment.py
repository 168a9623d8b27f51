"""The Deployment controller: ReplicaSets by pod-template hash, scaling, rolling updates.

In a nutshell: a sync of ``namespace/name`` finds the ReplicaSets the Deployment controls,
creates the one for the current template (``<deployment>-<hash>``) when missing, writes each
ReplicaSet's ``spec.replicas`` as :func:`deployment_core.plan_rollout` says (an update
preconditioned on the cached resourceVersion, fenced), and writes the Deployment's status. A
ReplicaSet event re-queues its owning Deployment. History cleanup (revisionHistoryLimit),
pausing and rollback are not implemented.
"""

from __future__ import annotations

import copy
import logging

from kubernetes.client.exceptions import ApiException

from controlplane.controllermanager.base import Controller
from controlplane.controllermanager.deployment_core import (
    HASH_LABEL,
    deployment_status,
    new_replica_set,
    plan_rollout,
    spec_replicas,
    template_hash,
)
from controlplane.kubeclient.client import Kube, Obj, status_code
from controlplane.kubeclient.events import EventRecorder
from controlplane.kubeclient.informer import Informer, key_of
from controlplane.kubeclient.objects import (
    controller_ref,
    is_controlled_by,
    is_terminating,
    name_of,
    ns_of,
    path,
)
from controlplane.leaderelection import Term

log = logging.getLogger(__name__)


class DeploymentController(Controller):
    name = "deployment"

    def __init__(
        self,
        *,
        kube: Kube,
        term: Term,
        deployments: Informer,
        replicasets: Informer,
        events: EventRecorder | None = None,
        workers: int = 1,
    ) -> None:
        super().__init__(kube=kube, term=term, events=events, workers=workers)
        self.deploys = deployments
        self.rs = replicasets
        deployments.add_handler(lambda old, new: self.queue.add(key_of(new or old or {})))
        replicasets.add_handler(self._on_rs)

    def _on_rs(self, old: Obj | None, new: Obj | None) -> None:
        rs = new or old or {}
        ref = controller_ref(rs)
        if ref is not None and ref.get("kind") == "Deployment":
            self.queue.add(f"{ns_of(rs)}/{ref.get('name')}")

    def resync_keys(self) -> list[str]:
        return [key_of(d) for d in self.deploys.items()]

    def _scaled(self, d: Obj, rs_name: str, old: int, new: int) -> None:
        """kube-controller-manager's ScalingReplicaSet event (deployment/sync.go)."""
        way = "up" if new > old else "down"
        message = f"Scaled {way} replica set {rs_name} from {old} to {new}"
        self.events.record(d, reason="ScalingReplicaSet", message=message)

    def sync(self, key: str) -> None:
        d = self.deploys.get(key)
        if d is None or is_terminating(d):
            return  # dependents go with the garbage collector (ownerReferences)
        ns = ns_of(d)
        owned = [r for r in self.rs.items() if ns_of(r) == ns and is_controlled_by(r, d)]
        template = (d.get("spec") or {}).get("template") or {}
        hash_ = template_hash(template)
        new = next(
            (
                r
                for r in owned
                if ((r.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL) == hash_
            ),
            None,
        )
        olds = [r for r in owned if r is not new]
        if new is None:
            first = spec_replicas(d) if not any(spec_replicas(r) for r in olds) else 0
            body = self.term.fence(new_replica_set(d, hash_, first))
            try:
                new = self.kube.create(path("replicasets", ns), body)
                log.info(
                    "deployment %s: created replicaset %s (replicas %d)", key, name_of(new), first
                )
                if first:
                    self._scaled(d, name_of(new), 0, first)
            except ApiException as exc:
                if status_code(exc) != 409:
                    raise
                return  # exists but not in our cache yet: the RS event will requeue us
        for rs in [new, *olds]:
            want = plan_rollout(d, new, olds).get(name_of(rs), spec_replicas(rs))
            if want != spec_replicas(rs):
                body = self.term.fence(copy.deepcopy(rs))
                body["spec"]["replicas"] = want
                updated = self.kube.update(path("replicasets", ns, name_of(rs)), body)
                log.info(
                    "deployment %s: scaled %s %d -> %d", key, name_of(rs), spec_replicas(rs), want
                )
                self._scaled(d, name_of(rs), spec_replicas(rs), want)
                if rs is new:
                    new = updated
                else:
                    olds = [updated if name_of(o) == name_of(rs) else o for o in olds]
        status = deployment_status(d, new, [new, *olds])
        cur = d.get("status") or {}
        if any(int(cur.get(k) or 0) != v for k, v in status.items()):
            body = self.term.fence({**d, "status": {**cur, **status}})
            self.kube.update(path("deployments", ns, name_of(d), "status"), body)

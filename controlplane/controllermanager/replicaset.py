"""The ReplicaSet controller: pods to match ``spec.replicas``, guarded by expectations.

In a nutshell: a sync of ``namespace/name`` reads the RS and the active pods it controls from
the shared informers; only when the RS's expectations are satisfied (every create/delete it
sent has been seen by the pod informer) does it create or delete pods
(:mod:`replicaset_core`); then it writes the status through ``/status``. Every write carries
the term's fencing annotations; a pod delete is preceded by an annotation update so the
DELETED event shows which leader removed it.

Bug switch ``no-expectations``: syncs act on the cache regardless of pending expectations, so a
slow pod watch makes the controller create the same replicas again (overshoot).
"""

from __future__ import annotations

import copy
import logging
import threading
import time

from kubernetes.client.exceptions import ApiException

from controlplane.controllermanager.base import Controller
from controlplane.controllermanager.expectations import Expectations
from controlplane.controllermanager.replicaset_core import (
    desired,
    plan_replicas,
    pod_from_template,
    rs_status,
    slow_start_batches,
    status_differs,
)
from controlplane.kubeclient.client import Kube, Obj, status_code
from controlplane.kubeclient.events import EventRecorder
from controlplane.kubeclient.informer import Informer, key_of
from controlplane.kubeclient.objects import (
    controller_ref,
    is_active_pod,
    is_controlled_by,
    is_terminating,
    name_of,
    ns_of,
    path,
    uid_of,
)
from controlplane.leaderelection import Term

log = logging.getLogger(__name__)


def fenced_delete(kube: Kube, term: Term, pod: Obj) -> None:
    """Annotate ``pod`` with the writer, then delete it preconditioned on that version."""
    body = term.fence(copy.deepcopy(pod))
    ns, name = ns_of(pod), name_of(pod)
    try:
        updated = kube.update(path("pods", ns, name), body)
        rv = str(updated["metadata"]["resourceVersion"])
        term.fence({})  # re-check: the deadline may have passed during the update
        kube.delete(
            path("pods", ns, name),
            {
                "kind": "DeleteOptions",
                "apiVersion": "v1",
                "preconditions": {"uid": uid_of(pod), "resourceVersion": rv},
            },
        )
    except ApiException as exc:
        if status_code(exc) != 404:  # already gone: the goal is met
            raise


class ReplicaSetController(Controller):
    name = "replicaset"

    def __init__(
        self,
        *,
        kube: Kube,
        term: Term,
        replicasets: Informer,
        pods: Informer,
        bugs: frozenset[str],
        events: EventRecorder | None = None,
        workers: int = 1,
    ) -> None:
        super().__init__(kube=kube, term=term, events=events, workers=workers)
        self.rs = replicasets
        self.pods = pods
        self.expectations = Expectations(mono=time.monotonic)
        self._no_expectations = "no-expectations" in bugs
        self.creates = 0  # pods this term created (reported on /status)
        self._creates_lock = threading.Lock()  # workers of different ReplicaSets count here
        replicasets.add_handler(lambda old, new: self.queue.add(key_of(new or old or {})))
        pods.add_handler(self._on_pod)

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return None
        return f"{ns_of(pod)}/{ref.get('name')}"

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        pod = new or old or {}
        owner = self._owner_key(pod)
        if owner is None:
            return
        if old is None and new is not None:
            self.expectations.creation_observed(owner)
        elif new is None or (is_terminating(new) and not (old and is_terminating(old))):
            self.expectations.deletion_observed(owner, key_of(pod))
        if old is not None and new is not None:
            old_owner = self._owner_key(old)
            if old_owner and old_owner != owner:
                self.queue.add(old_owner)
        self.queue.add(owner)

    def resync_keys(self) -> list[str]:
        return [key_of(r) for r in self.rs.items()]

    def sync(self, key: str) -> None:
        rs = self.rs.get(key)
        if rs is None:
            self.expectations.forget(key)
            return
        ns = ns_of(rs)
        owned = [p for p in self.pods.items() if ns_of(p) == ns and is_controlled_by(p, rs)]
        active = [p for p in owned if is_active_pod(p)]
        satisfied = self.expectations.satisfied(key)
        if (satisfied or self._no_expectations) and not is_terminating(rs):
            self._manage(key, rs, active)
        status = rs_status(rs, active)
        if status_differs(rs, status):
            body = self.term.fence({**rs, "status": {**(rs.get("status") or {}), **status}})
            self.kube.update(path("replicasets", ns, name_of(rs), "status"), body)

    def _manage(self, key: str, rs: Obj, active: list[Obj]) -> None:
        plan = plan_replicas(rs, active)
        if plan.create:
            log.info(
                "replicaset %s: %d active, want %d: creating %d",
                key,
                len(active),
                desired(rs),
                plan.create,
            )
            self.expectations.expect(key, adds=plan.create, deletes=())
            sent = 0
            for batch in slow_start_batches(plan.create):
                for _ in range(batch):
                    body = self.term.fence(pod_from_template(rs))
                    try:
                        created = self.kube.create(path("pods", ns_of(rs)), body)
                    except Exception as exc:
                        self.expectations.lower_adds(key, plan.create - sent)
                        message = f"Error creating: {exc}"
                        self.events.record(rs, reason="FailedCreate", message=message, warning=True)
                        raise
                    sent += 1
                    with self._creates_lock:
                        self.creates += 1
                    self.events.record(
                        rs, reason="SuccessfulCreate", message=f"Created pod: {name_of(created)}"
                    )
        elif plan.delete:
            log.info(
                "replicaset %s: %d active, want %d: deleting %d",
                key,
                len(active),
                desired(rs),
                len(plan.delete),
            )
            self.expectations.expect(key, adds=0, deletes=[key_of(p) for p in plan.delete])
            for i, pod in enumerate(plan.delete):
                try:
                    fenced_delete(self.kube, self.term, pod)
                except Exception:
                    # Neither this delete nor the unsent ones will ever show in the informer:
                    # stop waiting for them (as lower_adds does for creates), else the RS is
                    # frozen until the expectations expire (5 min).
                    for unsent in plan.delete[i:]:
                        self.expectations.deletion_observed(key, key_of(unsent))
                    raise
                self.events.record(
                    rs, reason="SuccessfulDelete", message=f"Deleted pod: {name_of(pod)}"
                )

"""A ReplicaSet whose scale-down delete fails must not freeze on its unsent deletes.

Seen in ``node-partitioned-pods-rescheduled`` (seed 823502912): the RS controller planned 3
deletes; the 2nd got 409 (the node controller had evicted that pod first), the loop raised and
the 3rd pod was never deleted, yet stayed in the RS's deletion expectations. No informer event
could ever clear it, so every later sync skipped ``_manage`` for the 5-minute expectations
timeout: the RS sat at 3 of 5 pods to the end of the run.

Real apiserver and kvstore (local processes), real informers and the real controller; the only
help is a second writer that updates the first pod between the controller's fence update and
its preconditioned delete, as the node controller did in the run.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from controlplane_local_support import LocalControlPlane
from kubernetes.client.exceptions import ApiException

from controlplane.controllermanager.replicaset import ReplicaSetController
from controlplane.kubeclient.client import ClientSettings, Kube, Obj, status_code
from controlplane.kubeclient.informer import Informer
from controlplane.kubeclient.objects import is_active_pod, path
from controlplane.leaderelection import Term

RS_KEY = "default/web-abc"


class RacedKube(Kube):
    """The real client; before its first pod DELETE another writer updates that pod."""

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        self.raced: str | None = None

    def delete(self, path: str, body: Obj | None = None, **kw: Any) -> Obj:
        if self.raced is None and "/pods/" in path:
            self.raced = path
            pod = self.get(path)
            pod["metadata"].setdefault("labels", {})["evicted-by"] = "nodelifecycle"
            self.update(path, pod)  # a concurrent writer: the delete's precondition now fails
        return super().delete(path, body, **kw)


def _rs_body() -> Obj:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "namespace": "default"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "chaosplane/sim:1"}]},
            },
        },
    }


def _pod_body(name: str, rs: Obj) -> Obj:
    ref = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": rs["metadata"]["name"],
        "uid": rs["metadata"]["uid"],
        "controller": True,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": [ref]},
        "spec": {"containers": [{"name": "c", "image": "chaosplane/sim:1"}]},
    }


def _active_pods(cp: LocalControlPlane) -> list[Obj]:
    got = cp.api.get(path("pods", "default"))
    got.raise_for_status()
    return [p for p in got.json().get("items") or [] if is_active_pod(p)]


def test_a_failed_delete_does_not_leave_the_unsent_ones_expected(tmp_path: Path) -> None:
    with LocalControlPlane(tmp_path, controller_managers=0, schedulers=0, nodes=0) as cp:
        made = cp.api.post(path("replicasets", "default"), json=_rs_body())
        assert made.status_code == 201, made.text
        rs = made.json()
        for name in ("web-abc-a", "web-abc-b", "web-abc-c"):
            got = cp.api.post(path("pods", "default"), json=_pod_body(name, rs))
            assert got.status_code == 201, got.text

        kube = RacedKube(ClientSettings(urls=tuple(cp.api_urls)))
        rs_inf = Informer(kube, path("replicasets"), name="replicasets", watch_timeout_s=2)
        pod_inf = Informer(kube, path("pods"), name="pods", watch_timeout_s=2)
        term = Term(identity="kcm-test", transitions=1, acting=lambda: True)
        ctrl = ReplicaSetController(
            kube=kube, term=term, replicasets=rs_inf, pods=pod_inf, bugs=frozenset()
        )
        stop = threading.Event()
        threads = [
            threading.Thread(target=i.run, args=(stop,), daemon=True) for i in (rs_inf, pod_inf)
        ]
        for t in threads:
            t.start()
        try:
            cp.wait_for(
                lambda: rs_inf.get(RS_KEY) and len(pod_inf.items()) == 3,
                timeout_s=10,
                what="informers synced with the RS and its 3 pods",
            )
            try:
                ctrl.sync(RS_KEY)  # scale 3 -> 0: the first delete meets the concurrent writer
            except ApiException as exc:
                assert status_code(exc) == 409, exc
            else:
                raise AssertionError("the raced delete should have failed with 409")
            assert kube.raced is not None
            assert ctrl.expectations.pending(RS_KEY) == (0, 0), (
                "deletes that failed or were never sent are still expected: the RS is frozen "
                f"until the expectations expire ({ctrl.expectations.pending(RS_KEY)})"
            )

            def retried() -> bool:  # the work queue's retry, until the informer caught up
                ctrl.sync(RS_KEY)
                return not _active_pods(cp)

            cp.wait_for(retried, timeout_s=10, poll_s=0.5, what="the retry deleted all 3 pods")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)

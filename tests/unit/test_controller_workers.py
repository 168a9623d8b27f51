"""Concurrent controller workers, as kube-controller-manager's ``--concurrent-*-syncs``.

Two different keys are synced at the same time (each sync waits at a two-party barrier, which
only a second worker can pass); one key is never synced by two workers at once, however often
it is added while in flight, and an add during a sync is not lost (client-go's workqueue
dirty/processing sets). Then the real ReplicaSet controller against a real local apiserver:
two ReplicaSets whose first pod creates are held at a barrier both get their pods — one worker
would sit at the barrier until it broke — and expectations still hold each at exactly its
``spec.replicas``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from controlplane_local_support import LocalControlPlane

from controlplane.controllermanager.base import Controller
from controlplane.controllermanager.replicaset import ReplicaSetController
from controlplane.kubeclient.client import ClientSettings, Kube, Obj
from controlplane.kubeclient.informer import Informer
from controlplane.kubeclient.objects import is_active_pod, path
from controlplane.leaderelection import Term

BARRIER_S = 5.0


def _term() -> Term:
    return Term(identity="kcm-test", transitions=1, acting=lambda: True)


class _Recording(Controller):
    """A controller whose sync records who runs when; ``hold`` makes a sync wait."""

    name = "recording"

    def __init__(self, *, workers: int, barrier: threading.Barrier | None = None) -> None:
        super().__init__(kube=Kube.__new__(Kube), term=_term(), workers=workers)
        self.barrier = barrier
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.syncs: dict[str, int] = {}
        self.broken: list[str] = []
        self.hold_s = 0.0

    def sync(self, key: str) -> None:
        with self.lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self.in_flight[key])
            self.syncs[key] = self.syncs.get(key, 0) + 1
        try:
            if self.barrier is not None:
                try:
                    self.barrier.wait(timeout=BARRIER_S)
                except threading.BrokenBarrierError:
                    self.broken.append(key)
            time.sleep(self.hold_s)
        finally:
            with self.lock:
                self.in_flight[key] -= 1


def _run(ctrl: Controller) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    t = threading.Thread(target=ctrl.run, args=(stop,), daemon=True)
    t.start()
    return stop, t


def _wait(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@pytest.mark.parametrize("workers", [2, 5])
def test_two_keys_sync_at_once_with_several_workers(workers: int) -> None:
    ctrl = _Recording(workers=workers, barrier=threading.Barrier(2))
    stop, t = _run(ctrl)
    try:
        ctrl.queue.add("default/a")
        ctrl.queue.add("default/b")
        _wait(lambda: ctrl.syncs.get("default/a") and ctrl.syncs.get("default/b"), 10, "2 syncs")
        _wait(lambda: not any(ctrl.in_flight.values()), 10, "both syncs to finish")
    finally:
        stop.set()
        t.join(timeout=10)
    assert ctrl.broken == [], f"the two syncs did not run at the same time: {ctrl.broken}"
    assert not t.is_alive(), "run() did not return after stop"


def test_one_worker_syncs_keys_one_after_the_other() -> None:
    """The contrast that makes the test above meaningful: one worker cannot pass the barrier."""
    ctrl = _Recording(workers=1, barrier=threading.Barrier(2))
    stop, t = _run(ctrl)
    try:
        ctrl.queue.add("default/a")
        ctrl.queue.add("default/b")
        _wait(lambda: len(ctrl.broken) >= 1, BARRIER_S + 5, "the lone worker's barrier to break")
    finally:
        stop.set()
        t.join(timeout=BARRIER_S + 5)
    assert ctrl.broken[0] == "default/a"


def test_one_key_is_never_synced_by_two_workers_and_no_add_is_lost() -> None:
    ctrl = _Recording(workers=5)
    ctrl.hold_s = 0.05
    stop, t = _run(ctrl)
    try:
        for _ in range(40):  # adds while the key is in flight mark it dirty, not a 2nd worker
            ctrl.queue.add("default/web")
            ctrl.queue.add("default/other")
            time.sleep(0.01)
        _wait(lambda: not any(ctrl.in_flight.values()) and len(ctrl.queue) == 0, 10, "drain")
        before = ctrl.syncs["default/web"]
        ctrl.queue.add("default/web")  # one add after the last sync: must sync once more
        _wait(lambda: ctrl.syncs["default/web"] == before + 1, 5, "the late add's sync")
    finally:
        stop.set()
        t.join(timeout=10)
    assert ctrl.max_in_flight == {"default/web": 1, "default/other": 1}, ctrl.max_in_flight
    # 40 adds against 50 ms syncs coalesce: far fewer syncs than adds, but more than one.
    assert 1 < ctrl.syncs["default/web"] < 40, ctrl.syncs


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="workers must be >= 1"):
        _Recording(workers=0)


class _HeldCreates(Kube):
    """The real client; the first pod create of each ReplicaSet waits at a 2-party barrier."""

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        self.barrier = threading.Barrier(2)
        self.held: set[str] = set()
        self.broken: list[str] = []
        self._lock = threading.Lock()

    def create(self, path: str, body: Obj, **kw: Any) -> Obj:
        if "/pods" in path:
            owner = str(body["metadata"]["ownerReferences"][0]["name"])
            with self._lock:
                first = owner not in self.held
                self.held.add(owner)
            if first:
                try:
                    self.barrier.wait(timeout=BARRIER_S)
                except threading.BrokenBarrierError:
                    self.broken.append(owner)
        return super().create(path, body, **kw)


def _rs(name: str, replicas: int) -> Obj:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "chaosplane/sim:1"}]},
            },
        },
    }


def _active(cp: LocalControlPlane, app: str) -> int:
    got = cp.api.get(path("pods", "default"), params={"labelSelector": f"app={app}"})
    got.raise_for_status()
    return sum(1 for p in got.json().get("items") or [] if is_active_pod(p))


def test_two_replicasets_progress_in_parallel_and_stay_exact(tmp_path: Path) -> None:
    with LocalControlPlane(tmp_path, controller_managers=0, schedulers=0, nodes=0) as cp:
        kube = _HeldCreates(ClientSettings(urls=tuple(cp.api_urls)))
        rs_inf = Informer(kube, path("replicasets"), name="replicasets", watch_timeout_s=2)
        pod_inf = Informer(kube, path("pods"), name="pods", watch_timeout_s=2)
        ctrl = ReplicaSetController(
            kube=kube, term=_term(), replicasets=rs_inf, pods=pod_inf, bugs=frozenset(), workers=5
        )
        ctrl.resync_s = 0.5  # resyncs re-run both keys often: expectations must still hold
        stop = threading.Event()
        threads = [
            threading.Thread(target=i.run, args=(stop,), daemon=True) for i in (rs_inf, pod_inf)
        ]
        for t in threads:
            t.start()
        try:
            cp.wait_for(
                lambda: rs_inf.synced.is_set() and pod_inf.synced.is_set(),
                timeout_s=10,
                what="sync",
            )
            threads.append(threading.Thread(target=ctrl.run, args=(stop,), daemon=True))
            threads[-1].start()
            for name in ("web-a", "web-b"):
                got = cp.api.post(path("replicasets", "default"), json=_rs(name, 4))
                assert got.status_code == 201, got.text
            cp.wait_for(
                lambda: _active(cp, "web-a") == 4 and _active(cp, "web-b") == 4,
                timeout_s=20,
                what="both ReplicaSets at 4 pods",
            )
            time.sleep(2.0)  # four more resyncs of each key
            assert (_active(cp, "web-a"), _active(cp, "web-b")) == (4, 4)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
        assert kube.held == {"web-a", "web-b"}
        assert kube.broken == [], f"the two first creates were not concurrent: {kube.broken}"
        assert ctrl.creates == 8

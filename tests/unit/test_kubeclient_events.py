"""The components' event recorder against a real apiserver (local processes, no Docker).

A repeat of an event updates the one written (core ``count``, events.k8s.io ``series``), the
spam filter caps one object's events, and an unreachable apiserver costs the caller nothing:
``record`` returns at once and the failure is only counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from controlplane_local_support import LocalControlPlane

from controlplane.kubeclient.client import ClientSettings, Kube
from controlplane.kubeclient.events import SPAM_BURST, EventApi, EventRecorder, reference

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "7"},
}
NODE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "node-1", "uid": "n-uid"},
}


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    base = tmp_path_factory.mktemp("events-cp")
    with LocalControlPlane(base, controller_managers=0, schedulers=0, nodes=0) as plane:
        yield plane


def recorder(
    urls: tuple[str, ...], *, api: EventApi = EventApi.CORE, component: str = "test-controller"
) -> EventRecorder:
    kube = Kube(ClientSettings(urls=urls, connect_timeout_s=0.5, request_timeout_s=2.0))
    return EventRecorder(
        kube, component=component, instance="tester-1_0badc0de", host="tester-1", api=api
    )


def drain(rec: EventRecorder, *, writes: int, timeout_s: float = 20.0) -> None:
    stop = threading.Event()
    rec.start(stop)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            s = rec.stats
            if s["sent"] + s["failed"] >= writes:
                return
            time.sleep(0.05)
        raise AssertionError(f"the recorder wrote {rec.stats}, expected {writes} writes")
    finally:
        stop.set()


def events_about(cp: LocalControlPlane, name: str, component: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cp.events(f"involvedObject.name={name},reportingComponent={component}")
        if e["reportingInstance"] == "tester-1_0badc0de"
    ]


def test_a_repeated_core_event_is_counted_on_one_object(cp: LocalControlPlane) -> None:
    rec = recorder(tuple(cp.api_urls), component="rs-test")
    for _ in range(3):
        rec.record(POD, reason="SuccessfulCreate", message="Created pod: web")
    rec.record(POD, reason="SuccessfulDelete", message="Deleted pod: web", action="Delete")
    drain(rec, writes=4)
    assert rec.stats == {"sent": 4, "failed": 0, "dropped": 0}
    got = {e["reason"]: e for e in events_about(cp, "web", "rs-test")}
    assert set(got) == {"SuccessfulCreate", "SuccessfulDelete"}
    created = got["SuccessfulCreate"]
    assert created["count"] == 3 and created["source"] == {
        "component": "rs-test",
        "host": "tester-1",
    }
    assert created["involvedObject"] == {
        "kind": "Pod",
        "namespace": "default",
        "name": "web",
        "uid": "u-1",
        "apiVersion": "v1",
        "resourceVersion": "7",
    }
    assert created["metadata"]["name"].startswith("web.") and created["eventTime"]
    assert got["SuccessfulDelete"]["action"] == "Delete"


def test_events_v1_repeats_become_a_series(cp: LocalControlPlane) -> None:
    rec = recorder(tuple(cp.api_urls), api=EventApi.EVENTS_V1, component="sched-test")
    pod = {**POD, "metadata": {**POD["metadata"], "name": "pending"}}
    for _ in range(2):
        rec.record(
            pod, reason="FailedScheduling", message="0/0 nodes", action="Scheduling", warning=True
        )
    drain(rec, writes=2)
    url = "/apis/events.k8s.io/v1/namespaces/default/events"
    items = cp.get(f"{url}?fieldSelector=regarding.name%3Dpending")["items"]
    assert len(items) == 1, items
    ev = items[0]
    assert ev["reportingController"] == "sched-test" and ev["type"] == "Warning"
    assert ev["series"]["count"] == 2 and ev["note"] == "0/0 nodes"


def test_node_events_are_namespace_less_with_the_name_as_uid(cp: LocalControlPlane) -> None:
    assert reference(NODE) == {
        "kind": "Node",
        "name": "node-1",
        "uid": "node-1",
        "apiVersion": "v1",
    }
    rec = recorder(tuple(cp.api_urls), component="node-test")
    rec.record(NODE, reason="NodeNotReady", message="Node node-1 status is now: NodeNotReady")
    drain(rec, writes=1)
    got = cp.events(
        "involvedObject.kind=Node,involvedObject.name=node-1,involvedObject.namespace=,"
        "involvedObject.uid=node-1",
        namespace="default",
    )
    assert [e["reason"] for e in got] == ["NodeNotReady"]


def test_the_spam_filter_caps_one_objects_events() -> None:
    now = [0.0]
    rec = EventRecorder(
        Kube(ClientSettings(urls=("http://127.0.0.1:9",))),
        component="c",
        instance="i",
        host="h",
        mono=lambda: now[0],
    )
    for i in range(SPAM_BURST + 5):
        rec.record(POD, reason="R", message=f"m{i}")
    assert rec.stats["dropped"] == 5
    now[0] += 300.0  # one token back after the refill period
    rec.record(POD, reason="R", message="again")
    rec.record(POD, reason="R", message="and again")
    assert rec.stats["dropped"] == 6
    rec.record(NODE, reason="R", message="another object has its own bucket")
    assert rec.stats["dropped"] == 6


def test_an_unreachable_apiserver_never_blocks_or_raises() -> None:
    rec = recorder(("http://127.0.0.1:9",))  # nothing listens on the discard port
    for i in range(10):
        rec.record(POD, reason="R", message=f"m{i}")
    assert rec.stats == {"sent": 0, "failed": 0, "dropped": 0}  # queued, not written inline
    drain(rec, writes=10)
    assert rec.stats == {"sent": 0, "failed": 10, "dropped": 0}


def test_a_disabled_recorder_writes_nothing() -> None:
    rec = EventRecorder.disabled()
    rec.record(POD, reason="R", message="m")
    rec.start(threading.Event())
    assert rec.stats == {"sent": 0, "failed": 0, "dropped": 0}

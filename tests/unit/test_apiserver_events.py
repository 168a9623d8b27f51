"""Events: core ``v1`` and ``events.k8s.io/v1`` over one collection, as kubectl describe uses it.

client-go's describe lists core events with ``fieldSelector=involvedObject.name=…,
involvedObject.namespace=…,involvedObject.kind=…,involvedObject.uid=…``; the scheduler writes
through ``events.k8s.io/v1``, so both views must show the same objects, converted
(``pkg/apis/events/v1/conversion.go``). Also: validation on create, watch with the selectors,
the ``kubectl get events`` table, protobuf bodies, and the per-namespace bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_apiserver_support import Watcher, apiserver, real_store

from controlplane.apiserver.eventsapi import EventBudget, to_core, to_events_v1
from controlplane.apiserver.protobuf import PROTOBUF, encode
from controlplane.apiserver.store import StoreClient, StoreClientConfig
from controlplane.apiserver.tables import TABLE_MEDIA

CORE = "/api/v1/namespaces/default/events"
V1 = "/apis/events.k8s.io/v1/namespaces/default/events"
MERGE = {"Content-Type": "application/merge-patch+json"}
UID = "6b1f3c1e-0000-4000-8000-000000000001"


def core_event(name: str, *, about: str = "web", kind: str = "Pod", **extra: Any) -> dict[str, Any]:
    """A core Event as client-go's record package writes it."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {
            "kind": kind,
            "namespace": "default",
            "name": about,
            "uid": UID if about == "web" else f"uid-{about}",
            "apiVersion": "v1",
        },
        "reason": "SuccessfulCreate",
        "message": f"Created pod: {about}",
        "source": {"component": "replicaset-controller"},
        "firstTimestamp": "2026-12-03T10:00:00Z",
        "lastTimestamp": "2026-12-03T10:00:00Z",
        "count": 1,
        "type": "Normal",
        "reportingComponent": "replicaset-controller",
        "reportingInstance": "controller-manager-1_ab12cd34",
        **extra,
    }


def v1_event(name: str, *, about: str = "web", **extra: Any) -> dict[str, Any]:
    """An events.k8s.io/v1 Event as kube-scheduler writes it."""
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name},
        "eventTime": "2026-12-03T10:00:01.250000Z",
        "reportingController": "default-scheduler",
        "reportingInstance": "scheduler-1_ab12cd34",
        "action": "Binding",
        "reason": "Scheduled",
        "regarding": {"kind": "Pod", "namespace": "default", "name": about, "uid": UID},
        "note": f"Successfully assigned default/{about} to node-1",
        "type": "Normal",
        **extra,
    }


def describe_selector(name: str, kind: str = "Pod", uid: str = UID) -> dict[str, str]:
    """The query kubectl describe sends (client-go Events.GetFieldSelector)."""
    return {
        "fieldSelector": f"involvedObject.name={name},involvedObject.namespace=default,"
        f"involvedObject.kind={kind},involvedObject.uid={uid}",
        "limit": "500",
    }


def names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [i["metadata"]["name"] for i in resp.json()["items"]]


Body = Callable[[httpx.AsyncClient], Awaitable[None]]


def run(tmp_path: Path, body: Body) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            await body(api)

    asyncio.run(main())


def test_describe_selectors_find_the_events_of_one_object_in_both_views(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        assert (await api.post(CORE, json=core_event("web.1"))).status_code == 201
        assert (await api.post(CORE, json=core_event("db.1", about="db"))).status_code == 201
        created = await api.post(V1, json=v1_event("web.2"))
        assert created.status_code == 201, created.text
        assert created.json()["apiVersion"] == "events.k8s.io/v1"
        assert created.json()["note"].startswith("Successfully assigned")
        # core view: both events about "web" (the events.k8s.io one converted), not "db"
        listed = await api.get(CORE, params=describe_selector("web"))
        assert names(listed) == ["web.1", "web.2"]
        assert listed.json()["kind"] == "EventList" and listed.json()["apiVersion"] == "v1"
        scheduled = listed.json()["items"][1]
        assert scheduled["apiVersion"] == "v1" and scheduled["involvedObject"]["name"] == "web"
        assert scheduled["message"] == "Successfully assigned default/web to node-1"
        assert scheduled["reportingComponent"] == "default-scheduler"
        assert "regarding" not in scheduled and "note" not in scheduled
        assert names(await api.get(CORE, params=describe_selector("web", uid="other"))) == []
        assert names(await api.get(CORE, params=describe_selector("web", kind="Node"))) == []
        by_source = {"fieldSelector": "source=default-scheduler"}  # falls back to reporting…
        assert names(await api.get("/api/v1/events", params=by_source)) == ["web.2"]
        assert names(await api.get(CORE, params={"fieldSelector": "reason=Scheduled"})) == ["web.2"]
        # events.k8s.io view: its own field names, core events converted
        sel = {"fieldSelector": "regarding.name=web,reportingController=replicaset-controller"}
        got = await api.get(V1, params=sel)
        assert names(got) == ["web.1"] and got.json()["kind"] == "EventList"
        ev = got.json()["items"][0]
        assert ev["apiVersion"] == "events.k8s.io/v1" and ev["regarding"]["uid"] == UID
        assert ev["note"] == "Created pod: web" and ev["deprecatedCount"] == 1
        assert ev["deprecatedSource"] == {"component": "replicaset-controller"}
        assert "involvedObject" not in ev and "message" not in ev
        one = (await api.get(f"{V1}/web.1")).json()
        assert one["regarding"]["name"] == "web" and one["reportingController"]
        # a field label the other group spells differently is refused, naming the valid ones
        bad = await api.get(V1, params={"fieldSelector": "involvedObject.name=web"})
        assert bad.status_code == 400 and "regarding.name" in bad.json()["message"]
        bad = await api.get(CORE, params={"fieldSelector": "regarding.name=web"})
        assert bad.status_code == 400 and "involvedObject.name" in bad.json()["message"]

    run(tmp_path, body)


def test_writes_through_either_group_change_the_one_stored_event(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        await api.post(V1, json=v1_event("web.s", reason="FailedScheduling", type="Warning"))
        series = {"series": {"count": 3, "lastObservedTime": "2026-12-03T10:00:09.000000Z"}}
        patched = await api.patch(f"{V1}/web.s", json=series, headers=MERGE)
        assert patched.status_code == 200, patched.text
        assert patched.json()["series"]["count"] == 3 and patched.json()["note"]
        core = (await api.get(f"{CORE}/web.s")).json()
        assert core["series"]["count"] == 3 and core["reason"] == "FailedScheduling"
        core["message"] = "0/3 nodes are available"
        put = await api.put(f"{CORE}/web.s", json=core)
        assert put.status_code == 200, put.text
        assert (await api.get(f"{V1}/web.s")).json()["note"] == "0/3 nodes are available"
        gone = await api.delete(f"{V1}/web.s")
        assert gone.status_code == 200 and gone.json()["apiVersion"] == "events.k8s.io/v1"
        assert (await api.get(f"{CORE}/web.s")).status_code == 404
        # deletecollection selects in the endpoint's own field names
        await api.post(CORE, json=core_event("web.a"))
        await api.post(CORE, json=core_event("db.a", about="db"))
        swept = await api.delete(V1, params={"fieldSelector": "regarding.name=db"})
        assert swept.status_code == 200, swept.text
        assert [i["note"] for i in swept.json()["items"]] == ["Created pod: db"]
        assert names(await api.get(CORE)) == ["web.a"]

    run(tmp_path, body)


@pytest.mark.parametrize(
    ("path", "event", "field"),
    [
        (V1, v1_event("x", eventTime=None), "eventTime"),
        (V1, v1_event("x", reportingController=""), "reportingController"),
        (V1, v1_event("x", action=""), "action"),
        (V1, v1_event("x", type="Info"), "type"),
        (
            CORE,
            core_event("x", involvedObject={"kind": "Pod", "namespace": "other", "name": "p"}),
            "involvedObject.namespace",
        ),
    ],
)
def test_invalid_events_are_422_naming_the_field(
    tmp_path: Path, path: str, event: dict[str, Any], field: str
) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        resp = await api.post(path, json=event)
        assert resp.status_code == 422, resp.text
        assert resp.json()["reason"] == "Invalid" and field in resp.json()["message"]

    run(tmp_path, body)


def test_node_events_live_in_default_with_an_empty_involved_namespace(tmp_path: Path) -> None:
    """The node controller's NodeNotReady: involvedObject {kind: Node, uid: <node name>} and no
    namespace; kubectl describe node lists it with involvedObject.namespace= (empty)."""

    async def body(api: httpx.AsyncClient) -> None:
        ref = {"kind": "Node", "name": "node-1", "uid": "node-1", "apiVersion": "v1"}
        ev = core_event("node-1.1", involvedObject=ref, reason="NodeNotReady")
        assert (await api.post(CORE, json=ev)).status_code == 201
        sel = {
            "fieldSelector": "involvedObject.name=node-1,involvedObject.namespace=,"
            "involvedObject.kind=Node,involvedObject.uid=node-1"
        }
        assert names(await api.get("/api/v1/events", params=sel)) == ["node-1.1"]

    run(tmp_path, body)


def test_watch_with_involved_object_selector_in_both_views(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        rv = (await api.get(CORE)).json()["metadata"]["resourceVersion"]
        core_path = f"{CORE}?watch=1&resourceVersion={rv}&fieldSelector=involvedObject.name%3Dweb"
        v1_path = f"{V1}?watch=1&resourceVersion={rv}&fieldSelector=regarding.name%3Dweb"
        async with Watcher(api, core_path) as core_w, Watcher(api, v1_path) as v1_w:
            await api.post(CORE, json=core_event("db.1", about="db"))
            await api.post(V1, json=v1_event("web.1"))
            await api.post(CORE, json=core_event("web.2"))
            await core_w.wait_for("web.2")
            await v1_w.wait_for("web.2")
        assert core_w.summary() == [("ADDED", "web.1"), ("ADDED", "web.2")]
        assert v1_w.summary() == [("ADDED", "web.1"), ("ADDED", "web.2")]
        assert core_w.events[0]["object"]["message"].startswith("Successfully assigned")
        assert v1_w.events[1]["object"]["note"] == "Created pod: web"
        assert v1_w.events[1]["object"]["apiVersion"] == "events.k8s.io/v1"

    run(tmp_path, body)


def test_kubectl_get_events_table(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        await api.post(CORE, json=core_event("web.1", count=4))
        await api.post(V1, json=v1_event("web.2"))
        for path in (CORE, V1):
            table = (await api.get(path, headers={"Accept": TABLE_MEDIA})).json()
            assert table["kind"] == "Table"
            columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
            assert columns == [
                ("Last Seen", 0),
                ("Type", 0),
                ("Reason", 0),
                ("Object", 0),
                ("Subobject", 1),
                ("Source", 1),
                ("Message", 0),
                ("First Seen", 1),
                ("Count", 1),
                ("Name", 1),
            ]
            rows = {r["cells"][9]: r["cells"] for r in table["rows"]}
            assert rows["web.1"][1:4] == ["Normal", "SuccessfulCreate", "pod/web"]
            assert rows["web.1"][6] == "Created pod: web" and rows["web.1"][8] == 4
            assert rows["web.1"][5] == "replicaset-controller, controller-manager-1_ab12cd34"
            assert rows["web.2"][2] == "Scheduled" and rows["web.2"][8] == 1
            assert rows["web.2"][0].endswith(("s", "m", "h", "d")), rows["web.2"]  # an age

    run(tmp_path, body)


def test_protobuf_bodies_create_events_in_both_groups(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        headers = {"Content-Type": PROTOBUF}
        core = core_event("pb.1", eventTime="2026-12-03T10:00:00.500000Z", action="Create")
        resp = await api.post(CORE, content=encode(core), headers=headers)
        assert resp.status_code == 201, resp.text
        assert resp.json()["eventTime"] == "2026-12-03T10:00:00.500000Z"
        resp = await api.post(V1, content=encode(v1_event("pb.2")), headers=headers)
        assert resp.status_code == 201, resp.text
        stored = (await api.get(f"{CORE}/pb.2")).json()
        assert stored["message"] == "Successfully assigned default/web to node-1"

    run(tmp_path, body)


def test_conversion_round_trips_and_moves_every_renamed_field() -> None:
    ev = v1_event(
        "x",
        deprecatedSource={"component": "c"},
        deprecatedFirstTimestamp="2026-12-03T10:00:00Z",
        deprecatedLastTimestamp="2026-12-03T10:00:05Z",
        deprecatedCount=2,
        series={"count": 2, "lastObservedTime": "2026-12-03T10:00:05.000000Z"},
    )
    core = to_core(ev)
    assert {k for k in core if k in ev} == {
        "apiVersion",
        "kind",
        "metadata",
        "eventTime",
        "reportingInstance",
        "action",
        "reason",
        "type",
        "series",
    }
    assert core["involvedObject"] == ev["regarding"] and core["count"] == 2
    assert core["reportingComponent"] == "default-scheduler"
    assert core["source"] == {"component": "c"}
    assert to_events_v1(core) == ev


def test_the_budget_keeps_the_newest_events_of_a_namespace(tmp_path: Path) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            for i in range(8):
                assert (await api.post(CORE, json=core_event(f"e{i}"))).status_code == 201
            await api.patch(f"{CORE}/e0", json={"count": 2}, headers=MERGE)  # newest write now
            store = StoreClient(StoreClientConfig(urls=(url,)))
            try:
                budget = EventBudget(store=store, limit=3)
                assert await budget.prune("default") == 5
                assert await budget.prune("default") == 0
            finally:
                await store.aclose()
            assert sorted(names(await api.get(CORE))) == ["e0", "e6", "e7"]

    asyncio.run(main())

"""Label and field selectors, and limit/continue paging, on list and watch.

API concepts "Label selectors" / "Field selectors" / "Retrieving large results sets in
chunks" (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/,
https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks).
A watch with a selector sends DELETED when an object stops matching and ADDED when it starts,
as kube-apiserver's watch cache does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_apiserver_support import PODS, Watcher, apiserver, compacted_store, pod, real_store

from controlplane.apiserver.paging import encode_continue
from controlplane.apiserver.resources import NODES, PODS as POD_RES
from controlplane.apiserver.selectors import parse_selector
from controlplane.apiserver.status import ApiError

MERGE = {"Content-Type": "application/merge-patch+json"}


def labelled(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "p", "labels": labels}, "spec": {"nodeName": "n1"},
            "status": {"phase": "Running"}}  # fmt: skip


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "api"}, False),
        ("app!=web", {}, True),  # != matches objects without the label
        ("app in (web, api),tier", {"app": "api", "tier": "x"}, True),
        ("app in (web,api),tier", {"app": "api"}, False),
        ("app notin (web)", {}, True),
        ("app notin (web)", {"app": "web"}, False),
        ("!canary", {"canary": "1"}, False),
        ("!canary,app", {"app": "x"}, True),
        ("example.com/role=db", {"example.com/role": "db"}, True),
        ("", {"anything": "1"}, True),
    ],
)
def test_label_selector_grammar(selector: str, labels: dict[str, str], expected: bool) -> None:
    sel = parse_selector(POD_RES, labels=selector, fields=None)
    assert sel.matches(labelled(**labels)) is expected


def test_field_selectors_per_kind_and_errors() -> None:
    obj = labelled()
    assert parse_selector(POD_RES, labels=None, fields="spec.nodeName=n1").matches(obj)
    assert parse_selector(POD_RES, labels=None, fields="status.phase!=Running").matches(obj) is False
    assert parse_selector(POD_RES, labels=None, fields="metadata.name==p,spec.nodeName!=").matches(obj)
    unbound = {"metadata": {"name": "q"}}
    assert parse_selector(POD_RES, labels=None, fields="spec.nodeName=").matches(unbound)
    node = {"metadata": {"name": "n1"}, "spec": {}}
    assert parse_selector(NODES, labels=None, fields="spec.unschedulable=false").matches(node)
    for bad_labels, bad_fields in (("app in web", None), ("a=b=c", None), (None, "spec.image=x"),
                                   (None, "metadata.name"), (None, "status.phase=x")):  # fmt: skip
        res = NODES if bad_fields == "status.phase=x" else POD_RES  # nodes have no status.phase
        with pytest.raises(ApiError) as err:
            parse_selector(res, labels=bad_labels, fields=bad_fields)
        assert err.value.code == 400


def run(tmp_path: Path, body: Any) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            await body(api)

    asyncio.run(main())


def names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [i["metadata"]["name"] for i in resp.json()["items"]]


def test_list_with_selectors_and_paging(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        for i in range(7):
            assert (await api.post(PODS, json=pod(f"p{i}", app="web" if i % 2 else "db"))).status_code == 201
        assert names(await api.get(PODS, params={"labelSelector": "app=web"})) == ["p1", "p3", "p5"]
        assert names(await api.get("/api/v1/pods", params={"fieldSelector": "metadata.name=p2"})) == ["p2"]
        assert names(await api.get(PODS, params={"fieldSelector": "metadata.namespace=kube-system"})) == []
        bad = await api.get(PODS, params={"fieldSelector": "spec.image=x"})
        assert bad.status_code == 400 and bad.json()["reason"] == "BadRequest"
        # Paging: a consistent snapshot even while objects change between pages.
        first = await api.get(PODS, params={"limit": "3"})
        assert names(first) == ["p0", "p1", "p2"]
        token = first.json()["metadata"]["continue"]
        rv = first.json()["metadata"]["resourceVersion"]
        await api.delete(f"{PODS}/p4")
        await api.post(PODS, json=pod("p35"))
        await api.patch(f"{PODS}/p5", content=b'{"metadata":{"labels":{"new":"1"}}}', headers=MERGE)
        second = await api.get(PODS, params={"limit": "3", "continue": token})
        assert names(second) == ["p3", "p4", "p5"]  # as of the first page's revision
        assert second.json()["metadata"]["resourceVersion"] == rv
        assert "new" not in second.json()["items"][2]["metadata"].get("labels", {})
        third = await api.get(PODS, params={"limit": "3", "continue": second.json()["metadata"]["continue"]})
        assert names(third) == ["p6"] and "continue" not in third.json()["metadata"]
        paged_web = await api.get(PODS, params={"limit": "2", "labelSelector": "app=web"})
        assert names(paged_web) == ["p1", "p3"] and paged_web.json()["metadata"]["continue"]
        garbage = await api.get(PODS, params={"continue": "not-a-token"})
        assert garbage.status_code == 400

    run(tmp_path, body)


def test_continue_token_older_than_history_is_410_expired() -> None:
    async def main() -> None:
        async with compacted_store() as url, apiserver(url, wait_ready=False) as api:
            token = encode_continue(revision=50, key="/registry/pods/default/a")
            resp = await api.get(PODS, params={"continue": token})
            assert resp.status_code == 410 and resp.json()["reason"] == "Expired", resp.text

    asyncio.run(main())


def test_watch_with_selector_sends_added_and_deleted_on_crossing(tmp_path: Path) -> None:
    """An object that starts matching is ADDED, one that stops matching is DELETED (with its new
    state), a real delete is DELETED with the last state; others are not seen at all."""

    async def body(api: httpx.AsyncClient) -> None:
        await api.post(PODS, json=pod("in", app="web"))
        await api.post(PODS, json=pod("out", app="db"))
        rv = (await api.get(PODS)).json()["metadata"]["resourceVersion"]
        path = f"{PODS}?watch=1&resourceVersion={rv}&labelSelector=app%3Dweb"
        async with Watcher(api, path) as w:
            await api.patch(f"{PODS}/out", content=b'{"metadata":{"labels":{"app":"web"}}}', headers=MERGE)
            await api.patch(f"{PODS}/in", content=b'{"metadata":{"labels":{"app":"db"}}}', headers=MERGE)
            await api.patch(f"{PODS}/in", content=b'{"metadata":{"labels":{"x":"1"}}}', headers=MERGE)
            await api.post(PODS, json=pod("other", app="db"))
            await api.delete(f"{PODS}/other")
            await api.patch(f"{PODS}/out", content=b'{"spec":{"v":1}}', headers=MERGE)
            await api.delete(f"{PODS}/out")
            await api.post(PODS, json=pod("last", app="web"))
            await w.wait_for("last")
        assert w.summary() == [
            ("ADDED", "out"),
            ("DELETED", "in"),
            ("MODIFIED", "out"),
            ("DELETED", "out"),
            ("ADDED", "last"),
        ]
        left = w.events[1]["object"]
        assert left["metadata"]["labels"]["app"] == "db"  # the new state, as Kubernetes sends
        deleted = w.events[3]["object"]
        assert deleted["spec"] == {"v": 1} and deleted["metadata"]["labels"]["app"] == "web"

    run(tmp_path, body)


def test_watch_of_one_object_by_field_selector(tmp_path: Path) -> None:
    """kubectl delete waits with fieldSelector=metadata.name=X: only X's events arrive,
    starting with its current state."""

    async def body(api: httpx.AsyncClient) -> None:
        await api.post(PODS, json=pod("target"))
        await api.post(PODS, json=pod("bystander"))
        async with Watcher(api, f"{PODS}?watch=1&fieldSelector=metadata.name%3Dtarget") as w:
            await w.wait_for("target")
            await api.patch(f"{PODS}/bystander", content=b'{"spec":{"v":1}}', headers=MERGE)
            await api.delete(f"{PODS}/bystander")
            await api.delete(f"{PODS}/target")
            for _ in range(200):
                if len(w.events) >= 2:
                    break
                await asyncio.sleep(0.02)
        assert w.summary() == [("ADDED", "target"), ("DELETED", "target")]
        assert json.dumps(w.events).count("bystander") == 0

    run(tmp_path, body)

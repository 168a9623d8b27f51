"""Watch event contents: DELETED carries the last state, BOOKMARKs, and the stores' prev values.

Contract C2 / API concepts "Watch bookmarks": a DELETED event's object is the object as it was
when deleted (the kvstore reports every event's previous value, etcd its ``prev_kv``), and
``allowWatchBookmarks=true`` brings BOOKMARK events holding only a resourceVersion.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
from test_apiserver_support import PODS, Watcher, apiserver, pod, real_store

from controlplane.apiserver.etcd_store import EtcdStoreClient
from controlplane.apiserver.store import EventType, StoreClient, StoreClientConfig
from controlplane.kvstore.state import Delete, KVState, Put


def test_kvstore_events_carry_the_previous_value() -> None:
    state = KVState()
    state.apply(Put(key="a", value_json='{"v":1}'))
    state.apply(Put(key="a", value_json='{"v":2}'))
    state.apply(Delete(key="a"))
    result = state.events_since("", 0)
    assert not hasattr(result, "compact_revision")
    first, second, gone = result.events  # type: ignore[union-attr]
    assert (first.prev_value_json, first.prev_mod_revision) == (None, 0)
    assert (second.prev_value_json, second.prev_mod_revision) == ('{"v":1}', 1)
    assert (gone.value_json, gone.prev_value_json, gone.prev_mod_revision) == (None, '{"v":2}', 2)


def test_deleted_events_carry_the_last_state_over_the_real_store(tmp_path: Path) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            store = StoreClient(StoreClientConfig(urls=(url,)))
            created = (await api.post(PODS, json=pod("web", app="web"))).json()
            start = created["metadata"]["resourceVersion"]
            async with Watcher(api, f"{PODS}?watch=1&resourceVersion={start}") as w:
                patch = {"metadata": {"labels": {"final": "yes"}}}
                await api.patch(f"{PODS}/web", json=patch,
                                headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
                await api.delete(f"{PODS}/web")
                for _ in range(250):
                    if len(w.events) >= 2:
                        break
                    await asyncio.sleep(0.02)
            assert [e["type"] for e in w.events] == ["MODIFIED", "DELETED"]
            gone = w.events[1]["object"]
            assert gone["kind"] == "Pod" and gone["metadata"]["labels"] == {"app": "web", "final": "yes"}
            assert gone["metadata"]["uid"] == created["metadata"]["uid"]
            assert int(gone["metadata"]["resourceVersion"]) > int(w.events[0]["object"]["metadata"]["resourceVersion"])
            batch = await store.watch("/registry/pods/", int(start), poll_s=0)
            delete = [e for e in batch.events if e.type is EventType.DELETE][0]
            assert delete.prev_value["metadata"]["labels"]["final"] == "yes"
            await store.aclose()

    asyncio.run(main())


def test_bookmarks_only_when_asked_and_with_a_moving_revision(tmp_path: Path) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url, watch_bookmark_s=0.3) as api:
            rv = (await api.get(PODS)).json()["metadata"]["resourceVersion"]
            ask = f"{PODS}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=3"
            async with Watcher(api, ask) as w, Watcher(api, ask.replace("true", "false")) as plain:
                # Writes elsewhere move the store's revision; our collection sees no event.
                for i in range(4):
                    await api.post("/api/v1/namespaces/default/configmaps",
                                   json={"metadata": {"name": f"c{i}"}})  # fmt: skip
                    await asyncio.sleep(0.4)
            marks = [e for e in w.events if e["type"] == "BOOKMARK"]
            assert marks, w.events
            assert marks[0]["object"]["kind"] == "Pod"
            revs = [int(m["object"]["metadata"]["resourceVersion"]) for m in marks]
            assert revs == sorted(set(revs)) and revs[-1] > int(rv)
            assert not [e for e in plain.events if e["type"] == "BOOKMARK"]

    asyncio.run(main())


def test_etcd_watch_asks_for_prev_kv_and_reads_it() -> None:
    seen: list[dict[str, object]] = []

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        event = {"type": "DELETE", "kv": {"key": b64("/r/a"), "mod_revision": "7"},
                 "prev_kv": {"key": b64("/r/a"), "value": b64('{"n":1}'), "mod_revision": "5"}}  # fmt: skip
        lines = [{"result": {"header": {"revision": "7"}, "created": True}},
                 {"result": {"header": {"revision": "7"}, "events": [event]}}]  # fmt: skip
        return httpx.Response(200, text="".join(json.dumps(x) + "\n" for x in lines))

    async def scenario() -> None:
        client = EtcdStoreClient(StoreClientConfig(urls=("http://etcd.test:2379",)))
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
        batch = await client.watch("/r/", 4, poll_s=0)
        await client.aclose()
        (ev,) = batch.events
        assert (ev.type, ev.value, ev.prev_value, ev.prev_mod_revision) == (
            EventType.DELETE, None, {"n": 1}, 5,
        )  # fmt: skip

    asyncio.run(scenario())
    assert seen[0]["create_request"]["prev_kv"] is True  # type: ignore[index]

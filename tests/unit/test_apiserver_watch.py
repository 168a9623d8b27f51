"""Apiserver watch: order, synthetic ADDED, 410 Expired, and resuming after losing the store.

Each test names the Kubernetes API convention it checks ("API concepts" =
https://kubernetes.io/docs/reference/using-api/api-concepts/, section "Efficient detection of
changes" and "Resource versions").
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from test_apiserver_support import (
    PODS,
    Watcher,
    apiserver,
    compacted_store,
    link_to,
    pod,
    real_store,
)


async def create(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    resp = await api.post(PODS, json=pod(name))
    assert resp.status_code == 201, resp.text
    obj: dict[str, Any] = resp.json()
    return obj


async def list_rv(api: httpx.AsyncClient) -> str:
    rv: str = (await api.get(PODS)).json()["metadata"]["resourceVersion"]
    return rv


def rvs(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["object"]["metadata"]["resourceVersion"]) for e in events]


def test_watch_streams_every_change_once_in_revision_order(tmp_path: Path) -> None:
    """API concepts "Efficient detection of changes": a watch from resourceVersion N sees
    every later change — ADDED, MODIFIED, DELETED — once, in resourceVersion order."""

    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            await create(api, "before")  # at or below N: must not be replayed
            start = await list_rv(api)
            async with Watcher(api, f"{PODS}?watch=1&resourceVersion={start}") as w:
                a = await create(api, "a")
                await create(api, "b")
                a["spec"] = {"v": 2}
                assert (await api.put(f"{PODS}/a", json=a)).status_code == 200
                assert (await api.delete(f"{PODS}/b")).status_code == 200
                await api.post("/api/v1/namespaces/kube-system/pods", json=pod("other-ns"))
                await create(api, "last")
                await w.wait_for("last")
            assert w.summary() == [
                ("ADDED", "a"),
                ("ADDED", "b"),
                ("MODIFIED", "a"),
                ("DELETED", "b"),
                ("ADDED", "last"),
            ]
            revisions = rvs(w.events)
            assert revisions == sorted(set(revisions)) and revisions[0] > int(start)
            assert w.events[2]["object"]["spec"] == {"v": 2}

    asyncio.run(main())


def test_watch_without_resource_version_starts_with_the_current_state(tmp_path: Path) -> None:
    """API concepts "Semantics for watch" (resourceVersion unset/"0"): synthetic ADDED
    events for every existing object, then the changes that follow."""

    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            await create(api, "old-1")
            await create(api, "old-2")
            async with Watcher(api, f"{PODS}?watch=true") as w:
                await w.wait_for("old-2")
                await create(api, "new")
                await w.wait_for("new")
            assert w.summary() == [("ADDED", "old-1"), ("ADDED", "old-2"), ("ADDED", "new")]

    asyncio.run(main())


def test_watch_from_a_compacted_revision_is_410_expired() -> None:
    """API concepts "Resource versions" / "410 Gone responses": a watch from a revision the
    store has compacted is refused with 410 and reason Expired, as a Status."""

    async def main() -> None:
        async with compacted_store() as url, apiserver(url) as api:
            resp = await api.get(f"{PODS}?watch=1&resourceVersion=5")
            assert resp.status_code == 410, resp.text
            body = resp.json()
            assert body["kind"] == "Status" and body["reason"] == "Expired" and body["code"] == 410

    asyncio.run(main())


def test_watch_compacted_while_open_ends_with_an_error_event() -> None:
    """API concepts "410 Gone responses": when history is compacted under an open watch,
    kube-apiserver ends the stream with an ERROR event holding a 410 Expired Status."""

    async def main() -> None:
        async with compacted_store(good_polls=2) as url, apiserver(url) as api:
            resp = await api.get(f"{PODS}?watch=1&resourceVersion=100")
            assert resp.status_code == 200, resp.text
            lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0]["type"] == "ERROR", lines
            status = lines[0]["object"]
            assert status["kind"] == "Status" and status["code"] == 410
            assert status["reason"] == "Expired"

    asyncio.run(main())


async def watch_across_store_loss(tmp_path: Path, bugs: frozenset[str]) -> Watcher:
    """Replica A watches through a link that is cut while replica B keeps writing; the link
    heals, B writes once more. Returns A's watcher after B's last write arrived."""
    async with (
        real_store(tmp_path) as url,
        link_to(url) as link,
        apiserver(link.url, bugs=bugs) as api_a,
        apiserver(url) as api_b,
    ):
        start = await list_rv(api_b)
        async with Watcher(api_a, f"{PODS}?watch=1&resourceVersion={start}") as w:
            await create(api_b, "p1")
            await w.wait_for("p1")
            link.cut()
            await asyncio.sleep(0.3)  # A's long poll breaks and fails again on the dead link
            await create(api_b, "p2")
            await create(api_b, "p3")
            await asyncio.sleep(0.3)
            link.heal()
            await create(api_b, "p4")
            await w.wait_for("p4")
        return w


def test_watch_resumes_after_losing_the_store_without_gap_or_duplicate(tmp_path: Path) -> None:
    """API concepts "Efficient detection of changes": the stream must not skip or repeat a
    change, even when the apiserver serving it loses its store link for a while."""
    w = asyncio.run(watch_across_store_loss(tmp_path, frozenset()))
    assert w.summary() == [("ADDED", "p1"), ("ADDED", "p2"), ("ADDED", "p3"), ("ADDED", "p4")]
    assert rvs(w.events) == sorted(set(rvs(w.events)))


def test_bug_watch_gap_skips_an_event_after_reconnect(tmp_path: Path) -> None:
    """Bug switch ``watch-gap`` really breaks the watch guarantee: after the store link comes
    back, one change (p2) is never delivered."""
    w = asyncio.run(watch_across_store_loss(tmp_path, frozenset({"watch-gap"})))
    assert w.summary() == [("ADDED", "p1"), ("ADDED", "p3"), ("ADDED", "p4")]

"""The store's HTTP API (ARCHITECTURE.md "kvstore HTTP API") over an in-process fake engine.

No Raft here: the fake applies commands straight to a KVState, so these tests pin the JSON
shapes, status codes, bug-switch routing and the watch long poll.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from controlplane.kvstore.config import StoreConfig
from controlplane.kvstore.engine import EngineStatus, EngineUnavailableError, Role
from controlplane.kvstore.http import make_app
from controlplane.kvstore.state import (
    Command,
    Compacted,
    Get,
    KVState,
    Range,
    Result,
    WatchResult,
)


class FakeEngine:
    """Applies commands at once; ``available=False`` makes every replicated call time out."""

    name = "fake"

    def __init__(self, *, max_events: int = 10_000) -> None:
        self.state = KVState(max_events=max_events)
        self.available = True
        self.leader = True
        self.executed: list[Command] = []
        self.local_reads = 0
        self.submitted: list[Command] = []
        self._changed = asyncio.Event()

    def start(self) -> None: ...

    async def wait_started(self) -> None: ...

    def stop(self) -> None: ...

    async def execute(self, command: Command, *, timeout_s: float) -> Result:
        if not self.available:
            raise EngineUnavailableError("no quorum", outcome_unknown=True)
        self.executed.append(command)
        before = self.state.revision
        result = self.state.apply(command)
        if self.state.revision != before:
            self._changed.set()
            self._changed = asyncio.Event()
        return result

    def submit_nowait(self, command: Command) -> None:
        self.submitted.append(command)

    def read_local(self, command: Get | Range) -> Result:
        self.local_reads += 1
        return self.state.apply(command)

    def watch(self, prefix: str, since_revision: int) -> WatchResult | Compacted:
        return self.state.events_since(prefix, since_revision)

    async def wait_revision(self, after_revision: int, timeout_s: float) -> None:
        if self.state.revision > after_revision:
            return
        try:
            await asyncio.wait_for(self._changed.wait(), timeout_s)
        except TimeoutError:
            return

    def believes_leader(self) -> bool:
        return self.leader

    def status(self) -> EngineStatus:
        return EngineStatus(
            id="store-1",
            role=Role.LEADER if self.leader else Role.FOLLOWER,
            term=3,
            leader="store-1" if self.leader else "store-2",
            commit_index=7,
            applied_index=7,
            state_hash=self.state.state_hash(),
            engine=self.name,
            revision=self.state.revision,
        )


def _config(bugs: frozenset[str] = frozenset()) -> StoreConfig:
    return StoreConfig(
        member_id="store-1", peers=(("store-1", "127.0.0.1:1"),), bugs=bugs, request_timeout_s=0.2
    )


Scenario = Callable[[TestClient[Any, Any], FakeEngine], Awaitable[None]]


def run(
    scenario: Scenario, *, bugs: frozenset[str] = frozenset(), max_events: int = 10_000
) -> None:
    async def main() -> None:
        engine = FakeEngine(max_events=max_events)
        async with TestClient(TestServer(make_app(engine, _config(bugs)))) as client:
            await scenario(client, engine)

    asyncio.run(main())


async def call(
    client: TestClient[Any, Any], method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body)
    resp = await client.request(method, path, data=data)
    return resp.status, await resp.json()


def test_put_get_roundtrip_with_slashes_in_key() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        assert await call(c, "PUT", "/kv/a/b/c", {"value": {"n": [1, None]}}) == (
            200,
            {"revision": 1},
        )
        status, body = await call(c, "GET", "/kv/a/b/c")
        assert status == 200
        assert body == {
            "key": "a/b/c",
            "value": {"n": [1, None]},
            "mod_revision": 1,
            "create_revision": 1,
            "revision": 1,
        }
        assert await call(c, "GET", "/kv/missing") == (404, {"error": "not found", "revision": 1})

    run(scenario)


def test_null_is_a_value_not_a_missing_field() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        assert (await call(c, "PUT", "/kv/k", {"value": None}))[0] == 200
        assert (await call(c, "GET", "/kv/k"))[1]["value"] is None

    run(scenario)


def test_cas_routes_by_revision_and_by_value() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        ok = await call(c, "POST", "/kv/k/cas", {"expect_revision": 0, "value": "a"})
        assert ok == (200, {"succeeded": True, "revision": 1, "value": "a", "mod_revision": 1})
        bad = await call(c, "POST", "/kv/k/cas", {"expect_value": "zz", "value": "b"})
        assert bad == (200, {"succeeded": False, "revision": 1, "value": "a", "mod_revision": 1})
        ok2 = await call(c, "POST", "/kv/k/cas", {"expect_value": "a", "value": "b"})
        assert ok2[1]["succeeded"] is True and ok2[1]["revision"] == 2

    run(scenario)


def test_bad_bodies_are_400() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        assert (await c.put("/kv/k", data="{not json")).status == 400
        assert (await call(c, "PUT", "/kv/k", {"nope": 1}))[0] == 400
        assert (await call(c, "PUT", "/kv/k", [1]))[0] == 400
        both = {"expect_revision": 1, "expect_value": 1, "value": 2}
        assert (await call(c, "POST", "/kv/k/cas", both))[0] == 400
        assert (await call(c, "POST", "/kv/k/cas", {"expect_revision": "1", "value": 2}))[0] == 400
        assert (await call(c, "PUT", "/kv/k", {"value": 1, "request_id": 5}))[0] == 400

    run(scenario)


def test_delete_with_and_without_body() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        await call(c, "PUT", "/kv/k", {"value": 1})
        assert await call(c, "DELETE", "/kv/k") == (200, {"deleted": True, "revision": 2})
        gone = await call(c, "DELETE", "/kv/k", {"request_id": "d"})
        assert gone == (200, {"deleted": False, "revision": 2})

    run(scenario)


def test_list_by_prefix() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        for k in ("p/1", "p/2", "q/1"):
            await call(c, "PUT", f"/kv/{k}", {"value": k})
        status, body = await call(c, "GET", "/kv?prefix=p/")
        assert status == 200 and body["revision"] == 3
        assert [i["key"] for i in body["items"]] == ["p/1", "p/2"]
        assert set(body["items"][0]) == {"key", "value", "mod_revision", "create_revision"}

    run(scenario)


def test_no_quorum_is_503_retryable() -> None:
    async def scenario(c: TestClient[Any, Any], engine: FakeEngine) -> None:
        engine.available = False
        status, body = await call(c, "PUT", "/kv/k", {"value": 1})
        assert status == 503 and body["retryable"] is True
        assert (await call(c, "GET", "/kv/k"))[0] == 503

    run(scenario)


def test_reads_go_through_the_log_by_default() -> None:
    async def scenario(c: TestClient[Any, Any], engine: FakeEngine) -> None:
        await call(c, "GET", "/kv/k")
        await call(c, "GET", "/kv?prefix=")
        assert engine.local_reads == 0
        assert [type(cmd).__name__ for cmd in engine.executed] == ["Get", "Range"]

    run(scenario)


def test_bug_stale_follower_reads_answers_locally_without_quorum() -> None:
    async def scenario(c: TestClient[Any, Any], engine: FakeEngine) -> None:
        await call(c, "PUT", "/kv/k", {"value": 1})
        engine.available = False
        engine.leader = False
        assert (await call(c, "GET", "/kv/k"))[0] == 200
        assert engine.local_reads == 1

    run(scenario, bugs=frozenset({"stale-follower-reads"}))


def test_bug_no_step_down_reads_locally_only_while_believing_leader() -> None:
    async def scenario(c: TestClient[Any, Any], engine: FakeEngine) -> None:
        await call(c, "PUT", "/kv/k", {"value": 1})
        engine.available = False
        assert (await call(c, "GET", "/kv/k"))[0] == 200
        engine.leader = False
        assert (await call(c, "GET", "/kv/k"))[0] == 503

    run(scenario, bugs=frozenset({"no-step-down"}))


def test_bug_ack_before_commit_acknowledges_unreplicated_put() -> None:
    async def scenario(c: TestClient[Any, Any], engine: FakeEngine) -> None:
        engine.available = False
        assert (await call(c, "PUT", "/kv/k", {"value": 1}))[0] == 200
        assert len(engine.submitted) == 1 and engine.executed == []

    run(scenario, bugs=frozenset({"ack-before-commit"}))


def test_watch_returns_past_events_at_once() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        await call(c, "PUT", "/kv/w/a", {"value": 1})
        await call(c, "PUT", "/kv/x", {"value": 2})
        await call(c, "DELETE", "/kv/w/a")
        status, body = await call(c, "GET", "/watch?prefix=w/&since_revision=0&timeout_s=5")
        assert status == 200 and body["revision"] == 3
        assert [(e["type"], e["mod_revision"]) for e in body["events"]] == [
            ("PUT", 1),
            ("DELETE", 3),
        ]

    run(scenario)


def test_watch_long_poll_wakes_on_a_matching_write() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        waiter = asyncio.create_task(
            call(c, "GET", "/watch?prefix=w/&since_revision=0&timeout_s=5")
        )
        await asyncio.sleep(0.05)
        await call(c, "PUT", "/kv/other", {"value": 0})  # not under the prefix: keep waiting
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await call(c, "PUT", "/kv/w/1", {"value": 1})
        status, body = await asyncio.wait_for(waiter, 5)
        assert status == 200 and [e["key"] for e in body["events"]] == ["w/1"]

    run(scenario)


def test_watch_times_out_empty() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        assert await call(c, "GET", "/watch?timeout_s=0.05") == (200, {"events": [], "revision": 0})

    run(scenario)


def test_watch_from_compacted_revision_is_410() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        for i in range(4):
            await call(c, "PUT", "/kv/k", {"value": i})
        status, body = await call(c, "GET", "/watch?since_revision=0")
        assert (status, body) == (410, {"error": "compacted", "compact_revision": 2})

    run(scenario, max_events=2)


def test_status_has_the_contract_fields() -> None:
    async def scenario(c: TestClient[Any, Any], _: FakeEngine) -> None:
        status, body = await call(c, "GET", "/status")
        assert status == 200
        contract = {"id", "role", "term", "leader", "commit_index", "applied_index"}
        assert contract | {"state_hash", "engine"} <= set(body)
        assert body["role"] == "leader" and body["leader"] == "store-1"

    run(scenario)

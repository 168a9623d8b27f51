"""Test support for the apiserver tests: a real in-process store, a cuttable link, a stack.

In a nutshell: :func:`real_store` runs a single-member PySyncObj kvstore (the project's real
store) on loopback with a temp data dir; :class:`Link` is a TCP forwarder the test can cut and
heal, standing in for the Toxiproxy link between an apiserver and the store; :func:`apiserver`
runs one apiserver replica in-process. :func:`compacted_store` is the one fake: a store whose
watch history is always compacted (the real one keeps 10,000 events, too many to overflow in a
unit test). Holds no tests itself.

    async with real_store(tmp_path) as store_url, apiserver(store_url) as api:
        r = await api.post("/api/v1/namespaces/default/pods", json=pod("web"))
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from controlplane.apiserver import ApiConfig, StoreClientConfig, TokenGrant, build_app
from controlplane.apiserver.app import BOOTSTRAPPED
from controlplane.kvstore.config import StoreConfig
from controlplane.kvstore.engine.pysyncobj_engine import PySyncObjEngine
from controlplane.kvstore.http import make_app

ADMIN = "admin-token"
READER = "reader-token"
TOKENS = {
    ADMIN: TokenGrant(user="alice", verbs=frozenset({"*"})),
    READER: TokenGrant(user="bob", verbs=frozenset({"get", "list", "watch"})),
}
PODS = "/api/v1/namespaces/default/pods"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "labels": labels}}


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server  # the bound port of port 0 is only known here
    assert isinstance(server, asyncio.base_events.Server)
    return runner, server.sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def real_store(data_dir: Path) -> AsyncIterator[str]:
    """A one-member kvstore (PySyncObj) on loopback; yields its base URL once it leads."""
    raft = f"127.0.0.1:{free_port()}"
    config = StoreConfig(
        member_id="store-1",
        peers=(("store-1", raft),),
        data_dir=str(data_dir),
        raft_port=int(raft.split(":")[1]),
    )
    engine = PySyncObjEngine(config)
    engine.start()
    runner, port = await _serve(make_app(engine, config))
    try:
        for _ in range(200):
            if engine.status().leader:
                break
            await asyncio.sleep(0.025)
        else:
            raise AssertionError("single-member store elected no leader in 5 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        engine.stop()


@contextlib.asynccontextmanager
async def compacted_store(*, good_polls: int = 0) -> AsyncIterator[str]:
    """A fake store: has a leader, lists nothing at revision 100; after ``good_polls`` empty
    answers, every watch is compacted."""
    polls = 0

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"id": "fake", "role": "leader", "leader": "fake"})

    async def listing(_: web.Request) -> web.Response:
        return web.json_response({"items": [], "revision": 100})

    async def cas(_: web.Request) -> web.Response:
        return web.json_response(
            {"succeeded": True, "revision": 1, "value": None, "mod_revision": 0}
        )

    async def watch(_: web.Request) -> web.Response:
        nonlocal polls
        polls += 1
        if polls <= good_polls:
            return web.json_response({"events": [], "revision": 100})
        return web.json_response({"error": "compacted", "compact_revision": 90}, status=410)

    app = web.Application()
    app.router.add_get("/status", status)
    app.router.add_get("/kv", listing)
    app.router.add_post("/kv/{key:.+}/cas", cas)
    app.router.add_get("/watch", watch)
    runner, port = await _serve(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class Link:
    """A loopback TCP forwarder to ``upstream`` that can be cut (live connections reset, new
    ones closed at once) and healed — the apiserver→store link of a real cluster."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._up = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self._up = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def heal(self) -> None:
        self._up = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@contextlib.asynccontextmanager
async def link_to(store_url: str) -> AsyncIterator[Link]:
    link = Link(int(store_url.rsplit(":", 1)[1]))
    await link.start()
    try:
        yield link
    finally:
        await link.stop()


@contextlib.asynccontextmanager
async def apiserver(
    *store_urls: str,
    bugs: frozenset[str] = frozenset(),
    tokens: dict[str, TokenGrant] | None = None,
    wait_ready: bool = True,
    request_timeout_s: float = 2.0,
    watch_bookmark_s: float = 5.0,
) -> AsyncIterator[httpx.AsyncClient]:
    """One apiserver replica; yields a client authenticated as the admin token."""
    store = StoreClientConfig(
        urls=store_urls,
        request_timeout_s=request_timeout_s,
        attempt_timeout_s=1.0,
        watch_poll_s=0.5,
    )
    config = ApiConfig(
        store=store,
        name="api-test",
        tokens=TOKENS if tokens is None else tokens,
        bugs=bugs,
        bootstrap_retry_s=0.05,
        watch_bookmark_s=watch_bookmark_s,
    )
    app = build_app(config)
    runner, port = await _serve(app)
    client = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10.0,
        trust_env=False,
    )
    try:
        if wait_ready:
            await asyncio.wait_for(app[BOOTSTRAPPED].wait(), timeout=10.0)
        yield client
    finally:
        await client.aclose()
        await runner.cleanup()


class Watcher:
    """A watch stream read in the background; ``events`` fills as lines arrive."""

    def __init__(self, client: httpx.AsyncClient, path: str) -> None:
        self._client = client
        self._path = path
        self.events: list[dict[str, Any]] = []
        self.status_code = 0
        self._opened = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watcher:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._opened.wait(), timeout=10.0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        try:
            async with self._client.stream("GET", self._path) as resp:
                self.status_code = resp.status_code
                self._opened.set()
                async for line in resp.aiter_lines():
                    if line.strip():
                        self.events.append(json.loads(line))
        finally:
            self._opened.set()

    async def wait_for(self, name: str, *, timeout_s: float = 10.0) -> None:
        """Until an event about object ``name`` arrived (fails the test after ``timeout_s``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not any(e["object"]["metadata"].get("name") == name for e in self.events):
            if loop.time() > deadline:
                raise AssertionError(
                    f"no event for {name!r} in {timeout_s} s; got {self.summary()}"
                )
            if self._task is not None and self._task.done():
                raise AssertionError(f"watch ended before {name!r}; got {self.summary()}")
            await asyncio.sleep(0.02)

    def summary(self) -> list[tuple[str, str]]:
        return [(e["type"], e["object"]["metadata"].get("name", "?")) for e in self.events]

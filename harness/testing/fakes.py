"""An in-process fake cluster (store members + apiservers over one state) for tests and benchmarks.

In a nutshell: ``FakeCluster`` serves the HTTP contracts of ARCHITECTURE.md (kvstore ``/kv``,
apiserver ConfigMaps incl. watch) from aiohttp servers on loopback, in a thread with its own
event loop, all over one linearizable in-memory state. Each server can be told to misbehave
(``Misbehave``: answer a status, apply a write and then answer one, hang, reset, disconnect) or
be killed (connection refused) and revived, so tests can produce every outcome for real.

    with FakeCluster(apiservers=2, store_members=3) as fake:
        fake.misbehave("api-1", Misbehave(status=503))
        workload = make_workload(spec, fake.info(), writer, start_ns, seed=1)
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from harness.model.cluster import ClusterInfo

TOKEN = "fake-token"


@dataclass(frozen=True, slots=True, kw_only=True)
class Misbehave:
    """How a server answers for now (the default answers correctly)."""

    status: int | None = None  # answer this status without doing anything
    apply_then_status: int | None = None  # do the request, then answer this status instead
    hang: bool = False  # never answer (client read timeout)
    reset: bool = False  # abort the connection with a TCP RST (client ReadError)
    disconnect: bool = False  # close the connection without answering (RemoteProtocolError)
    delay_s: float = 0.0


@dataclass(slots=True)
class _State:
    """The one state every fake server serves, mutated only on the fake's event loop."""

    revision: int = 0
    kv: dict[str, dict[str, Any]] = field(default_factory=dict)
    configmaps: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    compacted: int = 0  # watches from a resourceVersion below this get 410
    changed: asyncio.Event | None = None
    writes: int = 0  # applied writes (tests check that a fault's write really landed)

    def bump(self) -> int:
        self.revision += 1
        self.writes += 1
        return self.revision

    def notify(self) -> None:
        if self.changed is not None:
            self.changed.set()
            self.changed = asyncio.Event()


class _Server:
    def __init__(self, name: str, role: str, state: _State) -> None:
        self.name = name
        self.role = role
        self.state = state
        self.misbehave = Misbehave()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.streams: set[web.StreamResponse] = set()
        self.requests = 0

    @web.middleware
    async def _faults(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        m = self.misbehave
        if m.delay_s:
            await asyncio.sleep(m.delay_s)
        if m.hang:
            await asyncio.sleep(3600)
        if m.reset or m.disconnect:
            _abort(request, rst=m.reset)
            return web.Response(status=500)  # never reaches the client: the socket is gone
        if m.status is not None:
            return web.json_response({"error": "fake", "retryable": True}, status=m.status)
        if self.role == "api" and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized", "no token")
        response = await handler(request)
        if m.apply_then_status is not None:
            return web.json_response({"error": "fake after apply"}, status=m.apply_then_status)
        return response  # type: ignore[no-any-return]

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._faults])
        if self.role == "store":
            app.router.add_get("/kv", self.kv_list)
            app.router.add_post(r"/kv/{key:.+}/cas", self.kv_cas)
            app.router.add_get(r"/kv/{key:.+}", self.kv_get)
            app.router.add_put(r"/kv/{key:.+}", self.kv_put)
            app.router.add_delete(r"/kv/{key:.+}", self.kv_delete)
        else:
            base = "/api/v1/namespaces/{ns}/configmaps"
            app.router.add_get(base, self.cm_list)
            app.router.add_post(base, self.cm_create)
            app.router.add_get(base + "/{name}", self.cm_get)
            app.router.add_put(base + "/{name}", self.cm_update)
            app.router.add_delete(base + "/{name}", self.cm_delete)
        return app

    # ----- kvstore -----------------------------------------------------------------------
    async def kv_get(self, request: web.Request) -> web.Response:
        item = self.state.kv.get(request.match_info["key"])
        if item is None:
            return web.json_response(
                {"error": "not found", "revision": self.state.revision}, status=404
            )
        return web.json_response({**item, "revision": self.state.revision})

    async def kv_put(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.match_info["key"]
        rev = self.state.bump()
        old = self.state.kv.get(key)
        created = old["create_revision"] if old else rev
        self.state.kv[key] = {
            "key": key,
            "value": body.get("value"),
            "mod_revision": rev,
            "create_revision": created,
        }
        return web.json_response({"revision": rev})

    async def kv_cas(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.match_info["key"]
        item = self.state.kv.get(key)
        if "expect_revision" in body:
            held = item["mod_revision"] if item else 0
            matches = held == body["expect_revision"]
        else:
            matches = item is not None and item["value"] == body.get("expect_value")
        if not matches:
            return web.json_response(
                {
                    "succeeded": False,
                    "revision": self.state.revision,
                    "value": item["value"] if item else None,
                    "mod_revision": item["mod_revision"] if item else 0,
                }
            )
        rev = self.state.bump()
        self.state.kv[key] = {
            "key": key,
            "value": body.get("value"),
            "mod_revision": rev,
            "create_revision": item["create_revision"] if item else rev,
        }
        return web.json_response(
            {"succeeded": True, "revision": rev, "value": body.get("value"), "mod_revision": rev}
        )

    async def kv_delete(self, request: web.Request) -> web.Response:
        deleted = self.state.kv.pop(request.match_info["key"], None) is not None
        rev = self.state.bump() if deleted else self.state.revision
        return web.json_response({"deleted": deleted, "revision": rev})

    async def kv_list(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        items = [v for k, v in sorted(self.state.kv.items()) if k.startswith(prefix)]
        return web.json_response({"items": items, "revision": self.state.revision})

    # ----- apiserver ---------------------------------------------------------------------
    async def cm_get(self, request: web.Request) -> web.Response:
        obj = self.state.configmaps.get(request.match_info["name"])
        if obj is None:
            return _status(404, "NotFound", "configmap not found")
        return web.json_response(obj)

    async def cm_create(self, request: web.Request) -> web.Response:
        obj = await request.json()
        name = obj["metadata"]["name"]
        if name in self.state.configmaps:
            return _status(409, "AlreadyExists", f"configmap {name} already exists")
        return web.json_response(self._store(obj, "ADDED"), status=201)

    async def cm_update(self, request: web.Request) -> web.Response:
        obj = await request.json()
        name = request.match_info["name"]
        current = self.state.configmaps.get(name)
        if current is None:
            return _status(404, "NotFound", "configmap not found")
        rv = obj.get("metadata", {}).get("resourceVersion")
        if rv is not None and rv != current["metadata"]["resourceVersion"]:
            return _status(409, "Conflict", "the object has been modified")
        return web.json_response(self._store(obj, "MODIFIED"))

    async def cm_delete(self, request: web.Request) -> web.Response:
        obj = self.state.configmaps.pop(request.match_info["name"], None)
        if obj is None:
            return _status(404, "NotFound", "configmap not found")
        rev = self.state.bump()
        gone = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rev)}}
        self.state.events.append((rev, "DELETED", gone))
        self.state.notify()
        return web.json_response(gone)

    def _store(self, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        rev = self.state.bump()
        obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rev)}}
        self.state.configmaps[obj["metadata"]["name"]] = obj
        self.state.events.append((rev, kind, obj))
        self.state.notify()
        return obj

    async def cm_list(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") in ("1", "true"):
            return await self.cm_watch(request, int(request.query.get("resourceVersion", "0")))
        items = [self.state.configmaps[k] for k in sorted(self.state.configmaps)]
        return web.json_response(
            {
                "kind": "ConfigMapList",
                "metadata": {"resourceVersion": str(self.state.revision)},
                "items": items,
            }
        )

    async def cm_watch(self, request: web.Request, since: int) -> web.StreamResponse:
        if since < self.state.compacted:
            return _status(410, "Expired", "too old resource version")
        response = web.StreamResponse()
        await response.prepare(request)
        self.streams.add(response)
        try:
            sent = since
            while True:
                if self.state.changed is None:
                    self.state.changed = asyncio.Event()
                changed = self.state.changed
                for rev, kind, obj in self.state.events:
                    if rev > sent:
                        line = json.dumps({"type": kind, "object": obj}) + "\n"
                        await response.write(line.encode())
                        sent = rev
                await changed.wait()
        finally:
            self.streams.discard(response)


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "status": "Failure", "reason": reason, "message": message}
    return web.json_response({**body, "code": code}, status=code)


def _abort(request: web.Request, *, rst: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if rst and sock is not None:
        # SO_LINGER with a zero timeout turns close() into a RST: the client sees a reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort() if rst else transport.close()


class FakeCluster:
    """Fake store members ``store-1..N`` and apiservers ``api-1..M`` over one state."""

    def __init__(self, *, apiservers: int = 2, store_members: int = 3) -> None:
        self.state = _State()
        self.servers: dict[str, _Server] = {}
        for i in range(1, store_members + 1):
            self.servers[f"store-{i}"] = _Server(f"store-{i}", "store", self.state)
        for i in range(1, apiservers + 1):
            self.servers[f"api-{i}"] = _Server(f"api-{i}", "api", self.state)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake", daemon=True)

    def __enter__(self) -> FakeCluster:
        self._thread.start()
        for name in self.servers:
            self.revive(name)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.servers:
            self.kill(name)

        async def cancel_leftovers() -> None:  # handlers still hanging on a Misbehave(hang=True)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self._call(cancel_leftovers())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def revive(self, name: str) -> None:
        """(Re)start a server on its old port (a fresh one the first time)."""
        server = self.servers[name]

        async def start() -> None:
            runner = web.AppRunner(
                server.app(), handle_signals=False, access_log=None, shutdown_timeout=0.2
            )
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", server.port, reuse_address=True)
            await site.start()
            server.runner = runner
            sockets = getattr(site._server, "sockets", None) or []
            server.port = sockets[0].getsockname()[1]

        self._call(start())

    def kill(self, name: str) -> None:
        """Stop a server: new connections are refused, open watch streams break."""
        server = self.servers[name]

        async def stop() -> None:
            for stream in list(server.streams):
                if stream.task is not None:
                    stream.task.cancel()
            if server.runner is not None:
                await server.runner.cleanup()
                server.runner = None

        self._call(stop())

    def misbehave(self, name: str, how: Misbehave) -> None:
        self.servers[name].misbehave = how

    def compact(self) -> None:
        """Forget every event so far: a watch resuming from before now gets 410."""

        async def do() -> None:
            self.state.compacted = self.state.revision
            self.state.events.clear()

        self._call(do())

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.servers[name].port}"

    def info(self) -> ClusterInfo:
        store = {n: self.url(n) for n, s in self.servers.items() if s.role == "store"}
        api = {n: self.url(n) for n, s in self.servers.items() if s.role == "api"}
        return ClusterInfo(
            run_id="fake",
            network="none",
            subnet="127.0.0.0/8",
            store=store,
            apiservers=api,
            apiservers_direct=dict(api),
            toxiproxy="",
            api_token=TOKEN,
        )

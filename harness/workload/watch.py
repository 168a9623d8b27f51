"""The watch workload: watchers follow ConfigMaps across apiserver failover while writers write.

In a nutshell: ``clients`` writers create and update ConfigMaps ``w-<n>`` (n < keys), recorded
as ordinary ops (``create`` / ``update``; ok value ``{"value", "resourceVersion"}``). Beside
them, ``WATCHERS`` watchers each list once to get a resourceVersion, then stream
``GET …/configmaps?watch=1&resourceVersion=N``. When a stream breaks (apiserver killed, link
down, read timeout) the watcher reconnects to the *next* apiserver and resumes from the last
resourceVersion it saw, so a correct cluster shows every event exactly once, in order.
Every event for ``<key_prefix>w-*`` objects is recorded as a lone ok record (no invoke)::

    {"f": "watch-event", "key": "watcher-0", "value": {"type": "MODIFIED", "name": "w-3",
     "resourceVersion": "118"}, "process": <watcher's id>, "node": "api-2"}

Whenever a watcher starts from a fresh list (at the start, and after a 410 Expired) it records
a marker ``{"type": "START", "name": null, "resourceVersion": <the list's RV>}``: events before
it are not expected from that watcher any more (the ``watch`` checker's baseline). A 410 itself
is recorded as ``{"type": "EXPIRED", "name": null, "resourceVersion": null, "requested": <RV>}``
(no resourceVersion, so it is never mistaken for an event). After the writers stop, watchers
keep reading for up to ``drain_s`` until they have seen the highest acknowledged
resourceVersion.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Coroutine
from typing import Any

import httpx

from harness.workload.base import ClientState, ClientWorkload, Invocation
from harness.workload.errors import WorkloadConfigError
from harness.workload.http import (
    Endpoint,
    Http,
    Reply,
    configmap,
    configmaps_url,
    data_int,
    object_name,
    resource_version,
)
from harness.workload.outcome import Effect, Outcome, classify_status, ok, response_json

WATCHERS = 2
PREFIX = "w-"


class WatchWorkload(ClientWorkload):
    kind = "watch"
    checkers = ("well_formed", "watch")

    def __init__(self, *args: Any, drain_s: float = 3.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.spec.through != "apiserver":
            raise WorkloadConfigError(
                field="workload.through",
                got=self.spec.through,
                expected="'apiserver' (watches follow the apiservers)",
                fix="set workload.through: apiserver",
            )
        self.drain_s = drain_s
        self.names = [f"{self.prefix}{PREFIX}{i}" for i in range(max(1, self.spec.keys))]
        self._values = itertools.count(1)
        self._created: set[str] = set()
        self.max_acked_rv = 0  # highest resourceVersion of an acknowledged write
        self.seen_rv: dict[int, int] = {}  # watcher → highest resourceVersion it recorded
        self.reconnects = 0
        self._start_rv: dict[int, str | None] = {}

    def extra_processes(self) -> int:
        return WATCHERS

    # ----- writers -----------------------------------------------------------------------
    def plan(self, client: ClientState) -> Invocation:
        name = client.rng.choice(self.names)
        f = "update" if name in self._created else "create"
        return Invocation(f=f, key=name, value=next(self._values), effect=Effect.WRITE)

    async def execute(self, http: Http, inv: Invocation, endpoint: Endpoint) -> Outcome:
        assert inv.key is not None
        if inv.f == "create":
            body = configmap(inv.key, {"value": str(inv.value)})
            got = await http.call(
                "POST", configmaps_url(endpoint.url), effect=Effect.WRITE, json=body
            )
            if isinstance(got, Reply) and got.status_code == 409:
                self._created.add(inv.key)  # someone else created it: update from now on
        else:
            url = configmaps_url(endpoint.url, inv.key)
            current = await http.call("GET", url, effect=Effect.READ)
            if isinstance(current, Outcome):
                return current
            if current.status_code != 200:
                return classify_status(
                    current.status_code, effect=Effect.READ, body=response_json(current)
                )
            rv = resource_version(response_json(current))
            body = configmap(inv.key, {"value": str(inv.value)}, resource_version=rv)
            got = await http.call("PUT", url, effect=Effect.WRITE, json=body)
        if isinstance(got, Outcome):
            return got
        answer = response_json(got)
        if not 200 <= got.status_code < 300:
            return classify_status(got.status_code, effect=Effect.WRITE, body=answer)
        return ok({"value": data_int(answer), "resourceVersion": resource_version(answer)})

    def observe(self, client: ClientState, inv: Invocation, outcome: Outcome) -> None:
        if outcome.type.value == "ok" and inv.key is not None:
            self._created.add(inv.key)
            rv = _as_int((outcome.value or {}).get("resourceVersion"))
            if rv is not None:
                self.max_acked_rv = max(self.max_acked_rv, rv)

    # ----- watchers ----------------------------------------------------------------------
    async def setup(self, http: Http) -> None:
        """List once per watcher before any writer starts, so no write precedes the watch."""
        for w in range(WATCHERS):
            endpoint = self.endpoints[w % len(self.endpoints)]
            self._start_rv[w] = await self._list_rv(http, endpoint)

    def background(self, http: Http, stopping: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        return [self._watcher(http, w) for w in range(WATCHERS)]

    async def drain(self, tasks: list[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        deadline_s = loop.time() + self.drain_s
        while loop.time() < deadline_s and any(
            self.seen_rv.get(w, 0) < self.max_acked_rv for w in range(WATCHERS)
        ):
            await asyncio.sleep(0.05)
        await super().drain(tasks)

    async def _watcher(self, http: Http, w: int) -> None:
        process = self.spec.clients + w
        name = f"watcher-{w}"
        endpoint_index = w % len(self.endpoints)
        rv = self._start_rv.get(w)
        fresh = rv is not None  # rv comes from a list, not from an event: mark the baseline
        while True:
            endpoint = self.endpoints[endpoint_index]
            if rv is None:
                rv = await self._list_rv(http, endpoint)
                fresh = rv is not None
            if rv is not None:
                if fresh:
                    value = {"type": "START", "name": None, "resourceVersion": rv}
                    self.recorder.event(
                        process=process, f="watch-event", key=name, value=value, node=endpoint.name
                    )
                    fresh = False
                rv = await self._follow(http, endpoint, process, name, w, rv)
                if rv is None:
                    continue  # expired: list again, on the same apiserver
            # The stream broke or the list failed: fail over to the next apiserver.
            self.reconnects += 1
            endpoint_index = (endpoint_index + 1) % len(self.endpoints)
            await asyncio.sleep(0.05)

    async def _list_rv(self, http: Http, endpoint: Endpoint) -> str | None:
        got = await http.call("GET", configmaps_url(endpoint.url), effect=Effect.READ)
        if isinstance(got, Outcome) or got.status_code != 200:
            return None
        return resource_version(response_json(got))

    async def _follow(
        self, http: Http, endpoint: Endpoint, process: int, name: str, w: int, rv: str
    ) -> str | None:
        """Stream events from ``rv`` until the stream ends; the last RV seen, None on 410."""
        params = {"watch": "1", "resourceVersion": rv}
        # No read deadline shorter than a quiet spell of writers, but never an endless hang
        # on a blackholed link: 5 op timeouts without a byte ends the stream.
        timeout = httpx.Timeout(self.spec.op_timeout_s, read=max(5 * self.spec.op_timeout_s, 2.0))
        try:
            async with http.client.stream(
                "GET", configmaps_url(endpoint.url), params=params, timeout=timeout
            ) as response:
                if response.status_code == 410:
                    self._expired(process, name, endpoint, rv)
                    return None
                if response.status_code != 200:
                    await asyncio.sleep(0.1)
                    return rv
                async for line in response.aiter_lines():
                    rv = self._on_line(line, process, name, w, endpoint, rv)
                    if rv == "":
                        return None
        except httpx.HTTPError:
            pass  # the stream broke: resume elsewhere from the last RV seen
        return rv

    def _on_line(
        self, line: str, process: int, name: str, w: int, endpoint: Endpoint, rv: str
    ) -> str:
        """Record one event; returns the new RV, or "" when the server said 410 in-stream."""
        if not line.strip():
            return rv
        try:
            event = json.loads(line)
        except ValueError:
            return rv  # a torn line from a dying server: the resume RV stays put
        obj = event.get("object") if isinstance(event, dict) else None
        kind = str(event.get("type")) if isinstance(event, dict) else ""
        if kind == "ERROR":
            if isinstance(obj, dict) and obj.get("code") == 410:
                self._expired(process, name, endpoint, rv)
                return ""
            return rv
        new_rv = resource_version(obj)
        if new_rv is None:
            return rv
        obj_name = object_name(obj)
        if (
            kind != "BOOKMARK"
            and obj_name is not None
            and obj_name.startswith(self.prefix + PREFIX)
        ):
            value = {"type": kind, "name": obj_name, "resourceVersion": new_rv}
            self.recorder.event(
                process=process, f="watch-event", key=name, value=value, node=endpoint.name
            )
            as_int = _as_int(new_rv)
            if as_int is not None:
                self.seen_rv[w] = max(self.seen_rv.get(w, 0), as_int)
        return new_rv

    def _expired(self, process: int, name: str, endpoint: Endpoint, rv: str) -> None:
        value = {"type": "EXPIRED", "name": None, "resourceVersion": None, "requested": rv}
        self.recorder.event(
            process=process, f="watch-event", key=name, value=value, node=endpoint.name
        )

    def result_extra(self) -> dict[str, Any]:
        return {"reconnects": self.reconnects}


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None

"""Informer-style watchers that record every change of the controller layer's objects (C4).

In a nutshell: one ``ResourceWatcher`` per resource (deployments, replicasets, pods, nodes,
leases; all namespaces) does what client-go's reflector does: list, then watch from the list's
resourceVersion; on a broken stream resume from the last resourceVersion seen on the next
apiserver; on 410 Expired (before the stream or as an in-stream ERROR) list again. Every list
is recorded as a ``RELIST`` marker (``gap`` false only for the first) followed by its items as
``ADDED`` events with ``listed: true``; every watch event as ADDED / MODIFIED / DELETED. Each
record is a lone ok ``k8s-event`` op of the watcher's own process, its object cut down by
``harness.history.k8s.trim_object``:

    w = ResourceWatcher(K8sResource.PODS, process=9, endpoints=eps, recorder=rec, read_timeout_s=5)
    await w.run(http)          # until cancelled

A resource the apiserver does not serve (404 on every path) is retried every second and
recorded as nothing; ``served`` tells whether it was ever listed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx

from harness.history.k8s import (
    K8S_EVENT_F,
    K8sEvent,
    K8sResource,
    WatchEventType,
    event_key,
    object_key,
    trim_object,
)
from harness.workload.http import Endpoint, Http
from harness.workload.recorder import Recorder

# Where each resource's all-namespace collection lives (Kubernetes' own paths first). Leases
# are also tried under /api/v1, where the apiserver of issue 14 served them.
PATHS: dict[K8sResource, tuple[str, ...]] = {
    K8sResource.DEPLOYMENTS: ("/apis/apps/v1/deployments",),
    K8sResource.REPLICASETS: ("/apis/apps/v1/replicasets",),
    K8sResource.PODS: ("/api/v1/pods",),
    K8sResource.NODES: ("/api/v1/nodes",),
    K8sResource.LEASES: ("/apis/coordination.k8s.io/v1/leases", "/api/v1/leases"),
}
_UNSERVED_RETRY_S = 1.0
_FAILOVER_PAUSE_S = 0.05


class _Expired(Exception):
    """The apiserver answered 410: the resume revision is compacted; list again."""


class ResourceWatcher:
    def __init__(
        self,
        resource: K8sResource,
        *,
        process: int,
        endpoints: list[Endpoint],
        recorder: Recorder,
        read_timeout_s: float,
        first_endpoint: int = 0,
    ) -> None:
        self.resource = resource
        self.process = process
        self.endpoints = endpoints
        self.recorder = recorder
        self.read_timeout_s = read_timeout_s
        self._endpoint = first_endpoint % len(endpoints)
        self._path: str | None = None
        self.rv: int | None = None  # the last resourceVersion seen (list or event)
        self.lists = 0
        self.relists_after_expiry = 0
        self.reconnects = 0
        self.events = 0

    @property
    def served(self) -> bool:
        return self._path is not None

    @property
    def endpoint(self) -> Endpoint:
        return self.endpoints[self._endpoint]

    def _next_endpoint(self) -> None:
        self._endpoint = (self._endpoint + 1) % len(self.endpoints)

    async def run(self, http: Http) -> None:
        """List and watch until cancelled."""
        while True:
            if self.rv is None:
                listed = await self._list(http)
                if listed is None:
                    continue
            try:
                if await self._follow(http):
                    continue  # ended cleanly (the server's watch timeout): resume right here
            except _Expired:
                self.rv = None
                self.relists_after_expiry += 1
                continue
            except httpx.HTTPError:
                pass
            # The stream broke or was refused: resume from self.rv on the next apiserver.
            self.reconnects += 1
            self._next_endpoint()
            await asyncio.sleep(_FAILOVER_PAUSE_S)

    # ---- list ---------------------------------------------------------------------------
    async def _list(self, http: Http) -> int | None:
        endpoint = self.endpoint
        paths = (self._path,) if self._path is not None else PATHS[self.resource]
        for path in paths:
            assert path is not None
            try:
                resp = await http.client.get(endpoint.url + path, timeout=self.read_timeout_s)
            except httpx.HTTPError:
                self._next_endpoint()
                await asyncio.sleep(_FAILOVER_PAUSE_S)
                return None
            if resp.status_code == 404 and self._path is None:
                continue
            if resp.status_code != 200:
                self._next_endpoint()
                await asyncio.sleep(_FAILOVER_PAUSE_S)
                return None
            self._path = path
            return self._record_list(resp, endpoint)
        await asyncio.sleep(_UNSERVED_RETRY_S)
        return None

    def _record_list(self, resp: httpx.Response, endpoint: Endpoint) -> int | None:
        try:
            body = resp.json()
        except ValueError:
            return None
        if not isinstance(body, Mapping):
            return None
        list_rv = _int(_dict(body.get("metadata")).get("resourceVersion"))
        if list_rv is None:
            return None
        items = [i for i in body.get("items") or [] if isinstance(i, Mapping)]
        keys = tuple(object_key(self.resource, i) for i in items)
        marker = K8sEvent(
            event=WatchEventType.RELIST,
            resource=self.resource,
            rv=list_rv,
            keys=keys,
            gap=self.lists > 0,
        )
        self._record(marker, event_key(self.resource, None, None), endpoint)
        for item in items:
            rv = _int(_dict(item.get("metadata")).get("resourceVersion"))
            if rv is None:
                continue
            ev = K8sEvent(
                event=WatchEventType.ADDED,
                resource=self.resource,
                rv=rv,
                object=trim_object(self.resource, item),
                listed=True,
            )
            self._record(ev, object_key(self.resource, item), endpoint)
        self.lists += 1
        self.rv = list_rv
        return list_rv

    # ---- watch --------------------------------------------------------------------------
    async def _follow(self, http: Http) -> bool:
        """Stream events from ``self.rv``; True when the stream ended cleanly."""
        assert self._path is not None and self.rv is not None
        endpoint = self.endpoint
        params = {"watch": "1", "resourceVersion": str(self.rv), "allowWatchBookmarks": "true"}
        # A read deadline: a blackholed link must end the stream, not hang it forever.
        timeout = httpx.Timeout(self.read_timeout_s, read=self.read_timeout_s)
        async with http.client.stream(
            "GET", endpoint.url + self._path, params=params, timeout=timeout
        ) as resp:
            if resp.status_code == 410:
                raise _Expired
            if resp.status_code != 200:
                return False
            async for line in resp.aiter_lines():
                self._on_line(line, endpoint)
        return True

    def _on_line(self, line: str, endpoint: Endpoint) -> None:
        if not line.strip():
            return
        try:
            event = json.loads(line)
        except ValueError:
            return  # torn by a dying server: the resume revision stays put
        if not isinstance(event, Mapping):
            return
        kind = str(event.get("type"))
        obj = _dict(event.get("object"))
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            return
        rv = _int(_dict(obj.get("metadata")).get("resourceVersion"))
        if rv is None:
            return
        if kind == "BOOKMARK":
            self.rv = rv
            return
        try:
            etype = WatchEventType(kind)
        except ValueError:
            return
        ev = K8sEvent(
            event=etype, resource=self.resource, rv=rv, object=trim_object(self.resource, obj)
        )
        self._record(ev, object_key(self.resource, obj), endpoint)
        self.rv = rv

    def _record(self, ev: K8sEvent, key: str, endpoint: Endpoint) -> None:
        self.events += 1
        self.recorder.event(
            process=self.process, f=K8S_EVENT_F, key=key, value=ev.to_json(), node=endpoint.name
        )

    def stats(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "lists": self.lists,
            "relists_after_expiry": self.relists_after_expiry,
            "reconnects": self.reconnects,
            "events": self.events,
        }


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None

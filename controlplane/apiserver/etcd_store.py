"""Store client over etcd's v3 JSON gateway: the apiserver on real etcd (``API_STORE_KIND=etcd``).

In a nutshell: :class:`EtcdStoreClient` is a :class:`StoreClient` with the same methods, errors
and retry loop (sticky URL, one deadline, connect errors mean "not applied"), but it speaks
etcd's gateway: ``/v3/kv/range`` (get, list), ``/v3/kv/put``, ``/v3/kv/txn`` (CAS on
``mod_revision``; a failed compare reads the current value back in the same txn),
``/v3/kv/deleterange``, ``/v3/watch`` (a stream, read until the first events or the poll ends)
and ``/v3/maintenance/status`` (readiness). Keys are base64 of their UTF-8 bytes; values are the
JSON text of the object, base64 too. etcd has no request ids, so a write moves to the next URL
only after a connect-phase failure; a 5xx or a reset after sending is StoreOutcomeUnknown at
once (a resent CAS would fail its compare and report an applied write as a conflict).

    store = store_client(StoreClientConfig(urls=(url,)), {"API_STORE_KIND": "etcd"})
    item = await store.get("/registry/pods/default/web")   # KvItem | None
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Mapping
from typing import Any

import httpx

from controlplane.apiserver.store import (
    CasResult,
    DeleteResult,
    EventType,
    Json,
    KvItem,
    ListResult,
    StoreClient,
    StoreClientConfig,
    StoreCompacted,
    StoreError,
    StoreOutcomeUnknown,
    StoreUnavailable,
    WatchBatch,
    WatchEvent,
)

# Failures where the request certainly never reached etcd (safe to try the next URL).
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
KIND_ENV = "API_STORE_KIND"  # "kvstore" (default) | "etcd"
# Watchers that must catch up on history are synced by etcd every 100 ms (watchable_store.go),
# so a "what exists now" poll waits a little for those events.
MIN_WATCH_WAIT_S = 0.3


def store_client(
    config: StoreClientConfig, environ: Mapping[str, str] | None = None
) -> StoreClient:
    """The store client the environment asks for (``API_STORE_KIND``)."""
    kind = (environ if environ is not None else os.environ).get(KIND_ENV, "kvstore").strip()
    if kind == "etcd":
        return EtcdStoreClient(config)
    if kind in ("", "kvstore"):
        return StoreClient(config)
    raise ValueError(f"{KIND_ENV}: got {kind!r}; expected kvstore or etcd")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(text: str | None) -> str:
    return base64.b64decode(text or "").decode()


def prefix_end(prefix: str) -> str:
    """etcd's range_end for "every key starting with prefix" (last byte + 1), base64."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b64("\0")  # every key
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


def _kv_item(kv: Mapping[str, Any]) -> KvItem:
    return KvItem(
        key=unb64(kv.get("key")),
        value=json.loads(unb64(kv.get("value"))) if kv.get("value") else None,
        mod_revision=int(kv.get("mod_revision") or 0),
        create_revision=int(kv.get("create_revision") or 0),
    )


def _revision(body: Mapping[str, Any]) -> int:
    return int((body.get("header") or {}).get("revision") or 0)


class EtcdStoreClient(StoreClient):
    """``StoreClient`` over etcd's JSON gateway (etcd 3.4 ``/v3/...``)."""

    async def get(self, key: str) -> KvItem | None:
        body = await self._post("/v3/kv/range", {"key": b64(key)}, write=False)
        kvs = body.get("kvs") or []
        return _kv_item(kvs[0]) if kvs else None

    async def list(self, prefix: str) -> ListResult:
        req = {"key": b64(prefix), "range_end": prefix_end(prefix)}
        body = await self._post("/v3/kv/range", req, write=False)
        items = tuple(_kv_item(kv) for kv in body.get("kvs") or [])
        return ListResult(items=tuple(sorted(items, key=lambda i: i.key)), revision=_revision(body))

    async def put(self, key: str, value: Json) -> int:
        body = await self._post("/v3/kv/put", {"key": b64(key), "value": _value(value)}, write=True)
        return _revision(body)

    async def cas(self, key: str, *, expect_revision: int, value: Json) -> CasResult:
        # mod_revision 0 compares "absent" the way the kvstore's expect_revision 0 does.
        txn = {
            "compare": [
                {"key": b64(key), "target": "MOD", "result": "EQUAL",
                 "mod_revision": str(expect_revision)}
            ],
            "success": [{"request_put": {"key": b64(key), "value": _value(value)}}],
            "failure": [{"request_range": {"key": b64(key)}}],
        }  # fmt: skip
        body = await self._post("/v3/kv/txn", txn, write=True)
        if body.get("succeeded"):
            return CasResult(
                succeeded=True, revision=_revision(body), value=value, mod_revision=_revision(body)
            )
        responses = body.get("responses") or [{}]
        kvs = (responses[0].get("response_range") or {}).get("kvs") or []
        current = _kv_item(kvs[0]) if kvs else None
        return CasResult(
            succeeded=False,
            revision=_revision(body),
            value=current.value if current else None,
            mod_revision=current.mod_revision if current else 0,
        )

    async def delete(self, key: str) -> DeleteResult:
        body = await self._post("/v3/kv/deleterange", {"key": b64(key)}, write=True)
        return DeleteResult(deleted=int(body.get("deleted") or 0) > 0, revision=_revision(body))

    async def leader_known(self) -> bool:
        async def probe(url: str) -> bool:
            try:
                resp = await self._http.post(
                    f"{url}/v3/maintenance/status", json={}, timeout=self._cfg.status_timeout_s
                )
                return resp.status_code == 200 and int(resp.json().get("leader") or 0) != 0
            except (httpx.HTTPError, ValueError):
                return False

        return any(await asyncio.gather(*(probe(u) for u in self._urls)))

    async def watch(
        self, prefix: str, since_revision: int, *, poll_s: float | None = None
    ) -> WatchBatch:
        """Events above ``since_revision`` from one watch stream, read for at most the poll."""
        wait_s = max(self._cfg.watch_poll_s if poll_s is None else poll_s, MIN_WATCH_WAIT_S)
        create = {
            "create_request": {
                "key": b64(prefix),
                "range_end": prefix_end(prefix),
                "start_revision": str(since_revision + 1),
                "prev_kv": True,  # DELETE events then carry the deleted value
            }
        }
        failures = 0
        last_error = "no attempt made"
        for offset in range(len(self._urls)):
            idx = (self._sticky + offset) % len(self._urls)
            try:
                batch = await self._watch_once(self._urls[idx], create, wait_s)
            except (httpx.HTTPError, ValueError, TimeoutError) as exc:
                failures += 1
                last_error = f"{self._urls[idx]}: {type(exc).__name__}: {exc}"
                continue
            self._sticky = idx
            return WatchBatch(
                events=batch.events, revision=batch.revision, reconnected=failures > 0
            )
        raise StoreUnavailable(f"no store member answered a watch; last error: {last_error}")

    async def _watch_once(self, url: str, create: Json, wait_s: float) -> WatchBatch:
        revision = 0
        created = False
        stream = self._http.stream(
            "POST",
            f"{url}/v3/watch",
            json=create,
            timeout=httpx.Timeout(wait_s + self._cfg.attempt_timeout_s, connect=1.0),
        )
        async with stream as resp:
            if resp.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"watch answered HTTP {resp.status_code}", request=resp.request, response=resp
                )
            loop = asyncio.get_running_loop()
            end = loop.time() + wait_s
            lines = resp.aiter_lines()
            while True:
                remaining = end - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining if created else remaining + 1.0):
                        line = await anext(lines)
                except (TimeoutError, StopAsyncIteration):
                    if not created:
                        raise TimeoutError("the watch was never created") from None
                    break
                if not line.strip():
                    continue
                result = json.loads(line).get("result") or {}
                if int(result.get("compact_revision") or 0) > 0:
                    raise StoreCompacted(int(result["compact_revision"]))
                created = True
                revision = max(revision, _revision(result))
                events = tuple(_event(raw) for raw in result.get("events") or [])
                if events:
                    top = max(e.mod_revision for e in events)
                    return WatchBatch(events=events, revision=top, reconnected=False)
        return WatchBatch(events=(), revision=revision, reconnected=False)

    async def _post(self, path: str, body: Json, *, write: bool) -> Json:
        if not write:  # reads: the base loop (any URL, retried on 5xx) is safe
            return _gateway_json(await self._call("POST", path, json=body, write=False))
        return _gateway_json(await self._write_once(path, body))

    async def _write_once(self, path: str, body: Json) -> httpx.Response:
        """Send a write until one URL takes it; never resend once it may have been received.

        etcd has no request ids, so the base loop's resend after a 5xx or a reset could apply a
        put twice, or turn an applied CAS into a reported conflict (its resent compare fails).
        Only connect-phase failures move on to the next URL.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._cfg.request_timeout_s
        last_error = "no attempt made"
        sweep = 0
        while loop.time() < deadline:
            start = self._sticky
            for offset in range(len(self._urls)):
                idx = (start + offset) % len(self._urls)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    resp = await self._http.post(
                        self._urls[idx] + path,
                        json=body,
                        timeout=min(remaining, self._cfg.attempt_timeout_s),
                    )
                except _NEVER_SENT as exc:
                    last_error = f"{self._urls[idx]}: {type(exc).__name__}: {exc}"
                    self._skip(idx)
                    continue
                except httpx.TransportError as exc:
                    self._skip(idx)
                    raise StoreOutcomeUnknown(
                        f"etcd write outcome unknown: {self._urls[idx]}: {type(exc).__name__}"
                    ) from exc
                if resp.status_code >= 500:
                    self._skip(idx)
                    raise StoreOutcomeUnknown(
                        f"etcd write outcome unknown: {self._urls[idx]}: HTTP "
                        f"{resp.status_code}: {resp.text[:200]}"
                    )
                self._sticky = idx
                return resp
            sweep += 1
            await asyncio.sleep(min(0.05 * 2**sweep, 0.5, max(0.0, deadline - loop.time())))
        raise StoreUnavailable(f"no etcd member took the write; last error: {last_error}")


def _value(value: Json) -> str:
    return b64(json.dumps(value, separators=(",", ":"), sort_keys=True))


def _event(raw: Mapping[str, Any]) -> WatchEvent:
    kv = raw.get("kv") or {}
    prev = raw.get("prev_kv") or {}
    kind = EventType.DELETE if raw.get("type") == "DELETE" else EventType.PUT
    return WatchEvent(
        type=kind,
        key=unb64(kv.get("key")),
        value=json.loads(unb64(kv.get("value"))) if kv.get("value") else None,
        mod_revision=int(kv.get("mod_revision") or 0),
        create_revision=int(kv.get("create_revision") or 0),
        prev_value=json.loads(unb64(prev.get("value"))) if prev.get("value") else None,
        prev_mod_revision=int(prev.get("mod_revision") or 0),
    )


def _gateway_json(resp: httpx.Response) -> Json:
    try:
        body = resp.json()
    except ValueError as exc:
        raise StoreError(
            f"etcd sent non-JSON (HTTP {resp.status_code}): {resp.text[:200]}"
        ) from exc
    if resp.status_code != 200:
        raise StoreError(f"etcd answered HTTP {resp.status_code}: {resp.text[:200]}")
    return body

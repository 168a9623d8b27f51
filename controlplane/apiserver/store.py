"""Store client: the apiserver's only door to the kvstore, over several member URLs.

In a nutshell: :class:`StoreClient` speaks the kvstore HTTP API (ARCHITECTURE.md, "kvstore
HTTP API") to a list of member base URLs. It is sticky to the last URL that answered, moves on
to the next URL after a connect error, a timeout or a 5xx, and bounds every call by one
deadline. What its errors let the caller conclude:

- :class:`StoreUnavailable` — no member answered; a write certainly did not happen.
- :class:`StoreOutcomeUnknown` — a write may or may not have been applied (it was sent, then
  timed out or got a 503). Every write carries a ``request_id``, reused on each retry, so the
  store applies it at most once however many URLs we try.
- :class:`StoreCompacted` — a watch asked for history the store no longer keeps.

    store = StoreClient(StoreClientConfig(urls=("http://127.0.0.1:2379",)))
    item = await store.get("/registry/pods/default/web")   # KvItem | None
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

Json = Any  # a decoded JSON value; the store keeps objects opaque


class StoreError(Exception):
    """The store answered something the contract does not allow (a bug on one side)."""


class StoreUnavailable(StoreError):
    """No store URL answered within the deadline; nothing was applied."""


class StoreOutcomeUnknown(StoreError):
    """A write was sent but its outcome is unknown (timeout, reset, 503 after submission)."""


class StoreCompacted(StoreError):
    """The watch revision is older than the store's compacted history."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"revision compacted; oldest available is {compact_revision}")
        self.compact_revision = compact_revision


class EventType(enum.StrEnum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreClientConfig:
    urls: tuple[str, ...]
    request_timeout_s: float = 4.0  # whole deadline of one call, across every URL tried
    attempt_timeout_s: float = 2.0  # one HTTP attempt against one URL
    watch_poll_s: float = 2.0  # how long the store may hold a watch long poll
    status_timeout_s: float = 1.0  # readiness probe of one URL


@dataclass(frozen=True, slots=True, kw_only=True)
class KvItem:
    key: str
    value: Json
    mod_revision: int
    create_revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CasResult:
    succeeded: bool
    revision: int
    value: Json  # the current value when the compare failed (None when absent)
    mod_revision: int  # its mod_revision (0 when absent)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteResult:
    deleted: bool
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ListResult:
    items: tuple[KvItem, ...]
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchEvent:
    type: EventType
    key: str
    value: Json
    mod_revision: int
    create_revision: int
    prev_value: Json = None  # the value before this event (None: absent, or not reported)
    prev_mod_revision: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchBatch:
    events: tuple[WatchEvent, ...]
    revision: int
    reconnected: bool  # the poll failed on some URL before this answer (a store reconnect)


# Failures where the request certainly never reached a store (safe to call "not applied").
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class StoreClient:
    """A sticky, deadline-bounded client over every store URL (one per apiserver)."""

    def __init__(self, config: StoreClientConfig) -> None:
        if not config.urls:
            raise ValueError("StoreClientConfig.urls: expected at least one store URL")
        self._cfg = config
        self._urls = tuple(u.rstrip("/") for u in config.urls)
        self._sticky = 0
        # trust_env=False: an HTTP(S)_PROXY in the environment must never reroute store traffic.
        self._http = httpx.AsyncClient(
            trust_env=False, limits=httpx.Limits(max_connections=512, max_keepalive_connections=64)
        )

    @property
    def config(self) -> StoreClientConfig:
        return self._cfg

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- reads -------------------------------------------------------------------------

    async def get(self, key: str) -> KvItem | None:
        resp = await self._call("GET", _kv_path(key), write=False)
        if resp.status_code == 404:
            return None
        body = _ok_json(resp)
        return _item(body)

    async def list(self, prefix: str) -> ListResult:
        resp = await self._call("GET", "/kv", params={"prefix": prefix}, write=False)
        body = _ok_json(resp)
        items = tuple(_item(raw) for raw in body.get("items", []))
        return ListResult(
            items=tuple(sorted(items, key=lambda i: i.key)), revision=body["revision"]
        )

    async def watch(
        self, prefix: str, since_revision: int, *, poll_s: float | None = None
    ) -> WatchBatch:
        """One long poll; events in revision order. ``poll_s=0`` asks for what exists now."""
        wait_s = self._cfg.watch_poll_s if poll_s is None else poll_s
        params = {"prefix": prefix, "since_revision": str(since_revision), "timeout_s": str(wait_s)}
        resp, failures = await self._call_counted(
            "GET", "/watch", params=params, write=False, extra_s=wait_s
        )
        if resp.status_code == 410:
            body = _json(resp)
            raise StoreCompacted(int(body.get("compact_revision", 0)))
        body = _ok_json(resp)
        events = tuple(
            WatchEvent(
                type=EventType(raw["type"]),
                key=raw["key"],
                value=raw.get("value"),
                mod_revision=int(raw["mod_revision"]),
                create_revision=int(raw.get("create_revision") or 0),
                prev_value=raw.get("prev_value"),
                prev_mod_revision=int(raw.get("prev_mod_revision") or 0),
            )
            for raw in body.get("events", [])
        )
        return WatchBatch(events=events, revision=int(body["revision"]), reconnected=failures > 0)

    async def leader_known(self) -> bool:
        """Whether any store URL answers ``/status`` naming a leader (readiness)."""

        async def probe(url: str) -> bool:
            try:
                resp = await self._http.get(f"{url}/status", timeout=self._cfg.status_timeout_s)
                return resp.status_code == 200 and bool(resp.json().get("leader"))
            except (httpx.HTTPError, ValueError):
                return False

        results = await asyncio.gather(*(probe(u) for u in self._urls))
        return any(results)

    # ---- writes (each with a request_id, so a retry applies at most once) ---------------

    async def cas(self, key: str, *, expect_revision: int, value: Json) -> CasResult:
        body = {"expect_revision": expect_revision, "value": value, "request_id": _request_id()}
        resp = await self._call("POST", _kv_path(key) + "/cas", json=body, write=True)
        got = _ok_json(resp)
        return CasResult(
            succeeded=bool(got["succeeded"]),
            revision=int(got["revision"]),
            value=got.get("value"),
            mod_revision=int(got.get("mod_revision") or 0),
        )

    async def put(self, key: str, value: Json) -> int:
        body = {"value": value, "request_id": _request_id()}
        resp = await self._call("PUT", _kv_path(key), json=body, write=True)
        return int(_ok_json(resp)["revision"])

    async def delete(self, key: str) -> DeleteResult:
        body = {"request_id": _request_id()}
        resp = await self._call("DELETE", _kv_path(key), json=body, write=True)
        got = _ok_json(resp)
        return DeleteResult(deleted=bool(got["deleted"]), revision=int(got["revision"]))

    # ---- the one retry loop ---------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        write: bool,
        json: Json = None,
        params: dict[str, str] | None = None,
        extra_s: float = 0.0,
    ) -> httpx.Response:
        resp, _ = await self._call_counted(
            method, path, write=write, json=json, params=params, extra_s=extra_s
        )
        return resp

    async def _call_counted(
        self,
        method: str,
        path: str,
        *,
        write: bool,
        json: Json = None,
        params: dict[str, str] | None = None,
        extra_s: float = 0.0,
    ) -> tuple[httpx.Response, int]:
        """Send to the sticky URL, then the others in turn, until an answer or the deadline.

        A 5xx or a transport error moves on to the next URL (with the same body, hence the
        same request_id). Only when every failure was "never sent" may a write be reported as
        certainly not applied. Returns the answer and how many attempts failed before it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._cfg.request_timeout_s + extra_s
        maybe_sent = False
        failures = 0
        last_error = "no attempt made"
        sweep = 0
        while True:
            start = self._sticky  # fixed for the sweep: _skip() moves self._sticky
            for offset in range(len(self._urls)):
                idx = (start + offset) % len(self._urls)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                url = self._urls[idx] + path
                try:
                    resp = await self._http.request(
                        method,
                        url,
                        json=json,
                        params=params,
                        timeout=min(remaining, self._cfg.attempt_timeout_s + extra_s),
                    )
                except _NEVER_SENT as exc:
                    last_error = f"{self._urls[idx]}: {type(exc).__name__}: {exc}"
                    failures += 1
                    self._skip(idx)
                    continue
                except httpx.TransportError as exc:
                    maybe_sent = True
                    last_error = f"{self._urls[idx]}: {type(exc).__name__}: {exc}"
                    failures += 1
                    self._skip(idx)
                    continue
                if resp.status_code >= 500:
                    # The store says whether a write may still commit; absent that, assume so.
                    maybe_sent = maybe_sent or _outcome_unknown(resp)
                    last_error = f"{self._urls[idx]}: HTTP {resp.status_code}: {resp.text[:200]}"
                    failures += 1
                    self._skip(idx)
                    continue
                self._sticky = idx
                return resp, failures
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            # Every URL failed once: back off a little before the next sweep (leader election).
            sweep += 1
            await asyncio.sleep(min(0.05 * 2**sweep, 0.5, remaining))
        if write and maybe_sent:
            raise StoreOutcomeUnknown(f"store write outcome unknown; last error: {last_error}")
        raise StoreUnavailable(f"no store member answered; last error: {last_error}")

    def _skip(self, idx: int) -> None:
        # Leave a failing sticky URL so the next call does not pay its timeout first.
        if self._sticky == idx:
            self._sticky = (idx + 1) % len(self._urls)


def _outcome_unknown(resp: httpx.Response) -> bool:
    try:
        return bool(resp.json().get("outcome_unknown", True))
    except (ValueError, AttributeError):
        return True


def _request_id() -> str:
    return uuid.uuid4().hex


def _kv_path(key: str) -> str:
    # Keys keep their "/" (the store routes /kv/{key:.+}); anything else is percent-encoded.
    return "/kv/" + quote(key, safe="/")


def _json(resp: httpx.Response) -> Json:
    try:
        return resp.json()
    except ValueError as exc:
        raise StoreError(
            f"store sent non-JSON (HTTP {resp.status_code}): {resp.text[:200]}"
        ) from exc


def _ok_json(resp: httpx.Response) -> Json:
    if resp.status_code != 200:
        raise StoreError(f"store answered HTTP {resp.status_code}: {resp.text[:200]}")
    return _json(resp)


def _item(raw: Json) -> KvItem:
    return KvItem(
        key=raw["key"],
        value=raw.get("value"),
        mod_revision=int(raw["mod_revision"]),
        create_revision=int(raw.get("create_revision") or 0),
    )

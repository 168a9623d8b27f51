"""The store's HTTP/JSON API (ARCHITECTURE.md "kvstore HTTP API") over any :class:`Engine`.

In a nutshell: :func:`make_app` maps each route to one engine call and the engine's result to
JSON. Every member answers; reads and writes go through the Raft log (linearizable) unless a
bug switch says otherwise. No handler blocks the event loop: engine calls are awaited futures.

    app = make_app(engine, config)
    # GET /kv/a -> {"key": "a", "value": 1, "mod_revision": 3, "create_revision": 2, "revision": 5}

Watch semantics: ``GET /watch?prefix=P&since_revision=N&timeout_s=T`` returns the events with
``mod_revision > N`` (all of them, oldest first) as soon as there is at least one, or an empty
list after T seconds; without ``since_revision`` it waits for events after the member's current
revision. Watches are served from the member's applied state (in log order, never reordered; a
lagging member answers later, not wrongly).

Bug switches read here: ``stale-follower-reads`` (reads from local state on every member),
``no-step-down`` (reads from local state while the member believes it leads) and
``ack-before-commit`` (a PUT answers as soon as it is handed to the log, with a guessed revision).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from controlplane.kvstore.config import StoreConfig
from controlplane.kvstore.engine import Engine, EngineUnavailableError, NotLeaderError
from controlplane.kvstore.state import (
    Cas,
    CasResult,
    Compacted,
    Delete,
    DeleteResult,
    Entry,
    Event,
    Get,
    GetResult,
    Put,
    PutResult,
    Range,
    RangeResult,
    Result,
    canonical_json,
)

FORWARDED_HEADER = "X-Chaosplane-Forwarded-By"
ENGINE_KEY = web.AppKey("engine", Engine)
CONFIG_KEY = web.AppKey("config", StoreConfig)
DEFAULT_WATCH_TIMEOUT_S = 10.0
MAX_WATCH_TIMEOUT_S = 60.0

_ABSENT = object()


class BadRequestError(Exception):
    """The request body or query is malformed (→ 400)."""


def make_app(engine: Engine, config: StoreConfig) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[ENGINE_KEY] = engine
    app[CONFIG_KEY] = config
    app.cleanup_ctx.append(_forwarding_session)
    app.router.add_get("/status", _status)
    app.router.add_get("/watch", _watch)
    app.router.add_get("/kv", _range)
    # The /cas route comes first: keys may contain "/" so "{key:.+}" would also match it.
    app.router.add_post("/kv/{key:.+}/cas", _cas)
    app.router.add_get("/kv/{key:.+}", _get)
    app.router.add_put("/kv/{key:.+}", _put)
    app.router.add_delete("/kv/{key:.+}", _delete)
    return app


# --- middleware -------------------------------------------------------------------------------


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except BadRequestError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except NotLeaderError as exc:
        return await _forward(request, exc)
    except EngineUnavailableError as exc:
        return web.json_response(
            {"error": exc.reason, "retryable": True, "outcome_unknown": exc.outcome_unknown},
            status=503,
        )


# --- forwarding (engines without it, e.g. raftos) ---------------------------------------------

SESSION_KEY = web.AppKey("forward_session", ClientSession)


async def _forwarding_session(app: web.Application) -> AsyncIterator[None]:
    async with ClientSession() as session:
        app[SESSION_KEY] = session
        yield


def leader_http_url(config: StoreConfig, leader_raft_address: str) -> str:
    """Members run HTTP and Raft ports at the same offset (2379/2380 in containers), so the
    leader's HTTP port is its Raft port shifted by ours."""
    host, _, port = leader_raft_address.rpartition(":")
    return f"http://{host}:{int(port) - config.raft_port + config.http_port}"


async def _forward(request: web.Request, exc: NotLeaderError) -> web.Response:
    config = request.app[CONFIG_KEY]
    if exc.leader_address is None or FORWARDED_HEADER in request.headers:
        # Never forward twice: two members that each think the other leads would loop.
        return web.json_response(
            {"error": exc.reason, "retryable": True, "outcome_unknown": False}, status=503
        )
    url = leader_http_url(config, exc.leader_address) + request.path_qs
    body = await request.read()
    try:
        async with request.app[SESSION_KEY].request(
            request.method,
            url,
            data=body or None,
            headers={FORWARDED_HEADER: config.member_id, "Content-Type": "application/json"},
            timeout=ClientTimeout(total=config.request_timeout_s),
        ) as resp:
            payload = await resp.read()
            return web.Response(body=payload, status=resp.status, content_type="application/json")
    except (ClientError, TimeoutError) as err:
        # The leader may have received it: a write's outcome is unknown.
        return web.json_response(
            {
                "error": f"forward to {url} failed: {err!r}",
                "retryable": True,
                "outcome_unknown": request.method != "GET",
            },
            status=503,
        )


# --- handlers ---------------------------------------------------------------------------------


async def _get(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    result = await _read(request, Get(key=key))
    assert isinstance(result, GetResult)
    if result.entry is None:
        return web.json_response({"error": "not found", "revision": result.revision}, status=404)
    return web.json_response({"key": key, **_entry_json(result.entry), "revision": result.revision})


async def _range(request: web.Request) -> web.Response:
    result = await _read(request, Range(prefix=request.query.get("prefix", "")))
    assert isinstance(result, RangeResult)
    items = [{"key": k, **_entry_json(e)} for k, e in result.items]
    return web.json_response({"items": items, "revision": result.revision})


async def _put(request: web.Request) -> web.Response:
    body = await _body(request)
    value = body.get("value", _ABSENT)
    if value is _ABSENT:
        raise BadRequestError('PUT body needs "value" (any JSON)')
    command = Put(
        key=request.match_info["key"],
        value_json=canonical_json(value),
        request_id=_request_id(body),
    )
    engine, config = request.app[ENGINE_KEY], request.app[CONFIG_KEY]
    if config.bug("ack-before-commit"):
        # Bug: acknowledge before the entry is even replicated; the revision is a guess.
        engine.submit_nowait(command)
        guess = engine.status().revision + 1
        return web.json_response({"revision": guess})
    result = await engine.execute(command, timeout_s=config.request_timeout_s)
    assert isinstance(result, PutResult)
    return web.json_response({"revision": result.revision})


async def _cas(request: web.Request) -> web.Response:
    body = await _body(request)
    value = body.get("value", _ABSENT)
    if value is _ABSENT:
        raise BadRequestError('CAS body needs "value" (any JSON)')
    has_rev, has_val = "expect_revision" in body, "expect_value" in body
    if has_rev == has_val:
        raise BadRequestError('CAS body needs exactly one of "expect_revision", "expect_value"')
    expect_revision = body.get("expect_revision")
    if has_rev and (
        not isinstance(expect_revision, int)
        or isinstance(expect_revision, bool)
        or expect_revision < 0
    ):
        raise BadRequestError(f"expect_revision: got {expect_revision!r}; expected an int >= 0")
    command = Cas(
        key=request.match_info["key"],
        value_json=canonical_json(value),
        expect_revision=expect_revision if has_rev else None,
        expect_value_json=canonical_json(body["expect_value"]) if has_val else None,
        request_id=_request_id(body),
    )
    result = await _execute(request, command)
    assert isinstance(result, CasResult)
    return web.json_response(
        {
            "succeeded": result.succeeded,
            "revision": result.revision,
            "value": _decode(result.value_json),
            "mod_revision": result.mod_revision,
        }
    )


async def _delete(request: web.Request) -> web.Response:
    body = await _body(request, optional=True)
    command = Delete(key=request.match_info["key"], request_id=_request_id(body))
    result = await _execute(request, command)
    assert isinstance(result, DeleteResult)
    return web.json_response({"deleted": result.deleted, "revision": result.revision})


async def _watch(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    prefix = request.query.get("prefix", "")
    timeout_s = min(
        _float_query(request, "timeout_s", DEFAULT_WATCH_TIMEOUT_S), MAX_WATCH_TIMEOUT_S
    )
    since = _int_query(request, "since_revision", None)
    if since is None:
        since = engine.status().revision
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = engine.watch(prefix, since)
        if isinstance(result, Compacted):
            return web.json_response(
                {"error": "compacted", "compact_revision": result.compact_revision}, status=410
            )
        remaining = deadline - loop.time()
        if result.events or remaining <= 0:
            return web.json_response(
                {"events": [_event_json(e) for e in result.events], "revision": result.revision}
            )
        await engine.wait_revision(result.revision, remaining)


async def _status(request: web.Request) -> web.Response:
    s = request.app[ENGINE_KEY].status()
    return web.json_response(
        {
            "id": s.id,
            "role": s.role.value,
            "term": s.term,
            "voted_for": s.voted_for,
            "leader": s.leader,
            "commit_index": s.commit_index,
            "applied_index": s.applied_index,
            "state_hash": s.state_hash,
            "engine": s.engine,
            "revision": s.revision,
            "bugs": sorted(request.app[CONFIG_KEY].bugs),
        }
    )


# --- helpers ----------------------------------------------------------------------------------


async def _read(request: web.Request, command: Get | Range) -> Result:
    engine, config = request.app[ENGINE_KEY], request.app[CONFIG_KEY]
    if config.bug("stale-follower-reads") or (
        config.bug("no-step-down") and engine.believes_leader()
    ):
        return engine.read_local(command)
    return await engine.execute(command, timeout_s=config.request_timeout_s)


async def _execute(request: web.Request, command: Cas | Delete) -> Result:
    engine, config = request.app[ENGINE_KEY], request.app[CONFIG_KEY]
    return await engine.execute(command, timeout_s=config.request_timeout_s)


async def _body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise BadRequestError("empty body; expected a JSON object")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequestError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequestError(f"body: got {type(body).__name__}; expected a JSON object")
    return body


def _request_id(body: dict[str, Any]) -> str | None:
    rid = body.get("request_id")
    if rid is not None and not isinstance(rid, str):
        raise BadRequestError(f"request_id: got {rid!r}; expected a string")
    return rid


def _int_query(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequestError(f"{name}: got {raw!r}; expected an integer") from None


def _float_query(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequestError(f"{name}: got {raw!r}; expected seconds") from None
    return max(value, 0.0)


def _decode(value_json: str | None) -> Any:
    return None if value_json is None else json.loads(value_json)


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "value": _decode(entry.value_json),
        "mod_revision": entry.mod_revision,
        "create_revision": entry.create_revision,
    }


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "key": event.key,
        "value": _decode(event.value_json),
        "mod_revision": event.mod_revision,
        "create_revision": event.create_revision,
        "prev_value": _decode(event.prev_value_json),
        "prev_mod_revision": event.prev_mod_revision,
    }

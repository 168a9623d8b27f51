"""The aiohttp application: routes, authentication, Status errors, readiness.

In a nutshell: :func:`build_app` wires a :class:`Registry` and watches to Kubernetes-style
routes. Two middlewares wrap every request: ``errors`` (outermost) turns any failure into a
Status body — never a traceback — and ``authenticate`` demands a known bearer token on
``/api`` (401). Each handler then checks the verb (403). ``/healthz`` answers while the process
lives; ``/readyz`` only once a store URL names a leader and the system namespaces exist.

    app = build_app(ApiConfig(store=StoreClientConfig(urls=("http://127.0.0.1:2379",))))
    web.run_app(app, port=6443)

Store failures map to: 503 ``ServiceUnavailable`` (no store answered; nothing applied),
504 ``Timeout`` (a write's outcome is unknown), 410 ``Expired`` (compacted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from controlplane.apiserver.config import ApiConfig, TokenGrant, Verb
from controlplane.apiserver.etcd_store import store_client
from controlplane.apiserver.registry import Registry
from controlplane.apiserver.resources import NAMESPACES, Obj, Resource, lookup, parse_body
from controlplane.apiserver.status import ApiError, Reason, reason_for_code, status_body
from controlplane.apiserver.store import (
    StoreClient,
    StoreCompacted,
    StoreError,
    StoreOutcomeUnknown,
    StoreUnavailable,
)
from controlplane.apiserver.watch import WatchStream, watch_params

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONFIG: web.AppKey[ApiConfig] = web.AppKey("config", ApiConfig)
STORE: web.AppKey[StoreClient] = web.AppKey("store", StoreClient)
REGISTRY: web.AppKey[Registry] = web.AppKey("registry", Registry)
BOOTSTRAPPED: web.AppKey[asyncio.Event] = web.AppKey("bootstrapped", asyncio.Event)

_ANONYMOUS = TokenGrant(user="anonymous", verbs=frozenset({"*"}))


def _status_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.code)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a Kubernetes Status body with the matching HTTP code."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _status_response(exc)
    except StoreOutcomeUnknown as exc:
        return _status_response(
            ApiError(Reason.TIMEOUT, f"the outcome of the write is unknown: {exc}")
        )
    except StoreUnavailable as exc:
        return _status_response(
            ApiError(Reason.SERVICE_UNAVAILABLE, f"the store is unavailable: {exc}")
        )
    except StoreCompacted as exc:
        return _status_response(ApiError(Reason.EXPIRED, str(exc)))
    except StoreError as exc:
        log.error("store contract violation on %s %s: %s", request.method, request.path, exc)
        return _status_response(ApiError(Reason.INTERNAL_ERROR, f"store error: {exc}"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and successes pass through untouched
        body = status_body(reason_for_code(exc.status), exc.reason, code=exc.status)
        return web.json_response(body, status=exc.status, headers=_allow_header(exc))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the catch-all: no traceback ever reaches a client
        log.exception("internal error on %s %s", request.method, request.path)
        error = ApiError(Reason.INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}")
        return _status_response(error)


def _allow_header(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer tokens from ``API_TOKENS`` on ``/api`` (401); health endpoints stay open."""
    if request.path.startswith("/api"):
        _grant_of(request)
    return await handler(request)


def _grant_of(request: web.Request) -> TokenGrant:
    tokens = request.app[CONFIG].tokens
    if tokens is None:
        return _ANONYMOUS
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    grant = tokens.get(token.strip()) if scheme.lower() == "bearer" else None
    if grant is None:
        raise ApiError(Reason.UNAUTHORIZED, "Unauthorized")
    return grant


def _authorize(request: web.Request, verb: Verb, res: Resource, namespace: str | None) -> None:
    grant = _grant_of(request)
    if grant.allows(verb):
        return
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    raise ApiError(
        Reason.FORBIDDEN,
        f'{res.plural} is forbidden: User "{grant.user}" cannot {verb} resource "{res.plural}" '
        f'in API group ""{where}',
        kind=res.plural,
    )


# ---- handlers --------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    store_ok = await request.app[STORE].leader_known()
    boot_ok = request.app[BOOTSTRAPPED].is_set()
    if store_ok and boot_ok:
        return web.Response(text="ok")
    failed = [
        name for name, ok in (("store", store_ok), ("bootstrap-namespaces", boot_ok)) if not ok
    ]
    raise ApiError(Reason.SERVICE_UNAVAILABLE, f"readyz check failed: {', '.join(failed)}")


async def collection(request: web.Request) -> web.StreamResponse:
    """``/api/v1/namespaces/{ns}/{resource}``, ``/api/v1/namespaces`` and ``/api/v1/{resource}``."""
    namespace = request.match_info.get("namespace")
    plural = request.match_info["resource"]
    res = lookup(plural, namespaced=namespace is not None or plural != NAMESPACES.plural)
    if request.method == "POST":
        if namespace is None and res.namespaced:
            raise ApiError(
                Reason.METHOD_NOT_ALLOWED, f"create {plural} needs a namespace in the path"
            )
        _authorize(request, Verb.CREATE, res, namespace)
        obj = await request.app[REGISTRY].create(res, namespace, parse_body(await request.read()))
        return web.json_response(obj, status=201)
    if request.query.get("watch", "").lower() in ("1", "true"):
        _authorize(request, Verb.WATCH, res, namespace)
        cfg = request.app[CONFIG]
        params = watch_params(dict(request.query), max_s=cfg.watch_max_s)
        stream = WatchStream(
            request.app[STORE], res, namespace=namespace, params=params, bugs=cfg.bugs
        )
        return await stream.serve(request)
    _authorize(request, Verb.LIST, res, namespace)
    return web.json_response(await request.app[REGISTRY].list(res, namespace))


async def item(request: web.Request) -> web.StreamResponse:
    """``/api/v1/namespaces/{ns}/{resource}/{name}`` and ``/api/v1/namespaces/{name}``."""
    namespace = request.match_info.get("namespace")
    res = lookup(
        request.match_info.get("resource", NAMESPACES.plural), namespaced=namespace is not None
    )
    name = request.match_info["name"]
    registry = request.app[REGISTRY]
    obj: Obj
    if request.method == "GET":
        _authorize(request, Verb.GET, res, namespace)
        obj = await registry.get(res, namespace, name)
    elif request.method == "PUT":
        _authorize(request, Verb.UPDATE, res, namespace)
        obj = await registry.update(res, namespace, name, parse_body(await request.read()))
    else:  # DELETE; the router allows no other method here
        _authorize(request, Verb.DELETE, res, namespace)
        raw = await request.read()
        obj = await registry.delete(res, namespace, name, parse_body(raw) if raw.strip() else None)
    return web.json_response(obj)


# ---- lifecycle --------------------------------------------------------------------------------


async def _bootstrap(app: web.Application) -> None:
    """Create the system namespaces, retrying until the store lets us (it may start later)."""
    cfg = app[CONFIG]
    while True:
        try:
            await app[REGISTRY].ensure_system_namespaces()
        except StoreError as exc:
            log.info("%s: system namespaces not created yet: %s", cfg.name, exc)
            await asyncio.sleep(cfg.bootstrap_retry_s)
            continue
        app[BOOTSTRAPPED].set()
        return


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_bootstrap(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[STORE].aclose()


def build_app(config: ApiConfig) -> web.Application:
    """The apiserver application; the store client is created here and closed on cleanup."""
    app = web.Application(middlewares=[errors, authenticate])
    store = store_client(config.store)  # API_STORE_KIND=etcd: etcd's JSON gateway
    app[CONFIG] = config
    app[STORE] = store
    app[REGISTRY] = Registry(store, bugs=config.bugs)
    app[BOOTSTRAPPED] = asyncio.Event()
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    base = "/api/v1/namespaces/{namespace}/{resource}"
    app.router.add_route("GET", base, collection)
    app.router.add_route("POST", base, collection)
    for method in ("GET", "PUT", "DELETE"):
        app.router.add_route(method, base + "/{name}", item)
        app.router.add_route(method, "/api/v1/namespaces/{name}", item)
    # /api/v1/namespaces (list, watch, create) and /api/v1/pods etc. across all namespaces.
    app.router.add_route("GET", "/api/v1/{resource}", collection)
    app.router.add_route("POST", "/api/v1/{resource}", collection)
    return app

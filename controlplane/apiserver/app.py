"""The aiohttp application: routes, authentication, Status errors, readiness.

In a nutshell: :func:`build_app` mounts ``/version``, ``/api…`` and ``/apis…`` (dispatched by
``routes``) over a :class:`Registry`. Two middlewares wrap every request: ``errors``
(outermost) turns any failure into a Status body — never a traceback — and ``authenticate``
demands a known bearer token on ``/api`` and ``/apis`` (401). Each handler then checks the
verb (403). ``/healthz`` answers while the process
lives; ``/readyz`` only once a store URL names a leader and the system namespaces exist.

    app = build_app(ApiConfig(store=StoreClientConfig(urls=("http://127.0.0.1:2379",))))
    web.run_app(app, port=6443)

Store failures map to: 503 ``ServiceUnavailable`` (no store answered; nothing applied),
504 ``Timeout`` (a write's outcome is unknown), 410 ``Expired`` (compacted).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from controlplane.apiserver import discovery
from controlplane.apiserver.config import ApiConfig, TokenGrant, Verb
from controlplane.apiserver.etcd_store import store_client
from controlplane.apiserver.eventsapi import EventBudget
from controlplane.apiserver.registry import Registry
from controlplane.apiserver.resources import Resource
from controlplane.apiserver.routes import dispatch
from controlplane.apiserver.status import ApiError, Reason, reason_for_code, status_body
from controlplane.apiserver.store import (
    StoreClient,
    StoreCompacted,
    StoreError,
    StoreOutcomeUnknown,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONFIG: web.AppKey[ApiConfig] = web.AppKey("config", ApiConfig)
STORE: web.AppKey[StoreClient] = web.AppKey("store", StoreClient)
REGISTRY: web.AppKey[Registry] = web.AppKey("registry", Registry)
BOOTSTRAPPED: web.AppKey[asyncio.Event] = web.AppKey("bootstrapped", asyncio.Event)
EVENT_BUDGET: web.AppKey[EventBudget] = web.AppKey("event_budget", EventBudget)

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
        f'in API group "{res.group}"{where}',
        kind=res.plural,
        group=res.group,
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


async def version(request: web.Request) -> web.Response:
    return web.json_response(discovery.version_info())


async def api(request: web.Request) -> web.StreamResponse:
    """Everything under ``/api`` and ``/apis``: discovery and resources (see ``routes``)."""
    app = request.app
    return await dispatch(
        request,
        registry=app[REGISTRY],
        store=app[STORE],
        config=app[CONFIG],
        authorize=_authorize,
        events=app[EVENT_BUDGET],
    )


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
    app[EVENT_BUDGET] = EventBudget(store=store, limit=config.events_per_namespace)
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/version", version)
    app.router.add_get("/version/", version)
    _add_openapi_routes(app)
    for root in ("/api", "/apis"):
        app.router.add_route("*", root, api)
        app.router.add_route("*", root + "/{tail:.*}", api)
    return app


def _add_openapi_routes(app: web.Application) -> None:
    """Mount ``/openapi/v2`` and ``/openapi/v3`` when the openapi module is present.

    ``openapi_routes`` (another module's job) may offer ``add_routes(app)`` or a
    ``routes`` RouteTableDef; without it those paths are 404, as before.
    """
    try:
        module = importlib.import_module("controlplane.apiserver.openapi_routes")
    except ImportError:
        return
    add_routes = getattr(module, "add_routes", None)
    if callable(add_routes):
        add_routes(app)
    elif isinstance(getattr(module, "routes", None), web.RouteTableDef):
        app.router.add_routes(module.routes)

"""The Toxiproxy 2.x REST API over a ``ProxyCollection`` (aiohttp).

In a nutshell: the routes, bodies, status codes and error shape of Toxiproxy 2.x, so
``toxiproxy-python`` and other Toxiproxy clients work unchanged. Errors are
``{"error": "...", "status": N}``; creates answer 201 (proxies, populate) or 200 (toxics, as
Toxiproxy does); deletes and reset answer 204. Additions of ours: ``PATCH`` everywhere Toxiproxy
2.x has it, and JSON metrics (``GET /metrics``, ``GET /proxies/{p}/metrics``) with connection
counts and bytes each way, so a nemesis can prove a toxic or a cut took effect.

    app = build_app(ProxyCollection(seed=None)); web.run_app(app, port=8474)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from linkproxy.collection import ProxyCollection
from linkproxy.toxics import ApiError, parse_toxic

VERSION = "2.9.0-linkproxy"  # the Toxiproxy API level we follow, marked as ours

COLLECTION: web.AppKey[ProxyCollection] = web.AppKey("collection", ProxyCollection)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _error(message: str, status: int) -> web.Response:
    return _json({"error": message, "status": status}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        # As Toxiproxy: a web page must not be able to drive the proxy (CSRF from a browser).
        return web.Response(status=403, text="User agent not allowed")
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc.message, exc.status)
    except web.HTTPException as exc:
        # Unknown routes and methods keep aiohttp's status but get Toxiproxy's error shape.
        return _error(exc.reason, exc.status)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError("bad request body", 400) from None


def _proxies(request: web.Request) -> ProxyCollection:
    return request.app[COLLECTION]


async def list_proxies(request: web.Request) -> web.Response:
    return _json({p.name: p.to_json() for p in _proxies(request).all()})


async def create_proxy(request: web.Request) -> web.Response:
    proxy = await _proxies(request).create(await _body(request))
    return _json(proxy.to_json(), status=201)


async def populate(request: web.Request) -> web.Response:
    try:
        proxies = await _proxies(request).populate(await _body(request))
    except ApiError as exc:
        # Toxiproxy adds the proxies it did populate; ours is all or nothing, so none.
        body = {"error": exc.message, "status": exc.status, "proxies": []}
        return _json(body, status=exc.status)
    return _json({"proxies": [p.to_json() for p in proxies]}, status=201)


async def get_proxy(request: web.Request) -> web.Response:
    return _json(_proxies(request).get(request.match_info["proxy"]).to_json())


async def update_proxy(request: web.Request) -> web.Response:
    proxy = await _proxies(request).update(request.match_info["proxy"], await _body(request))
    return _json(proxy.to_json())


async def delete_proxy(request: web.Request) -> web.Response:
    await _proxies(request).delete(request.match_info["proxy"])
    return web.Response(status=204)


async def list_toxics(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    return _json([t.to_json() for t in proxy.toxics.values()])


async def create_toxic(request: web.Request) -> web.Response:
    body = await _body(request)
    collection = _proxies(request)
    async with collection.lock:
        proxy = collection.get(request.match_info["proxy"])
        spec = parse_toxic(body)
        proxy.add_toxic(spec)
    return _json(spec.to_json())


async def get_toxic(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    return _json(proxy.get_toxic(request.match_info["toxic"]).to_json())


async def update_toxic(request: web.Request) -> web.Response:
    body = await _body(request)
    collection = _proxies(request)
    async with collection.lock:
        proxy = collection.get(request.match_info["proxy"])
        spec = proxy.update_toxic(request.match_info["toxic"], body)
    return _json(spec.to_json())


async def delete_toxic(request: web.Request) -> web.Response:
    collection = _proxies(request)
    async with collection.lock:
        proxy = collection.get(request.match_info["proxy"])
        proxy.remove_toxic(request.match_info["toxic"])
    return web.Response(status=204)


async def reset(request: web.Request) -> web.Response:
    await _proxies(request).reset()
    return web.Response(status=204)


async def version(request: web.Request) -> web.Response:
    return _json({"version": VERSION})


async def metrics(request: web.Request) -> web.Response:
    return _json({"proxies": {p.name: p.metrics_json() for p in _proxies(request).all()}})


async def proxy_metrics(request: web.Request) -> web.Response:
    return _json(_proxies(request).get(request.match_info["proxy"]).metrics_json())


def build_app(collection: ProxyCollection) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[COLLECTION] = collection
    p, t = "/proxies/{proxy}", "/proxies/{proxy}/toxics/{toxic}"
    app.router.add_get("/proxies", list_proxies)
    app.router.add_post("/proxies", create_proxy)
    app.router.add_post("/populate", populate)
    app.router.add_get(p, get_proxy)
    app.router.add_post(p, update_proxy)  # deprecated in 2.x, still what toxiproxy-python sends
    app.router.add_patch(p, update_proxy)
    app.router.add_delete(p, delete_proxy)
    app.router.add_get(p + "/metrics", proxy_metrics)
    app.router.add_get(p + "/toxics", list_toxics)
    app.router.add_post(p + "/toxics", create_toxic)
    app.router.add_get(t, get_toxic)
    app.router.add_post(t, update_toxic)
    app.router.add_patch(t, update_toxic)
    app.router.add_delete(t, delete_toxic)
    app.router.add_post("/reset", reset)
    app.router.add_get("/version", version)
    app.router.add_get("/metrics", metrics)
    return app

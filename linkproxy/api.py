"""The Toxiproxy 2.x REST API over a ``ProxyCollection`` (on ``linkproxy.httpserver``).

In a nutshell: the routes, bodies, status codes and error shape of Toxiproxy 2.x, so
``toxiproxy-python`` and other Toxiproxy clients work unchanged. Errors are
``{"error": "...", "status": N}``; creates answer 201 (proxies, populate) or 200 (toxics, as
Toxiproxy does); deletes and reset answer 204. Additions of ours: ``PATCH`` everywhere Toxiproxy
2.x has it, and JSON metrics (``GET /metrics``, ``GET /proxies/{p}/metrics``) with connection
counts and bytes each way, so a nemesis can prove a toxic or a cut took effect.

    server = build_server(ProxyCollection(seed=None)); await server.start("0.0.0.0", 8474)
"""

from __future__ import annotations

import json
from typing import Any

from linkproxy.collection import ProxyCollection
from linkproxy.httpserver import Handler, HttpServer, NoRoute, Request, Response, Route
from linkproxy.toxics import ApiError, parse_toxic

VERSION = "2.9.0-linkproxy"  # the Toxiproxy API level we follow, marked as ours


def _json(data: Any, status: int = 200) -> Response:
    return Response.json(data, status=status)


def _error(message: str, status: int) -> Response:
    return _json({"error": message, "status": status}, status=status)


NO_CONTENT = Response(status=204)


async def _errors(request: Request, handler: Handler) -> Response:
    if request.headers.get("user-agent", "").startswith("Mozilla/"):
        # As Toxiproxy: a web page must not be able to drive the proxy (CSRF from a browser).
        return Response.text("User agent not allowed", 403)
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc.message, exc.status)
    except NoRoute as exc:
        # Unknown routes and methods keep their HTTP status but get Toxiproxy's error shape.
        return _error(exc.reason, exc.status)


def _body(request: Request) -> Any:
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except ValueError:
        raise ApiError("bad request body", 400) from None


class Api:
    """The routes' handlers over one collection."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.proxies = collection

    async def list_proxies(self, request: Request) -> Response:
        return _json({p.name: p.to_json() for p in self.proxies.all()})

    async def create_proxy(self, request: Request) -> Response:
        proxy = await self.proxies.create(_body(request))
        return _json(proxy.to_json(), status=201)

    async def populate(self, request: Request) -> Response:
        try:
            proxies = await self.proxies.populate(_body(request))
        except ApiError as exc:
            # Toxiproxy adds the proxies it did populate; ours is all or nothing, so none.
            body = {"error": exc.message, "status": exc.status, "proxies": []}
            return _json(body, status=exc.status)
        return _json({"proxies": [p.to_json() for p in proxies]}, status=201)

    async def get_proxy(self, request: Request) -> Response:
        return _json(self.proxies.get(request.params["proxy"]).to_json())

    async def update_proxy(self, request: Request) -> Response:
        proxy = await self.proxies.update(request.params["proxy"], _body(request))
        return _json(proxy.to_json())

    async def delete_proxy(self, request: Request) -> Response:
        await self.proxies.delete(request.params["proxy"])
        return NO_CONTENT

    async def list_toxics(self, request: Request) -> Response:
        proxy = self.proxies.get(request.params["proxy"])
        return _json([t.to_json() for t in proxy.toxics.values()])

    async def create_toxic(self, request: Request) -> Response:
        body = _body(request)
        async with self.proxies.lock:
            proxy = self.proxies.get(request.params["proxy"])
            spec = parse_toxic(body)
            proxy.add_toxic(spec)
        return _json(spec.to_json())

    async def get_toxic(self, request: Request) -> Response:
        proxy = self.proxies.get(request.params["proxy"])
        return _json(proxy.get_toxic(request.params["toxic"]).to_json())

    async def update_toxic(self, request: Request) -> Response:
        body = _body(request)
        async with self.proxies.lock:
            proxy = self.proxies.get(request.params["proxy"])
            spec = proxy.update_toxic(request.params["toxic"], body)
        return _json(spec.to_json())

    async def delete_toxic(self, request: Request) -> Response:
        async with self.proxies.lock:
            proxy = self.proxies.get(request.params["proxy"])
            proxy.remove_toxic(request.params["toxic"])
        return NO_CONTENT

    async def reset(self, request: Request) -> Response:
        await self.proxies.reset()
        return NO_CONTENT

    async def version(self, request: Request) -> Response:
        return _json({"version": VERSION})

    async def metrics(self, request: Request) -> Response:
        return _json({"proxies": {p.name: p.metrics_json() for p in self.proxies.all()}})

    async def proxy_metrics(self, request: Request) -> Response:
        return _json(self.proxies.get(request.params["proxy"]).metrics_json())


def build_server(collection: ProxyCollection) -> HttpServer:
    api = Api(collection)
    p, t = "/proxies/{proxy}", "/proxies/{proxy}/toxics/{toxic}"
    routes = [
        Route("GET", "/proxies", api.list_proxies),
        Route("POST", "/proxies", api.create_proxy),
        Route("POST", "/populate", api.populate),
        Route("GET", p, api.get_proxy),
        Route("POST", p, api.update_proxy),  # deprecated in 2.x, what toxiproxy-python sends
        Route("PATCH", p, api.update_proxy),
        Route("DELETE", p, api.delete_proxy),
        Route("GET", p + "/metrics", api.proxy_metrics),
        Route("GET", p + "/toxics", api.list_toxics),
        Route("POST", p + "/toxics", api.create_toxic),
        Route("GET", t, api.get_toxic),
        Route("POST", t, api.update_toxic),
        Route("PATCH", t, api.update_toxic),
        Route("DELETE", t, api.delete_toxic),
        Route("POST", "/reset", api.reset),
        Route("GET", "/version", api.version),
        Route("GET", "/metrics", api.metrics),
    ]
    return HttpServer(routes, around=_errors)

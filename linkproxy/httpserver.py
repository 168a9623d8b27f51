"""A small HTTP/1.1 server on asyncio streams: what the REST API needs, nothing more.

In a nutshell: ``HttpServer(routes)`` serves keep-alive HTTP/1.1 (and 1.0) requests with a
``Content-Length`` or chunked body; a route is a method and a path pattern whose ``{name}``
segments land in ``Request.params``. Why not aiohttp: importing ``aiohttp.web`` costs 0.3–2.9 s of
CPU-bound time in a container on a loaded 2-core runner (Python itself starts in 30 ms), the
proxy's readiness is the first wait of every bring-up, and the API is a dozen JSON routes.

    server = HttpServer([Route("GET", "/version", version)])
    bound = await server.start("127.0.0.1", 0)   # → (host, port)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"

    @staticmethod
    def json(data: Any, status: int = 200) -> Response:
        return Response(status=status, body=json.dumps(data).encode())

    @staticmethod
    def text(text: str, status: int) -> Response:
        return Response(status=status, body=text.encode(), content_type="text/plain")


Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: str  # "/proxies/{proxy}/toxics/{toxic}"
    handler: Handler

    def match(self, path: str) -> dict[str, str] | None:
        want, got = self.pattern.strip("/").split("/"), path.strip("/").split("/")
        if len(want) != len(got):
            return None
        params: dict[str, str] = {}
        for w, g in zip(want, got, strict=True):
            if w.startswith("{") and w.endswith("}"):
                if not g:
                    return None
                params[w[1:-1]] = unquote(g)
            elif w != g:
                return None
        return params


class NoRoute(Exception):
    """No route for the request: 404 (no such path) or 405 (path known, method not)."""

    def __init__(self, status: int) -> None:
        super().__init__(HTTPStatus(status).phrase)
        self.status = status
        self.reason = HTTPStatus(status).phrase


class BadRequest(Exception):
    pass


class HttpServer:
    """Serves ``routes``; ``errors`` turns a handler's exception into a response."""

    def __init__(
        self,
        routes: list[Route],
        *,
        around: Callable[[Request, Handler], Awaitable[Response]] | None = None,
    ) -> None:
        self.routes = routes
        self.around = around
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._client, host, port, reuse_address=True)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        known_path = False
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            known_path = True
            if route.method == method:
                return route.handler, params
        raise NoRoute(405 if known_path else 404)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            while True:
                try:
                    request, keep_alive = await _read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client went away between or inside requests
                except (BadRequest, asyncio.LimitOverrunError, ValueError):
                    _write(writer, Response.text("Bad Request", 400), keep_alive=False)
                    await writer.drain()
                    return
                response = await self._dispatch(request)
                _write(writer, response, keep_alive=keep_alive)
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _dispatch(self, request: Request) -> Response:
        async def routed(req: Request) -> Response:
            handler, params = self.resolve(req.method, req.path)
            return await handler(
                Request(
                    method=req.method,
                    path=req.path,
                    headers=req.headers,
                    body=req.body,
                    params=params,
                )
            )

        if self.around is not None:
            return await self.around(request, routed)
        return await routed(request)


async def _read_request(reader: asyncio.StreamReader) -> tuple[Request, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD:
        raise BadRequest("head too large")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    body = await _read_body(reader, headers)
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    path = urlsplit(target).path or "/"
    return Request(method=method.upper(), path=path, headers=headers, body=body), keep_alive


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers, ignored
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise BadRequest("body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or "0")
    if length < 0 or length > MAX_BODY:
        raise BadRequest("bad content-length")
    return await reader.readexactly(length) if length else b""


def _write(writer: asyncio.StreamWriter, response: Response, *, keep_alive: bool) -> None:
    phrase = HTTPStatus(response.status).phrase
    head = [f"HTTP/1.1 {response.status} {phrase}"]
    if response.status != 204:
        head.append(f"Content-Type: {response.content_type}; charset=utf-8")
        head.append(f"Content-Length: {len(response.body)}")
    head.append("Connection: keep-alive" if keep_alive else "Connection: close")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    if response.status != 204 and response.body:
        writer.write(response.body)


__all__ = ["BadRequest", "Handler", "HttpServer", "NoRoute", "Request", "Response", "Route"]

"""HTTP routes of the OpenAPI documents: ``/openapi/v2``, ``/openapi/v3`` and each group-version.

In a nutshell: :func:`add_openapi_routes` serves the documents of :mod:`openapi` as JSON, and
``/openapi/v2`` also as the gnostic protobuf kubectl asks for (:mod:`openapi_proto`). They are
built once, in a worker thread, on the first request for any of them: importing the official
client's models and walking them takes 1-3 s of CPU, which an apiserver that no client asks
for documents (every scenario's workload) should not spend at start-up, when chaos scenarios
restart it. Concurrent first requests share that one build.

    add_openapi_routes(app, SERVED)
    add_routes(app)          # the same for the served table: the hook app.py's build_app calls
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from controlplane.apiserver.openapi import (
    openapi_v2,
    openapi_v3_index,
    v3_document_bytes,
)
from controlplane.apiserver.openapi_paths import ResourceLike
from controlplane.apiserver.openapi_proto import RESPONSE_MEDIA_TYPE, v2_protobuf
from controlplane.apiserver.resources import SERVED
from controlplane.apiserver.status import status_body


class _Documents:
    """The serialized documents, built once off the event loop."""

    def __init__(self, resources: Sequence[ResourceLike]) -> None:
        self.resources = tuple(resources)
        self._task: asyncio.Future[dict[str, bytes]] | None = None

    def start(self) -> asyncio.Future[dict[str, bytes]]:
        failed = (
            self._task is not None
            and self._task.done()
            and (self._task.cancelled() or self._task.exception() is not None)
        )
        if self._task is None or failed:  # a failed build is retried by the next request
            self._task = asyncio.ensure_future(asyncio.to_thread(self._build))
        return self._task

    def _build(self) -> dict[str, bytes]:
        docs = {
            "v2": _dump(openapi_v2(self.resources)),
            "v2.pb": v2_protobuf(openapi_v2(self.resources)),
            "v3": _dump(openapi_v3_index(self.resources)),
        }
        for gv in openapi_v3_index(self.resources)["paths"]:
            docs[f"v3/{gv}"] = v3_document_bytes(self.resources, gv)
        return docs

    async def get(self, key: str) -> bytes | None:
        return (await asyncio.shield(self.start())).get(key)


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


DOCUMENTS: web.AppKey[_Documents] = web.AppKey("openapi_documents", _Documents)


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


def _failure(code: int, reason: str, message: str) -> web.Response:
    body = status_body(reason, message, code=code)  # type: ignore[arg-type]
    return web.json_response(body, status=code)


async def _v2(request: web.Request) -> web.Response:
    """JSON, or gnostic protobuf when the client's first choice is that (kubectl's only one)."""
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0].strip()
    if first.startswith("application/com.github.proto-openapi.spec.v2"):
        body = await request.app[DOCUMENTS].get("v2.pb")
        assert body is not None
        return web.Response(body=body, headers={"Content-Type": RESPONSE_MEDIA_TYPE})
    body = await request.app[DOCUMENTS].get("v2")
    assert body is not None
    return _json(body)


async def _v3_index(request: web.Request) -> web.Response:
    body = await request.app[DOCUMENTS].get("v3")
    assert body is not None
    return _json(body)


async def _v3_group(request: web.Request) -> web.Response:
    gv = request.match_info["path"].strip("/")
    body = await request.app[DOCUMENTS].get(f"v3/{gv}")
    if body is None:
        return _failure(404, "NotFound", f"no OpenAPI v3 document for {gv!r}")
    response = _json(body)
    # The index puts a content hash in each URL, so a hashed URL never changes (as upstream).
    if "hash" in request.query:
        response.headers["Cache-Control"] = "public, immutable"
    return response


def add_openapi_routes(app: web.Application, resources: Sequence[ResourceLike]) -> None:
    """Serve the documents of ``resources``, built on the first request for one of them."""
    app[DOCUMENTS] = _Documents(resources)
    app.router.add_get("/openapi/v2", _v2)
    app.router.add_get("/openapi/v3", _v3_index)
    app.router.add_get("/openapi/v3/", _v3_index)
    app.router.add_get("/openapi/v3/{path:.+}", _v3_group)


def add_routes(app: web.Application) -> None:
    """The documents of the served table (:data:`resources.SERVED`); ``build_app`` calls this."""
    add_openapi_routes(app, SERVED)

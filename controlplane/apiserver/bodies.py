"""Request bodies and query options: objects by Content-Type, DeleteOptions, dryRun, list options.

In a nutshell: :func:`read_object` decodes a create/update body by its ``Content-Type`` —
JSON (also when absent), YAML, or Kubernetes protobuf (``application/vnd.kubernetes.protobuf``,
decoded by ``controlplane.apiserver.protobuf`` when that module is present; else 415 with a
Status saying so); :func:`read_delete_options` reads a DELETE's optional ``DeleteOptions``
body (and the ``gracePeriodSeconds`` / ``propagationPolicy`` query parameters that some
clients send instead); :func:`dry_run` reads ``dryRun`` (``All`` = validate, do not write).

    obj = await read_object(request, res)
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import yaml
from aiohttp import web

from controlplane.apiserver.objects import Obj
from controlplane.apiserver.registry import ListOptions
from controlplane.apiserver.resources import Resource
from controlplane.apiserver.selectors import parse_selector
from controlplane.apiserver.status import ApiError, Reason

PROTOBUF = "application/vnd.kubernetes.protobuf"
_JSON_TYPES = ("", "application/json", "*/*", "text/plain")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _protobuf_decoder() -> Callable[[bytes, Resource], Obj] | None:
    try:
        module = importlib.import_module("controlplane.apiserver.protobuf")
    except ImportError:
        return None
    decode: Callable[[bytes, Resource], Obj] | None = getattr(module, "decode", None)
    return decode


async def read_object(request: web.Request, res: Resource) -> Obj:
    """The request body as a JSON-shaped object; 400 / 415 Status otherwise."""
    raw = await request.read()
    media = media_type(request)
    if media == PROTOBUF:
        decode = _protobuf_decoder()
        if decode is None:
            raise ApiError(
                Reason.UNSUPPORTED_MEDIA_TYPE,
                f"the body media type {PROTOBUF} is not supported by this apiserver build; "
                "send application/json",
            )
        try:
            return _as_object(decode(raw, res))
        except ApiError:
            raise
        except Exception as exc:
            raise ApiError(
                Reason.BAD_REQUEST, f"the protobuf body cannot be decoded: {exc}"
            ) from exc
    if media in _YAML_TYPES:
        try:
            return _as_object(yaml.safe_load(raw))
        except yaml.YAMLError as exc:
            raise ApiError(
                Reason.BAD_REQUEST, f"the request body is not valid YAML: {exc}"
            ) from exc
    if media not in _JSON_TYPES:
        raise ApiError(
            Reason.UNSUPPORTED_MEDIA_TYPE,
            f"the body media type {media!r} is not supported; expected application/json, "
            f"application/yaml or {PROTOBUF}",
        )
    return parse_json(raw)


def parse_json(raw: bytes) -> Obj:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(Reason.BAD_REQUEST, f"the request body is not valid JSON: {exc}") from exc
    return _as_object(body)


def _as_object(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise ApiError(
            Reason.BAD_REQUEST, f"the request body must be an object, got {type(body).__name__}"
        )
    if not isinstance(body.get("metadata", {}), dict):
        raise ApiError(Reason.BAD_REQUEST, "metadata must be a JSON object")
    return body


async def read_delete_options(request: web.Request, res: Resource) -> Obj:
    """DeleteOptions from the body (JSON or protobuf) merged with the query's."""
    raw = await request.read()
    options: Obj = {}
    if raw.strip():
        options = (
            await read_object(request, res) if media_type(request) == PROTOBUF else parse_json(raw)
        )
    query = request.query
    if "gracePeriodSeconds" in query and "gracePeriodSeconds" not in options:
        options["gracePeriodSeconds"] = _int_query(
            query["gracePeriodSeconds"], "gracePeriodSeconds"
        )
    if "propagationPolicy" in query and "propagationPolicy" not in options:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "dryRun" in query:
        options.setdefault("dryRun", query.getall("dryRun"))
    return options


def dry_run(request: web.Request, options: Obj | None = None) -> bool:
    values = list(request.query.getall("dryRun", []))
    if options:
        given = options.get("dryRun") or []
        values += given if isinstance(given, list) else [given]
    for value in values:
        if value not in ("All", ""):
            raise ApiError(
                Reason.BAD_REQUEST, f"dryRun: got {value!r}; the only supported value is All"
            )
    return "All" in values


def list_options(request: web.Request, res: Resource) -> ListOptions:
    query = request.query
    selector = parse_selector(
        res, labels=query.get("labelSelector"), fields=query.get("fieldSelector")
    )
    limit = _int_query(query.get("limit") or "0", "limit")
    return ListOptions(
        selector=selector, limit=max(0, limit), continue_token=query.get("continue", "")
    )


def _int_query(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(Reason.BAD_REQUEST, f"{name}: got {raw!r}; expected an integer") from exc

"""The apiserver's OpenAPI documents: Swagger 2.0 (``/openapi/v2``) and 3.0 (``/openapi/v3``).

In a nutshell: pure functions of the resource table (contract C2a). Paths and operations come
from each resource's verbs and subresources; schemas of kinds come from the official client's
models (:mod:`openapi_schemas`) under Kubernetes' definition names, each kind carrying
``x-kubernetes-group-version-kind`` (what kubectl keys on), and lists with a strategic-merge
key carrying ``x-kubernetes-patch-merge-key``/``-strategy``. Documents are built once per
process per table (they are cached) and must be treated as read-only.

    doc = openapi_v2(SERVED)                      # {"swagger": "2.0", "paths", "definitions"}
    openapi_v3_index(SERVED)["paths"]["api/v1"]   # {"serverRelativeURL": "…/api/v1?hash=…"}
    openapi_v3_group(SERVED, "apis/apps/v1")      # {"openapi": "3.0.0", "components": {"schemas"}}
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from controlplane.apiserver.discovery import GIT_VERSION
from controlplane.apiserver.merge_keys import ListStrategy, strategy_for
from controlplane.apiserver.openapi_paths import ResourceLike, gv_path, resource_paths
from controlplane.apiserver.openapi_schemas import META, REF, Schema, definition_name, definitions
from controlplane.apiserver.resources import SUBRESOURCES

__all__ = ["ResourceLike", "openapi_v2", "openapi_v3_group", "openapi_v3_index"]

SERVER_VERSION = GIT_VERSION  # what /version says

# What a subresource body is (scale: autoscaling/v1 Scale, …), from the apiserver's own table;
# ``status`` has the parent's kind and is not listed.
SUBRESOURCE_KINDS: dict[str, tuple[str, str, str]] = {
    s.name: (s.group, s.version, s.kind) for s in SUBRESOURCES.values() if s.kind
}


# Kinds whose client model carries a group prefix because the name exists in two groups
# (``CoreV1Event`` and ``EventsV1Event``; see ``openapi_schemas.definition_name``).
CLIENT_CLASSES: dict[tuple[str, str], str] = {
    ("", "Event"): "CoreV1Event",
    ("", "EventList"): "CoreV1EventList",
    ("events.k8s.io", "Event"): "EventsV1Event",
    ("events.k8s.io", "EventList"): "EventsV1EventList",
}


def openapi_v2(resources: Iterable[ResourceLike]) -> dict[str, Any]:
    """The Swagger 2.0 document of every served resource."""
    return _v2(tuple(resources))


def openapi_v3_index(resources: Iterable[ResourceLike]) -> dict[str, Any]:
    """``/openapi/v3``: one entry per group-version with a content hash in its URL."""
    table = tuple(resources)
    paths = {}
    for gv in _group_versions(table):
        digest = hashlib.sha512(_v3_bytes(table, gv)).hexdigest().upper()
        paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_group(resources: Iterable[ResourceLike], group_version: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one group-version (``api/v1``, ``apis/apps/v1``)."""
    return _v3(tuple(resources), group_version.strip("/"))


def v3_document_bytes(resources: Iterable[ResourceLike], group_version: str) -> bytes:
    """The serialized document (what the index hashes); KeyError for an unknown group-version."""
    return _v3_bytes(tuple(resources), group_version.strip("/"))


# ---- building ---------------------------------------------------------------------------------


def _group_versions(table: Sequence[ResourceLike]) -> list[str]:
    return sorted({gv_path(r) for r in table})


@functools.cache
def _v2(table: tuple[ResourceLike, ...]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for res in table:
        paths.update(resource_paths(res, SUBRESOURCE_KINDS))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION},
        "paths": dict(sorted(paths.items())),
        "definitions": _definitions(table),
        "securityDefinitions": {
            "BearerToken": {
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
                "description": "Bearer Token authentication",
            }
        },
        "security": [{"BearerToken": []}],
    }


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _kinds(table: Sequence[ResourceLike]) -> dict[str, list[dict[str, str]]]:
    """Client model class -> the GVKs its definition is served as."""
    kinds: dict[str, list[dict[str, str]]] = {}

    def add(group: str, version: str, kind: str) -> None:
        gvk = _gvk(group, version, kind)
        class_name = CLIENT_CLASSES.get((group, kind), f"{version.capitalize()}{kind}")
        entries = kinds.setdefault(class_name, [])
        if gvk not in entries:
            entries.append(gvk)

    for res in table:
        add(res.group, res.version, res.kind)
        add(res.group, res.version, f"{res.kind}List")
        for sub in res.subresources:
            if sub in SUBRESOURCE_KINDS:
                add(*SUBRESOURCE_KINDS[sub])
        # DeleteOptions and Status are accepted/returned under every served group-version.
        add(res.group, res.version, "DeleteOptions")
        add(res.group, res.version, "Status")
    kinds.setdefault("V1Status", []).insert(0, _gvk("", "v1", "Status"))
    return kinds


@functools.cache
def _definitions(table: tuple[ResourceLike, ...]) -> dict[str, Schema]:
    kinds = _kinds(table)
    defs = definitions(kinds)
    for class_name, gvks in kinds.items():
        name = definition_name(class_name)
        defs[name]["x-kubernetes-group-version-kind"] = sorted(
            gvks, key=lambda g: (g["group"], g["version"], g["kind"])
        )
    defs[f"{META}.Patch"] = {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes "
        "PATCH request body.",
        "type": "object",
    }
    _add_patch_strategies(defs, table)
    return defs


def _add_patch_strategies(defs: dict[str, Schema], table: Sequence[ResourceLike]) -> None:
    """Annotate lists that strategic merge patch merges, from the apiserver's own table."""
    for res in table:
        root = defs.get(_kind_definition(defs, res.group, res.version, res.kind))
        if root is not None:
            _walk_strategies(defs, root, res.kind, (), strategy_for, depth=0)


def _walk_strategies(
    defs: dict[str, Schema],
    schema: Schema,
    kind: str,
    path: tuple[str, ...],
    strategy_for: Callable[[str, tuple[str, ...]], ListStrategy | None],
    depth: int,
) -> None:
    if depth > 12:  # the schemas are recursive in places (JSONSchemaProps); ours are not deep
        return
    for name, prop in schema.get("properties", {}).items():
        here = (*path, name)
        target = prop.get("items", prop) if prop.get("type") == "array" else prop
        if prop.get("type") == "array":
            strategy = strategy_for(kind, here)
            if strategy is not None:
                prop["x-kubernetes-patch-strategy"] = "merge"
                if strategy.merge_key:
                    prop["x-kubernetes-patch-merge-key"] = strategy.merge_key
        ref = target.get("$ref", "")
        if ref.startswith(REF):
            child = defs.get(ref[len(REF) :])
            if child is not None:
                _walk_strategies(defs, child, kind, here, strategy_for, depth + 1)


def _kind_definition(defs: dict[str, Schema], group: str, version: str, kind: str) -> str:
    want = _gvk(group, version, kind)
    for name, schema in defs.items():
        if want in schema.get("x-kubernetes-group-version-kind", []):
            return name
    return ""


# ---- OpenAPI 3 --------------------------------------------------------------------------------


@functools.cache
def _v3(table: tuple[ResourceLike, ...], gv: str) -> dict[str, Any]:
    members = [r for r in table if gv_path(r) == gv]
    if not members:
        raise KeyError(gv)
    v2 = _v2(table)
    paths: dict[str, Any] = {}
    for res in members:
        for path, item in resource_paths(res, SUBRESOURCE_KINDS).items():
            paths[path] = _v3_path_item(item)
    schemas = _to_v3_refs(copy.deepcopy(v2["definitions"]))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "name": "authorization",
                    "in": "header",
                    "description": "Bearer Token authentication",
                }
            },
        },
        "security": [{"BearerToken": []}],
    }


@functools.cache
def _v3_bytes(table: tuple[ResourceLike, ...], gv: str) -> bytes:
    return json.dumps(_v3(table, gv), separators=(",", ":"), sort_keys=True).encode()


def _v3_path_item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "parameters":
            out[key] = [_v3_parameter(p) for p in value]
        else:
            out[key] = _v3_operation(value)
    converted: dict[str, Any] = _to_v3_refs(out)
    return converted


def _v3_parameter(param: dict[str, Any]) -> dict[str, Any]:
    schema = {k: param[k] for k in ("type", "format") if k in param}
    out = {k: v for k, v in param.items() if k not in ("type", "format")}
    out["schema"] = schema
    return out


def _v3_operation(op: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in op.items() if k not in ("consumes", "produces", "parameters")}
    params = []
    for param in op.get("parameters", []):
        if param.get("in") == "body":
            out["requestBody"] = {
                "content": {mime: {"schema": param["schema"]} for mime in op["consumes"]},
                "required": True,
            }
        else:
            params.append(_v3_parameter(param))
    if params:
        out["parameters"] = params
    responses = {}
    for code, resp in op.get("responses", {}).items():
        entry: dict[str, Any] = {"description": resp["description"]}
        if "schema" in resp:
            entry["content"] = {mime: {"schema": resp["schema"]} for mime in op["produces"]}
        responses[code] = entry
    out["responses"] = responses
    return out


def _to_v3_refs(value: Any) -> Any:
    text = json.dumps(value).replace('"#/definitions/', '"#/components/schemas/')
    return json.loads(text)

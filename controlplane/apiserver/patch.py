"""PATCH bodies: JSON merge patch, JSON patch and strategic merge patch, as kube-apiserver has them.

In a nutshell: :func:`apply_patch` applies a patch document of one :class:`PatchType` to the
current object (as served, with its resourceVersion) and returns the patched object; the
registry stores it with a CAS on the revision it read. The three types:

- ``application/merge-patch+json`` (RFC 7386): maps merge, ``null`` deletes, lists replace;
- ``application/json-patch+json`` (RFC 6902): add, remove, replace, move, copy, test; a failed
  op (``test`` included) is 422 Invalid, a malformed document 400;
- ``application/strategic-merge-patch+json``: a merge patch where lists with a Kubernetes
  ``patchMergeKey`` merge by that key (see ``merge_keys``), primitive lists with
  ``patchStrategy: merge`` union, and the directives ``$patch: replace|delete|merge``,
  ``$deleteFromPrimitiveList/<f>``, ``$setElementOrder/<f>`` and ``$retainKeys`` apply.

Server-side apply (``application/apply-patch+yaml``) is not served: 415 with a Status saying so.

    patched = apply_patch(PatchType.MERGE, current, b'{"metadata":{"labels":{"a":"b"}}}', res)
"""

from __future__ import annotations

import copy
import enum
import json
from typing import Any

from controlplane.apiserver.merge_keys import ListStrategy, strategy_for
from controlplane.apiserver.resources import Resource
from controlplane.apiserver.status import ApiError, Reason

Obj = dict[str, Any]


class PatchType(enum.StrEnum):
    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


def patch_type(content_type: str) -> PatchType:
    media = content_type.split(";", 1)[0].strip().lower()
    for kind in PatchType:
        if media == kind.value:
            if kind is PatchType.APPLY:
                break
            return kind
    served = ", ".join(t.value for t in PatchType if t is not PatchType.APPLY)
    if media == PatchType.APPLY.value:
        message = (
            "server-side apply (application/apply-patch+yaml) is not served by this apiserver; "
            f"use client-side apply (kubectl apply --server-side=false) or one of: {served}"
        )
    else:
        message = f"the patch content type {media!r} is not supported; expected one of: {served}"
    raise ApiError(Reason.UNSUPPORTED_MEDIA_TYPE, message)


def apply_patch(kind: PatchType, current: Obj, raw: bytes, res: Resource) -> Obj:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(Reason.BAD_REQUEST, f"the patch is not valid JSON: {exc}") from exc
    if kind is PatchType.JSON:
        if not isinstance(doc, list):
            raise ApiError(Reason.BAD_REQUEST, "a JSON patch must be a JSON array of operations")
        result = json_patch(current, doc)
    else:
        if not isinstance(doc, dict):
            raise ApiError(Reason.BAD_REQUEST, f"a {kind.value} patch must be a JSON object")
        if kind is PatchType.MERGE:
            result = merge_patch(current, doc)
        else:
            result = strategic_merge(current, doc, res.kind, ())
    if not isinstance(result, dict):
        raise ApiError(Reason.INVALID, "the patched object is not a JSON object")
    return result


# ---- RFC 7386 ------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# ---- RFC 6902 ------------------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ApiError(Reason.BAD_REQUEST, f"JSON patch path {path!r}: expected a JSON pointer")
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _invalid(message: str) -> ApiError:
    return ApiError(Reason.INVALID, f"the JSON patch cannot be applied: {message}")


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _invalid(f"path {path!r} does not exist")
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _invalid(f"path {path!r} does not exist")


def _remove(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, _pointer(path), path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _invalid(f"path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _invalid(f"index in path {path!r} is out of range")
    else:
        raise _invalid(f"path {path!r}: the parent is not an object or array")
    return doc


def json_patch(current: Obj, ops: list[Any]) -> Any:
    doc: Any = copy.deepcopy(current)
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(Reason.BAD_REQUEST, f"JSON patch operation {i}: needs 'op' and 'path'")
        name, path = op["op"], op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise ApiError(Reason.BAD_REQUEST, f"JSON patch operation {i} ({name}): needs 'value'")
        if name == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif name == "remove":
            _remove(doc, path)
        elif name == "replace":
            _get(doc, path)  # must exist
            if _pointer(path):
                _remove(doc, path)
                doc = _add(doc, path, copy.deepcopy(op["value"]))
            else:
                doc = copy.deepcopy(op["value"])
        elif name in ("move", "copy"):
            if "from" not in op:
                raise ApiError(
                    Reason.BAD_REQUEST, f"JSON patch operation {i} ({name}): needs 'from'"
                )
            value = (
                _remove(doc, op["from"]) if name == "move" else copy.deepcopy(_get(doc, op["from"]))
            )
            doc = _add(doc, path, value)
        elif name == "test":
            if _get(doc, path) != op["value"]:
                raise _invalid(f"test operation {i} failed: the value at {path!r} differs")
        else:
            raise ApiError(Reason.BAD_REQUEST, f"JSON patch operation {i}: unknown op {name!r}")
    return doc


# ---- strategic merge patch -----------------------------------------------------------------

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge(target: Any, patch: Obj, kind: str, path: tuple[str, ...]) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive not in (None, "merge"):
        raise ApiError(
            Reason.BAD_REQUEST, f"unknown $patch directive {directive!r} at {_dot(path)}"
        )
    out: Obj = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = value if isinstance(value, list) else []
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            drop = value if isinstance(value, list) else []
            if isinstance(out.get(field), list):
                out[field] = [v for v in out[field] if v not in drop]
            continue
        child = (*path, key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(out.get(key), value, kind, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key), value, kind, child)
        else:
            out[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _reorder(out[field], order, strategy_for(kind, (*path, field)))
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(current: Any, patch: list[Any], kind: str, path: tuple[str, ...]) -> list[Any]:
    strategy = strategy_for(kind, path)
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    base = list(current) if isinstance(current, list) else []
    if strategy is None:
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    if strategy.merge_key is None:  # a set of primitives: union, order kept
        out = copy.deepcopy(base)
        out.extend(p for p in patch if p not in out)
        return out
    key = strategy.merge_key
    out = copy.deepcopy(base)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise ApiError(
                Reason.BAD_REQUEST,
                f"strategic merge patch: every element of {_dot(path)} needs its merge key {key!r}",
            )
        index = next(
            (i for i, e in enumerate(out) if isinstance(e, dict) and e.get(key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
            continue
        if index is None:
            out.append(strategic_merge(None, item, kind, path))
        else:
            out[index] = strategic_merge(out[index], item, kind, path)
    return out


def _reorder(items: list[Any], order: list[Any], strategy: ListStrategy | None) -> list[Any]:
    key = strategy.merge_key if strategy is not None else None

    def ident(item: Any) -> Any:
        return item.get(key) if key is not None and isinstance(item, dict) else item

    wanted = [o.get(key) if key is not None and isinstance(o, dict) else o for o in order]
    ranked = [i for w in wanted for i in items if ident(i) == w]
    return ranked + [i for i in items if ident(i) not in wanted]


def _dot(path: tuple[str, ...]) -> str:
    return ".".join(path) or "<root>"

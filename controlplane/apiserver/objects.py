"""Object metadata rules: what the server sets on create and keeps on update (the strategies).

In a nutshell: :func:`new_object` and :func:`updated_object` turn a client's body into the
value to store — server-set metadata (uid, creationTimestamp, generation), immutable fields
kept, ``status`` reset where the resource has a ``status`` subresource (only ``/status`` may
change it, and a ``/status`` write changes nothing else), ``metadata.generation`` bumped when
``spec`` changes, Secret ``stringData`` folded into ``data``. Stored values never carry
``metadata.resourceVersion``: it is derived on every read from the store's ``mod_revision``
(API conventions: "Concurrency Control and Consistency").

    obj = new_object(PODS, "default", {"metadata": {"name": "web"}})   # status.phase Pending
"""

from __future__ import annotations

import base64
import copy
import datetime
import re
import uuid
from typing import Any

from controlplane.apiserver.resources import NAMESPACES, PODS, Resource
from controlplane.apiserver.status import ApiError, Reason

Obj = dict[str, Any]

# DNS-1123 subdomain: what Kubernetes requires of most object names (API conventions: "Naming").
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_MAX = 253

# Kinds whose metadata.generation Kubernetes maintains (bumped on spec changes).
_GENERATION_KINDS = frozenset({"Deployment", "ReplicaSet"})


def now_rfc3339(offset_s: float = 0.0) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_s)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_name(name: str, *, what: str = "metadata.name") -> None:
    if not name or len(name) > _NAME_MAX or not _NAME_RE.match(name):
        raise ApiError(
            Reason.INVALID,
            f"{what}: Invalid value: {name!r}: a lowercase RFC 1123 subdomain must consist of "
            "lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character",
            name=name or None,
        )


def parse_resource_version(raw: str, *, what: str = "resourceVersion") -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(
            Reason.BAD_REQUEST, f"{what}: got {raw!r}; expected an integer string"
        ) from exc
    if value < 0:
        raise ApiError(Reason.BAD_REQUEST, f"{what}: got {raw!r}; expected a non-negative integer")
    return value


def check_kind(res: Resource, body: Obj) -> None:
    kind = body.get("kind")
    if kind is not None and kind != res.kind:
        raise ApiError(
            Reason.BAD_REQUEST,
            f"kind {kind!r} does not match the {res.plural} endpoint ({res.kind})",
        )


def has_status_subresource(res: Resource) -> bool:
    return "status" in res.subresources


def new_object(res: Resource, namespace: str | None, body: Obj) -> Obj:
    """The object to store on create: server-set metadata filled in, no resourceVersion."""
    check_kind(res, body)
    obj = copy.deepcopy(body)
    meta: Obj = obj.setdefault("metadata", {})
    name = meta.get("name") or ""
    if not name and meta.get("generateName"):
        name = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
    validate_name(str(name))
    _check_namespace(res, namespace, meta)
    meta["name"] = name
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    for server_set in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(server_set, None)
    obj["kind"] = res.kind
    obj["apiVersion"] = res.api_version
    if res.kind in _GENERATION_KINDS:
        meta["generation"] = 1
    if res is NAMESPACES:
        obj.setdefault("status", {})["phase"] = "Active"
    if res is PODS:
        # podStrategy.PrepareForCreate: a new pod is Pending whatever the client sent.
        obj["status"] = {"phase": "Pending"}
    elif res.kind in _GENERATION_KINDS:
        obj["status"] = {}
    _fold_string_data(res, obj)
    return obj


def updated_object(res: Resource, namespace: str | None, name: str, body: Obj, current: Obj) -> Obj:
    """The object to store on an update of the main resource."""
    obj = _carry_metadata(res, namespace, name, body, current)
    if has_status_subresource(res):
        # Only /status changes status (the status subresource's contract).
        if "status" in current:
            obj["status"] = copy.deepcopy(current["status"])
        else:
            obj.pop("status", None)
    _bump_generation(res, obj, current)
    _fold_string_data(res, obj)
    return obj


def status_updated_object(
    res: Resource, namespace: str | None, name: str, body: Obj, current: Obj
) -> Obj:
    """The object to store on a ``/status`` update: only status (and labels/annotations) move."""
    obj = _carry_metadata(res, namespace, name, body, current)
    out = copy.deepcopy(current)
    out["status"] = obj.get("status", {})
    meta = out.setdefault("metadata", {})
    for key in ("labels", "annotations"):
        if key in obj["metadata"]:
            meta[key] = obj["metadata"][key]
        else:
            meta.pop(key, None)
    meta.pop("resourceVersion", None)
    return out


def _carry_metadata(
    res: Resource, namespace: str | None, name: str, body: Obj, current: Obj
) -> Obj:
    check_kind(res, body)
    obj = copy.deepcopy(body)
    meta: Obj = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise ApiError(Reason.BAD_REQUEST, "metadata must be a JSON object")
    if meta.get("name", name) != name:
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the name of the object ({meta.get('name')}) does not match "
            f"the name on the URL ({name})",
        )
    _check_namespace(res, namespace, meta)
    cur_meta = current.get("metadata", {})
    if meta.get("uid") not in (None, "", cur_meta.get("uid")):
        raise ApiError(Reason.INVALID, "metadata.uid: Invalid value: field is immutable", name=name)
    meta["name"] = name
    meta["uid"] = cur_meta.get("uid")
    meta["creationTimestamp"] = cur_meta.get("creationTimestamp")
    # Set only by a DELETE: an update can neither set nor clear them.
    for server_set in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
        if server_set in cur_meta:
            meta[server_set] = cur_meta[server_set]
        else:
            meta.pop(server_set, None)
    meta.pop("resourceVersion", None)
    obj["kind"] = res.kind
    obj["apiVersion"] = res.api_version
    return obj


def _bump_generation(res: Resource, obj: Obj, current: Obj) -> None:
    if res.kind not in _GENERATION_KINDS:
        return
    if obj.get("spec") != current.get("spec"):
        meta = obj["metadata"]
        meta["generation"] = int(current.get("metadata", {}).get("generation") or 1) + 1


def _fold_string_data(res: Resource, obj: Obj) -> None:
    """Secret ``stringData`` is write-only: merged into ``data`` (base64) and dropped."""
    if res.kind != "Secret" or "stringData" not in obj:
        return
    string_data = obj.pop("stringData") or {}
    if not isinstance(string_data, dict):
        raise ApiError(Reason.BAD_REQUEST, "stringData must be a JSON object of strings")
    data = obj.setdefault("data", {}) or {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    obj["data"] = data


def _check_namespace(res: Resource, namespace: str | None, meta: Obj) -> None:
    if not res.namespaced:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace")
    if given not in (None, "", namespace):
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the namespace of the provided object ({given}) does not match the namespace "
            f"sent on the request ({namespace})",
        )
    meta["namespace"] = namespace


def with_resource_version(value: Any, revision: int) -> Obj:
    """A stored value as served: a copy with ``metadata.resourceVersion`` = the revision."""
    obj: Obj = copy.deepcopy(value) if isinstance(value, dict) else {}
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj

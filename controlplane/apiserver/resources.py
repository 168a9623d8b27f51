"""The resources the apiserver serves, their store keys, and object metadata rules.

In a nutshell: :data:`RESOURCES` maps a URL plural (``pods``) to its kind and scope; objects
live in the store at ``/registry/{plural}/{namespace}/{name}`` (namespaces at
``/registry/namespaces/{name}``), as etcd holds them for kube-apiserver. Stored values never
carry ``metadata.resourceVersion``: it is derived on every read from the store's
``mod_revision`` (API conventions: "Concurrency Control and Consistency").

    res = lookup("pods")
    store_key(res, "default", "web")        # "/registry/pods/default/web"
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from controlplane.apiserver.status import ApiError, Reason

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    plural: str
    kind: str
    api_version: str
    namespaced: bool

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


NAMESPACES = Resource(plural="namespaces", kind="Namespace", api_version="v1", namespaced=False)
RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        NAMESPACES,
        Resource(plural="pods", kind="Pod", api_version="v1", namespaced=True),
        Resource(plural="configmaps", kind="ConfigMap", api_version="v1", namespaced=True),
        # Served under /api/v1 here for simplicity; the object still says its real group.
        Resource(
            plural="leases", kind="Lease", api_version="coordination.k8s.io/v1", namespaced=True
        ),
    )
}

# Namespaces that exist from the start and cannot be deleted (as in Kubernetes).
SYSTEM_NAMESPACES: tuple[str, ...] = ("default", "kube-system")

# DNS-1123 subdomain: what Kubernetes requires of most object names (API conventions: "Naming").
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_MAX = 253


def lookup(plural: str, *, namespaced: bool) -> Resource:
    """The resource for a URL segment; 404 NotFound (as Kubernetes) when we do not serve it."""
    res = RESOURCES.get(plural)
    if res is None or res.namespaced != namespaced:
        raise ApiError(Reason.NOT_FOUND, "the server could not find the requested resource")
    return res


def store_key(res: Resource, namespace: str | None, name: str) -> str:
    if res.namespaced:
        return f"/registry/{res.plural}/{namespace}/{name}"
    return f"/registry/{res.plural}/{name}"


def collection_prefix(res: Resource, namespace: str | None) -> str:
    """Prefix of every key in a collection; ``namespace=None`` spans all namespaces.

    The trailing "/" keeps namespace ``dev`` from matching ``dev2``.
    """
    if res.namespaced and namespace is not None:
        return f"/registry/{res.plural}/{namespace}/"
    return f"/registry/{res.plural}/"


def identity_from_key(key: str) -> tuple[str | None, str]:
    """(namespace, name) from a store key, for events whose value is gone."""
    parts = key.split("/")  # ["", "registry", plural, ns, name] or [..., plural, name]
    if len(parts) >= 5:
        return parts[3], parts[4]
    return None, parts[-1]


def validate_name(name: str, *, what: str = "metadata.name") -> None:
    if not name or len(name) > _NAME_MAX or not _NAME_RE.match(name):
        raise ApiError(
            Reason.INVALID,
            f"{what}: Invalid value: {name!r}: a lowercase RFC 1123 subdomain must consist of "
            "lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character",
            name=name or None,
        )


def parse_body(raw: bytes) -> Obj:
    """The request body as a JSON object; 400 BadRequest otherwise."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(Reason.BAD_REQUEST, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(
            Reason.BAD_REQUEST, f"the request body must be a JSON object, got {type(body).__name__}"
        )
    meta = body.get("metadata", {})
    if not isinstance(meta, dict):
        raise ApiError(Reason.BAD_REQUEST, "metadata must be a JSON object")
    return body


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
    meta["creationTimestamp"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta.pop("resourceVersion", None)
    obj["kind"] = res.kind
    obj["apiVersion"] = res.api_version
    if res is NAMESPACES:
        obj.setdefault("status", {})["phase"] = "Active"
    return obj


def updated_object(res: Resource, namespace: str | None, name: str, body: Obj, current: Obj) -> Obj:
    """The object to store on update: immutable metadata kept from ``current``."""
    check_kind(res, body)
    obj = copy.deepcopy(body)
    meta: Obj = obj.setdefault("metadata", {})
    if meta.get("name", name) != name:
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the name of the object ({meta.get('name')}) does not match "
            f"the name on the URL ({name})",
        )
    _check_namespace(res, namespace, meta)
    cur_meta = current.get("metadata", {})
    if meta.get("uid") not in (None, cur_meta.get("uid")):
        raise ApiError(Reason.INVALID, "metadata.uid: Invalid value: field is immutable", name=name)
    meta["name"] = name
    meta["uid"] = cur_meta.get("uid")
    meta["creationTimestamp"] = cur_meta.get("creationTimestamp")
    meta.pop("resourceVersion", None)
    obj["kind"] = res.kind
    obj["apiVersion"] = res.api_version
    return obj


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

"""Swagger 2.0 paths and operations of one served resource, named as kube-apiserver names them.

In a nutshell: :func:`resource_paths` turns a resource-table entry (contract C2a) into its
collection, item, all-namespaces and subresource paths, one operation per served verb, with
kube-apiserver's operationIds (``listCoreV1NamespacedPod``,
``patchAppsV1NamespacedDeploymentScale``)
and the ``x-kubernetes-action`` / ``x-kubernetes-group-version-kind`` extensions.

    resource_paths(pods, SUBRESOURCE_KINDS)["/api/v1/namespaces/{namespace}/pods/{name}"]["get"]
"""

from __future__ import annotations

from typing import Any, Protocol

from controlplane.apiserver.openapi_schemas import META, REF

JSON = "application/json"
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
PRODUCES = (JSON,)  # responses are JSON whatever the client accepts
WATCH_PRODUCES = (JSON, "application/json;stream=watch")


class ResourceLike(Protocol):
    """What the documents need of a served resource (contract C2a)."""

    @property
    def plural(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...
    @property
    def verbs(self) -> tuple[str, ...]: ...
    @property
    def subresources(self) -> tuple[str, ...]: ...


def gv_path(res: ResourceLike) -> str:
    """``api/v1`` for the core group, ``apis/<group>/<version>`` otherwise (the v3 index keys)."""
    return f"apis/{res.group}/{res.version}" if res.group else f"api/{res.version}"


def _gv_token(group: str, version: str) -> str:
    """``CoreV1``, ``AppsV1``, ``CoordinationV1`` (first label of the group, as kube-openapi)."""
    name = group.split(".")[0] if group else "core"
    return f"{name[:1].upper()}{name[1:]}{version[:1].upper()}{version[1:]}"


def _tag(res: ResourceLike) -> str:
    """``core_v1``, ``apps_v1``, ``coordination_v1``: subresources stay under their parent's."""
    return f"{res.group.split('.')[0] if res.group else 'core'}_{res.version}"


def _ref(definition: str) -> dict[str, str]:
    return {"$ref": REF + definition}


def _kind_ref(group: str, version: str, kind: str) -> dict[str, str]:
    package = group.split(".")[0] if group else "core"  # events.k8s.io -> events
    if kind in ("Status", "DeleteOptions"):
        return _ref(f"{META}.{kind}")
    return _ref(f"io.k8s.api.{package}.{version}.{kind}")


_PATH_PARAMS = {
    "name": {"name": "name", "in": "path", "required": True, "type": "string", "uniqueItems": True},
    "namespace": {
        "name": "namespace",
        "in": "path",
        "required": True,
        "type": "string",
        "uniqueItems": True,
        "description": "object name and auth scope, such as for teams and projects",
    },
}
_LIST_QUERY = [
    {"name": name, "in": "query", "type": typ, "uniqueItems": True, "description": description}
    for name, typ, description in (
        (
            "allowWatchBookmarks",
            "boolean",
            'allowWatchBookmarks requests watch events with type "BOOKMARK".',
        ),
        (
            "continue",
            "string",
            "The continue option should be set when retrieving more results from the server.",
        ),
        (
            "fieldSelector",
            "string",
            "A selector to restrict the list of returned objects by their "
            "fields. Defaults to everything.",
        ),
        (
            "labelSelector",
            "string",
            "A selector to restrict the list of returned objects by their "
            "labels. Defaults to everything.",
        ),
        ("limit", "integer", "limit is a maximum number of responses to return for a list call."),
        (
            "resourceVersion",
            "string",
            "resourceVersion sets a constraint on what resource "
            "versions a request may be served from.",
        ),
        ("timeoutSeconds", "integer", "Timeout for the list/watch call."),
        (
            "watch",
            "boolean",
            "Watch for changes to the described resources and return them as a "
            "stream of add, update, and remove notifications.",
        ),
    )
]


def _body(schema: dict[str, str]) -> dict[str, Any]:
    return {"name": "body", "in": "body", "required": True, "schema": schema}


def _operation(
    op_id: str,
    action: str,
    gvk: tuple[str, str, str],
    response: dict[str, str],
    *,
    description: str,
    body: dict[str, str] | None = None,
    consumes: tuple[str, ...] = (JSON,),
    produces: tuple[str, ...] = PRODUCES,
    query: list[dict[str, Any]] | None = None,
    created: bool = False,
    tag: str,
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK", "schema": response}}
    if created:
        responses["201"] = {"description": "Created", "schema": response}
    responses["401"] = {"description": "Unauthorized"}
    params = list(query or [])
    if body is not None:
        params.insert(0, _body(body))
    op: dict[str, Any] = {
        "description": description,
        "operationId": op_id,
        "consumes": list(consumes),
        "produces": list(produces),
        "schemes": ["https"],
        "tags": [tag],
        "responses": responses,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": gvk[0], "version": gvk[1], "kind": gvk[2]},
    }
    if params:
        op["parameters"] = params
    return op


def resource_paths(
    res: ResourceLike, subresource_kinds: dict[str, tuple[str, str, str]]
) -> dict[str, Any]:
    """Every path of ``res`` with its operations (only the verbs the table grants)."""
    prefix = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    gv = _gv_token(res.group, res.version)
    scope = "Namespaced" if res.namespaced else ""
    coll = (
        f"{prefix}/namespaces/{{namespace}}/{res.plural}"
        if res.namespaced
        else (f"{prefix}/{res.plural}")
    )
    gvk = (res.group, res.version, res.kind)
    obj = _kind_ref(*gvk)
    lst = _kind_ref(res.group, res.version, f"{res.kind}List")
    status = _ref(f"{META}.Status")
    verbs = set(res.verbs)
    scope_params = [_PATH_PARAMS["namespace"]] if res.namespaced else []
    paths: dict[str, Any] = {}

    collection: dict[str, Any] = {}
    if "list" in verbs:
        collection["get"] = _operation(
            f"list{gv}{scope}{res.kind}",
            "list",
            gvk,
            lst,
            description=f"list or watch objects of kind {res.kind}",
            tag=_tag(res),
            produces=(*PRODUCES, *WATCH_PRODUCES[1:]),
            query=_LIST_QUERY,
        )
    if "create" in verbs:
        collection["post"] = _operation(
            f"create{gv}{scope}{res.kind}",
            "post",
            gvk,
            obj,
            description=f"create a {res.kind}",
            tag=_tag(res),
            body=obj,
            created=True,
        )
    if "deletecollection" in verbs:
        collection["delete"] = _operation(
            f"deletecollection{gv}{scope}{res.kind}",
            "deletecollection",
            gvk,
            status,
            description=f"delete collection of {res.kind}",
            tag=_tag(res),
            query=_LIST_QUERY,
        )
    if collection:
        collection["parameters"] = scope_params
        paths[coll] = collection

    item: dict[str, Any] = {}
    item_ops = (
        ("get", "get", "read", None, (JSON,), f"read the specified {res.kind}"),
        ("update", "put", "replace", obj, (JSON,), f"replace the specified {res.kind}"),
        (
            "patch",
            "patch",
            "patch",
            _ref(f"{META}.Patch"),
            PATCH_TYPES,
            f"partially update the specified {res.kind}",
        ),
        (
            "delete",
            "delete",
            "delete",
            _ref(f"{META}.DeleteOptions"),
            (JSON,),
            f"delete a {res.kind}",
        ),
    )
    for verb, method, op_verb, body, consumes, description in item_ops:
        if verb in verbs:
            item[method] = _operation(
                f"{op_verb}{gv}{scope}{res.kind}",
                method if method != "put" else "put",
                gvk,
                status if verb == "delete" else obj,
                description=description,
                tag=_tag(res),
                body=body,
                consumes=consumes,
            )
    if item:
        item["parameters"] = [_PATH_PARAMS["name"], *scope_params]
        paths[f"{coll}/{{name}}"] = item

    if res.namespaced and "list" in verbs:
        paths[f"{prefix}/{res.plural}"] = {
            "get": _operation(
                f"list{gv}{res.kind}ForAllNamespaces",
                "list",
                gvk,
                lst,
                description=f"list or watch objects of kind {res.kind}",
                tag=_tag(res),
                produces=(*PRODUCES, *WATCH_PRODUCES[1:]),
                query=_LIST_QUERY,
            ),
            "parameters": [],
        }

    for sub in res.subresources:
        paths[f"{coll}/{{name}}/{sub}"] = _subresource(
            res, sub, gv, scope, scope_params, subresource_kinds
        )
    return paths


def _subresource(
    res: ResourceLike,
    sub: str,
    gv: str,
    scope: str,
    scope_params: list[dict[str, Any]],
    subresource_kinds: dict[str, tuple[str, str, str]],
) -> dict[str, Any]:
    params = [_PATH_PARAMS["name"], *scope_params]
    suffix = sub[:1].upper() + sub[1:]
    if sub in ("binding", "eviction"):
        gvk = subresource_kinds[sub]
        ref = _kind_ref(*gvk)
        return {
            "post": _operation(
                f"create{gv}{scope}{res.kind}{suffix}",
                "post",
                gvk,
                ref,
                description=f"create {suffix} of a {res.kind}",
                tag=_tag(res),
                body=ref,
                created=True,
            ),
            "parameters": params,
        }
    gvk = subresource_kinds.get(sub, (res.group, res.version, res.kind))
    ref = _kind_ref(*gvk)
    return {
        "get": _operation(
            f"read{gv}{scope}{res.kind}{suffix}",
            "get",
            gvk,
            ref,
            description=f"read {sub} of the specified {res.kind}",
            tag=_tag(res),
        ),
        "put": _operation(
            f"replace{gv}{scope}{res.kind}{suffix}",
            "put",
            gvk,
            ref,
            description=f"replace {sub} of the specified {res.kind}",
            tag=_tag(res),
            body=ref,
        ),
        "patch": _operation(
            f"patch{gv}{scope}{res.kind}{suffix}",
            "patch",
            gvk,
            ref,
            description=f"partially update {sub} of the specified {res.kind}",
            tag=_tag(res),
            body=_ref(f"{META}.Patch"),
            consumes=PATCH_TYPES,
        ),
        "parameters": params,
    }

"""Kubernetes URL layout → the registry: one dispatcher for ``/api/…`` and ``/apis/…``.

In a nutshell: :func:`parse_path` splits a URL into (group, version, namespace, resource,
name, subresource) the way kube-apiserver's installer lays out paths —
``/api/v1/{plural}[/{name}[/{sub}]]``, ``/api/v1/namespaces/{ns}/{plural}[/{name}[/{sub}]]``
and the same under ``/apis/{group}/{version}`` — trailing slash or not; paths naming no
resource are discovery. :func:`dispatch` checks the verb (403 via ``authorize``; 405 when the
resource does not serve it) and calls the registry, ``deletion`` or ``subresources``.

    GET    /api/v1/namespaces/default/pods?labelSelector=app=web&limit=10   list
    GET    /api/v1/pods?watch=1&fieldSelector=spec.nodeName=node-1            watch
    PATCH  /apis/apps/v1/namespaces/default/deployments/web/scale             scale
    POST   /api/v1/namespaces/default/pods/web/binding                        bind
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from controlplane.apiserver import deletion, discovery, eventsapi, subresources, tables
from controlplane.apiserver.bodies import (
    dry_run,
    list_options,
    read_delete_options,
    read_object,
)
from controlplane.apiserver.config import ApiConfig, Verb
from controlplane.apiserver.objects import Obj, updated_object
from controlplane.apiserver.patch import PatchType, apply_patch, patch_type
from controlplane.apiserver.registry import Registry
from controlplane.apiserver.resources import PODS, Resource, find
from controlplane.apiserver.status import ApiError, Reason
from controlplane.apiserver.store import StoreClient
from controlplane.apiserver.watch import WatchStream, watch_params

Authorize = Callable[[web.Request, Verb, Resource, str | None], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    group: str
    version: str
    res: Resource | None = None  # None: a discovery document
    namespace: str | None = None
    name: str | None = None
    sub: str | None = None


def _not_found() -> ApiError:
    return ApiError(Reason.NOT_FOUND, "the server could not find the requested resource")


def parse_path(path: str) -> Target:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        raise _not_found()
    if parts[0] == "api":
        if len(parts) == 1:
            return Target(group="", version="")
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) <= 2:
            return Target(group=parts[1] if len(parts) == 2 else "", version="")
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return Target(group=group, version=version)
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        res = find(group, version, rest[2])
        if res is not None and res.namespaced:
            namespace, rest = rest[1], rest[2:]
    res = find(group, version, rest[0])
    if res is None or len(rest) > 3 or (res.namespaced and namespace is None and len(rest) > 1):
        raise _not_found()
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub is not None and sub not in res.subresources:
        raise _not_found()
    return Target(group=group, version=version, res=res, namespace=namespace, name=name, sub=sub)


def discovery_response(request: web.Request, target: Target) -> web.Response:
    if request.method != "GET":
        raise web.HTTPMethodNotAllowed(request.method, ["GET"])
    path_root = request.path.strip("/").split("/")[0]
    accept = request.headers.get("Accept", "")
    if not target.version and not target.group and discovery.wants_aggregated(accept):
        body = discovery.aggregated(core=path_root == "api")
        return web.Response(
            body=json.dumps(body).encode(),
            headers={"Content-Type": discovery.AGGREGATED_V2, "Vary": "Accept"},
        )
    doc: Obj | None
    if path_root == "api" and not target.version:
        doc = discovery.api_versions(request.host)
    elif path_root == "apis" and not target.group:
        doc = discovery.api_group_list()
    elif not target.version:
        doc = discovery.api_group(target.group)
    else:
        doc = discovery.resource_list(target.group, target.version)
    if doc is None:
        raise _not_found()
    return web.json_response(doc)


async def dispatch(
    request: web.Request,
    *,
    registry: Registry,
    store: StoreClient,
    config: ApiConfig,
    authorize: Authorize,
    events: eventsapi.EventBudget | None = None,
) -> web.StreamResponse:
    target = parse_path(request.path)
    res = target.res
    if res is None:
        return discovery_response(request, target)
    ns = target.namespace
    # events.k8s.io/v1 events are stored as core events: bodies are converted in and out.
    view = eventsapi.view_of(res)
    stored_res = view.storage

    def allow(verb: Verb) -> None:
        if str(verb) not in res.verbs and target.sub is None:
            raise web.HTTPMethodNotAllowed(request.method, _methods(res, target))
        authorize(request, verb, res, ns)

    method = request.method
    if target.name is None:  # the collection
        if method == "POST":
            allow(Verb.CREATE)
            if res.namespaced and ns is None:
                raise ApiError(
                    Reason.METHOD_NOT_ALLOWED, f"create {res.plural} needs a namespace in the path"
                )
            body = await read_object(request, res)
            if res.kind == "Event":
                eventsapi.validate(res, ns, body)
            body = view.to_storage(body)
            dry = dry_run(request)
            obj = await registry.create(stored_res, ns, body, dry_run=dry)
            if events is not None and stored_res.kind == "Event" and ns and not dry:
                events.created(ns)
            return web.json_response(view.to_served(obj), status=201)
        if method == "DELETE":
            allow(Verb.DELETECOLLECTION)
            deleted = await _delete_collection(request, registry, view, ns)
            return web.json_response(eventsapi.served_list(view, deleted))
        if method != "GET":
            raise web.HTTPMethodNotAllowed(method, _methods(res, target))
        options = list_options(request, res)
        if request.query.get("watch", "").lower() in ("1", "true"):
            allow(Verb.WATCH)
            params = watch_params(
                dict(request.query),
                max_s=config.watch_max_s,
                selector=options.selector,
                bookmark_s=config.watch_bookmark_s,
            )
            stream = WatchStream(
                store,
                res,
                namespace=ns,
                params=params,
                bugs=config.bugs,
                render=_renderer(request, res, view),
            )
            return await stream.serve(request)
        allow(Verb.LIST)
        listed = eventsapi.served_list(view, await registry.list(stored_res, ns, options))
        if tables.wants_table(request.headers.get("Accept", "")):
            meta = listed["metadata"]
            listed = tables.to_table(
                res,
                listed["items"],
                include=request.query.get("includeObject", "Metadata"),
                resource_version=meta["resourceVersion"],
                cont=meta.get("continue", ""),
            )
        return web.json_response(listed)
    name = target.name
    if target.sub is not None:
        return await _subresource(request, registry, target, res, name, allow)
    if method == "GET":
        if request.query.get("watch", "").lower() in ("1", "true"):
            raise ApiError(
                Reason.BAD_REQUEST, "watch a single object with fieldSelector=metadata.name="
            )
        allow(Verb.GET)
        obj = await registry.get(stored_res, ns, name)
        render = _renderer(request, res, view)
        return web.json_response(render(obj) if render else view.to_served(obj))
    if method == "PUT":
        allow(Verb.UPDATE)
        body = view.to_storage(await read_object(request, res))
        obj = await registry.update(stored_res, ns, name, body, dry_run=dry_run(request))
        await _finish(registry, stored_res, obj, request)
        return web.json_response(view.to_served(obj))
    if method == "PATCH":
        allow(Verb.PATCH)
        kind = patch_type(request.headers.get("Content-Type", ""))
        raw = await request.read()

        def mutate(served: Obj) -> Obj:
            # The patch applies to the object as this endpoint serves it.
            new = view.to_storage(apply_patch(kind, view.to_served(served), raw, res))
            pinned = (new.get("metadata") or {}).get("resourceVersion")
            obj = updated_object(stored_res, ns, name, new, served)
            if pinned:
                obj["metadata"]["resourceVersion"] = pinned
            return obj

        dry = dry_run(request)
        obj = await registry.guaranteed_update(
            stored_res, ns, name, mutate, served=True, dry_run=dry
        )
        await _finish(registry, stored_res, obj, request)
        return web.json_response(view.to_served(obj))
    if method == "DELETE":
        allow(Verb.DELETE)
        delete_options = await read_delete_options(request, res)
        obj = await deletion.delete(
            registry, stored_res, ns, name, delete_options, dry_run=dry_run(request, delete_options)
        )
        return web.json_response(eventsapi.served_item(view, obj))
    raise web.HTTPMethodNotAllowed(method, _methods(res, target))


def _renderer(
    request: web.Request, res: Resource, view: eventsapi.View
) -> Callable[[Obj], Obj] | None:
    """Stored objects as served: one-row Tables when the client asks for them (kubectl get),
    else converted to the endpoint's form (None when there is nothing to do)."""
    if not tables.wants_table(request.headers.get("Accept", "")):
        return view.to_served if view.converts else None
    include = request.query.get("includeObject", "Metadata")

    def render(obj: Obj) -> Obj:
        rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        return tables.to_table(res, [view.to_served(obj)], include=include, resource_version=rv)

    return render


async def _finish(registry: Registry, res: Resource, obj: Obj, request: web.Request) -> None:
    if not dry_run(request):
        await deletion.finish_if_finalized(registry, res, obj)


async def _subresource(
    request: web.Request,
    registry: Registry,
    target: Target,
    res: Resource,
    name: str,
    allow: Callable[[Verb], None],
) -> web.StreamResponse:
    ns, sub, method = target.namespace, target.sub, request.method
    dry = dry_run(request)
    if sub in ("binding", "eviction"):
        if method != "POST":
            raise web.HTTPMethodNotAllowed(method, ["POST"])
        allow(Verb.CREATE)
        body = await read_object(request, res)
        assert ns is not None and res is PODS  # the table gives these only to pods
        if sub == "binding":
            result = await subresources.bind(registry, ns, name, body, dry_run=dry)
        else:
            result = await subresources.evict(registry, ns, name, body, dry_run=dry)
        return web.json_response(result, status=201)
    write = subresources.write_scale if sub == "scale" else subresources.write_status
    if method == "GET":
        allow(Verb.GET)
        obj = await registry.get(res, ns, name)
        return web.json_response(subresources.to_scale(res, obj) if sub == "scale" else obj)
    if method == "PUT":
        allow(Verb.UPDATE)
        body = await read_object(request, res)
        return web.json_response(await write(registry, res, ns, name, body=body, dry_run=dry))
    if method == "PATCH":
        allow(Verb.PATCH)
        kind: PatchType = patch_type(request.headers.get("Content-Type", ""))
        raw = await request.read()
        obj = await write(registry, res, ns, name, patch=(kind, raw), dry_run=dry)
        return web.json_response(obj)
    raise web.HTTPMethodNotAllowed(method, ["GET", "PUT", "PATCH"])


async def _delete_collection(
    request: web.Request, registry: Registry, view: eventsapi.View, ns: str | None
) -> Obj:
    """``deletecollection``: delete every selected object, as separate deletes (selectors in
    the served resource's field names, objects in the stored form)."""
    res = view.storage
    options = await read_delete_options(request, view.served)
    dry = dry_run(request, options)
    listed = await registry.list(res, ns, list_options(request, view.served))
    deleted = []
    for item in listed["items"]:
        meta = item["metadata"]
        try:
            deleted.append(
                await deletion.delete(
                    registry,
                    res,
                    meta.get("namespace"),
                    meta["name"],
                    copy.deepcopy(options),
                    dry_run=dry,
                )
            )
        except ApiError as exc:
            if exc.reason is not Reason.NOT_FOUND:
                raise
    return {**listed, "items": deleted}


def _methods(res: Resource, target: Target) -> list[str]:
    verbs = set(res.verbs)
    pairs: tuple[tuple[str, str], ...]
    if target.name is None:
        pairs = (("GET", "list"), ("POST", "create"), ("DELETE", "deletecollection"))
    else:
        pairs = (("GET", "get"), ("PUT", "update"), ("PATCH", "patch"), ("DELETE", "delete"))
    return [m for m, v in pairs if v in verbs]

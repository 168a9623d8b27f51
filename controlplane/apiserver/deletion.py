"""DELETE: preconditions, graceful pod deletion, finalizers and garbage collection of dependents.

In a nutshell: :func:`delete` follows kube-apiserver's ``BeforeDelete`` rules:

- ``preconditions`` (uid, resourceVersion) are checked against a fresh read (409);
- a pod bound to a node is deleted *gracefully*: ``metadata.deletionTimestamp`` = now + grace
  and ``deletionGracePeriodSeconds`` = grace are set (grace = the DeleteOptions'
  ``gracePeriodSeconds``, else the pod's ``terminationGracePeriodSeconds``, else 30) and the
  object stays until its kubelet deletes it with ``gracePeriodSeconds=0``. A pod without a
  node, or already Succeeded/Failed, goes at once. A second DELETE may only shorten the grace;
- an object with ``metadata.finalizers`` only gets a deletionTimestamp; it is removed when an
  update empties its finalizers (:func:`finish_if_finalized`);
- once an object is gone, its dependents (``ownerReferences`` naming its uid) are collected:
  ``propagationPolicy`` Background (the default) deletes each dependent that has no other
  owner left (and drops the reference from those that do), ``Orphan`` only drops the
  references. ``Foreground`` is treated as Background: the owner goes first, not last.
  kube-controller-manager's garbage collector does this asynchronously; we do it in the
  request, after the owner is gone, so a replica crash in between leaves dependents behind.

The store has no conditional delete, so the precondition check and the delete are two steps: a
write landing between them is not detected. Known limitation.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from controlplane.apiserver.objects import (
    Obj,
    now_rfc3339,
    parse_resource_version,
    with_resource_version,
)
from controlplane.apiserver.registry import Registry, conflict, not_found
from controlplane.apiserver.resources import (
    NAMESPACES,
    PODS,
    SERVED,
    SYSTEM_NAMESPACES,
    Resource,
    collection_prefix,
    store_key,
)
from controlplane.apiserver.status import ApiError, Reason
from controlplane.apiserver.store import KvItem, StoreError

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 30
# Owners whose dependents we look for: the kinds that own objects in this control plane (a
# Deployment its ReplicaSets, a ReplicaSet its pods, a Node its Lease). Scanning every
# collection on every configmap delete would multiply the workloads' store traffic.
OWNER_KINDS = frozenset({"Deployment", "ReplicaSet", "Pod", "Node"})
_PROPAGATION = ("Background", "Foreground", "Orphan")


async def delete(
    reg: Registry,
    res: Resource,
    namespace: str | None,
    name: str,
    options: Obj | None,
    *,
    dry_run: bool = False,
) -> Obj:
    opts = options or {}
    if res is NAMESPACES and name in SYSTEM_NAMESPACES:
        raise ApiError(
            Reason.FORBIDDEN,
            f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            kind=res.plural,
            name=name,
        )
    policy = opts.get("propagationPolicy") or "Background"
    if policy not in _PROPAGATION:
        raise ApiError(
            Reason.BAD_REQUEST,
            f"propagationPolicy: got {policy!r}; expected one of {', '.join(_PROPAGATION)}",
        )
    if opts.get("orphanDependents") is True:
        policy = "Orphan"
    current = await reg.read(res, namespace, name)
    _check_preconditions(res, name, opts.get("preconditions"), current)
    grace = _grace_seconds(res, current.value, opts.get("gracePeriodSeconds"))
    meta = current.value.get("metadata", {})
    if grace > 0 or meta.get("finalizers"):
        return await _mark_deleting(reg, res, namespace, name, current, grace, dry_run=dry_run)
    if dry_run:
        return with_resource_version(current.value, current.mod_revision)
    result = await reg.store.delete(store_key(res, namespace, name))
    if not result.deleted:
        raise not_found(res, name)  # someone else deleted it between our read and delete
    await collect_dependents(reg, res, current.value, policy)
    return with_resource_version(current.value, result.revision)


def _grace_seconds(res: Resource, obj: Obj, requested: Any) -> int:
    if requested is not None:
        try:
            requested = int(requested)
        except (TypeError, ValueError) as exc:
            raise ApiError(
                Reason.BAD_REQUEST, f"gracePeriodSeconds: got {requested!r}; expected an integer"
            ) from exc
    if res is not PODS:
        return 0
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0  # nothing runs it: no kubelet will confirm, so it goes at once
    if requested is not None:
        return max(0, int(requested))
    configured = spec.get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_S if configured is None else max(0, int(configured))


async def _mark_deleting(
    reg: Registry,
    res: Resource,
    namespace: str | None,
    name: str,
    current: KvItem,
    grace: int,
    *,
    dry_run: bool,
) -> Obj:
    meta = current.value.get("metadata", {})
    existing = meta.get("deletionGracePeriodSeconds")
    if existing is not None and grace >= int(existing):
        # Already terminating with a grace no longer than asked: nothing changes.
        return with_resource_version(current.value, current.mod_revision)
    if grace == 0 and not meta.get("finalizers"):
        if dry_run:
            return with_resource_version(current.value, current.mod_revision)
        result = await reg.store.delete(store_key(res, namespace, name))
        if not result.deleted:
            raise not_found(res, name)
        await collect_dependents(reg, res, current.value, "Background")
        return with_resource_version(current.value, result.revision)
    obj = copy.deepcopy(current.value)
    obj["metadata"]["deletionTimestamp"] = now_rfc3339(grace)
    obj["metadata"]["deletionGracePeriodSeconds"] = grace
    if "generation" in obj["metadata"]:
        obj["metadata"]["generation"] = int(obj["metadata"]["generation"]) + 1
    if dry_run:
        return with_resource_version(obj, current.mod_revision)
    cas = await reg.store.cas(
        store_key(res, namespace, name), expect_revision=current.mod_revision, value=obj
    )
    if not cas.succeeded:
        raise conflict(res, name)  # raced with a writer; the client retries on 409
    return with_resource_version(obj, cas.revision)


async def finish_if_finalized(reg: Registry, res: Resource, obj: Obj) -> bool:
    """After an update: remove an object being deleted whose finalizers are now empty."""
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if int(meta.get("deletionGracePeriodSeconds") or 0) > 0:
        return False  # a pod in its grace period: its kubelet deletes it
    result = await reg.store.delete(store_key(res, meta.get("namespace"), meta["name"]))
    if result.deleted:
        await collect_dependents(reg, res, obj, "Background")
    return result.deleted


async def collect_dependents(reg: Registry, owner_res: Resource, owner: Obj, policy: str) -> None:
    """Delete (or orphan) the objects whose ownerReferences name ``owner``; errors are logged."""
    if owner_res.kind not in OWNER_KINDS:
        return
    meta = owner.get("metadata") or {}
    uid = str(meta.get("uid") or "")
    namespace = meta.get("namespace") if owner_res.namespaced else None
    if not uid:
        return
    for res in SERVED:
        if not res.namespaced:
            continue
        try:
            listed = await reg.store.list(collection_prefix(res, namespace))
        except StoreError as exc:
            log.warning("garbage collection of %s %s: %s", owner_res.plural, meta.get("name"), exc)
            continue
        for item in listed.items:
            refs = (item.value.get("metadata") or {}).get("ownerReferences") or []
            if not any(isinstance(r, dict) and r.get("uid") == uid for r in refs):
                continue
            try:
                await _collect_one(reg, res, item, uid, policy)
            except (StoreError, ApiError) as exc:
                log.warning("garbage collection of %s: %s", item.key, exc)


async def _collect_one(reg: Registry, res: Resource, item: KvItem, uid: str, policy: str) -> None:
    meta = item.value.get("metadata") or {}
    others = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != uid]
    if policy == "Orphan" or others:

        def drop_ref(cur: Obj) -> Obj:
            obj = copy.deepcopy(cur)
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                obj["metadata"]["ownerReferences"] = refs
            else:
                obj["metadata"].pop("ownerReferences", None)
            return obj

        await reg.guaranteed_update(res, meta.get("namespace"), meta["name"], drop_ref)
        return
    await delete(reg, res, meta.get("namespace"), meta["name"], {"propagationPolicy": policy})


def _check_preconditions(res: Resource, name: str, pre: Any, current: KvItem) -> None:
    if not pre:
        return
    if not isinstance(pre, dict):
        raise ApiError(Reason.BAD_REQUEST, "preconditions must be a JSON object")
    uid = current.value.get("metadata", {}).get("uid")
    if pre.get("uid") not in (None, "", uid):
        raise ApiError(
            Reason.CONFLICT,
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {uid}",
            kind=res.plural,
            name=name,
        )
    rv = pre.get("resourceVersion")
    if rv not in (None, "") and parse_resource_version(str(rv)) != current.mod_revision:
        raise ApiError(
            Reason.CONFLICT,
            f"Precondition failed: ResourceVersion in precondition: {rv}, "
            f"ResourceVersion in object meta: {current.mod_revision}",
            kind=res.plural,
            name=name,
        )

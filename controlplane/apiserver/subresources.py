"""Subresources: ``status``, ``scale`` (autoscaling/v1 Scale), pods ``binding`` and ``eviction``.

In a nutshell:

- ``…/status`` GET is the object; PUT/PATCH change only ``status`` (and labels/annotations),
  as a main-resource write leaves ``status`` alone (see ``objects``);
- ``…/scale`` of deployments and replicasets reads and writes ``spec.replicas`` through an
  ``autoscaling/v1`` Scale (``status.replicas``, ``status.selector`` as a selector string);
  its ``metadata.resourceVersion`` is the object's, and a pinned one is a precondition;
- ``pods/{name}/binding`` (a ``v1`` Binding to a Node) sets ``spec.nodeName`` only while the pod
  has none — else 409 "pod X is already assigned to node Y" — copies the Binding's annotations
  onto the pod and sets ``PodScheduled=True``; answers a 201 Success Status;
- ``pods/{name}/eviction`` (a ``policy/v1`` Eviction) deletes the pod with the Eviction's
  ``deleteOptions`` (graceful, as a DELETE); no PodDisruptionBudgets are served, so none
  blocks it. Answers a 201 Success Status.

Bug switch ``bind-without-check``: the binding is accepted even when the pod is already bound,
so a second scheduler's binding moves a running pod to another node.
"""

from __future__ import annotations

import copy
from typing import Any

from controlplane.apiserver import deletion
from controlplane.apiserver.objects import Obj, now_rfc3339, status_updated_object
from controlplane.apiserver.patch import PatchType, apply_patch
from controlplane.apiserver.registry import Registry
from controlplane.apiserver.resources import PODS, Resource
from controlplane.apiserver.status import ApiError, Reason, success_body


def to_scale(res: Resource, obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int(spec.get("replicas", 1))},
        "status": {
            "replicas": int(status.get("replicas") or 0),
            "selector": selector_string(spec.get("selector") or {}),
        },
    }


def selector_string(selector: Obj) -> str:
    """A LabelSelector as the string form ``kubectl`` and the Scale status use."""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(str(key))
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


async def write_scale(
    reg: Registry,
    res: Resource,
    namespace: str | None,
    name: str,
    *,
    body: Obj | None = None,
    patch: tuple[PatchType, bytes] | None = None,
    dry_run: bool = False,
) -> Obj:
    """PUT (``body``) or PATCH (``patch``) of ``…/scale``: only ``spec.replicas`` moves."""

    def mutate(served: Obj) -> Obj:
        scale = to_scale(res, served)
        if patch is not None:
            new = apply_patch(patch[0], scale, patch[1], res)
        else:
            new = copy.deepcopy(body or {})
        replicas = (new.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiError(
                Reason.INVALID,
                f"Scale.spec.replicas: Invalid value: {replicas!r}: must be an integer >= 0",
                name=name,
            )
        obj = copy.deepcopy(served)
        pinned = (new.get("metadata") or {}).get("resourceVersion")
        obj["metadata"]["resourceVersion"] = pinned or served["metadata"]["resourceVersion"]
        if obj.setdefault("spec", {}).get("replicas") != replicas:
            obj["spec"]["replicas"] = replicas
            meta = obj["metadata"]
            meta["generation"] = int(meta.get("generation") or 1) + 1
        return obj

    obj = await reg.guaranteed_update(res, namespace, name, mutate, served=True, dry_run=dry_run)
    return to_scale(res, obj)


async def write_status(
    reg: Registry,
    res: Resource,
    namespace: str | None,
    name: str,
    *,
    body: Obj | None = None,
    patch: tuple[PatchType, bytes] | None = None,
    dry_run: bool = False,
) -> Obj:
    """PUT (``body``) or PATCH (``patch``) of ``…/status``."""

    def mutate(served: Obj) -> Obj:
        new = apply_patch(patch[0], served, patch[1], res) if patch else copy.deepcopy(body or {})
        pinned = (new.get("metadata") or {}).get("resourceVersion")
        obj = status_updated_object(res, namespace, name, new, served)
        if pinned:
            obj["metadata"]["resourceVersion"] = pinned
        return obj

    return await reg.guaranteed_update(res, namespace, name, mutate, served=True, dry_run=dry_run)


async def bind(
    reg: Registry, namespace: str, name: str, binding: Obj, *, dry_run: bool = False
) -> Obj:
    target = binding.get("target") or {}
    node = target.get("name")
    if not node or target.get("kind", "Node") != "Node":
        raise ApiError(
            Reason.INVALID,
            f'Binding.target: Invalid value: {target!r}: expected {{"kind": "Node", "name": …}}',
            name=name,
        )
    bmeta = binding.get("metadata") or {}
    if bmeta.get("name") not in (None, "", name):
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the Binding's metadata.name ({bmeta.get('name')}) does not match the pod ({name})",
        )
    check = "bind-without-check" not in reg.bugs

    def mutate(cur: Obj) -> Obj:
        pod = copy.deepcopy(cur)
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        if bmeta.get("uid") not in (None, "", meta.get("uid")):
            raise _binding_conflict(name, f"the pod's uid is {meta.get('uid')}, not {bmeta['uid']}")
        if meta.get("deletionTimestamp"):
            raise _binding_conflict(
                name, f"pod {name} is being deleted, cannot be assigned to a host"
            )
        if spec.get("nodeName") and check:
            raise _binding_conflict(
                name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
            )
        # BUG (bind-without-check): a bound pod is rebound to the new node.
        spec["nodeName"] = node
        if bmeta.get("annotations"):
            meta.setdefault("annotations", {}).update(bmeta["annotations"])
        _set_condition(pod, "PodScheduled", "True")
        return pod

    await reg.guaranteed_update(PODS, namespace, name, mutate, dry_run=dry_run)
    return success_body(201)


def _binding_conflict(name: str, why: str) -> ApiError:
    return ApiError(
        Reason.CONFLICT,
        f'Operation cannot be fulfilled on pods/binding "{name}": {why}',
        kind="pods/binding",
        name=name,
    )


def _set_condition(pod: Obj, kind: str, value: str) -> None:
    conditions: list[Any] = pod.setdefault("status", {}).setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == kind:
            if cond.get("status") != value:
                cond["status"] = value
                cond["lastTransitionTime"] = now_rfc3339()
            cond.pop("reason", None)
            cond.pop("message", None)
            return
    conditions.append({"type": kind, "status": value, "lastTransitionTime": now_rfc3339()})


async def evict(
    reg: Registry, namespace: str, name: str, eviction: Obj, *, dry_run: bool = False
) -> Obj:
    emeta = eviction.get("metadata") or {}
    if emeta.get("name") not in (None, "", name):
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the Eviction's metadata.name ({emeta.get('name')}) does not match the pod ({name})",
        )
    options = eviction.get("deleteOptions") or None
    await deletion.delete(reg, PODS, namespace, name, options, dry_run=dry_run)
    return success_body(201)

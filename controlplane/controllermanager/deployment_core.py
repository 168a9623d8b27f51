"""The Deployment controller's decisions as pure functions (``pkg/controller/deployment``).

In a nutshell: a Deployment owns ReplicaSets named ``<deployment>-<pod-template-hash>``
(:func:`template_hash`: FNV-32a of the pod template, rendered with apimachinery's
SafeEncodeString alphabet). :func:`plan_rollout` returns the ``spec.replicas`` each ReplicaSet
should get now: plain scaling when no old ReplicaSet has replicas; a RollingUpdate step that
keeps at most ``replicas + maxSurge`` pods and at least ``replicas - maxUnavailable`` available
(``reconcileNewReplicaSet``, ``cleanupUnhealthyReplicas``,
``scaleDownOldReplicaSetsForRollingUpdate``); or Recreate (old to 0 first, then new).
Proportional scaling of several ReplicaSets mid-rollout is not implemented: a scale during a
rollout converges through the same rolling rules.

    plan_rollout(deploy, new_rs, old_rses)   # {"web-5d8f": 6, "web-7c9b": 0}
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from controlplane.kubeclient.objects import Obj, name_of, owner_reference

HASH_LABEL = "pod-template-hash"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand SafeEncodeString


def _fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template: Obj, collision_count: int = 0) -> str:
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    raw = json.dumps(clean, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        raw += str(collision_count).encode()
    return "".join(_SAFE[int(ch) % len(_SAFE)] for ch in str(_fnv32a(raw)))


def spec_replicas(obj: Obj) -> int:
    v = (obj.get("spec") or {}).get("replicas")
    return 1 if v is None else int(v)


def _status(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def _int_or_percent(raw: Any, total: int, *, round_up: bool, default: str) -> int:
    value = default if raw is None else raw
    if isinstance(value, str) and value.endswith("%"):
        frac = float(value[:-1]) * total / 100.0
        return math.ceil(frac) if round_up else math.floor(frac)
    return int(value)


def fenceposts(deploy: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved; both 0 → maxUnavailable 1 (ResolveFenceposts)."""
    ru = ((deploy.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    replicas = spec_replicas(deploy)
    surge = _int_or_percent(ru.get("maxSurge"), replicas, round_up=True, default="25%")
    unavailable = _int_or_percent(ru.get("maxUnavailable"), replicas, round_up=False, default="25%")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def new_replica_set(deploy: Obj, hash_: str, replicas: int) -> Obj:
    template = copy.deepcopy((deploy.get("spec") or {}).get("template") or {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: hash_}
    selector = copy.deepcopy((deploy.get("spec") or {}).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: hash_}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name_of(deploy)}-{hash_}",
            "labels": dict(tmeta["labels"]),
            "ownerReferences": [owner_reference(deploy, kind="Deployment", api_version="apps/v1")],
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    }


def _created(rs: Obj) -> str:
    return str((rs.get("metadata") or {}).get("creationTimestamp") or "")


def plan_rollout(deploy: Obj, new: Obj, olds: list[Obj]) -> dict[str, int]:
    """Target spec.replicas per ReplicaSet name (only the ones to change are needed)."""
    replicas = spec_replicas(deploy)
    target = {name_of(r): spec_replicas(r) for r in [new, *olds]}
    olds = sorted(olds, key=_created)  # oldest first, as ReplicaSetsByCreationTimestamp
    active_olds = [r for r in olds if spec_replicas(r) > 0]
    new_name = name_of(new)
    if not active_olds:
        target[new_name] = replicas  # complete, or plain scaling
        return target
    strategy = ((deploy.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate"
    if strategy == "Recreate":
        for r in active_olds:
            target[name_of(r)] = 0
        if all(_status(r, "replicas") == 0 for r in olds):
            target[new_name] = replicas
        return target
    surge, unavailable = fenceposts(deploy)
    # reconcileNewReplicaSet
    cur_new = spec_replicas(new)
    total = sum(target.values())
    if cur_new > replicas:
        target[new_name] = replicas
    elif total < replicas + surge:
        target[new_name] = cur_new + min(replicas + surge - total, replicas - cur_new)
    # reconcileOldReplicaSets
    min_available = replicas - unavailable
    all_pods = sum(target.values())
    new_unavailable = target[new_name] - _status(new, "availableReplicas")
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return target
    cleaned = 0
    for r in active_olds:  # cleanupUnhealthyReplicas
        if cleaned >= max_scaled_down:
            break
        unhealthy = spec_replicas(r) - _status(r, "availableReplicas")
        if unhealthy <= 0:
            continue
        down = min(max_scaled_down - cleaned, unhealthy)
        target[name_of(r)] -= down
        cleaned += down
    available = sum(_status(r, "availableReplicas") for r in [new, *olds])
    if available > min_available:  # scaleDownOldReplicaSetsForRollingUpdate
        budget = available - min_available
        done = 0
        for r in active_olds:
            if done >= budget:
                break
            n = name_of(r)
            down = min(target[n], budget - done)
            target[n] -= down
            done += down
    return target


def deployment_status(deploy: Obj, new: Obj | None, rses: list[Obj]) -> Obj:
    replicas = sum(_status(r, "replicas") for r in rses)
    available = sum(_status(r, "availableReplicas") for r in rses)
    return {
        "observedGeneration": int((deploy.get("metadata") or {}).get("generation") or 1),
        "replicas": replicas,
        "updatedReplicas": _status(new, "replicas") if new else 0,
        "readyReplicas": sum(_status(r, "readyReplicas") for r in rses),
        "availableReplicas": available,
        "unavailableReplicas": max(spec_replicas(deploy) - available, 0),
    }

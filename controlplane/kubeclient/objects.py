"""Plain-dict helpers with Kubernetes semantics: paths, selectors, taints, quantities, owners.

In a nutshell: pure functions over objects in their JSON shape, shared by every controller.

    matches({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"})   # True
    parse_quantity("250m")   # 0.25
"""

from __future__ import annotations

import re
from typing import Any

Obj = dict[str, Any]

UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"


def path(kind: str, namespace: str | None = None, name: str = "", sub: str = "") -> str:
    """The REST path of a collection or object of the resources the components use."""
    base = {
        "pods": "/api/v1",
        "nodes": "/api/v1",
        "replicasets": "/apis/apps/v1",
        "deployments": "/apis/apps/v1",
        "leases": "/apis/coordination.k8s.io/v1",
    }[kind]
    out = f"{base}/namespaces/{namespace}/{kind}" if namespace else f"{base}/{kind}"
    if name:
        out += f"/{name}"
    if sub:
        out += f"/{sub}"
    return out


def meta(obj: Obj) -> Obj:
    m: Obj = obj.setdefault("metadata", {})
    return m


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def ns_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def uid_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


# ---- label selectors (apimachinery LabelSelector) ----------------------------------------


def matches(selector: Obj | None, labels: dict[str, str] | None) -> bool:
    """matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist). An empty selector
    matches everything, as ``metav1.LabelSelectorAsSelector`` does for non-nil selectors."""
    labels = labels or {}
    sel = selector or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in sel.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ---- owners ---------------------------------------------------------------------------------


def controller_ref(obj: Obj) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(owner: Obj, *, kind: str, api_version: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)


# ---- pods and nodes ---------------------------------------------------------------------------


def is_terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_active_pod(pod: Obj) -> bool:
    """client-go FilterActivePods: not Succeeded/Failed and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def condition(obj: Obj, kind: str) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def is_ready(obj: Obj) -> bool:
    c = condition(obj, "Ready")
    return c is not None and c.get("status") == "True"


def set_condition(obj: Obj, new: Obj) -> bool:
    """Upsert a condition by type; keeps lastTransitionTime when the status is unchanged.
    Returns whether anything but heartbeat times changed."""
    conds: list[Obj] = obj.setdefault("status", {}).setdefault("conditions", [])
    for i, c in enumerate(conds):
        if c.get("type") == new.get("type"):
            if c.get("status") == new.get("status"):
                new = {
                    **new,
                    "lastTransitionTime": c.get(
                        "lastTransitionTime", new.get("lastTransitionTime")
                    ),
                }
            changed = any(c.get(k) != new.get(k) for k in ("status", "reason"))
            conds[i] = new
            return changed
    conds.append(new)
    return True


def tolerates(tolerations: list[Obj] | None, taint: Obj) -> bool:
    """core/v1 Toleration.ToleratesTaint."""
    for t in tolerations or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key") and op == "Exists":
            return True
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def toleration_seconds(tolerations: list[Obj] | None, taint: Obj) -> float | None:
    """Seconds a pod tolerates a NoExecute ``taint``: None = forever, 0 = not at all.
    The smallest tolerationSeconds of the matching tolerations (taint manager rule)."""
    best: float | None = None
    matched = False
    for t in tolerations or []:
        if not tolerates([t], taint):
            continue
        matched = True
        secs = t.get("tolerationSeconds")
        if secs is None:
            continue
        best = float(secs) if best is None else min(best, float(secs))
    if not matched:
        return 0.0
    return best


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
}


def parse_quantity(raw: Any) -> float:
    """A resource.Quantity (``250m``, ``1Gi``, ``2``) as a float; raises ValueError."""
    if isinstance(raw, int | float):
        return float(raw)
    m = _QUANTITY.match(str(raw).strip())
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError(f"not a quantity: {raw!r}; expected e.g. 250m, 1, 128Mi, 1Gi")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def pod_requests(pod: Obj) -> dict[str, float]:
    """Sum of container requests (cpu, memory) plus one ``pods`` slot."""
    out = {"cpu": 0.0, "memory": 0.0, "pods": 1.0}
    for c in (pod.get("spec") or {}).get("containers") or []:
        for res, q in ((c.get("resources") or {}).get("requests") or {}).items():
            if res in out and res != "pods":
                out[res] += parse_quantity(q)
    return out

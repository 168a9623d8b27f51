"""Strategic-merge-patch list strategies of the served kinds (the Go types' struct tags).

In a nutshell: Kubernetes decides how a strategic merge patch treats a list from the
``patchStrategy`` / ``patchMergeKey`` tags of its Go field (k8s.io/api core/v1, apps/v1,
meta/v1). :func:`strategy_for` answers for a path of map keys from the object root (list
indexes are not part of the path): a :class:`ListStrategy` with the merge key, with
``merge_key=None`` for a primitive list merged as a set, or ``None`` when the list is
replaced (no tag — ``tolerations``, ``taints``, ``containerStatuses`` …).

    strategy_for("Pod", ("spec", "containers"))             # merge_key="name"
    strategy_for("Deployment", ("spec", "template", "spec", "containers", "env"))  # "name"
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ListStrategy:
    merge_key: str | None  # None: a list of primitives merged as a set


_SET = ListStrategy(merge_key=None)


def _by(key: str) -> ListStrategy:
    return ListStrategy(merge_key=key)


# Relative to a Container.
_CONTAINER: dict[tuple[str, ...], ListStrategy] = {
    ("env",): _by("name"),
    ("ports",): _by("containerPort"),
    ("volumeMounts",): _by("mountPath"),
    ("volumeDevices",): _by("devicePath"),
}
# Relative to a PodSpec.
_POD_SPEC: dict[tuple[str, ...], ListStrategy] = {
    ("containers",): _by("name"),
    ("initContainers",): _by("name"),
    ("ephemeralContainers",): _by("name"),
    ("volumes",): _by("name"),
    ("imagePullSecrets",): _by("name"),
    ("hostAliases",): _by("ip"),
    ("topologySpreadConstraints",): _by("topologyKey"),
    ("resourceClaims",): _by("name"),
    ("schedulingGates",): _by("name"),
    **{
        (c, *rest): s
        for c in ("containers", "initContainers", "ephemeralContainers")
        for rest, s in _CONTAINER.items()
    },
}
_METADATA: dict[tuple[str, ...], ListStrategy] = {
    ("metadata", "ownerReferences"): _by("uid"),
    ("metadata", "finalizers"): _SET,
}
_POD_STATUS: dict[tuple[str, ...], ListStrategy] = {
    ("status", "conditions"): _by("type"),
    ("status", "podIPs"): _by("ip"),
    ("status", "hostIPs"): _by("ip"),
}
_WORKLOAD_STATUS: dict[tuple[str, ...], ListStrategy] = {("status", "conditions"): _by("type")}


def _mount(
    prefix: tuple[str, ...], table: dict[tuple[str, ...], ListStrategy]
) -> dict[tuple[str, ...], ListStrategy]:
    return {(*prefix, *k): v for k, v in table.items()}


_TEMPLATE = {
    **_mount(("spec", "template", "spec"), _POD_SPEC),
    **_mount(("spec", "template"), _METADATA),
}
STRATEGIES: dict[str, dict[tuple[str, ...], ListStrategy]] = {
    "Pod": {**_METADATA, **_mount(("spec",), _POD_SPEC), **_POD_STATUS},
    "Node": {
        **_METADATA,
        ("spec", "podCIDRs"): _SET,
        ("status", "conditions"): _by("type"),
        ("status", "addresses"): _by("type"),
        ("status", "volumesAttached"): _by("name"),
    },
    "Deployment": {**_METADATA, **_TEMPLATE, **_WORKLOAD_STATUS},
    "ReplicaSet": {**_METADATA, **_TEMPLATE, **_WORKLOAD_STATUS},
    "Namespace": {**_METADATA, ("status", "conditions"): _by("type")},
}


def strategy_for(kind: str, path: tuple[str, ...]) -> ListStrategy | None:
    table = STRATEGIES.get(kind)
    if table is None:
        return _METADATA.get(path)
    return table.get(path)

"""The resources the apiserver serves: one table every consumer derives from (contract C2a).

In a nutshell: :data:`SERVED` lists every resource with its kind, group/version, scope, short
names, verbs and subresources as real Kubernetes has them; routing, discovery, OpenAPI and
protobuf all read it. Objects live in the store at ``/registry/{group/}{plural}/{ns}/{name}``
(cluster-scoped: ``/registry/{plural}/{name}``), as etcd holds them for kube-apiserver
(core resources have no group segment, ``apps`` and ``coordination.k8s.io`` do not either:
kube-apiserver keys deployments as ``/registry/deployments/…``, which we follow). Core and
``events.k8s.io`` events share ``/registry/events/…`` (stored in the core form, see
``eventsapi``).

    res = lookup("", "v1", "pods")
    store_key(res, "default", "web")        # "/registry/pods/default/web"
    res.api_version                          # "v1" ("apps/v1" for deployments)
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.apiserver.status import ApiError, Reason

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    plural: str  # "deployments"
    singular: str  # "deployment"
    kind: str  # "Deployment"
    group: str  # "" (core), "apps", "coordination.k8s.io"
    version: str  # "v1"
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()  # "status", "scale", "binding", "eviction"
    categories: tuple[str, ...] = ()  # "all": what ``kubectl get all`` lists

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_version(self) -> str:
        return self.api_version


@dataclass(frozen=True, slots=True, kw_only=True)
class Subresource:
    """What a subresource accepts and returns (its entry in discovery: ``pods/status``)."""

    name: str
    kind: str  # "" means the parent's kind (status)
    group: str
    version: str
    verbs: tuple[str, ...]

    def kind_for(self, parent: Resource) -> str:
        return self.kind or parent.kind

    def api_version_for(self, parent: Resource) -> str:
        if not self.kind:
            return parent.api_version
        return f"{self.group}/{self.version}" if self.group else self.version


SUBRESOURCES: dict[str, Subresource] = {
    s.name: s
    for s in (
        Subresource(name="status", kind="", group="", version="", verbs=("get", "patch", "update")),
        Subresource(
            name="scale",
            kind="Scale",
            group="autoscaling",
            version="v1",
            verbs=("get", "patch", "update"),
        ),
        Subresource(name="binding", kind="Binding", group="", version="v1", verbs=("create",)),
        Subresource(
            name="eviction", kind="Eviction", group="policy", version="v1", verbs=("create",)
        ),
    )
}

NAMESPACES = Resource(
    plural="namespaces",
    singular="namespace",
    kind="Namespace",
    group="",
    version="v1",
    namespaced=False,
    short_names=("ns",),
    # Kubernetes serves no deletecollection for namespaces.
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
)
PODS = Resource(
    plural="pods",
    singular="pod",
    kind="Pod",
    group="",
    version="v1",
    namespaced=True,
    short_names=("po",),
    subresources=("binding", "eviction", "status"),
    categories=("all",),
)
NODES = Resource(
    plural="nodes",
    singular="node",
    kind="Node",
    group="",
    version="v1",
    namespaced=False,
    short_names=("no",),
    subresources=("status",),
)
DEPLOYMENTS = Resource(
    plural="deployments",
    singular="deployment",
    kind="Deployment",
    group="apps",
    version="v1",
    namespaced=True,
    short_names=("deploy",),
    subresources=("scale", "status"),
    categories=("all",),
)
REPLICASETS = Resource(
    plural="replicasets",
    singular="replicaset",
    kind="ReplicaSet",
    group="apps",
    version="v1",
    namespaced=True,
    short_names=("rs",),
    subresources=("scale", "status"),
    categories=("all",),
)
LEASES = Resource(
    plural="leases",
    singular="lease",
    kind="Lease",
    group="coordination.k8s.io",
    version="v1",
    namespaced=True,
)
# Events: one store collection (``/registry/events/…``) served as two kinds, as in Kubernetes.
# Objects are stored in the core form; ``events.k8s.io/v1`` is converted on the way in and out
# (``eventsapi``). Short name ``ev`` on both, as kube-apiserver has it (kubectl picks core).
EVENTS = Resource(
    plural="events",
    singular="event",
    kind="Event",
    group="",
    version="v1",
    namespaced=True,
    short_names=("ev",),
)
EVENTS_V1 = Resource(
    plural="events",
    singular="event",
    kind="Event",
    group="events.k8s.io",
    version="v1",
    namespaced=True,
    short_names=("ev",),
)

SERVED: tuple[Resource, ...] = (
    NAMESPACES,
    PODS,
    NODES,
    Resource(
        plural="configmaps",
        singular="configmap",
        kind="ConfigMap",
        group="",
        version="v1",
        namespaced=True,
        short_names=("cm",),
    ),
    Resource(
        plural="secrets", singular="secret", kind="Secret", group="", version="v1", namespaced=True
    ),
    EVENTS,
    DEPLOYMENTS,
    REPLICASETS,
    LEASES,
    EVENTS_V1,
)

_BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in SERVED}

# Namespaces that exist from the start and cannot be deleted (as in Kubernetes).
SYSTEM_NAMESPACES: tuple[str, ...] = ("default", "kube-system", "kube-public", "kube-node-lease")


def group_versions() -> dict[str, list[str]]:
    """Every served group (core = "") and its versions, in table order."""
    out: dict[str, list[str]] = {}
    for r in SERVED:
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out


def resources_of(group: str, version: str) -> tuple[Resource, ...]:
    return tuple(r for r in SERVED if r.group == group and r.version == version)


def find(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def lookup(group: str, version: str, plural: str) -> Resource:
    """The resource for a URL; 404 NotFound (as Kubernetes) when we do not serve it."""
    res = _BY_PATH.get((group, version, plural))
    if res is None:
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

"""Discovery documents, all derived from the resource table (``resources.SERVED``).

In a nutshell: ``/version`` (version.Info), ``/api`` (APIVersions), ``/api/v1`` and
``/apis/<group>/<version>`` (APIResourceList, subresources as ``pods/status`` entries),
``/apis`` (APIGroupList) and ``/apis/<group>`` (APIGroup), the shapes kube-apiserver serves.
A client asking for aggregated discovery (``Accept: application/json;g=apidiscovery.k8s.io;
v=v2;as=APIGroupDiscoveryList``, kubectl ≥ 1.26) gets the ``apidiscovery.k8s.io/v2`` document for
``/api`` or ``/apis`` in one answer; any other Accept gets the legacy documents, which client-go
then walks group by group.

    version_info()["gitVersion"]      # "v1.32.0-chaosplane"
    resource_list("apps", "v1")       # {"kind": "APIResourceList", "groupVersion": "apps/v1", …}
"""

from __future__ import annotations

import platform
from typing import Any

from controlplane.apiserver.resources import (
    SUBRESOURCES,
    Resource,
    group_versions,
    resources_of,
)

Obj = dict[str, Any]

MAJOR, MINOR = "1", "32"
GIT_VERSION = f"v{MAJOR}.{MINOR}.0-chaosplane"
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def version_info() -> Obj:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-12-01T00:00:00Z",
        "goVersion": f"python{platform.python_version()}",
        "compiler": "cpython",
        "platform": f"{platform.system().lower()}/{machine}",
    }


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": group_versions().get("", []),
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list() -> Obj:
    groups = [_group(g, vs) for g, vs in group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> Obj | None:
    versions = group_versions().get(name) if name else None
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(group: str, version: str) -> Obj | None:
    served = resources_of(group, version)
    if not served:
        return None
    entries: list[Obj] = []
    for res in served:
        entries.append(_resource_entry(res))
        for sub in res.subresources:
            info = SUBRESOURCES[sub]
            entry: Obj = {
                "name": f"{res.plural}/{sub}",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": info.kind_for(res),
                "verbs": list(info.verbs),
            }
            if info.kind:
                entry["group"], entry["version"] = info.group, info.version
            entries.append(entry)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def _resource_entry(res: Resource) -> Obj:
    entry: Obj = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    return entry


def wants_aggregated(accept: str) -> bool:
    """Whether the Accept header asks for apidiscovery.k8s.io/v2 (the first choice wins)."""
    for choice in accept.split(","):
        params = {p.strip() for p in choice.split(";")[1:]}
        if {"g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"} <= params:
            return True
    return False


def aggregated(*, core: bool) -> Obj:
    """The APIGroupDiscoveryList of ``/api`` (core) or ``/apis`` (every named group)."""
    items = []
    for group, versions in group_versions().items():
        if bool(group) == core:
            continue
        items.append(
            {
                "metadata": {"name": group},
                "versions": [
                    {
                        "version": v,
                        "resources": [_aggregated_resource(r) for r in resources_of(group, v)],
                        "freshness": "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def _aggregated_resource(res: Resource) -> Obj:
    entry: Obj = {
        "resource": res.plural,
        "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    subs = []
    for sub in res.subresources:
        info = SUBRESOURCES[sub]
        kind = {"group": info.group, "version": info.version, "kind": info.kind}
        if not info.kind:
            kind = {"group": res.group, "version": res.version, "kind": res.kind}
        subs.append({"subresource": sub, "responseKind": kind, "verbs": list(info.verbs)})
    if subs:
        entry["subresources"] = subs
    return entry

"""Discovery (``/version``, ``/api``, ``/apis``, group and group/version documents), derived from
the one resource table, plus request-body negotiation and Table answers.

Shapes as kube-apiserver serves them (APIVersions, APIResourceList, APIGroupList, APIGroup,
apidiscovery.k8s.io/v2 APIGroupDiscoveryList, meta.k8s.io/v1 Table).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_apiserver_support import PODS, apiserver, pod, real_store

from controlplane.apiserver.discovery import AGGREGATED_V2
from controlplane.apiserver.resources import SERVED
from controlplane.apiserver.routes import parse_path
from controlplane.apiserver.status import ApiError


def run(tmp_path: Path, body: Any) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url) as api:
            await body(api)

    asyncio.run(main())


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/namespaces/default/pods", ("pods", "default", None, None)),
        ("/api/v1/namespaces/default/pods/web/binding/", ("pods", "default", "web", "binding")),
        ("/api/v1/namespaces/dev", ("namespaces", None, "dev", None)),
        ("/api/v1/namespaces", ("namespaces", None, None, None)),
        ("/api/v1/pods", ("pods", None, None, None)),
        ("/api/v1/nodes/n1/status", ("nodes", None, "n1", "status")),
        ("/apis/apps/v1/namespaces/d/deployments/w/scale", ("deployments", "d", "w", "scale")),
        (
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
            ("leases", "kube-system", None, None),
        ),
    ],
)
def test_paths_parse_as_kube_apiserver_lays_them_out(path: str, expected: tuple[Any, ...]) -> None:
    t = parse_path(path)
    assert t.res is not None
    assert (t.res.plural, t.namespace, t.name, t.sub) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/leases",
        "/api/v1/namespaces/default/pods/web/scale",
        "/api/v1/pods/web",
        "/apis/apps/v1/namespaces/d/deployments/w/scale/x",
        "/apis/batch/v1/jobs",
    ],
)
def test_paths_we_do_not_serve_are_404(path: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_path(path)
    assert err.value.code == 404


def test_discovery_documents(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        version = (await api.get("/version")).json()
        assert version["gitVersion"] == "v1.32.0-chaosplane" and version["major"] == "1"
        assert version["minor"] == "32" and "/" in version["platform"]
        for suffix in ("", "/"):
            apis = await api.get("/api" + suffix)
            assert apis.json()["kind"] == "APIVersions" and apis.json()["versions"] == ["v1"]
            assert apis.json()["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"
            core = (await api.get("/api/v1" + suffix)).json()
            assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
            groups = (await api.get("/apis" + suffix)).json()
            assert groups["kind"] == "APIGroupList"
        by_name = {r["name"]: r for r in core["resources"]}
        assert by_name["pods"] == {
            "name": "pods",
            "singularName": "pod",
            "namespaced": True,
            "kind": "Pod",
            "verbs": [
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            "shortNames": ["po"],
            "categories": ["all"],
        }
        assert by_name["pods/eviction"]["group"] == "policy"
        assert by_name["pods/eviction"]["kind"] == "Eviction"
        assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
        assert by_name["namespaces"]["namespaced"] is False and "leases" not in by_name
        assert [g["name"] for g in groups["groups"]] == [
            "apps",
            "coordination.k8s.io",
            "events.k8s.io",
        ]
        group = (await api.get("/apis/apps")).json()
        assert (
            group["kind"] == "APIGroup" and group["preferredVersion"]["groupVersion"] == "apps/v1"
        )
        apps = (await api.get("/apis/apps/v1/")).json()
        assert {r["name"] for r in apps["resources"]} == {
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
        }
        scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
        assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
        everything = {r.plural for r in SERVED}
        listed = set(by_name) | {r["name"] for r in apps["resources"]}
        listed |= {
            r["name"] for r in (await api.get("/apis/coordination.k8s.io/v1")).json()["resources"]
        }
        assert everything <= listed
        assert (await api.get("/apis/batch/v1")).status_code == 404
        assert (await api.get("/apis/batch")).status_code == 404
        agg = await api.get("/apis", headers={"Accept": f"{AGGREGATED_V2},application/json"})
        params = {p.strip() for p in agg.headers["Content-Type"].split(";")}
        assert params >= {
            "application/json",
            "g=apidiscovery.k8s.io",
            "v=v2",
            "as=APIGroupDiscoveryList",
        }
        assert agg.json()["kind"] == "APIGroupDiscoveryList"
        deploy = agg.json()["items"][0]["versions"][0]["resources"][0]
        assert deploy["resource"] == "deployments" and deploy["scope"] == "Namespaced"
        assert {s["subresource"] for s in deploy["subresources"]} == {"scale", "status"}
        core_agg = (await api.get("/api", headers={"Accept": AGGREGATED_V2})).json()
        assert core_agg["items"][0]["metadata"]["name"] == ""

    run(tmp_path, body)


def test_bodies_tables_and_collections(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        yaml_pod = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-yaml\n"
        created = await api.post(
            PODS, content=yaml_pod, headers={"Content-Type": "application/yaml"}
        )
        assert created.status_code == 201, created.text
        proto = await api.post(
            PODS,
            content=b"k8s\x00...",
            headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
        )
        assert proto.status_code in (415, 400) and proto.json()["kind"] == "Status"
        odd = await api.post(PODS, content=b"x", headers={"Content-Type": "text/csv"})
        assert odd.status_code == 415
        secret = {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
        stored = (await api.post("/api/v1/namespaces/default/secrets", json=secret)).json()
        assert stored["data"] == {"password": "aHVudGVyMg=="} and "stringData" not in stored
        table_accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        table = (await api.get(PODS, headers=table_accept)).json()
        assert table["kind"] == "Table"
        assert [c["name"] for c in table["columnDefinitions"]][:5] == [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
        ]
        assert table["rows"][0]["cells"][:3] == ["from-yaml", "0/0", "Pending"]
        assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
        one = (await api.get(f"{PODS}/from-yaml", headers=table_accept)).json()
        assert one["kind"] == "Table" and len(one["rows"]) == 1
        for i in range(3):
            await api.post(PODS, json=pod(f"bulk-{i}", group="bulk"))
        gone = await api.request("DELETE", PODS, params={"labelSelector": "group=bulk"})
        assert gone.status_code == 200 and len(gone.json()["items"]) == 3
        left = (await api.get(PODS)).json()["items"]
        assert [p["metadata"]["name"] for p in left] == ["from-yaml"]
        no_dc = await api.request("DELETE", "/api/v1/namespaces")
        assert no_dc.status_code == 405  # namespaces serve no deletecollection
        dry = await api.post(PODS + "?dryRun=All", json=pod("dry"))
        assert dry.status_code == 201 and "resourceVersion" not in dry.json()["metadata"]
        assert (await api.get(f"{PODS}/dry")).status_code == 404
        leases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
        lease = await api.post(
            leases, json={"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}}
        )
        assert lease.status_code == 201 and lease.json()["apiVersion"] == "coordination.k8s.io/v1"
        assert (await api.get("/api/v1/namespaces/kube-system/leases")).status_code == 404
        assert (await api.get("/api/v1/namespaces/kube-node-lease")).status_code == 200

    run(tmp_path, body)

"""OpenAPI documents: structure (refs, GVKs, operations), the routes, and kubectl using them.

The documents are pure functions of a resource table; most tests build their own table of
Resource-like values so they also pin what a given table must produce. The kubectl tests run
the ``kubectl`` on PATH against an in-process apiserver and skip, saying why, without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_apiserver_support import _serve, real_store

from controlplane.apiserver import ApiConfig, StoreClientConfig, build_app, openapi_routes
from controlplane.apiserver.openapi import (
    openapi_v2,
    openapi_v3_group,
    openapi_v3_index,
    v3_document_bytes,
)
from controlplane.apiserver.openapi_proto import RESPONSE_MEDIA_TYPE, v2_protobuf
from controlplane.apiserver.openapi_schemas import definition_name
from controlplane.apiserver.protobuf.gnostic import openapiv2_pb2
from controlplane.apiserver.resources import SERVED

ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Res:
    """A resource-table entry (contract C2a), built here so the tests own their table."""

    plural: str
    singular: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


TABLE = (
    Res(plural="namespaces", singular="namespace", kind="Namespace", group="", version="v1",
        namespaced=False, verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    Res(plural="pods", singular="pod", kind="Pod", group="", version="v1", namespaced=True,
        subresources=("binding", "eviction", "status")),
    Res(plural="nodes", singular="node", kind="Node", group="", version="v1", namespaced=False,
        subresources=("status",)),
    Res(plural="secrets", singular="secret", kind="Secret", group="", version="v1",
        namespaced=True),
    Res(plural="deployments", singular="deployment", kind="Deployment", group="apps",
        version="v1", namespaced=True, subresources=("scale", "status")),
    Res(plural="leases", singular="lease", kind="Lease", group="coordination.k8s.io",
        version="v1", namespaced=True, verbs=("get", "list", "watch")),
)  # fmt: skip


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _gvks(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (g["group"], g["version"], g["kind"])
        for g in schema.get("x-kubernetes-group-version-kind", [])
    ]


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op


@pytest.mark.parametrize("table", [TABLE, SERVED], ids=["own-table", "served"])
def test_every_v2_ref_resolves(table: tuple[Any, ...]) -> None:
    doc = openapi_v2(table)
    refs = set(_refs(doc))
    assert refs, "the document references nothing: the test would prove nothing"
    missing = {r for r in refs if r.removeprefix("#/definitions/") not in doc["definitions"]}
    assert not missing


@pytest.mark.parametrize("table", [TABLE, SERVED], ids=["own-table", "served"])
def test_every_v3_ref_resolves_in_its_own_document(table: tuple[Any, ...]) -> None:
    for gv in openapi_v3_index(table)["paths"]:
        doc = openapi_v3_group(table, gv)
        schemas = doc["components"]["schemas"]
        missing = {r for r in _refs(doc) if r.removeprefix("#/components/schemas/") not in schemas}
        assert not missing, gv
        assert not any(r.startswith("#/definitions/") for r in _refs(doc))


@pytest.mark.parametrize("table", [TABLE, SERVED], ids=["own-table", "served"])
def test_every_served_kind_and_its_list_carry_their_gvk(table: tuple[Any, ...]) -> None:
    defs = openapi_v2(table)["definitions"]
    served = {(g, v, k) for schema in defs.values() for g, v, k in _gvks(schema)}
    for res in table:
        assert (res.group, res.version, res.kind) in served
        assert (res.group, res.version, f"{res.kind}List") in served
    name = definition_name("V1Deployment")
    assert ("apps", "v1", "Deployment") in _gvks(defs[name])


def test_shared_meta_types_are_defined_under_kubernetes_names() -> None:
    defs = openapi_v2(TABLE)["definitions"]
    for name in (
        "ObjectMeta", "ListMeta", "Status", "OwnerReference", "LabelSelector", "Time",
        "DeleteOptions", "Patch", "MicroTime", "FieldsV1",
    ):  # fmt: skip
        assert f"{META}.{name}" in defs, name
    assert defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    assert defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    for kind in ("io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.core.v1.Binding",
                 "io.k8s.api.policy.v1.Eviction"):  # fmt: skip
        assert _gvks(defs[kind]), kind
    strategy = defs["io.k8s.api.apps.v1.RollingUpdateDeployment"]["properties"]
    assert strategy["maxSurge"]["$ref"].endswith("IntOrString")


def test_descriptions_come_from_the_official_client() -> None:
    defs = openapi_v2(TABLE)["definitions"]
    pod = defs["io.k8s.api.core.v1.Pod"]
    assert pod["description"].startswith("Pod is a collection of containers")
    containers = defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert "List of containers belonging to the pod" in containers["description"]
    assert "name" in defs["io.k8s.api.core.v1.Container"]["required"]


def test_merge_keys_follow_the_strategic_merge_table() -> None:
    defs = openapi_v2(TABLE)["definitions"]

    def prop(definition: str, name: str) -> dict[str, Any]:
        value: dict[str, Any] = defs[definition]["properties"][name]
        return value

    containers = prop("io.k8s.api.core.v1.PodSpec", "containers")
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    ports = prop("io.k8s.api.core.v1.Container", "ports")
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    assert prop(f"{META}.ObjectMeta", "ownerReferences")["x-kubernetes-patch-merge-key"] == "uid"
    assert "x-kubernetes-patch-merge-key" not in prop(f"{META}.ObjectMeta", "finalizers")
    assert "x-kubernetes-patch-strategy" not in prop("io.k8s.api.core.v1.PodSpec", "tolerations")


def test_paths_and_operations_follow_verbs_and_subresources() -> None:
    doc = openapi_v2(TABLE)
    paths = doc["paths"]
    pods = "/api/v1/namespaces/{namespace}/pods"
    assert set(paths[pods]) == {"get", "post", "delete", "parameters"}
    assert set(paths[pods + "/{name}"]) == {"get", "put", "patch", "delete", "parameters"}
    assert paths[pods + "/{name}/binding"]["post"]["operationId"] == (
        "createCoreV1NamespacedPodBinding"
    )
    assert paths[pods + "/{name}/eviction"]["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy", "version": "v1", "kind": "Eviction"
    }  # fmt: skip
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["operationId"] == "patchAppsV1NamespacedDeploymentScale"
    assert scale["patch"]["tags"] == ["apps_v1"]  # the parent's group, as kube-apiserver
    assert "application/strategic-merge-patch+json" in scale["patch"]["consumes"]
    assert paths["/api/v1/nodes/{name}/status"]["put"]["operationId"] == ("replaceCoreV1NodeStatus")
    assert "delete" not in paths["/api/v1/namespaces"]  # no deletecollection verb
    leases = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
    assert set(paths[leases + "/{name}"]) == {"get", "parameters"}
    assert "post" not in paths[leases]
    assert "/api/v1/pods" in paths and "/api/v1/nodes/{name}/binding" not in paths
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, op in _operations(doc):
        assert op.get("x-kubernetes-group-version-kind"), (path, method)


def test_v3_index_hashes_the_documents_it_points_to() -> None:
    index = openapi_v3_index(TABLE)["paths"]
    assert set(index) == {"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1"}
    for gv, entry in index.items():
        url, _, digest = entry["serverRelativeURL"].partition("?hash=")
        assert url == f"/openapi/v3/{gv}"
        assert digest == hashlib.sha512(v3_document_bytes(TABLE, gv)).hexdigest().upper()
    apps = openapi_v3_group(TABLE, "apis/apps/v1")
    assert set(apps["paths"]) == {
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/namespaces/{namespace}/deployments",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
    }
    create = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/io.k8s.api.apps.v1.Deployment"
    )
    with pytest.raises(KeyError):
        openapi_v3_group(TABLE, "apis/batch/v1")


def test_protobuf_v2_carries_the_same_definitions_and_extensions() -> None:
    doc = openapi_v2(TABLE)
    pb = openapiv2_pb2.Document.FromString(v2_protobuf(doc))
    assert pb.swagger == "2.0"
    by_name = {d.name: d.value for d in pb.definitions.additional_properties}
    assert set(by_name) == set(doc["definitions"])
    pod = by_name["io.k8s.api.core.v1.Pod"]
    ext = {e.name: yaml.safe_load(e.value.yaml) for e in pod.vendor_extension}
    assert ext["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    spec = {p.name: p.value for p in by_name["io.k8s.api.core.v1.PodSpec"].properties.
            additional_properties}  # fmt: skip
    assert spec["containers"].items.schema[0]._ref == "#/definitions/io.k8s.api.core.v1.Container"
    assert {e.name for e in spec["containers"].vendor_extension} == {
        "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy"
    }  # fmt: skip
    paths = {p.name for p in pb.paths.path}
    assert paths == set(doc["paths"])


def test_protobuf_v2_refuses_a_construct_it_cannot_carry() -> None:
    doc = {"swagger": "2.0", "definitions": {"X": {"type": "object", "enum": ["a"]}}}
    with pytest.raises(ValueError, match="enum"):
        v2_protobuf(doc)


def test_building_the_app_does_not_import_the_kubernetes_client() -> None:
    probe = (
        "import sys, controlplane.apiserver as a; "
        "app = a.build_app(a.ApiConfig(store=a.StoreClientConfig(urls=('http://127.0.0.1:9',))));"
        "assert any(r.resource.canonical == '/openapi/v2' for r in app.router.routes()); "
        "print('kubernetes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ---- over HTTP -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[str]:
    """A real store and an apiserver without tokens (kubectl sends none over http)."""
    async with real_store(tmp_path) as store_url:
        app = build_app(ApiConfig(store=StoreClientConfig(urls=(store_url,)), name="openapi"))
        runner, port = await _serve(app)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


def test_routes_serve_json_protobuf_and_v3(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with served(tmp_path) as url, httpx.AsyncClient(base_url=url) as client:
            v2 = await client.get("/openapi/v2")
            pb = await client.get(
                "/openapi/v2",
                headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
            )
            index = (await client.get("/openapi/v3")).json()
            core = await client.get(index["paths"]["api/v1"]["serverRelativeURL"])
            missing = await client.get("/openapi/v3/apis/batch/v1")
            return {"v2": v2, "pb": pb, "index": index, "core": core, "missing": missing}

    r = asyncio.run(scenario())
    assert r["v2"].headers["Content-Type"].startswith("application/json")
    assert r["v2"].json() == openapi_v2(SERVED)
    assert r["pb"].headers["Content-Type"] == RESPONSE_MEDIA_TYPE
    assert openapiv2_pb2.Document.FromString(r["pb"].content).swagger == "2.0"
    assert r["index"] == openapi_v3_index(SERVED)
    assert r["core"].json() == openapi_v3_group(SERVED, "api/v1")
    assert r["core"].headers["Cache-Control"] == "public, immutable"
    assert r["missing"].status_code == 404
    assert r["missing"].json()["kind"] == "Status"


def test_concurrent_first_requests_share_one_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    original = openapi_routes._Documents._build

    def counting(self: openapi_routes._Documents) -> dict[str, bytes]:
        builds.append(1)
        return original(self)

    monkeypatch.setattr(openapi_routes._Documents, "_build", counting)

    async def scenario() -> list[int]:
        async with served(tmp_path) as url, httpx.AsyncClient(base_url=url) as client:
            paths = ["/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"] * 3
            answers = await asyncio.gather(*(client.get(p) for p in paths))
            return [a.status_code for a in answers]

    assert asyncio.run(scenario()) == [200] * 9
    assert builds == [1]


# The kubectl on PATH, plus any listed in CHAOSPLANE_EXTRA_KUBECTL (":"-separated paths, e.g.
# Debian's kubectl 1.20 unpacked somewhere), which reads /openapi/v2 only and only as protobuf.
KUBECTLS = [
    k
    for k in (shutil.which("kubectl"), *os.environ.get("CHAOSPLANE_EXTRA_KUBECTL", "").split(":"))
    if k
]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: c, image: nginx, ports: [{containerPort: 80}]}
      - {name: sidecar, image: busybox}
"""


def _minor(kubectl: str) -> int:
    out = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
    )
    return int(json.loads(out.stdout)["clientVersion"]["minor"].rstrip("+"))


@pytest.mark.skipif(not KUBECTLS, reason="no kubectl on PATH (nor in CHAOSPLANE_EXTRA_KUBECTL)")
@pytest.mark.parametrize("kubectl_path", KUBECTLS)
def test_kubectl_explain_apply_and_validation_use_the_documents(
    tmp_path: Path, kubectl_path: str
) -> None:
    minor = _minor(kubectl_path)

    async def scenario() -> dict[str, subprocess.CompletedProcess[str]]:
        async with served(tmp_path / "store") as url:
            cfg = tmp_path / "kubeconfig"
            cfg.write_text(
                "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                f"clusters: [{{name: c, cluster: {{server: '{url}'}}}}]\n"
                "users: [{name: u, user: {}}]\n"
                "contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n"
            )
            env = {"KUBECONFIG": str(cfg), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

            async def kubectl(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
                return await asyncio.to_thread(
                    subprocess.run, [kubectl_path, *args], input=stdin, env=env,
                    capture_output=True, text=True, timeout=60,
                )  # fmt: skip

            out = {
                "explain": await kubectl("explain", "pod.spec.containers"),
                # 1.20 explains from /openapi/v2 (protobuf) only; later ones need asking for it.
                "explain_v2": await kubectl(
                    "explain",
                    "deployment.spec.strategy",
                    *(("--output", "plaintext-openapiv2") if minor >= 27 else ()),
                ),
                "apply": await kubectl("apply", "-f", "-", stdin=DEPLOYMENT),
            }
            changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3").replace(
                "{name: c, image: nginx,", "{name: c, image: 'nginx:1.27',"
            )
            out["reapply"] = await kubectl("apply", "-f", "-", stdin=changed)
            out["get"] = await kubectl("get", "deployment", "web", "-o", "json")
            bad = DEPLOYMENT.replace("replicas: 2", "replicaz: 2")
            out["invalid"] = await kubectl("apply", "-f", "-", stdin=bad)
            return out

    out = asyncio.run(scenario())
    for name in ("explain", "explain_v2", "apply", "reapply", "get"):
        assert out[name].returncode == 0, (name, out[name].stderr)
    assert "List of containers belonging to the pod" in out["explain"].stdout
    assert re.search(r"name\t<string> -required-", out["explain"].stdout)
    assert "DeploymentStrategy describes how to replace" in out["explain_v2"].stdout
    deployment = json.loads(out["get"].stdout)
    assert deployment["spec"]["replicas"] == 3
    containers = deployment["spec"]["template"]["spec"]["containers"]
    # Strategic merge by the "name" key: the image changed in place, the sidecar survived.
    assert [(c["name"], c["image"]) for c in containers] == [
        ("c", "nginx:1.27"), ("sidecar", "busybox")
    ]  # fmt: skip
    assert out["invalid"].returncode != 0
    assert 'unknown field "replicaz"' in out["invalid"].stderr

"""PATCH: JSON merge patch, JSON patch and strategic merge patch, as kube-apiserver applies them.

Pure tests of ``controlplane.apiserver.patch`` on Kubernetes-shaped objects, then the HTTP
contract against the real store: resourceVersion preconditions (409), 415 for server-side
apply, 403 for a token without ``patch``, 422 for a failed JSON-patch ``test``, ``dryRun``.
Merge keys are those of the k8s.io/api struct tags (``patchMergeKey``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_apiserver_support import PODS, READER, apiserver, pod, real_store

from controlplane.apiserver.patch import PatchType, apply_patch
from controlplane.apiserver.resources import DEPLOYMENTS, PODS as POD_RES
from controlplane.apiserver.status import ApiError, Reason

MERGE = {"Content-Type": PatchType.MERGE.value}
JSONP = {"Content-Type": PatchType.JSON.value}
SMP = {"Content-Type": PatchType.STRATEGIC.value}


def a_pod() -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a"]},
        "spec": {
            "containers": [
                {"name": "app", "image": "v1", "env": [{"name": "A", "value": "1"}],
                 "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "s1"},
            ],
            "tolerations": [{"key": "k1"}],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "False"},
                                  {"type": "PodScheduled", "status": "True"}]},
    }  # fmt: skip


def smp(obj: dict[str, Any], patch: dict[str, Any], res: Any = POD_RES) -> dict[str, Any]:
    return apply_patch(PatchType.STRATEGIC, obj, json.dumps(patch).encode(), res)


def test_merge_patch_merges_maps_deletes_on_null_and_replaces_lists() -> None:
    """RFC 7386: maps merge, null deletes, a list is replaced whole."""
    patch = {"metadata": {"labels": {"tier": None, "new": "x"}},
             "spec": {"containers": [{"name": "only"}]}}  # fmt: skip
    out = apply_patch(PatchType.MERGE, a_pod(), json.dumps(patch).encode(), POD_RES)
    assert out["metadata"]["labels"] == {"app": "web", "new": "x"}
    assert out["spec"]["containers"] == [{"name": "only"}]
    assert out["spec"]["tolerations"] == [{"key": "k1"}]


def test_strategic_merge_uses_kubernetes_merge_keys() -> None:
    """containers by name, env by name, ports by containerPort, conditions by type; lists
    without a patchStrategy (tolerations) are replaced."""
    patch = {
        "spec": {
            "containers": [{"name": "app", "image": "v2", "env": [{"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}]}],
            "tolerations": [{"key": "k2"}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        "metadata": {"finalizers": ["b"]},
    }  # fmt: skip
    out = smp(a_pod(), patch)
    app, sidecar = out["spec"]["containers"]
    assert (app["image"], sidecar["name"]) == ("v2", "sidecar")
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert app["ports"] == [{"containerPort": 80, "name": "http"}]
    assert out["spec"]["tolerations"] == [{"key": "k2"}]
    assert out["status"]["conditions"][0] == {"type": "Ready", "status": "True"}
    assert len(out["status"]["conditions"]) == 2
    assert out["metadata"]["finalizers"] == ["a", "b"]  # a primitive set: union


def test_strategic_merge_directives() -> None:
    """$patch delete (list item, map), $patch replace (list, map), $deleteFromPrimitiveList,
    $setElementOrder, $retainKeys — what kubectl edit/apply generate."""
    out = smp(a_pod(), {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]
    out = smp(a_pod(), {"spec": {"containers": [{"name": "n"}, {"$patch": "replace"}]}})
    assert out["spec"]["containers"] == [{"name": "n"}]
    out = smp(a_pod(), {"metadata": {"labels": {"$patch": "replace", "only": "1"}}})
    assert out["metadata"]["labels"] == {"only": "1"}
    out = smp(a_pod(), {"status": {"$patch": "delete"}})
    assert "status" not in out
    out = smp(a_pod(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out["metadata"]["finalizers"] == []
    order = {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}
    out = smp(a_pod(), {"spec": order})
    assert [c["name"] for c in out["spec"]["containers"]] == ["sidecar", "app"]
    out = smp(a_pod(), {"spec": {"volumes": [{"name": "data", "hostPath": {"path": "/x"},
                                              "$retainKeys": ["name", "hostPath"]}]}})  # fmt: skip
    assert out["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/x"}}]


def test_strategic_merge_of_a_deployment_template_merges_containers_by_name() -> None:
    dep = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"},
                                                         {"name": "b", "image": "1"}]}}}}  # fmt: skip
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}
    out = smp(dep, patch, DEPLOYMENTS)
    assert out["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "b", "image": "2"},
    ]


def test_json_patch_ops_and_failures() -> None:
    """RFC 6902: add/remove/replace/move/copy/test, ~1 escapes, "-" appends; a failed test or a
    missing path is 422 Invalid, a malformed document 400."""
    ops = [
        {"op": "test", "path": "/metadata/labels/app", "value": "web"},
        {"op": "add", "path": "/metadata/labels/a~1b", "value": "1"},
        {"op": "add", "path": "/spec/tolerations/-", "value": {"key": "k2"}},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "v9"},
        {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/t"},
        {"op": "copy", "from": "/metadata/labels/t", "path": "/metadata/labels/u"},
        {"op": "remove", "path": "/spec/volumes"},
    ]
    out = apply_patch(PatchType.JSON, a_pod(), json.dumps(ops).encode(), POD_RES)
    assert out["metadata"]["labels"] == {"app": "web", "a/b": "1", "t": "fe", "u": "fe"}
    assert out["spec"]["tolerations"] == [{"key": "k1"}, {"key": "k2"}]
    assert out["spec"]["containers"][0]["image"] == "v9" and "volumes" not in out["spec"]
    for bad, reason in (
        ([{"op": "test", "path": "/metadata/name", "value": "other"}], Reason.INVALID),
        ([{"op": "remove", "path": "/nope/x"}], Reason.INVALID),
        ([{"op": "frobnicate", "path": "/a"}], Reason.BAD_REQUEST),
        ({"op": "add"}, Reason.BAD_REQUEST),
    ):
        with pytest.raises(ApiError) as err:
            apply_patch(PatchType.JSON, a_pod(), json.dumps(bad).encode(), POD_RES)
        assert err.value.reason is reason, bad


def run(tmp_path: Path, body: Any, **kw: Any) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url, **kw) as api:
            await body(api)

    asyncio.run(main())


def test_patch_over_http_honours_resource_version_and_content_types(tmp_path: Path) -> None:
    """A patch carrying a stale metadata.resourceVersion is 409 Conflict (it is a precondition);
    server-side apply is 415 with a Status naming the alternatives; an unknown patch type 415;
    a token without the patch verb 403; dryRun=All answers the result and writes nothing."""

    async def body(api: httpx.AsyncClient) -> None:
        created = (await api.post(PODS, json=pod("web", app="web"))).json()
        rv = created["metadata"]["resourceVersion"]
        ok = await api.patch(f"{PODS}/web", content=b'{"metadata":{"labels":{"v":"1"}}}',
                             headers=MERGE)  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert ok.json()["metadata"]["labels"] == {"app": "web", "v": "1"}
        assert int(ok.json()["metadata"]["resourceVersion"]) > int(rv)
        stale = json.dumps({"metadata": {"resourceVersion": rv, "labels": {"v": "2"}}})
        conflict = await api.patch(f"{PODS}/web", content=stale.encode(), headers=SMP)
        assert conflict.status_code == 409 and conflict.json()["reason"] == "Conflict"
        fresh = json.dumps({"metadata": {"resourceVersion": ok.json()["metadata"]["resourceVersion"],
                                         "labels": {"v": "3"}}})  # fmt: skip
        assert (await api.patch(f"{PODS}/web", content=fresh.encode(), headers=SMP)).status_code == 200
        apply = await api.patch(f"{PODS}/web", content=b"{}",
                                headers={"Content-Type": "application/apply-patch+yaml"})  # fmt: skip
        assert apply.status_code == 415 and apply.json()["reason"] == "UnsupportedMediaType"
        assert "server-side apply" in apply.json()["message"]
        plain = await api.patch(f"{PODS}/web", content=b"{}",
                                headers={"Content-Type": "application/json"})  # fmt: skip
        assert plain.status_code == 415
        failed = await api.patch(f"{PODS}/web", headers=JSONP, content=json.dumps(
            [{"op": "test", "path": "/metadata/labels/v", "value": "nope"}]).encode())  # fmt: skip
        assert failed.status_code == 422 and failed.json()["reason"] == "Invalid"
        forbidden = await api.patch(f"{PODS}/web", content=b"{}",
                                    headers={**MERGE, "Authorization": f"Bearer {READER}"})  # fmt: skip
        assert forbidden.status_code == 403 and "cannot patch" in forbidden.json()["message"]
        dry = await api.patch(f"{PODS}/web?dryRun=All", content=b'{"metadata":{"labels":{"d":"1"}}}',
                              headers=MERGE)  # fmt: skip
        assert dry.status_code == 200 and dry.json()["metadata"]["labels"]["d"] == "1"
        now = (await api.get(f"{PODS}/web")).json()
        assert "d" not in now["metadata"]["labels"] and now["metadata"]["labels"]["v"] == "3"
        missing = await api.patch(f"{PODS}/nope", content=b"{}", headers=MERGE)
        assert missing.status_code == 404

    run(tmp_path, body)


def test_concurrent_patches_all_land(tmp_path: Path) -> None:
    """GuaranteedUpdate: patches racing on one object are each applied to a fresh read (none
    lost), where racing PUTs from one resourceVersion would conflict."""

    async def body(api: httpx.AsyncClient) -> None:
        await api.post(PODS, json=pod("web"))
        patches = [
            api.patch(f"{PODS}/web", headers=MERGE,
                      content=json.dumps({"metadata": {"labels": {f"k{i}": "v"}}}).encode())
            for i in range(8)
        ]  # fmt: skip
        answers = await asyncio.gather(*patches)
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        labels = (await api.get(f"{PODS}/web")).json()["metadata"]["labels"]
        assert set(labels) == {f"k{i}" for i in range(8)}

    run(tmp_path, body)

"""apps/v1 deployments and replicasets, nodes, and the pod subresources (issue 15 item 5).

Against the real store: ``scale`` (autoscaling/v1 Scale), ``status`` (only status moves, and a
main-resource write leaves status alone), ``metadata.generation``, pods ``binding`` (once only;
the ``bind-without-check`` bug switch accepts a second one), ``eviction``, graceful pod
deletion, finalizers, and garbage collection through ownerReferences.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from test_apiserver_support import PODS, apiserver, pod, real_store

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
RSS = "/apis/apps/v1/namespaces/default/replicasets"
NODES = "/api/v1/nodes"
MERGE = {"Content-Type": "application/merge-patch+json"}


def run(tmp_path: Path, body: Any, **kw: Any) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as url, apiserver(url, **kw) as api:
            await body(api)

    asyncio.run(main())


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
        "status": {"replicas": 99},
    }


def test_scale_status_and_generation(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        created = await api.post(DEPLOYS, json=deployment("web"))
        assert created.status_code == 201, created.text
        dep = created.json()
        assert dep["metadata"]["generation"] == 1 and dep["status"] == {}  # status reset
        scale = (await api.get(f"{DEPLOYS}/web/scale")).json()
        assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
        assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=web"
        patched = await api.patch(
            f"{DEPLOYS}/web/scale", content=b'{"spec":{"replicas":5}}', headers=MERGE
        )
        assert patched.status_code == 200 and patched.json()["spec"]["replicas"] == 5
        dep = (await api.get(f"{DEPLOYS}/web")).json()
        assert dep["spec"]["replicas"] == 5 and dep["metadata"]["generation"] == 2
        stale = {**scale, "spec": {"replicas": 1}}  # the old resourceVersion: a precondition
        assert (await api.put(f"{DEPLOYS}/web/scale", json=stale)).status_code == 409
        negative = await api.patch(
            f"{DEPLOYS}/web/scale", content=b'{"spec":{"replicas":-1}}', headers=MERGE
        )
        assert negative.status_code == 422
        status = await api.patch(
            f"{DEPLOYS}/web/status",
            headers=MERGE,
            content=b'{"status":{"readyReplicas":3},"spec":{"replicas":0}}',
        )
        assert status.status_code == 200
        dep = status.json()
        assert dep["status"] == {"readyReplicas": 3} and dep["spec"]["replicas"] == 5
        assert dep["metadata"]["generation"] == 2  # a status write is no spec change
        dep["status"] = {"readyReplicas": 0}
        dep["metadata"]["labels"] = {"l": "1"}
        put = (await api.put(f"{DEPLOYS}/web", json=dep)).json()
        assert put["status"] == {"readyReplicas": 3} and put["metadata"]["generation"] == 2
        assert put["metadata"]["labels"] == {"l": "1"}
        assert (await api.get(f"{RSS}")).json()["kind"] == "ReplicaSetList"
        # Namespaced kinds under the wrong scope are not there.
        assert (await api.get("/apis/apps/v1/deployments/web")).status_code == 404

    run(tmp_path, body)


def test_binding_only_once_with_annotations_and_pod_status(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        assert (await api.post(NODES, json={"metadata": {"name": "node-1"}})).status_code == 201
        await api.post(PODS, json=pod("web"))
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "web", "annotations": {"chaosplane.io/writer": "s-1"}},
            "target": {"kind": "Node", "name": "node-1"},
        }
        first = await api.post(f"{PODS}/web/binding", json=binding)
        assert first.status_code == 201 and first.json()["status"] == "Success", first.text
        got = (await api.get(f"{PODS}/web")).json()
        assert got["spec"]["nodeName"] == "node-1"
        assert got["metadata"]["annotations"]["chaosplane.io/writer"] == "s-1"
        assert {"type": "PodScheduled", "status": "True"}.items() <= got["status"]["conditions"][
            0
        ].items()
        again = await api.post(
            f"{PODS}/web/binding", json={**binding, "target": {"name": "node-2"}}
        )
        assert again.status_code == 409
        assert again.json()["message"].endswith('pod web is already assigned to node "node-1"')
        status = await api.put(
            f"{PODS}/web/status", json={**got, "status": {"phase": "Running"}, "spec": {}}
        )
        assert status.status_code == 200 and status.json()["spec"]["nodeName"] == "node-1"
        assert status.json()["status"] == {"phase": "Running"}
        listed = await api.get(
            "/api/v1/pods", params={"fieldSelector": "spec.nodeName=node-1,status.phase=Running"}
        )
        assert [p["metadata"]["name"] for p in listed.json()["items"]] == ["web"]
        node_status = await api.patch(
            f"{NODES}/node-1/status",
            headers={"Content-Type": "application/strategic-merge-patch+json"},
            content=b'{"status":{"conditions":[{"type":"Ready","status":"True"}]}}',
        )
        assert node_status.json()["status"]["conditions"] == [{"type": "Ready", "status": "True"}]

    run(tmp_path, body)


def test_bind_without_check_accepts_a_second_binding(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        await api.post(PODS, json=pod("web"))
        for node in ("node-1", "node-2"):
            resp = await api.post(f"{PODS}/web/binding", json={"target": {"name": node}})
            assert resp.status_code == 201, resp.text
        assert (await api.get(f"{PODS}/web")).json()["spec"]["nodeName"] == "node-2"

    run(tmp_path, body, bugs=frozenset({"bind-without-check"}))


def test_graceful_pod_deletion_eviction_and_finalizers(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        # Unbound: gone at once.
        await api.post(PODS, json=pod("unbound"))
        assert (await api.delete(f"{PODS}/unbound")).status_code == 200
        assert (await api.get(f"{PODS}/unbound")).status_code == 404
        # Bound: deletionTimestamp + grace, until the kubelet's gracePeriodSeconds=0.
        bound = {**pod("bound"), "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 7}}
        await api.post(PODS, json=bound)
        marked = (await api.delete(f"{PODS}/bound")).json()
        assert marked["metadata"]["deletionGracePeriodSeconds"] == 7
        assert marked["metadata"]["deletionTimestamp"]
        shorter = await api.request("DELETE", f"{PODS}/bound", json={"gracePeriodSeconds": 3})
        assert shorter.json()["metadata"]["deletionGracePeriodSeconds"] == 3
        longer = await api.request("DELETE", f"{PODS}/bound", json={"gracePeriodSeconds": 30})
        assert longer.json()["metadata"]["deletionGracePeriodSeconds"] == 3  # only shortens
        binding = await api.post(f"{PODS}/bound/binding", json={"target": {"name": "n"}})
        assert binding.status_code == 409
        assert (await api.get(f"{PODS}/bound")).status_code == 200
        final = await api.request("DELETE", f"{PODS}/bound", json={"gracePeriodSeconds": 0})
        assert final.status_code == 200
        assert (await api.get(f"{PODS}/bound")).status_code == 404
        # Default grace 30 s; eviction deletes gracefully too.
        await api.post(PODS, json={**pod("ev"), "spec": {"nodeName": "node-1"}})
        evicted = await api.post(
            f"{PODS}/ev/eviction",
            json={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "ev"}},
        )
        assert evicted.status_code == 201, evicted.text
        assert (await api.get(f"{PODS}/ev")).json()["metadata"]["deletionGracePeriodSeconds"] == 30
        # dryRun deletes nothing.
        await api.post(PODS, json=pod("dry"))
        assert (await api.delete(f"{PODS}/dry?dryRun=All")).status_code == 200
        assert (await api.get(f"{PODS}/dry")).status_code == 200
        # Finalizers hold an object until an update empties them.
        cm = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
        cms = "/api/v1/namespaces/default/configmaps"
        await api.post(cms, json=cm)
        held = (await api.delete(f"{cms}/held")).json()
        assert held["metadata"]["deletionTimestamp"]
        assert (await api.get(f"{cms}/held")).status_code == 200
        await api.patch(f"{cms}/held", content=b'{"metadata":{"finalizers":null}}', headers=MERGE)
        assert (await api.get(f"{cms}/held")).status_code == 404

    run(tmp_path, body)


def test_garbage_collection_background_and_orphan(tmp_path: Path) -> None:
    async def body(api: httpx.AsyncClient) -> None:
        dep = (await api.post(DEPLOYS, json=deployment("web"))).json()

        def owned_by(obj: dict[str, Any], kind: str) -> dict[str, Any]:
            ref = {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"],
                "controller": True,
            }
            return {"ownerReferences": [ref]}

        rs_body = {"metadata": {"name": "web-1", **owned_by(dep, "Deployment")}, "spec": {}}
        rs = (await api.post(RSS, json=rs_body)).json()
        for i in range(2):
            p = pod(f"web-1-{i}")
            p["metadata"].update(owned_by(rs, "ReplicaSet"))
            if i == 1:  # bound: deleted gracefully by the collector
                p["spec"] = {"nodeName": "node-1"}
            await api.post(PODS, json=p)
        await api.post(PODS, json=pod("unrelated"))
        assert (await api.delete(f"{DEPLOYS}/web")).status_code == 200
        assert (await api.get(f"{RSS}/web-1")).status_code == 404
        assert (await api.get(f"{PODS}/web-1-0")).status_code == 404
        terminating = (await api.get(f"{PODS}/web-1-1")).json()
        assert terminating["metadata"]["deletionTimestamp"]
        assert (await api.get(f"{PODS}/unrelated")).status_code == 200
        # Orphan: the dependents stay, without the reference.
        rs2 = (await api.post(RSS, json={"metadata": {"name": "solo"}, "spec": {}})).json()
        p = pod("orphan")
        p["metadata"].update(owned_by(rs2, "ReplicaSet"))
        await api.post(PODS, json=p)
        resp = await api.request("DELETE", f"{RSS}/solo", json={"propagationPolicy": "Orphan"})
        assert resp.status_code == 200
        kept = await api.get(f"{PODS}/orphan")
        assert kept.status_code == 200 and "ownerReferences" not in kept.json()["metadata"]
        bad = await api.request("DELETE", f"{PODS}/orphan", json={"propagationPolicy": "Sideways"})
        assert bad.status_code == 400

    run(tmp_path, body)

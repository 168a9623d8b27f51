"""The official ``kubernetes`` Python client, unchanged, against an apiserver on loopback.

A real one-member kvstore and one apiserver replica run in a background thread (no Docker, no
TLS, authentication off, as on a laptop); the tests drive them with CoreV1Api, AppsV1Api and
CoordinationV1Api exactly as a controller would: CRUD, every patch type, selectors, watch with
resume and DELETED objects, scale and status subresources, binding, eviction, Leases and the
client's own ``leaderelection`` with a ``LeaseLock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from test_apiserver_support import free_port, real_store

from controlplane.apiserver import ApiConfig, StoreClientConfig, build_app
from controlplane.apiserver.app import BOOTSTRAPPED


@contextlib.contextmanager
def local_apiserver(tmp_path: Path) -> Iterator[str]:
    """An apiserver over a real store, served from a background event loop; yields its URL."""
    port = free_port()
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop = asyncio.new_event_loop()

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with real_store(tmp_path) as store_url:
            store = StoreClientConfig(urls=(store_url,), watch_poll_s=0.3)
            app = build_app(ApiConfig(store=store, bootstrap_retry_s=0.05))
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await asyncio.wait_for(app[BOOTSTRAPPED].wait(), timeout=10)
            ready.set()
            await stop.wait()
            await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(20), "the local apiserver did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[client.ApiClient]:
    with local_apiserver(tmp_path) as url:
        cfg = client.Configuration()
        cfg.host = url
        with client.ApiClient(cfg) as api_client:
            yield api_client


def meta(name: str, **labels: str) -> client.V1ObjectMeta:
    return client.V1ObjectMeta(name=name, labels=labels or None)


def test_core_crud_patch_types_selectors_and_paging(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=meta("dev")))
    for i in range(4):
        body = client.V1ConfigMap(
            metadata=meta(f"cm{i}", app="a" if i < 2 else "b"), data={"i": str(i)}
        )
        core.create_namespaced_config_map("dev", body)
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map("dev", client.V1ConfigMap(metadata=meta("cm0")))
    assert dup.value.status == 409
    strategic = core.patch_namespaced_config_map("cm0", "dev", {"data": {"x": "1"}})
    assert strategic.data == {"i": "0", "x": "1"}
    merge = core.patch_namespaced_config_map(
        "cm0", "dev", {"data": {"i": None}}, _content_type="application/merge-patch+json"
    )
    assert merge.data == {"x": "1"}
    jp = core.patch_namespaced_config_map(
        "cm0", "dev", [{"op": "add", "path": "/data/j", "value": "2"}]
    )
    assert jp.data == {"x": "1", "j": "2"}
    stale = {
        "metadata": {"resourceVersion": strategic.metadata.resource_version},
        "data": {"y": "1"},
    }
    with pytest.raises(ApiException) as conflict:
        core.patch_namespaced_config_map("cm0", "dev", stale)
    assert conflict.value.status == 409
    with pytest.raises(ApiException) as apply:
        core.patch_namespaced_config_map(
            "cm0", "dev", {}, _content_type="application/apply-patch+yaml"
        )
    assert apply.value.status == 415
    picked = core.list_namespaced_config_map("dev", label_selector="app in (a)")
    assert [c.metadata.name for c in picked.items] == ["cm0", "cm1"]
    one = core.list_config_map_for_all_namespaces(field_selector="metadata.name=cm3")
    assert [c.metadata.name for c in one.items] == ["cm3"]
    page = core.list_namespaced_config_map("dev", limit=3)
    assert len(page.items) == 3 and page.metadata._continue
    rest = core.list_namespaced_config_map("dev", limit=3, _continue=page.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["cm3"]
    core.delete_namespaced_config_map("cm3", "dev")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("cm3", "dev")
    assert gone.value.status == 404
    secret = core.create_namespaced_secret(
        "dev", client.V1Secret(metadata=meta("s"), string_data={"k": "v"})
    )
    assert secret.data == {"k": "dg=="}


def test_watch_with_resume_and_deleted_objects(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespaced_pod("default", client.V1Pod(metadata=meta("p0", app="w")))
    rv = core.list_namespaced_pod("default").metadata.resource_version
    core.patch_namespaced_pod("p0", "default", {"metadata": {"labels": {"seen": "yes"}}})
    core.delete_namespaced_pod("p0", "default")
    core.create_namespaced_pod("default", client.V1Pod(metadata=meta("p1", app="other")))
    events: list[tuple[str, str, Any]] = []
    w: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for ev in w.stream(
        core.list_namespaced_pod,
        "default",
        resource_version=rv,
        label_selector="app=w",
        timeout_seconds=2,
    ):
        events.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.labels))
    assert events == [
        ("MODIFIED", "p0", {"app": "w", "seen": "yes"}),
        ("DELETED", "p0", {"app": "w", "seen": "yes"}),
    ]


def test_apps_scale_status_binding_eviction(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    apps: Any = client.AppsV1Api(api)
    template = client.V1PodTemplateSpec(
        metadata=meta("", app="web"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="x")]),
    )
    spec = client.V1DeploymentSpec(
        replicas=2, selector=client.V1LabelSelector(match_labels={"app": "web"}), template=template
    )
    apps.create_namespaced_deployment(
        "default", client.V1Deployment(metadata=meta("web"), spec=spec)
    )
    scale = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 6}})
    assert scale.spec.replicas == 6 and scale.status.selector == "app=web"
    status = apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"readyReplicas": 6}}
    )
    assert status.status.ready_replicas == 6 and status.metadata.generation == 2
    core.create_node(client.V1Node(metadata=meta("node-1")))
    node = core.patch_node_status(
        "node-1", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert node.status.conditions[0].type == "Ready"
    core.create_namespaced_pod("default", client.V1Pod(metadata=meta("p"), spec=template.spec))
    binding = client.V1Binding(
        metadata=client.V1ObjectMeta(name="p", annotations={"by": "me"}),
        target=client.V1ObjectReference(kind="Node", name="node-1"),
    )
    # Kubernetes answers a binding with a Status, which this client cannot read as a V1Binding
    # (a known client issue), hence _preload_content=False — as with a real apiserver.
    resp = core.create_namespaced_pod_binding("p", "default", binding, _preload_content=False)
    assert resp.status == 201
    with pytest.raises(ApiException) as again:
        core.create_namespaced_pod_binding("p", "default", binding, _preload_content=False)
    assert again.value.status == 409
    pod = core.read_namespaced_pod("p", "default")
    assert pod.spec.node_name == "node-1" and pod.metadata.annotations == {"by": "me"}
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-1")
    assert [p.metadata.name for p in on_node.items] == ["p"]
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="p", namespace="default"))
    core.create_namespaced_pod_eviction("p", "default", eviction, _preload_content=False)
    terminating = core.read_namespaced_pod("p", "default")
    assert terminating.metadata.deletion_timestamp is not None
    core.delete_namespaced_pod("p", "default", grace_period_seconds=0)
    assert core.list_namespaced_pod("default").items == []


def test_leases_and_leader_election_with_a_lease_lock(api: client.ApiClient) -> None:
    # The client's leaderelection package has no type annotations.
    electionconfig: Any = importlib.import_module("kubernetes.leaderelection.electionconfig")
    leaderelection: Any = importlib.import_module("kubernetes.leaderelection.leaderelection")
    leaselock: Any = importlib.import_module("kubernetes.leaderelection.resourcelock.leaselock")

    coord: Any = client.CoordinationV1Api(api)
    lease = client.V1Lease(metadata=meta("plain"), spec=client.V1LeaseSpec(holder_identity="x"))
    coord.create_namespaced_lease("kube-system", lease)
    assert coord.read_namespaced_lease("plain", "kube-system").spec.holder_identity == "x"
    client.Configuration.set_default(api.configuration)  # LeaseLock builds its own client
    led = threading.Event()
    config = electionconfig.Config(
        leaselock.LeaseLock("kube-scheduler", "kube-system", "cand-1"),
        lease_duration=4,
        renew_deadline=3,
        retry_period=1,  # its minimums: whole seconds
        onstarted_leading=led.set,
        onstopped_leading=lambda: None,
    )
    elector: Any = leaderelection.LeaderElection(config)

    def run_until_the_server_goes() -> None:
        # The client's elector has no stop(): it ends when renewing fails (server gone).
        with contextlib.suppress(Exception):
            elector.run()

    thread = threading.Thread(target=run_until_the_server_goes, daemon=True)
    thread.start()
    assert led.wait(15), "the LeaseLock candidate never led"
    held = coord.read_namespaced_lease("kube-scheduler", "kube-system")
    assert held.spec.holder_identity == "cand-1"

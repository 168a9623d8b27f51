"""The cluster in Docker: bring-up, health, leader, teardown, reaping, node faults, probe.

Each test proves its effect independently of the code under test: Docker's own object lists
for teardown and reaping, the container state for kill/pause, the member's HTTP for readiness.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.cluster import labels as L
from harness.cluster.cluster import DockerCluster, start_cluster
from harness.cluster.probe import StatusProbe
from harness.errors import ClusterError
from harness.history import JsonlWriter, read_status
from harness.images import ImageTags
from harness.model.cluster import ClusterSpec, Node, Role

ClusterFactory = Callable[..., DockerCluster]  # the conftest fixture's type
pytestmark = pytest.mark.docker
docker = pytest.importorskip("docker")

REPO = Path(__file__).resolve().parents[2]


def objects_of_run(run_id: str) -> tuple[list[Any], list[Any]]:
    client = docker.from_env()
    flt = {"label": [f"{L.RUN}={run_id}"]}
    return client.containers.list(all=True, filters=flt), client.networks.list(filters=flt)


def test_full_cluster_is_healthy_has_a_leader_and_leaves_nothing_behind(
    images: ImageTags, tmp_path: Path
) -> None:
    spec = ClusterSpec(store_members=3, apiservers=2, log_dir=tmp_path / "logs")
    with start_cluster(spec, images=images) as cluster:
        run_id = cluster.run_id
        containers, networks = objects_of_run(run_id)
        assert sorted(c.labels[L.MEMBER] for c in containers) == [
            "api-1", "api-2", "store-1", "store-2", "store-3", "toxiproxy",
        ]  # fmt: skip
        assert len(networks) == 1
        for obj_labels in [c.labels for c in containers] + [networks[0].attrs["Labels"]]:
            assert obj_labels[L.KEY] == "1"
            assert obj_labels[L.OWNER] == L.current_owner().token()
        for member, url in cluster.info.store.items():
            status = httpx.get(f"{url}/status", timeout=5).json()
            assert status["id"] == member
        tls = cluster.ssl_context  # the apiservers serve https with the run's CA
        for url in cluster.info.apiservers.values():  # through the client links
            assert httpx.get(f"{url}/healthz", timeout=5, verify=tls).status_code == 200
        leader = cluster.wait_leader_elected(10.0)
        assert cluster.status(leader)["role"] == "leader"  # type: ignore[index]
        headers = {"Authorization": f"Bearer {cluster.info.api_token}"}
        path = "/api/v1/namespaces/default/configmaps"
        body = {"metadata": {"name": "t1"}, "data": {"k": "v"}}
        created = httpx.post(
            cluster.info.apiservers["api-1"] + path, json=body, headers=headers, verify=tls
        )
        assert created.status_code == 201, created.text
        read = httpx.get(
            cluster.info.apiservers["api-2"] + path + "/t1", headers=headers, verify=tls
        )
        assert read.json()["data"] == {"k": "v"}
    containers, networks = objects_of_run(run_id)
    assert containers == [] and networks == []
    assert "listening" in (tmp_path / "logs" / "store-1.log").read_text()


def test_member_that_cannot_start_fails_with_its_log_and_is_removed(
    images: ImageTags, tmp_path: Path
) -> None:
    spec = ClusterSpec(store_members=1, apiservers=1, engine="no-such-engine", ready_timeout_s=15)
    cluster = DockerCluster(spec, images=images)
    with pytest.raises(ClusterError) as err:
        cluster.start()
    message = str(err.value)
    assert "store-1 not ready" in message and "exit_code=" in message
    assert "KV_ENGINE" in message  # the member's own log line, from the tail
    assert objects_of_run(cluster.run_id) == ([], [])


def _spawn_runner(images: ImageTags) -> tuple[subprocess.Popen[str], str]:
    code = f"""
import time
from harness.cluster.cluster import DockerCluster
from harness.model.cluster import ClusterSpec
from harness.images import ImageTags
tags = ImageTags(base={images.base!r}, app={images.app!r}, proxy={images.proxy!r})
cluster = DockerCluster(ClusterSpec(store_members=1, apiservers=1), images=tags).start()
print(cluster.run_id, flush=True)
time.sleep(300)
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()  # blocks until the cluster is up
    if not run_id.startswith("cp-"):
        proc.kill()
        pytest.fail(f"runner did not start a cluster (exit {proc.wait()})")
    return proc, run_id


def test_sigkilled_runner_is_reaped_at_next_start_and_live_run_is_left_alone(
    images: ImageTags, cluster: DockerCluster, cluster_factory: ClusterFactory
) -> None:
    proc, dead_run = _spawn_runner(images)
    os.kill(proc.pid, signal.SIGKILL)  # no teardown can run: leftovers stay
    proc.wait()
    containers, networks = objects_of_run(dead_run)
    assert len(containers) == 3 and len(networks) == 1  # proxy, store-1, api-1
    live_before = {c.id for c in objects_of_run(cluster.run_id)[0]}

    cluster_factory(ClusterSpec(store_members=1, apiservers=1))  # its start reaps dead runs

    assert objects_of_run(dead_run) == ([], [])
    assert {c.id for c in objects_of_run(cluster.run_id)[0]} == live_before
    assert cluster.wait_leader_elected(10.0) in cluster.info.store


def test_sigterm_tears_the_runners_cluster_down(images: ImageTags) -> None:
    proc, run_id = _spawn_runner(images)
    assert len(objects_of_run(run_id)[0]) == 3
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert objects_of_run(run_id) == ([], [])


def test_kill_then_start_runs_hooks_and_gets_a_new_pid(cluster: DockerCluster) -> None:
    seen: list[tuple[str, int]] = []

    def hook(node: Node) -> None:
        seen.append((node.name, node.pid()))

    cluster.add_start_hook(hook)
    try:
        node = cluster.container_node("store-2")
        old_pid = node.pid()
        node.kill()
        assert not node.is_running()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{node.base_url}/status", timeout=1)
        node.start()
        assert node.is_running() and node.pid() != old_pid
        assert seen == [("store-2", node.pid())]
        assert httpx.get(f"{node.base_url}/status", timeout=5).status_code == 200
    finally:
        cluster.remove_start_hook(hook)
    cluster.wait_leader_elected(15.0)


def test_pause_freezes_a_member_and_unpause_thaws_it(cluster: DockerCluster) -> None:
    node = cluster.container_node("store-3")
    node.pause()
    try:
        assert node.is_paused()
        assert cluster.status("store-3", timeout_s=0.5) is None  # frozen: no answer
    finally:
        node.unpause()
    assert not node.is_paused()
    node.wait_ready(10.0)
    assert cluster.status("store-3") is not None


def test_status_probe_samples_every_member_and_sees_an_unreachable_one(
    cluster: DockerCluster, tmp_path: Path
) -> None:
    path = tmp_path / "status.jsonl"
    paused = cluster.container_node("store-1")
    with JsonlWriter(path) as writer, StatusProbe(cluster, writer, time.monotonic_ns(), 0.1):
        time.sleep(0.6)
        paused.pause()
        try:
            time.sleep(1.2)
        finally:
            paused.unpause()
    samples = list(read_status(path))
    assert {s.member for s in samples} == set(cluster.info.store)
    assert any(s.reachable and s.role == "leader" for s in samples)
    assert any(s.member == "store-1" and not s.reachable for s in samples)
    roles = {n.role for n in cluster.nodes()}
    assert roles == {Role.STORE, Role.APISERVER, Role.PROXY}


def test_restart_brings_back_even_a_paused_apiserver(cluster: DockerCluster) -> None:
    node = cluster.container_node("api-2")
    old_pid = node.pid()
    node.pause()
    node.restart()
    assert node.is_running() and not node.is_paused()
    assert node.pid() != old_pid
    url = cluster.info.apiservers["api-2"]  # through its client link
    assert httpx.get(f"{url}/healthz", timeout=5, verify=cluster.ssl_context).status_code == 200

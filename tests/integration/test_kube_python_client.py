"""The official ``kubernetes`` Python client against a cluster, with nothing but its kubeconfig.

In a nutshell: one cluster per store engine (``kube_cluster`` in conftest.py: pysyncobj, raftos,
etcd), the client loaded with ``kubernetes.config.load_kube_config(path)`` — https with the
run's CA, the bearer token from the file — and the calls Kubernetes users make: CRUD with
optimistic concurrency, each patch type (and 415 for server-side apply, which is not served),
label/field selectors and paging, watch with resume from a resourceVersion (DELETED carrying
the last state), events through ``CoreV1Api`` and ``EventsV1Api`` (one collection, describe's
``involvedObject.*`` selectors), Leases through ``CoordinationV1Api``, and
``kubernetes.leaderelection`` with a ``LeaseLock``: two candidate processes, one leader;
after the leader is SIGKILLed the other takes over, and not before the Lease has expired
(judged on the Lease's own times).
"""

from __future__ import annotations

import datetime as dt
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster.cluster import DockerCluster

pytestmark = pytest.mark.docker

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

LEASE_DURATION_S = 4
RENEW_DEADLINE_S = 3
RETRY_PERIOD_S = 1
WAIT_S = 60.0  # bound on waits for things that must happen (not a speed goal)


@pytest.fixture(scope="session")
def api(kube_cluster: DockerCluster) -> Iterator[Any]:
    """An ``ApiClient`` configured from the cluster's kubeconfig file alone."""
    path = kube_cluster.info.kubeconfig
    assert Path(path).is_file(), path
    api_client = kubernetes.config.new_client_from_config(config_file=path)
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture(scope="session")
def namespace(api: Any, kube_cluster: DockerCluster) -> str:
    name = f"py-{kube_cluster.spec.engine}-{secrets.token_hex(3)}"
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )
    return name


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def api_error(call: Any, *args: Any, **kwargs: Any) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value


def configmap(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> Any:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def test_the_kubeconfig_is_https_with_the_runs_ca_and_a_token(
    api: Any, kube_cluster: DockerCluster
) -> None:
    configuration = api.configuration
    assert configuration.host == kube_cluster.info.apiservers["api-1"]
    assert configuration.host.startswith("https://") and configuration.verify_ssl
    assert Path(configuration.ssl_ca_cert).read_text() == kube_cluster.info.ca_pem
    version = client.VersionApi(api).get_code()
    assert version.major and version.git_version


def test_a_bad_token_is_401(kube_cluster: DockerCluster, tmp_path: Path) -> None:
    document = yaml.safe_load(Path(kube_cluster.info.kubeconfig).read_text())
    document["users"][0]["user"]["token"] = "not-a-token"
    bad_config = tmp_path / "kubeconfig"
    bad_config.write_text(yaml.safe_dump(document))
    with kubernetes.config.new_client_from_config(config_file=str(bad_config)) as bad:
        error = api_error(client.CoreV1Api(bad).list_namespace)
    assert error.status == 401, error.body
    assert '"kind": "Status"' in error.body or '"kind":"Status"' in error.body


def test_configmap_crud_with_optimistic_concurrency(api: Any, namespace: str) -> None:
    core = client.CoreV1Api(api)
    name = unique("crud")
    created = core.create_namespaced_config_map(namespace, configmap(name, {"a": "1"}))
    assert created.metadata.uid and created.metadata.resource_version
    assert (
        api_error(core.create_namespaced_config_map, namespace, configmap(name, {})).status == 409
    )
    read = core.read_namespaced_config_map(name, namespace)
    assert read.data == {"a": "1"}
    read.data["a"] = "2"
    replaced = core.replace_namespaced_config_map(name, namespace, read)
    assert replaced.data == {"a": "2"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    read.metadata.resource_version = created.metadata.resource_version  # stale
    assert api_error(core.replace_namespaced_config_map, name, namespace, read).status == 409
    core.delete_namespaced_config_map(name, namespace)
    assert api_error(core.read_namespaced_config_map, name, namespace).status == 404


def test_every_patch_type(api: Any, namespace: str) -> None:
    core = client.CoreV1Api(api)
    name = unique("patch")
    core.create_namespaced_config_map(namespace, configmap(name, {"a": "1", "b": "2"}))
    # A list body goes as application/json-patch+json (RFC 6902).
    jp = [{"op": "replace", "path": "/data/a", "value": "10"}, {"op": "remove", "path": "/data/b"}]
    assert core.patch_namespaced_config_map(name, namespace, jp).data == {"a": "10"}
    # RFC 7386 merge patch: null deletes a key.
    merged = core.patch_namespaced_config_map(
        name,
        namespace,
        {"data": {"a": None, "c": "3"}},
        _content_type="application/merge-patch+json",
    )
    assert merged.data == {"c": "3"}
    # A dict body goes as application/strategic-merge-patch+json.
    smp = core.patch_namespaced_config_map(name, namespace, {"data": {"d": "4"}})
    assert smp.data == {"c": "3", "d": "4"}
    # A resourceVersion in the patch is a precondition: stale → 409 Conflict.
    stale = {"metadata": {"resourceVersion": merged.metadata.resource_version}, "data": {"e": "5"}}
    error = api_error(
        core.patch_namespaced_config_map,
        name,
        namespace,
        stale,
        _content_type="application/merge-patch+json",
    )
    assert error.status == 409, error.body
    # Server-side apply is not served: 415 with a Status saying so.
    error = api_error(
        core.patch_namespaced_config_map,
        name,
        namespace,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"f": "6"}},
        field_manager="test",
        _content_type="application/apply-patch+yaml",
    )
    assert error.status == 415, error.body
    assert "Status" in (error.body or "")


def test_strategic_merge_patch_merges_containers_by_name(api: Any, namespace: str) -> None:
    core = client.CoreV1Api(api)
    name = unique("smp")
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(name="web", image="nginx:1"),
                client.V1Container(name="sidecar", image="busybox:1"),
            ]
        ),
    )
    core.create_namespaced_pod(namespace, pod)
    patched = core.patch_namespaced_pod(
        name, namespace, {"spec": {"containers": [{"name": "sidecar", "image": "busybox:2"}]}}
    )
    assert [(c.name, c.image) for c in patched.spec.containers] == [
        ("web", "nginx:1"),
        ("sidecar", "busybox:2"),
    ]  # a merge patch would have replaced the whole list
    core.delete_namespaced_pod(name, namespace)


def test_label_and_field_selectors_and_paging(api: Any, namespace: str) -> None:
    core = client.CoreV1Api(api)
    tag = secrets.token_hex(3)
    names = {f"sel-{tag}-{i}": {"tag": tag, "app": app} for i, app in enumerate("aab")}
    names[f"sel-{tag}-3"] = {"tag": tag}  # no app label
    for name, labels in names.items():
        core.create_namespaced_config_map(namespace, configmap(name, {}, labels))

    def listed(**selectors: Any) -> list[str]:
        items = core.list_namespaced_config_map(namespace, **selectors).items
        return sorted(i.metadata.name for i in items)

    all_names = sorted(names)
    assert listed(label_selector=f"tag={tag}") == all_names
    assert listed(label_selector=f"tag={tag},app=a") == all_names[:2]
    assert listed(label_selector=f"tag={tag},app!=a") == all_names[2:]  # != includes no label
    assert listed(label_selector=f"tag={tag},app in (a,b)") == all_names[:3]
    assert listed(label_selector=f"tag={tag},app notin (a)") == all_names[2:]
    assert listed(label_selector=f"tag={tag},!app") == all_names[3:]
    assert listed(label_selector=f"tag={tag},app") == all_names[:3]
    assert listed(field_selector=f"metadata.name={all_names[1]}") == [all_names[1]]
    assert (
        listed(label_selector=f"tag={tag}", field_selector=f"metadata.name!={all_names[0]}")
        == (all_names[1:])
    )
    assert listed(
        field_selector=f"metadata.namespace={namespace},metadata.name={all_names[2]}"
    ) == [all_names[2]]
    # Pods by spec.nodeName (what kubelets and the scheduler of the next issue select on).
    for node in ("node-1", "node-2"):
        core.create_namespaced_pod(
            namespace,
            client.V1Pod(
                metadata=client.V1ObjectMeta(name=f"on-{node}-{tag}"),
                spec=client.V1PodSpec(
                    node_name=node, containers=[client.V1Container(name="c", image="x")]
                ),
            ),
        )
    on_1 = core.list_namespaced_pod(namespace, field_selector="spec.nodeName=node-1").items
    assert [p.metadata.name for p in on_1] == [f"on-node-1-{tag}"]
    # Paging: limit + continue visits every item once.
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(
            namespace, label_selector=f"tag={tag}", limit=2, _continue=token
        )
        seen += [i.metadata.name for i in page.items]
        assert len(page.items) <= 2
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert sorted(seen) == all_names and pages == 2


def test_watch_resumes_from_a_resource_version(api: Any, namespace: str) -> None:
    core = client.CoreV1Api(api)
    tag = secrets.token_hex(3)
    start_rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    name = f"watched-{tag}"
    core.create_namespaced_config_map(namespace, configmap(name, {"v": "1"}, {"w": tag}))
    core.patch_namespaced_config_map(name, namespace, {"data": {"v": "2"}})
    core.create_namespaced_config_map(namespace, configmap(f"unwatched-{tag}", {}, {"w": "other"}))
    core.delete_namespaced_config_map(name, namespace)

    def events(rv: str, count: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_config_map,
            namespace,
            label_selector=f"w={tag}",
            resource_version=rv,
            timeout_seconds=10,
        ):
            got.append(event)
            if len(got) == count:
                w.stop()
        return got

    history = events(start_rv, 3)
    assert [(e["type"], e["object"].data) for e in history] == [
        ("ADDED", {"v": "1"}),
        ("MODIFIED", {"v": "2"}),
        ("DELETED", {"v": "2"}),  # the object's last state, as Kubernetes sends it
    ]
    assert all(e["object"].metadata.name == name for e in history)
    resumed = events(history[0]["object"].metadata.resource_version, 2)
    assert [e["type"] for e in resumed] == ["MODIFIED", "DELETED"]


def test_events_through_core_v1_and_events_v1(api: Any, namespace: str) -> None:
    """One stored collection, two APIs: what kubectl describe lists (core, involvedObject.*
    selectors) includes what kube-scheduler writes through events.k8s.io/v1, and back."""
    core, events = client.CoreV1Api(api), client.EventsV1Api(api)
    cm = core.create_namespaced_config_map(namespace, configmap(unique("ev"), {"a": "1"}))
    name, uid = cm.metadata.name, cm.metadata.uid
    ref = client.V1ObjectReference(
        kind="ConfigMap", namespace=namespace, name=name, uid=uid, api_version="v1"
    )
    now = dt.datetime.now(dt.UTC)
    core.create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=f"{name}.core"),
            involved_object=ref,
            reason="Created",
            message="made by the test",
            type="Normal",
            source=client.V1EventSource(component="py-test"),
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            event_time=now,
            action="Create",
            reporting_component="py-test",
            reporting_instance="py-test-1",
        ),
    )
    events.create_namespaced_event(
        namespace,
        client.EventsV1Event(
            metadata=client.V1ObjectMeta(name=f"{name}.v1"),
            event_time=now,
            reporting_controller="py-test",
            reporting_instance="py-test-1",
            action="Update",
            reason="Updated",
            regarding=ref,
            note="changed by the test",
            type="Warning",
        ),
    )
    describe = (
        f"involvedObject.name={name},involvedObject.namespace={namespace},"
        f"involvedObject.kind=ConfigMap,involvedObject.uid={uid}"
    )
    listed = core.list_namespaced_event(namespace, field_selector=describe)
    assert sorted(e.reason for e in listed.items) == ["Created", "Updated"]
    updated = next(e for e in listed.items if e.reason == "Updated")
    assert updated.message == "changed by the test" and updated.reporting_component == "py-test"
    assert updated.involved_object.uid == uid
    other = describe.replace(f"uid={uid}", "uid=someone-else")
    assert core.list_namespaced_event(namespace, field_selector=other).items == []
    v1 = events.list_namespaced_event(namespace, field_selector=f"regarding.name={name}")
    assert sorted((e.reason, e.note) for e in v1.items) == [
        ("Created", "made by the test"),
        ("Updated", "changed by the test"),
    ]
    warnings = events.list_namespaced_event(
        namespace, field_selector=f"regarding.uid={uid},type=Warning"
    )
    assert [e.metadata.name for e in warnings.items] == [f"{name}.v1"]
    patched = events.patch_namespaced_event(
        f"{name}.v1", namespace, {"series": {"count": 2, "lastObservedTime": now.isoformat()}}
    )
    assert patched.series.count == 2
    assert core.read_namespaced_event(f"{name}.v1", namespace).series.count == 2
    assert api_error(core.list_namespaced_event, namespace, field_selector="note=x").status == 400
    events.delete_namespaced_event(f"{name}.v1", namespace)
    assert api_error(core.read_namespaced_event, f"{name}.v1", namespace).status == 404


def test_leases_through_coordination_v1(api: Any, namespace: str) -> None:
    coordination = client.CoordinationV1Api(api)
    name = unique("lease")
    now = dt.datetime.now(dt.UTC)
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=10, renew_time=now),
    )
    created = coordination.create_namespaced_lease(namespace, lease)
    assert created.spec.holder_identity == "a"
    read = coordination.read_namespaced_lease(name, namespace)
    assert abs((read.spec.renew_time - now).total_seconds()) < 0.001  # MicroTime round-trips
    read.spec.holder_identity = "b"
    read.spec.lease_transitions = 1
    replaced = coordination.replace_namespaced_lease(name, namespace, read)
    assert (replaced.spec.holder_identity, replaced.spec.lease_transitions) == ("b", 1)
    patched = coordination.patch_namespaced_lease(
        name, namespace, {"spec": {"holderIdentity": "c"}}
    )
    assert patched.spec.holder_identity == "c"
    listed = coordination.list_namespaced_lease(namespace, field_selector=f"metadata.name={name}")
    assert [item.metadata.name for item in listed.items] == [name]
    coordination.delete_namespaced_lease(name, namespace)
    assert api_error(coordination.read_namespaced_lease, name, namespace).status == 404


# -- leader election with kubernetes.leaderelection + LeaseLock --------------------------------

CANDIDATE = """
import sys, threading, time
from kubernetes import config
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

path, namespace, lease, identity, duration, deadline, retry = sys.argv[1:8]
config.load_kube_config(config_file=path)

def lead():
    print(f"LEADING {identity}", flush=True)
    threading.Event().wait()  # lead until killed

def stop():
    print(f"STOPPED {identity}", flush=True)

election = electionconfig.Config(
    LeaseLock(lease, namespace, identity), int(duration), int(deadline), int(retry), lead, stop
)
leaderelection.LeaderElection(election).run()
"""


class Candidate:
    """A ``LeaderElection.run()`` in its own process (killable), its stdout collected."""

    def __init__(
        self, identity: str, kubeconfig: str, namespace: str, lease: str, log: Path
    ) -> None:
        self.identity = identity
        self.lines: list[str] = []
        self._log = log.open("w", encoding="utf-8")
        args = [kubeconfig, namespace, lease, identity]
        args += [str(LEASE_DURATION_S), str(RENEW_DEADLINE_S), str(RETRY_PERIOD_S)]
        self.process = subprocess.Popen(
            [sys.executable, "-c", CANDIDATE, *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    @property
    def leading(self) -> bool:
        return f"LEADING {self.identity}" in self.lines

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log.close()


def wait_for(condition: Any, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s} s for {what}")
        time.sleep(0.1)


def test_leader_election_with_a_lease_lock(
    api: Any, namespace: str, kube_cluster: DockerCluster, tmp_path: Path
) -> None:
    coordination = client.CoordinationV1Api(api)
    lease = unique("election")
    candidates = [
        Candidate(
            f"cand-{i}", kube_cluster.info.kubeconfig, namespace, lease, tmp_path / f"c{i}.log"
        )
        for i in (1, 2)
    ]
    try:
        wait_for(lambda: any(c.leading for c in candidates), "a leader")
        leader = next(c for c in candidates if c.leading)
        other = next(c for c in candidates if c is not leader)
        first = coordination.read_namespaced_lease(lease, namespace).spec
        assert first.holder_identity == leader.identity
        assert first.lease_duration_seconds == LEASE_DURATION_S
        # Hold for two lease durations: the leader keeps renewing, the other never leads.
        time.sleep(2 * LEASE_DURATION_S)
        held = coordination.read_namespaced_lease(lease, namespace).spec
        assert held.holder_identity == leader.identity and held.renew_time > first.renew_time
        assert not other.leading, other.lines

        leader.kill()
        last = coordination.read_namespaced_lease(lease, namespace).spec  # its final renewal
        assert last.holder_identity == leader.identity
        wait_for(lambda: other.leading, f"{other.identity} to take over")
        taken = coordination.read_namespaced_lease(lease, namespace).spec
        assert taken.holder_identity == other.identity
        # Not before the lease expired: the new holder acquired it at least a lease duration
        # after the old holder's last renewal (both times written into the Lease).
        waited = (taken.acquire_time - last.renew_time).total_seconds()
        assert waited >= LEASE_DURATION_S, (last, taken)
        assert not any(line.startswith("LEADING") for line in leader.lines[1:]), leader.lines
    finally:
        for candidate in candidates:
            candidate.close()

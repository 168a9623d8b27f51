"""kubectl (the one on PATH, plus any in ``CHAOSPLANE_EXTRA_KUBECTL``) with only the kubeconfig.

In a nutshell: one cluster per store engine (``kube_cluster`` in conftest.py), and for each
kubectl binary the commands Kubernetes users type: ``version``, ``api-resources``,
``get``/``describe``/``-o yaml``, ``create`` (typed: namespace, configmap, secret — kubectl 1.32
sends those as protobuf), ``apply``, ``patch`` (strategic, merge, json), ``edit`` through
``KUBE_EDITOR``, ``delete`` with its default wait, ``get -w`` while another client writes,
``explain``. Each runs with ``KUBECONFIG`` set and a private ``HOME`` (so no other config or
discovery cache is used). Without any kubectl binary the tests skip and say why.

    CHAOSPLANE_EXTRA_KUBECTL=/opt/k120/usr/bin/kubectl pytest tests/integration/test_kubectl.py
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from harness.cluster.cluster import DockerCluster

pytestmark = pytest.mark.docker

EXTRA_ENV = "CHAOSPLANE_EXTRA_KUBECTL"
COMMAND_TIMEOUT_S = 60.0  # a bound on a hung command, not a speed goal


def kubectl_binaries() -> list[str]:
    found = [p for p in [shutil.which("kubectl")] if p]
    found += [p for p in os.environ.get(EXTRA_ENV, "").split(":") if p]
    return list(dict.fromkeys(found))


def _version_id(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
        return str(json.loads(out)["clientVersion"]["gitVersion"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return Path(path).name


BINARIES = kubectl_binaries()
PARAMS = [pytest.param(p, id=f"kubectl-{_version_id(p)}") for p in BINARIES] or [
    pytest.param(
        None,
        id="no-kubectl",
        marks=pytest.mark.skip(reason=f"no kubectl on PATH and {EXTRA_ENV} is empty"),
    )
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Kubectl:
    binary: str
    env: dict[str, str]
    namespace: str
    workdir: Path

    def run(
        self,
        *args: str,
        check: bool = True,
        namespaced: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, *args] + (["-n", self.namespace] if namespaced else [])
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            env={**self.env, **(env or {})},
            check=False,
        )
        if check:
            assert done.returncode == 0, f"{' '.join(argv[1:])}: {done.stderr}\n{done.stdout}"
        return done

    def get_json(self, *args: str) -> dict[str, object]:
        out: dict[str, object] = json.loads(self.run("get", *args, "-o", "json").stdout)
        return out

    def popen(self, *args: str) -> subprocess.Popen[str]:
        argv = [self.binary, *args, "-n", self.namespace]
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env
        )


@pytest.fixture(params=PARAMS)
def kubectl(
    request: pytest.FixtureRequest, kube_cluster: DockerCluster, tmp_path: Path
) -> Iterator[Kubectl]:
    binary: str = request.param
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # no ~/.kube/config, a fresh discovery cache
        "KUBECONFIG": kube_cluster.info.kubeconfig,
    }
    ns = f"k-{kube_cluster.spec.engine}-{secrets.token_hex(3)}"
    tool = Kubectl(binary=binary, env=env, namespace=ns, workdir=tmp_path)
    tool.run("create", "namespace", ns, namespaced=False)
    yield tool


def manifest(tool: Kubectl, name: str, document: Mapping[str, object]) -> str:
    path = tool.workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def configmap_doc(name: str, data: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def data_of(tool: Kubectl, name: str) -> object:
    return tool.get_json("configmap", name).get("data")


def test_version_reports_the_server(kubectl: Kubectl) -> None:
    out = kubectl.run("version", "-o", "json", namespaced=False).stdout
    server = json.loads(out)["serverVersion"]
    assert server["major"] and server["gitVersion"], out


def test_api_resources_lists_the_served_kinds(kubectl: Kubectl) -> None:
    out = kubectl.run("api-resources", namespaced=False).stdout
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    for plural in ("namespaces", "pods", "configmaps", "secrets", "leases"):
        assert plural in rows, out
    assert "coordination.k8s.io" in rows["leases"], rows["leases"]
    assert " ns " in f" {rows['namespaces']} " and " cm " in f" {rows['configmaps']} ", out


def test_get_all_namespaces_and_system_namespaces(kubectl: Kubectl) -> None:
    kubectl.run("get", "pods", "-A", namespaced=False)
    names = kubectl.run("get", "namespaces", "-o", "name", namespaced=False).stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(names), names


def test_typed_create_get_and_yaml(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "cm1", "--from-literal=a=1", "--from-literal=b=two")
    kubectl.run("create", "secret", "generic", "s1", "--from-literal=password=hunter2")
    got = yaml.safe_load(kubectl.run("get", "configmap", "cm1", "-o", "yaml").stdout)
    assert got["kind"] == "ConfigMap" and got["data"] == {"a": "1", "b": "two"}, got
    assert got["metadata"]["namespace"] == kubectl.namespace
    secret = kubectl.get_json("secret", "s1")
    assert secret["data"] == {"password": "aHVudGVyMg=="}, secret  # base64 of hunter2
    table = kubectl.run("get", "configmaps").stdout
    assert "cm1" in table and "DATA" in table, table


def test_describe(kubectl: Kubectl) -> None:
    # describe also lists the object's events (core v1, involvedObject.* field selector)
    kubectl.run("create", "configmap", "cm1", "--from-literal=a=1", "--from-literal=b=two")
    described = kubectl.run("describe", "configmap", "cm1").stdout
    assert "Name:" in described and "cm1" in described and "two" in described, described
    assert "Events:" in described and "<none>" in described.split("Events:")[1], described


def _post_event(cluster: DockerCluster, path: str, body: dict[str, object]) -> None:
    info = cluster.info
    headers = {"Authorization": f"Bearer {info.api_token}"}
    with httpx.Client(verify=cluster.ssl_context, headers=headers, timeout=10) as http:
        resp = http.post(f"{info.apiservers['api-1']}{path}", json=body)
        assert resp.status_code == 201, resp.text


def _ref(obj: dict[str, object], *, node: bool = False) -> dict[str, object]:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    ref = {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "name": meta["name"]}
    if node:  # as the node controller records them: no namespace, uid = the node's name
        return {**ref, "uid": meta["name"]}
    return {**ref, "namespace": meta["namespace"], "uid": meta["uid"]}


def _core_event(name: str, ref: dict[str, object], reason: str, message: str) -> dict[str, object]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    component = {"Node": "node-controller"}.get(str(ref["kind"]), "deployment-controller")
    return {
        "metadata": {"name": name},
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Normal",
    }


def test_describe_pod_node_deployment_show_their_events(
    kubectl: Kubectl, kube_cluster: DockerCluster
) -> None:
    """Plain ``kubectl describe`` of a pod, a node and a deployment shows an Events section
    with the events written about each (the pod's through events.k8s.io/v1, as kube-scheduler
    writes them); ``kubectl get events`` prints kube-apiserver's columns."""
    ns, tag = kubectl.namespace, secrets.token_hex(3)
    node_name = f"node-{tag}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
    }
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name}}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
            },
        },
    }
    for name, doc in (("pod", pod), ("node", node), ("deploy", deploy)):
        kubectl.run("apply", "-f", manifest(kubectl, name, doc))
    try:
        got_pod = kubectl.get_json("pod", "web")
        got_node = json.loads(kubectl.run("get", "node", node_name, "-o", "json").stdout)
        got_deploy = kubectl.get_json("deployment", "web")
        micro = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        _post_event(
            kube_cluster,
            f"/apis/events.k8s.io/v1/namespaces/{ns}/events",
            {
                "metadata": {"name": f"web.{tag}1"},
                "eventTime": micro,
                "reportingController": "default-scheduler",
                "reportingInstance": "scheduler-1_0badc0de",
                "action": "Binding",
                "reason": "Scheduled",
                "regarding": _ref(got_pod),
                "note": f"Successfully assigned {ns}/web to {node_name}",
                "type": "Normal",
            },
        )
        node_event = _core_event(
            f"{node_name}.{tag}2",
            _ref(got_node, node=True),
            "NodeNotReady",
            f"Node {node_name} status is now: NodeNotReady",
        )
        _post_event(kube_cluster, "/api/v1/namespaces/default/events", node_event)
        scaled = f"Scaled up replica set web-{tag} from 0 to 2"
        deploy_event = _core_event(f"web.{tag}3", _ref(got_deploy), "ScalingReplicaSet", scaled)
        _post_event(kube_cluster, f"/api/v1/namespaces/{ns}/events", deploy_event)

        def events_of(*args: str, namespaced: bool = True) -> str:
            out = kubectl.run("describe", *args, namespaced=namespaced).stdout
            assert "Events:" in out, out
            return out.split("Events:", 1)[1]

        pod_events = events_of("pod", "web")
        assert "Scheduled" in pod_events and f"to {node_name}" in pod_events, pod_events
        node_events = events_of("node", node_name, namespaced=False)
        assert "NodeNotReady" in node_events and "node-controller" in node_events, node_events
        deploy_events = events_of("deployment", "web")
        assert "ScalingReplicaSet" in deploy_events and scaled in deploy_events, deploy_events
        table = kubectl.run("get", "events").stdout
        header = table.splitlines()[0].split()
        assert header[:6] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], table
        assert "pod/web" in table and "deployment/web" in table, table
        if "v1.20" not in _version_id(kubectl.binary):  # `kubectl events` came in 1.26
            out = kubectl.run("events", "--for", "pod/web").stdout
            assert "Scheduled" in out and f"to {node_name}" in out, out
    finally:
        kubectl.run("delete", "node", node_name, "--wait=false", namespaced=False, check=False)


def test_apply_creates_then_updates(kubectl: Kubectl) -> None:
    path = manifest(kubectl, "applied", configmap_doc("applied", {"a": "1", "b": "2"}))
    assert "created" in kubectl.run("apply", "-f", path).stdout
    path = manifest(kubectl, "applied", configmap_doc("applied", {"a": "1", "c": "3"}))
    assert "configured" in kubectl.run("apply", "-f", path).stdout
    # The last-applied annotation lets apply delete "b", which the new manifest dropped.
    assert data_of(kubectl, "applied") == {"a": "1", "c": "3"}
    assert "unchanged" in kubectl.run("apply", "-f", path).stdout


def test_apply_a_pod_manifest(kubectl: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
    }
    kubectl.run("apply", "-f", manifest(kubectl, "pod", pod))
    names = kubectl.run("get", "pods", "-l", "app=web", "-o", "name").stdout.split()
    assert names == ["pod/web"], names


@pytest.mark.parametrize(
    ("patch_type", "patch", "expected"),
    [
        ("strategic", '{"data":{"b":"2"}}', {"a": "1", "b": "2"}),
        ("merge", '{"data":{"a":null,"c":"3"}}', {"c": "3"}),
        ("json", '[{"op":"replace","path":"/data/a","value":"9"}]', {"a": "9"}),
    ],
)
def test_patch(kubectl: Kubectl, patch_type: str, patch: str, expected: dict[str, str]) -> None:
    kubectl.run("create", "configmap", "p", "--from-literal=a=1")
    kubectl.run("patch", "configmap", "p", "--type", patch_type, "-p", patch)
    assert data_of(kubectl, "p") == expected


def test_edit_through_kube_editor(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "ed", "--from-literal=a=before")
    editor = kubectl.workdir / "editor.py"
    editor.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            path = sys.argv[-1]
            text = open(path).read()
            assert "before" in text, text
            open(path, "w").write(text.replace("before", "after"))
            """
        ),
        encoding="utf-8",
    )
    editor.chmod(0o755)
    done = kubectl.run("edit", "configmap", "ed", env={"KUBE_EDITOR": str(editor)})
    assert "edited" in done.stdout, done.stdout
    assert data_of(kubectl, "ed") == {"a": "after"}


def test_delete_waits_until_gone(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "gone", "--from-literal=a=1")
    kubectl.run("create", "configmap", "stays", "--from-literal=a=1")
    done = kubectl.run("delete", "configmap", "gone")  # --wait=true is the default
    assert 'configmap "gone" deleted' in done.stdout, done.stdout
    missing = kubectl.run("get", "configmap", "gone", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr, missing.stderr
    assert data_of(kubectl, "stays") == {"a": "1"}


def test_get_watch_sees_another_clients_writes(
    kubectl: Kubectl, kube_cluster: DockerCluster
) -> None:
    watcher = kubectl.popen("get", "configmaps", "-w", "-o", "name")
    lines: list[str] = []

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        info = kube_cluster.info
        headers = {"Authorization": f"Bearer {info.api_token}"}
        url = f"{info.apiservers['api-2']}/api/v1/namespaces/{kubectl.namespace}/configmaps"
        tag = secrets.token_hex(3)
        with httpx.Client(verify=kube_cluster.ssl_context, headers=headers, timeout=10) as http:
            deadline = time.monotonic() + COMMAND_TIMEOUT_S
            i = 0
            # Write until the watch reports one (it may start after the first writes).
            while not any(tag in line for line in lines):
                assert watcher.poll() is None, watcher.stderr.read() if watcher.stderr else ""
                assert time.monotonic() < deadline, f"kubectl get -w printed only {lines}"
                body = {"metadata": {"name": f"w-{tag}-{i}"}, "data": {"i": str(i)}}
                assert http.post(url, json=body).status_code == 201
                i += 1
                time.sleep(0.5)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    written = {f"configmap/w-{tag}-{j}" for j in range(i)}
    assert {line for line in lines if tag in line} <= written, lines  # our writes, by name


def test_explain_uses_the_openapi_document(kubectl: Kubectl) -> None:
    out = kubectl.run("explain", "configmap.data", namespaced=False).stdout
    assert "KIND:" in out and "ConfigMap" in out and "data" in out.lower(), out

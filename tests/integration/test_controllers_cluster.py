"""Issue 15's "done when" in Docker, with kubectl 1.32 and only the kubeconfig ``up`` printed.

In a nutshell: one cluster for the module, started by the real CLI in a subprocess —
``chaosplane up --store 3 --apiservers 2 --controller-managers 2 --schedulers 2 --nodes 3`` —
and removed by ``chaosplane down`` (which saves the member logs). The tests run in order on
it, each leaving it as it found it: ``kubectl create deployment web --image=x --replicas=6``
gives 6 Running pods spread over the Ready nodes; ``kubectl scale`` works both ways; killing
the controller-manager leader's container hands its Lease over and scaling still works (the new
new leader counts the pods it created); the same for the scheduler (the new leader binds); a
paused node container turns ``Ready=Unknown`` with the unreachable taint and its pods run
elsewhere. Containers are killed and paused with docker-py by their names
(``<run_id>-scheduler-1``), as a user would with ``docker kill``. Waits are bounds, not speed
goals (``benchmarks/controlplane_timings.py`` measures). The bug switches are in
test_controllers_bugs.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from controllers_support import bind_twice

from harness.cluster.controllers import read_lease_holder
from harness.cluster.kubeview import KubeView, wait_for
from harness.images import ImageTags
from harness.model.cluster import ClusterInfo, ControlPlaneTimings

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on PATH"),
]

UP_ARGS = ["--store", "3", "--apiservers", "2", "--controller-managers", "2"]
UP_ARGS += ["--schedulers", "2", "--nodes", "3"]
COMPONENTS = [
    "controller-manager-1",
    "controller-manager-2",
    "scheduler-1",
    "scheduler-2",
    "node-1",
    "node-2",
    "node-3",
]
BOUND_S = 90.0  # a bound on a wait on 2 shared cores, not a speed goal


def chaosplane(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Up:
    info: ClusterInfo
    kubeconfig: str
    env: dict[str, str]  # for kubectl: KUBECONFIG and a private HOME
    view: KubeView
    docker: Any

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def container(self, member: str) -> Any:
        return self.docker.containers.get(f"{self.run_id}-{member}")

    def kubectl(self, *args: str) -> str:
        done = subprocess.run(
            ["kubectl", *args], capture_output=True, text=True, timeout=60, env=self.env
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}{done.stdout}"
        return done.stdout

    def status(self, member: str) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = httpx.get(
                self.info.components[member] + "/status", timeout=1.0
            ).json()
            return out
        except (httpx.HTTPError, ValueError):
            return None

    def holder(self, component: str) -> str | None:
        return read_lease_holder(self.info, component)

    def leader(self, component: str) -> str:
        """The current holder, waiting for one (a lease may lapse for a moment under load)."""
        found: list[str] = []

        def held() -> bool:
            found[:] = [h for h in [self.holder(component)] if h]
            return bool(found)

        wait_for(held, timeout_s=BOUND_S, what=f"a holder of the {component} lease")
        return found[0]

    def running(self, n: int, app: str = "web") -> float:
        """Wait for exactly ``n`` live pods of ``app``, all Running on Ready nodes."""
        return wait_for(
            lambda: len(self.view.live_pods(app)) == n and len(self.view.running_pods(app)) == n,
            timeout_s=BOUND_S,
            what=f"{n} live pods of {app}, all Running on Ready nodes",
        )

    def restart(self, member: str) -> None:
        """Start a killed member's container again and wait until it answers ``/status``."""
        self.container(member).start()
        wait_for(lambda: self.status(member), timeout_s=BOUND_S, what=f"{member} /status")


@pytest.fixture(scope="module")
def up(images: ImageTags, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    import docker

    base = tmp_path_factory.mktemp("controllers")
    env = {**os.environ, "XDG_CACHE_HOME": str(base / "cache"), "HOME": str(base)}
    done = chaosplane("up", *UP_ARGS, "--quiet-build", env=env)
    assert done.returncode == 0, f"chaosplane up failed:\n{done.stderr[-4000:]}"
    info = ClusterInfo.from_json(json.loads(done.stdout))
    view = KubeView(info)
    kube_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(base), "KUBECONFIG": ""}
    kube_env["KUBECONFIG"] = info.kubeconfig
    try:
        yield Up(
            info=info,
            kubeconfig=info.kubeconfig,
            env=kube_env,
            view=view,
            docker=docker.from_env(),
        )
    finally:
        view.close()
        down = chaosplane("down", info.run_id, "--log-dir", str(base / "logs"), env=env)
        assert down.returncode == 0, down.stderr


def test_up_prints_the_controller_layer(up: Up) -> None:
    assert list(up.info.components) == COMPONENTS
    assert all(url.endswith(":10257") for url in up.info.components.values())
    assert up.info.controlplane_timings == ControlPlaneTimings().to_json()
    link = next(k for k in up.info.links if k.name == "scheduler-1-api-2")
    assert (link.source, link.target) == ("scheduler-1", "api-2")
    assert {k.name for k in up.info.links} >= {f"node-3-api-{j}" for j in (1, 2)}
    for member in COMPONENTS:
        c = up.container(member)
        assert c.status == "running"
        assert c.labels["chaosplane.run"] == up.run_id
    # ready means: a holder for each elected component and every node Ready
    assert up.leader("controller-manager").startswith("controller-manager-")
    assert up.leader("scheduler").startswith("scheduler-")
    nodes = json.loads(up.kubectl("get", "nodes", "-o", "json"))["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node-1", "node-2", "node-3"]
    assert up.view.ready_nodes() == {"node-1", "node-2", "node-3"}


def test_a_deployment_runs_six_pods_spread_over_the_nodes(up: Up) -> None:
    up.kubectl("create", "deployment", "web", "--image=x", "--replicas=6")
    up.running(6)
    pods = json.loads(up.kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    assert len(pods) == 6 and all(p["status"]["phase"] == "Running" for p in pods)
    per_node: dict[str, int] = {}
    for p in pods:
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
    assert per_node == {"node-1": 2, "node-2": 2, "node-3": 2}
    out = json.loads(up.kubectl("get", "deployment", "web", "-o", "json"))
    wait_for(
        lambda: (
            json.loads(up.kubectl("get", "deployment", "web", "-o", "json"))["status"].get(
                "readyReplicas"
            )
            == 6
        ),
        timeout_s=BOUND_S,
        what="deployment web readyReplicas 6",
    )
    assert out["spec"]["replicas"] == 6


def test_kubectl_scale_works_both_ways(up: Up) -> None:
    up.kubectl("scale", "deployment", "web", "--replicas=9")
    up.running(9)
    up.kubectl("scale", "deployment", "web", "--replicas=3")
    up.running(3)
    up.kubectl("scale", "deployment", "web", "--replicas=6")
    up.running(6)


def _other(member: str) -> str:
    kind, _, i = member.rpartition("-")
    return f"{kind}-{2 if i == '1' else 1}"


def test_killing_the_controller_manager_leader_hands_over_and_scaling_works(up: Up) -> None:
    old = up.leader("controller-manager")
    new = _other(old)
    c = up.container(old)
    c.kill()
    c.wait(timeout=30)
    try:
        wait_for(
            lambda: up.holder("controller-manager") == new,
            timeout_s=BOUND_S,
            what=f"{new} holds kube-controller-manager",
        )
        created_before = int((up.status(new) or {}).get("pods_created") or 0)
        up.kubectl("scale", "deployment", "web", "--replicas=8")
        up.running(8)
        # the new leader made them (its own count; the pods' writer annotation is the last
        # writer's, the scheduler's by now)
        assert int((up.status(new) or {}).get("pods_created") or 0) == created_before + 2
        assert (up.status(new) or {}).get("leader") is True
    finally:
        up.restart(old)
    up.kubectl("scale", "deployment", "web", "--replicas=6")
    up.running(6)


def test_killing_the_scheduler_leader_hands_over_and_new_pods_get_bound(up: Up) -> None:
    old = up.leader("scheduler")
    new = _other(old)
    c = up.container(old)
    c.kill()
    c.wait(timeout=30)
    try:
        wait_for(
            lambda: up.holder("scheduler") == new,
            timeout_s=BOUND_S,
            what=f"{new} holds kube-scheduler",
        )
        up.kubectl("scale", "deployment", "web", "--replicas=9")
        up.running(9)
        assert all(p["spec"].get("nodeName") for p in up.view.live_pods("web"))
        # the old leader's container is still dead: the new one bound the 3 new pods (its
        # /status "binds" counts per term, and a term can end and restart on a busy machine)
        assert up.container(old).status == "exited"
        assert up.leader("scheduler") == new
    finally:
        up.restart(old)
    up.kubectl("scale", "deployment", "web", "--replicas=6")
    up.running(6)


def test_a_paused_node_goes_not_ready_and_its_pods_run_elsewhere(up: Up) -> None:
    pods = up.view.running_pods("web")
    victim = max(COMPONENTS[4:], key=lambda n: sum(p["spec"]["nodeName"] == n for p in pods))
    on_victim = {p["metadata"]["uid"] for p in pods if p["spec"]["nodeName"] == victim}
    assert on_victim
    up.container(victim).pause()
    try:
        wait_for(
            lambda: up.view.node_cut_off(victim),
            timeout_s=BOUND_S,
            what=f"{victim} Ready=Unknown with the unreachable taint",
        )
        node = json.loads(up.kubectl("get", "node", victim, "-o", "json"))
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown"

        def moved() -> bool:
            running = up.view.running_pods("web")
            return len(running) == 6 and all(p["spec"]["nodeName"] != victim for p in running)

        wait_for(moved, timeout_s=BOUND_S, what=f"6 Running pods of web off {victim}")
    finally:
        up.container(victim).unpause()
    wait_for(
        lambda: up.view.node_healthy(victim),
        timeout_s=BOUND_S,
        what=f"{victim} Ready and untainted again",
    )
    wait_for(
        lambda: not ({p["metadata"]["uid"] for p in up.view.pods("web")} & on_victim),
        timeout_s=2 * BOUND_S,  # the node confirms each deletion; slow on a loaded machine
        what=f"the evicted pods of {victim} gone",
    )
    up.running(6)


def test_a_second_binding_is_refused(up: Up) -> None:
    """The control for bind-without-check: a bound pod cannot be bound again (409)."""
    assert bind_twice(up.info, "manual") == (201, 409)


def test_a_scenario_with_controllers_records_timings_and_logs(
    images: ImageTags, tmp_path: Path
) -> None:
    """``cluster: {controller_managers, schedulers, nodes}`` in a scenario starts the layer;
    run.json records ``controlplane_timings`` and the members' logs land in ``logs/``."""
    from harness.run import RunOptions, run_scenario
    from harness.scenario import scenario_from_dict

    scenario = scenario_from_dict(
        {
            "name": "controllers-smoke",
            "cluster": {
                "store": {"members": 1},
                "apiservers": 1,
                "controller_managers": 1,
                "schedulers": 1,
                "nodes": 1,
            },
            "workload": {"kind": "register", "clients": 1, "duration": "2s"},
        }
    )
    outcome = run_scenario(scenario, RunOptions(reports_dir=tmp_path, render_report=False))
    meta = json.loads((outcome.run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["controlplane_timings"] == ControlPlaneTimings().to_json()
    assert meta["cluster"]["nodes"] == 1
    logs = outcome.run_dir / "logs"
    for member in ("controller-manager-1", "scheduler-1", "node-1"):
        assert "listening" in (logs / f"{member}.log").read_text(encoding="utf-8")

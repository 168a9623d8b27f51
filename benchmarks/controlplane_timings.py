"""The controller layer's reaction times in Docker, against the configured timings (issue 15).

In a nutshell: one cluster (3 store, 2 apiservers, 2 controller-managers, 2 schedulers,
3 nodes) with Deployment ``web`` at 6 replicas; each figure is the median of ``--repeat``
runs (default 5), printed as one JSON line with every sample and the configured timings:

* ``kcm-failover`` — SIGKILL the controller-manager leader's container and at once scale
  ``web`` up by one: until the other replica holds the Lease (``lease_s``) and until the new
  pod exists (``first_action_s``: the new leader's first action);
* ``scheduler-failover`` — the same for the scheduler: until the new pod is bound;
* ``scale-6-to-9`` — ``replicas`` 6 → 9 until 9 pods are Running on Ready nodes;
* ``node-pause`` — pause the container of the node running most pods until ``web`` has 6
  Running pods elsewhere (``not_ready_s``: until the node is ``Ready=Unknown`` and tainted).

The baseline is what the timings allow: a failover cannot beat ``lease_duration_s`` after the
last renewal (and should not take more than it plus ``retry_period_s`` and the informers'
list); a node's pods move no earlier than ``node_monitor_grace_s + pod_eviction_timeout_s``.

    .venv/bin/python benchmarks/controlplane_timings.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.cluster.cluster import DockerCluster  # noqa: E402
from harness.cluster.controllers import ApiReader  # noqa: E402
from harness.cluster.kubeview import KubeView, wait_for  # noqa: E402
from harness.cluster.tls import client_context  # noqa: E402
from harness.model.cluster import ClusterSpec  # noqa: E402

SPEC = ClusterSpec(store_members=3, apiservers=2, controller_managers=2, schedulers=2, nodes=3)
WEB = "/apis/apps/v1/namespaces/default/deployments/web"
BOUND_S = 120.0


class Bench:
    def __init__(self, cluster: DockerCluster) -> None:
        self.cluster = cluster
        self.view = KubeView(cluster.info)
        self.timings = cluster.info.controlplane_timings

    def write(self, method: str, path: str, body: dict[str, Any], ctype: str) -> None:
        import httpx

        info = self.cluster.info
        headers = {"Authorization": f"Bearer {info.api_token}", "Content-Type": ctype}
        for base in info.apiservers_direct.values():
            try:
                r = httpx.request(
                    method,
                    base + path,
                    content=json.dumps(body),
                    headers=headers,
                    verify=client_context(info.ca_pem),
                    timeout=5,
                )
            except httpx.HTTPError:
                continue
            if r.status_code in (200, 201):
                return
        raise RuntimeError(f"{method} {path} failed on every apiserver")

    def scale(self, replicas: int) -> None:
        self.write("PATCH", WEB, {"spec": {"replicas": replicas}}, "application/merge-patch+json")

    def settle(self, n: int) -> float:
        return wait_for(
            lambda: (
                len(self.view.live_pods("web")) == n and len(self.view.running_pods("web")) == n
            ),
            timeout_s=BOUND_S,
            what=f"{n} Running pods of web",
        )

    def failover(self, component: str, acted: Callable[[set[str]], bool]) -> dict[str, float]:
        old = self.cluster.lease_holder(component)
        assert old is not None, f"no {component} leader"
        before = {p["metadata"]["uid"] for p in self.view.live_pods("web")}
        node = self.cluster.node(old)
        t0 = time.monotonic()
        node.kill()
        self.scale(len(before) + 1)
        lease_s = wait_for(
            lambda: self.cluster.lease_holder(component) not in (None, old),
            timeout_s=BOUND_S,
            what=f"a new {component} holder",
            poll_s=0.05,
        )
        wait_for(lambda: acted(before), timeout_s=BOUND_S, what="first action", poll_s=0.05)
        first = time.monotonic() - t0
        node.start()
        self.scale(len(before))
        self.settle(len(before))
        return {"lease_s": round(lease_s, 3), "first_action_s": round(first, 3)}

    def new_pod(self, before: set[str]) -> bool:
        return any(p["metadata"]["uid"] not in before for p in self.view.live_pods("web"))

    def new_pod_bound(self, before: set[str]) -> bool:
        return any(
            p["metadata"]["uid"] not in before and p["spec"].get("nodeName")
            for p in self.view.live_pods("web")
        )

    def scale_6_to_9(self) -> dict[str, float]:
        t0 = time.monotonic()
        self.scale(9)
        self.settle(9)
        took = time.monotonic() - t0
        self.scale(6)
        self.settle(6)
        return {"all_running_s": round(took, 3)}

    def node_pause(self) -> dict[str, float]:
        pods = self.view.running_pods("web")
        names = {p["spec"]["nodeName"] for p in pods}
        victim = max(names, key=lambda n: sum(p["spec"]["nodeName"] == n for p in pods))
        node = self.cluster.node(victim)
        t0 = time.monotonic()
        node.pause()
        try:
            not_ready = wait_for(
                lambda: self.view.node_cut_off(victim), timeout_s=BOUND_S, what=f"{victim} cut off"
            )

            def moved() -> bool:
                running = self.view.running_pods("web")
                return len(running) == 6 and all(p["spec"]["nodeName"] != victim for p in running)

            wait_for(moved, timeout_s=BOUND_S, what="6 Running elsewhere", poll_s=0.1)
            took = time.monotonic() - t0
        finally:
            node.unpause()
        wait_for(lambda: self.view.node_healthy(victim), timeout_s=BOUND_S, what="node back")
        self.settle(6)
        return {"not_ready_s": round(not_ready, 3), "running_elsewhere_s": round(took, 3)}


def line(
    name: str,
    samples: list[dict[str, float]],
    timings: dict[str, float],
    baseline: dict[str, float],
) -> dict[str, Any]:
    keys = samples[0].keys()
    return {
        "bench": "controlplane_timings",
        "variant": name,
        "n": len(samples),
        **{f"{k}_median": round(statistics.median(s[k] for s in samples), 3) for k in keys},
        "baseline": baseline,
        "samples": samples,
        "timings": timings,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with DockerCluster(SPEC).start() as cluster:
        bench = Bench(cluster)
        t = cluster.info.controlplane_timings
        with ApiReader(cluster.info) as api:
            assert api.get("/api/v1/nodes") is not None
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 6,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
        bench.write(
            "POST", "/apis/apps/v1/namespaces/default/deployments", body, "application/json"
        )
        bench.settle(6)
        failover_floor = {
            "lease_duration_s": t["le_lease_duration_s"],
            "plus_retry_s": t["le_lease_duration_s"] + t["le_retry_period_s"],
        }
        runs: list[tuple[str, Callable[[], dict[str, float]], dict[str, float]]] = [
            (
                "kcm-failover",
                lambda: bench.failover("controller-manager", bench.new_pod),
                failover_floor,
            ),
            (
                "scheduler-failover",
                lambda: bench.failover("scheduler", bench.new_pod_bound),
                failover_floor,
            ),
            ("scale-6-to-9", bench.scale_6_to_9, {"pod_start_delay_s": 0.3}),
            (
                "node-pause",
                bench.node_pause,
                {
                    "grace_plus_eviction_s": t["node_monitor_grace_s"]
                    + t["pod_eviction_timeout_s"],
                    "grace_s": t["node_monitor_grace_s"],
                },
            ),
        ]
        for name, run, baseline in runs:
            samples = [run() for _ in range(args.repeat)]
            print(json.dumps(line(name, samples, t, baseline)), flush=True)
        bench.view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

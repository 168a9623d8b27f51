"""Each controller-layer bug switch visibly changes behaviour in the Docker cluster.

In a nutshell: two small clusters through the Python API (``DockerCluster``, the code path
``chaosplane up`` takes), each with a few switches whose effects do not overlap, and the
Node protocol (``pause``/``unpause``) on component containers:

- ``bind-without-check`` (apiserver): a second Binding of a bound pod is accepted and moves it;
- ``eviction-before-grace`` (KCM): a node paused 2.5 s — below the 4 s grace — loses its pods;
- ``no-expectations`` (KCM): with the controller-manager's link to the apiserver throttled
  (the pod watch falls behind its own creates), a fresh ReplicaSet gets more pods created than
  it wants (counted from the test's own watch);
- ``no-renew-deadline`` (KCM, leader election): a leader paused past its lease and resumed
  acts beside the new one;
- ``lease-clock`` (scheduler, leader election): a live holder whose clock runs 10 s behind is
  judged expired and its Lease taken.

Each control (the same move without the switch) runs on the bug-free cluster of
test_controllers_cluster.py or, where that would disturb it, here on a bug-free cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from controllers_support import PodAdds, SkewedHolder, api_client, bind_twice

from harness.cluster.cluster import DockerCluster
from harness.cluster.kubeview import KubeView, wait_for
from harness.model.cluster import ClusterSpec

pytestmark = pytest.mark.docker

BOUND_S = 90.0
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
ClusterFactory = Callable[..., DockerCluster]


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }


def status(cluster: DockerCluster, member: str) -> dict[str, Any]:
    try:
        out: dict[str, Any] = httpx.get(
            cluster.info.components[member] + "/status", timeout=1.0
        ).json()
        return out
    except (httpx.HTTPError, ValueError):
        return {}


def create(cluster: DockerCluster, body: dict[str, Any]) -> None:
    with api_client(cluster.info) as http:
        r = http.post(DEPLOYMENTS, json=body)
        assert r.status_code == 201, r.text


def kcm_leader(cluster: DockerCluster) -> str:
    found: list[str] = []

    def held() -> bool:
        found[:] = [h for h in [cluster.lease_holder("controller-manager")] if h]
        return bool(found)

    wait_for(held, timeout_s=BOUND_S, what="a controller-manager lease holder")
    return found[0]


def short_pause_evictions(cluster: DockerCluster, pause_s: float) -> int:
    """Pause the node running most pods of ``web`` for ``pause_s``; the KCM leader's new
    evictions."""
    leader = kcm_leader(cluster)
    with KubeView(cluster.info) as view:
        # live and bound, not "Running on a Ready node": with eviction-before-grace a node
        # may already be flapping on a busy machine
        pods = [p for p in view.live_pods("web") if p["spec"].get("nodeName")]
        assert pods
        victim = max(
            {p["spec"]["nodeName"] for p in pods},
            key=lambda n: sum(p["spec"]["nodeName"] == n for p in pods),
        )
        before = int(status(cluster, leader).get("evictions") or 0)
        node = cluster.node(victim)
        node.pause()
        time.sleep(pause_s)
        node.unpause()
        time.sleep(1.5)
        return int(status(cluster, leader).get("evictions") or 0) - before


@pytest.fixture(scope="module")
def apiserver_and_kcm_bugs(cluster_factory: ClusterFactory) -> DockerCluster:
    bugs = ("bind-without-check", "eviction-before-grace", "no-expectations")
    spec = ClusterSpec(
        store_members=1, apiservers=1, controller_managers=1, schedulers=1, nodes=2, bugs=bugs
    )
    return cluster_factory(spec)


@pytest.fixture(scope="module")
def election_bugs(cluster_factory: ClusterFactory) -> Iterator[DockerCluster]:
    spec = ClusterSpec(
        store_members=1,
        apiservers=1,
        controller_managers=2,
        schedulers=2,
        bugs=("no-renew-deadline", "lease-clock"),
    )
    cluster = cluster_factory(spec)
    yield cluster
    cluster.teardown()


def test_bug_bind_without_check_accepts_a_second_binding(
    apiserver_and_kcm_bugs: DockerCluster,
) -> None:
    assert bind_twice(apiserver_and_kcm_bugs.info, "manual") == (201, 201)


def test_bug_eviction_before_grace_evicts_on_a_short_gap(
    apiserver_and_kcm_bugs: DockerCluster,
) -> None:
    cluster = apiserver_and_kcm_bugs
    create(cluster, deployment("web", 4))
    with KubeView(cluster.info) as view:
        wait_for(lambda: len(view.running_pods("web")) >= 4, timeout_s=BOUND_S, what="4 Running")
    assert short_pause_evictions(cluster, 2.5) >= 1


def overshoot(cluster: DockerCluster, name: str, replicas: int) -> int:
    """With the KCM leader's link to api-1 throttled (the pod watch, the busiest stream on it,
    falls behind the creates), create Deployment ``name``; the pods ever created for it."""
    link = f"{kcm_leader(cluster)}-api-1"
    toxic = {"name": "slow", "type": "bandwidth", "stream": "downstream", "attributes": {"rate": 8}}
    url = f"{cluster.info.toxiproxy}/proxies/{link}/toxics"
    with PodAdds(cluster.info, name) as adds:
        assert httpx.post(url, json=toxic, timeout=5).status_code in (200, 201)
        try:
            create(cluster, deployment(name, replicas))
            time.sleep(12.0)
        finally:
            httpx.delete(f"{url}/slow", timeout=5)
        with KubeView(cluster.info) as view:
            wait_for(
                lambda: (
                    len(view.running_pods(name)) == replicas
                    and len(view.live_pods(name)) == replicas
                ),
                timeout_s=BOUND_S,
                what=f"{replicas} Running pods of {name}",
            )
        time.sleep(1.0)
    return len(adds.uids)


def test_bug_no_expectations_overshoots_under_a_slow_watch(
    apiserver_and_kcm_bugs: DockerCluster,
) -> None:
    assert overshoot(apiserver_and_kcm_bugs, "burst", 10) > 10


def paused_leader_acts_beside_the_new_one(cluster: DockerCluster) -> bool:
    """Pause the KCM leader past its lease until the other holds it, resume it, watch 3 s."""
    old = kcm_leader(cluster)
    other = "controller-manager-2" if old.endswith("-1") else "controller-manager-1"
    node = cluster.node(old)
    node.pause()
    try:
        wait_for(
            lambda: cluster.lease_holder("controller-manager") == other,
            timeout_s=BOUND_S,
            what=f"{other} holds the lease",
        )
    finally:
        node.unpause()
    both = False
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        s_old, s_other = status(cluster, old), status(cluster, other)
        both = both or bool(s_old.get("leader") and s_other.get("leader"))
        time.sleep(0.1)
    return both


def test_bug_no_renew_deadline_gives_two_leaders(election_bugs: DockerCluster) -> None:
    assert paused_leader_acts_beside_the_new_one(election_bugs)


def skewed_holder(cluster: DockerCluster) -> SkewedHolder:
    """15 s of a holder renewing ``kube-scheduler`` every 0.5 s with a clock 10 s behind."""
    wait_for(lambda: cluster.lease_holder("scheduler"), timeout_s=BOUND_S, what="a scheduler")
    with SkewedHolder(cluster.info, "kube-scheduler") as ghost:
        time.sleep(15.0)
    return ghost


def test_bug_lease_clock_takes_a_live_lease_from_a_skewed_holder(
    election_bugs: DockerCluster,
) -> None:
    ghost = skewed_holder(election_bugs)
    assert ghost.writes >= 1 and ghost.takeovers, (ghost.writes, ghost.takeovers)


def test_controls_without_the_bugs(cluster_factory: ClusterFactory) -> None:
    """The same moves on a bug-free cluster: no second leader, no takeover from the skewed
    holder, no eviction on a short gap, no overshoot."""
    spec = ClusterSpec(store_members=1, apiservers=1, controller_managers=2, schedulers=2, nodes=2)
    cluster = cluster_factory(spec)
    try:
        ghost = skewed_holder(cluster)
        assert ghost.writes > 5 and ghost.takeovers == [], (ghost.writes, ghost.takeovers)
        assert not paused_leader_acts_beside_the_new_one(cluster)
        create(cluster, deployment("web", 4))
        with KubeView(cluster.info) as view:
            wait_for(
                lambda: len(view.running_pods("web")) >= 4, timeout_s=BOUND_S, what="4 Running"
            )
        assert short_pause_evictions(cluster, 2.5) == 0
        assert overshoot(cluster, "burst", 10) == 10
    finally:
        cluster.teardown()

"""Real etcd 3.4 as the store: cluster, leader, an apiserver on it, and the two etcd scenarios.

One 3-member etcd cluster with one apiserver serves the first tests (leader found through the
``/status`` adapter, an object written through the apiserver and found in etcd under its
registry key). The two shipped scenarios run side by side in ``chaosplane run`` processes:
``etcd-linearizable-under-partition`` must be VALID; the known-bad
``etcd-serializable-stale-reads`` must be INVALID on ``linearizable`` (serializable reads on a
member cut off from its peers are stale, as Jepsen found) — the harness catching it is the test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from scenario_runs import checks_of, run_in_parallel

from harness.cluster.cluster import DockerCluster
from harness.images import ImageTags
from harness.model.cluster import ClusterSpec

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ClusterFactory = Callable[..., DockerCluster]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "etcd"
VALID_SCENARIO = SCENARIOS / "etcd-linearizable-under-partition.yaml"
KNOWN_BAD_SCENARIO = SCENARIOS / "known-bad" / "etcd-serializable-stale-reads.yaml"
SEED = 1
RUN_TIMEOUT_S = 240.0


@pytest.fixture(scope="module")
def etcd_image(images: ImageTags) -> str:
    from harness.images import Steps
    from harness.images.etcd import ensure_etcd_image

    del images  # built (or the module skipped) first: the etcd image builds FROM the base
    return ensure_etcd_image(steps=Steps(quiet=True))


@pytest.fixture(scope="module")
def etcd_cluster(etcd_image: str, cluster_factory: ClusterFactory) -> Iterator[DockerCluster]:
    cluster = cluster_factory(ClusterSpec(engine="etcd", store_members=3, apiservers=1))
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture(scope="module")
def scenario_runs(etcd_image: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Start both scenario runs at once (each owns its cluster); their run directories."""
    root = tmp_path_factory.mktemp("etcd-runs")
    return run_in_parallel(
        [VALID_SCENARIO, KNOWN_BAD_SCENARIO], root, seed=SEED, timeout_s=RUN_TIMEOUT_S
    )


def test_etcd_members_report_one_leader_through_the_status_adapter(
    etcd_cluster: DockerCluster,
) -> None:
    statuses = etcd_cluster.statuses()
    assert all(s is not None and s["engine"] == "etcd" for s in statuses.values()), statuses
    leader = etcd_cluster.wait_leader_elected(10.0)
    assert leader in statuses
    roles = {m: s["role"] for m, s in statuses.items() if s is not None}
    assert sorted(roles.values()) == ["follower", "follower", "leader"], roles
    assert {s["leader"] for s in statuses.values() if s is not None} == {leader}


def test_apiserver_on_etcd_stores_objects_in_etcd(etcd_cluster: DockerCluster) -> None:
    api = etcd_cluster.info.apiservers["api-1"]
    auth = {"Authorization": f"Bearer {etcd_cluster.info.api_token}"}
    tls = etcd_cluster.ssl_context  # the apiservers serve https with the run's CA
    body = {"metadata": {"name": "etcd-probe"}, "data": {"answer": "42"}}
    created = httpx.post(
        f"{api}/api/v1/namespaces/default/configmaps",
        json=body,
        headers=auth,
        timeout=10,
        verify=tls,
    )
    assert created.status_code == 201, created.text
    got = httpx.get(
        f"{api}/api/v1/namespaces/default/configmaps/etcd-probe", headers=auth, verify=tls
    )
    assert got.status_code == 200 and got.json()["data"] == {"answer": "42"}, got.text
    rv = got.json()["metadata"]["resourceVersion"]
    # The object really lives in etcd: a prefix range over the gateway finds it, at that revision.
    store = next(iter(etcd_cluster.info.store.values()))
    probe = {"key": base64.b64encode(b"/").decode(), "range_end": base64.b64encode(b"0").decode()}
    ranged = httpx.post(f"{store}/v3/kv/range", json=probe, timeout=5).json()
    keys = {base64.b64decode(kv["key"]).decode(): kv["mod_revision"] for kv in ranged["kvs"]}
    hits = {k: r for k, r in keys.items() if k.endswith("etcd-probe")}
    assert list(hits.values()) == [rv], keys
    stale = {**body, "metadata": {"name": "etcd-probe", "resourceVersion": "1"}}
    conflict = httpx.put(
        f"{api}/api/v1/namespaces/default/configmaps/etcd-probe",
        json=stale,
        headers=auth,
        verify=tls,
    )
    assert conflict.status_code == 409, conflict.text
    # An update, then a watch from the old resourceVersion: etcd's /v3/watch replays it.
    fresh = {**body, "data": {"answer": "43"}, "metadata": {"name": "etcd-probe",
             "resourceVersion": rv}}  # fmt: skip
    updated = httpx.put(
        f"{api}/api/v1/namespaces/default/configmaps/etcd-probe",
        json=fresh,
        headers=auth,
        verify=tls,
    )
    assert updated.status_code == 200, updated.text
    watched = httpx.get(
        f"{api}/api/v1/namespaces/default/configmaps",
        params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "2"},
        headers=auth,
        timeout=10,
        verify=tls,
    )
    events = [json.loads(line) for line in watched.text.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["data"]) for e in events] == [("MODIFIED", {"answer": "43"})], (
        events
    )


def test_linearizable_reads_stay_valid_under_partition_and_leader_kill(
    scenario_runs: dict[str, Path],
) -> None:
    run_dir = scenario_runs[VALID_SCENARIO.stem]
    checks = checks_of(run_dir)
    assert checks["linearizable"]["verdict"] == "valid", checks
    faults = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    effects = [f for f in faults if f["type"] == "effect"]
    assert {f["fault"] for f in effects} == {"partition", "kill"}, effects
    assert all(f["detail"]["ok"] for f in effects), effects


def test_serializable_reads_under_partition_are_caught_stale(
    scenario_runs: dict[str, Path],
) -> None:
    checks = checks_of(scenario_runs[KNOWN_BAD_SCENARIO.stem])
    linearizable = checks["linearizable"]
    assert linearizable["verdict"] == "invalid", checks
    # The stale read came from the member cut off from its peers, as the scenario intends.
    details = linearizable["details"]
    assert isinstance(details, dict) and details["stuck"]["node"] == "store-3", details

"""make_workload takes the store's engine from ClusterInfo (the run's spec) instead of probing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.history import JsonlWriter
from harness.model import Engine, WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.testing.fakes import FakeCluster
from harness.workload import RegisterWorkload, make_workload
from harness.workload.etcd import EtcdRegisterWorkload

SPEC = WorkloadSpec(kind="register", clients=1, keys=1, duration_s=0.1, through="store")


def test_the_engine_in_cluster_info_decides_without_a_probe(tmp_path: Path) -> None:
    # The fake store is no etcd, so a probe would say "not etcd": engine=etcd wins over it.
    with FakeCluster(apiservers=1, store_members=1) as cluster:
        info = cluster.info()
        with JsonlWriter(tmp_path / "h.jsonl") as history:
            as_etcd = make_workload(SPEC, replace(info, engine=Engine.ETCD), history, 0, 1)
            as_raft = make_workload(SPEC, replace(info, engine=Engine.PYSYNCOBJ), history, 0, 1)
            probed = make_workload(SPEC, info, history, 0, 1)  # engine "" → probe: not etcd
    assert isinstance(as_etcd, EtcdRegisterWorkload)
    for plain in (as_raft, probed):
        assert isinstance(plain, RegisterWorkload) and not isinstance(plain, EtcdRegisterWorkload)


def test_the_engine_round_trips_through_json() -> None:
    info = ClusterInfo(
        run_id="r", network="n", subnet="s", store={}, apiservers={}, apiservers_direct={},
        toxiproxy="t", api_token="a", engine="etcd",
    )  # fmt: skip
    assert info.to_json()["engine"] == "etcd"
    assert ClusterInfo.from_json(info.to_json()) == info

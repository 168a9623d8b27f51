"""The kubeconfig a cluster writes (harness.cluster.kubeconfig), read back by the official client.

The official ``kubernetes`` client's own loader reads the file, so a shape it does not accept
(or a context pointing at the wrong link) fails here, without Docker.
"""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from harness.cluster.kubeconfig import kubeconfig, state_dir, write_kubeconfig
from harness.cluster.links import plan_links
from harness.cluster.subnet import POOL, SubnetPlan
from harness.cluster.tls import make_run_pki
from harness.errors import ClusterError
from harness.model.cluster import ClusterInfo

PLAN = SubnetPlan.for_slot(POOL, 7)
CA = make_run_pki("cp-k", apiservers={"api-1": "10.201.7.31"}, proxy_ip=PLAN.proxy_ip).ca_pem


def info(apiservers: int = 2, ca_pem: str = CA) -> ClusterInfo:
    links = plan_links(PLAN, apiservers=apiservers, store_members=1)
    return ClusterInfo(
        run_id="cp-k",
        network="cp-k-net",
        subnet=str(PLAN.subnet),
        store={},
        apiservers={},
        apiservers_direct={},
        toxiproxy="",
        api_token="admin-secret",
        links=links,
        ca_pem=ca_pem,
    )


def loaded(path: Path, context: str | None = None) -> k8s_client.Configuration:
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(
        config_file=str(path), context=context, client_configuration=configuration
    )
    return configuration


def test_default_context_is_client_api_1_with_ca_and_token(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", kubeconfig(info()))
    configuration = loaded(path)
    assert configuration.host == "https://10.201.7.2:16001"
    assert list(configuration.api_key.values()) == ["Bearer admin-secret"]
    assert configuration.verify_ssl
    assert Path(str(configuration.ssl_ca_cert)).read_text() == CA


def test_one_context_per_client_link(tmp_path: Path) -> None:
    document = kubeconfig(info(apiservers=3))
    path = write_kubeconfig(tmp_path / "kubeconfig", document)
    names = [c["name"] for c in document["contexts"]]
    assert names == ["chaosplane-cp-k", "client-api-1", "client-api-2", "client-api-3"]
    assert document["current-context"] == "chaosplane-cp-k"
    assert loaded(path, "client-api-3").host == "https://10.201.7.2:16003"
    clusters = {c["name"]: c["cluster"] for c in document["clusters"]}
    assert set(clusters) == {
        "chaosplane-cp-k",
        *(f"chaosplane-cp-k-client-api-{i}" for i in (1, 2, 3)),
    }
    for cluster in clusters.values():
        assert base64.b64decode(cluster["certificate-authority-data"]).decode() == CA


def test_written_owner_only_and_parseable(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "run" / "kubeconfig", kubeconfig(info()))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a bearer token
    assert yaml.safe_load(path.read_text())["kind"] == "Config"
    assert not list(path.parent.glob("*.tmp"))


def test_no_ca_means_no_kubeconfig() -> None:
    with pytest.raises(ClusterError, match="only over https"):
        kubeconfig(info(ca_pem=""))


def test_state_dir_follows_xdg_cache_home() -> None:
    assert state_dir("cp-x", {"XDG_CACHE_HOME": "/c"}) == Path("/c/chaosplane/cp-x")
    assert state_dir("cp-x", {"HOME": "/h"}) == Path("/h/.cache/chaosplane/cp-x")


class _NoObjects:
    def list(self, **kwargs: object) -> list[object]:
        return []


class _EmptyDocker:
    containers = networks = volumes = _NoObjects()


def test_reaping_a_run_removes_its_state_dir_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.cluster.reaper import reap_run

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    mine = write_kubeconfig(state_dir("cp-mine") / "kubeconfig", kubeconfig(info()))
    other = write_kubeconfig(state_dir("cp-other") / "kubeconfig", kubeconfig(info()))
    assert mine.parent == tmp_path / "chaosplane" / "cp-mine"
    reap_run(_EmptyDocker(), "cp-mine")  # what `chaosplane down` and teardown call
    assert not mine.parent.exists() and other.exists()

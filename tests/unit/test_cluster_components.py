"""The controller layer's cluster model (contract C5): names, addresses, links, env, leases."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from harness.cluster.components import component_links, component_members, component_names
from harness.cluster.controllers import holder_of, lease_member, node_ready, read_lease_holder
from harness.cluster.links import plan_links
from harness.cluster.subnet import SubnetPlan
from harness.model.cluster import ClusterInfo, ClusterSpec, ControlPlaneTimings, Role

PLAN = SubnetPlan(subnet=ipaddress.IPv4Network("10.201.7.0/24"))
SPEC = ClusterSpec(apiservers=2, controller_managers=2, schedulers=2, nodes=3)


def test_defaults_have_no_components() -> None:
    spec = ClusterSpec()
    assert (spec.controller_managers, spec.schedulers, spec.nodes) == (0, 0, 0)
    assert not spec.has_components
    assert component_names(spec) == []
    assert component_links(spec, PLAN) == []


def test_role_values_and_member_names() -> None:
    assert Role.CONTROLLER_MANAGER.value == "controller-manager"
    assert Role.SCHEDULER.value == "scheduler"
    assert Role.KUBELET.value == "node"
    names = [n for _, _, n in component_names(SPEC)]
    assert names == [
        "controller-manager-1",
        "controller-manager-2",
        "scheduler-1",
        "scheduler-2",
        "node-1",
        "node-2",
        "node-3",
    ]


def test_timings_env_and_json() -> None:
    t = ControlPlaneTimings()
    env = t.to_env()
    assert env["LE_LEASE_DURATION_S"] == "4"
    assert env["LE_RETRY_PERIOD_S"] == "0.5"
    assert env["POD_EVICTION_TIMEOUT_S"] == "6"
    assert len(env) == 8
    js = t.to_json()
    assert js["le_renew_deadline_s"] == 3.0
    assert js["node_monitor_grace_s"] == 4.0
    assert set(js) == {k.lower() for k in env}


def test_links_one_per_member_and_apiserver_with_unique_ports() -> None:
    links = component_links(SPEC, PLAN)
    assert len(links) == 7 * 2
    by_name = {k.name: k for k in links}
    link = by_name["scheduler-1-api-2"]
    assert (link.source, link.target) == ("scheduler-1", "api-2")
    assert link.upstream == "10.201.7.32:6443"
    assert by_name["node-3-api-1"].source == "node-3"
    all_links = links + plan_links(PLAN, apiservers=2, store_members=3)
    ports = [k.listen for k in all_links]
    assert len(set(ports)) == len(ports)
    # the largest cluster still has unique ports and addresses
    big = ClusterSpec(apiservers=5, controller_managers=3, schedulers=3, nodes=10)
    big_ports = [k.listen for k in component_links(big, PLAN)]
    assert len(set(big_ports)) == len(big_ports) == 16 * 5
    ips = [m.ip for m in component_members(big, PLAN, "t", None)]
    assert len(set(ips)) == len(ips)


def test_members_carry_c3_env() -> None:
    members = {m.name: m for m in component_members(SPEC, PLAN, "tok", None)}
    node = members["node-2"]
    assert node.role is Role.KUBELET
    assert node.command == ["python", "-m", "controlplane.kubelet"]
    assert node.env["CP_NAME"] == "node-2"
    assert node.env["CP_API_URLS"].split(",") == [
        f"http://10.201.7.2:{k.listen.rpartition(':')[2]}"
        for k in component_links(SPEC, PLAN)
        if k.source == "node-2"
    ]
    assert node.env["CP_API_TOKEN"] == "tok"
    assert node.env["CP_STATUS_PORT"] == "10257"
    assert node.env["NODE_MONITOR_GRACE_S"] == "4"
    cm = members["controller-manager-1"]
    assert cm.command == ["python", "-m", "controlplane.controllermanager"]
    bugged = component_members(
        ClusterSpec(schedulers=1, bugs=("bind-without-check",)), PLAN, "t", None
    )
    assert bugged[0].env["CHAOSPLANE_BUGS"] == "bind-without-check"


def _lease(identity: str, renew: dt.datetime, duration: int = 4) -> dict[str, object]:
    return {
        "spec": {
            "holderIdentity": identity,
            "renewTime": renew.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "leaseDurationSeconds": duration,
        }
    }


def test_holder_of_valid_expired_and_empty() -> None:
    now = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.UTC)
    fresh = _lease("controller-manager-2_1a2b3c4d", now - dt.timedelta(seconds=1))
    assert holder_of(fresh, now) == "controller-manager-2"
    stale = _lease("controller-manager-2_1a2b3c4d", now - dt.timedelta(seconds=5))
    assert holder_of(stale, now) is None
    assert holder_of(_lease("", now), now) is None
    assert holder_of({}, now) is None
    assert lease_member("scheduler-1_ab") == "scheduler-1"


def test_info_json_has_components_and_timings() -> None:
    info = ClusterInfo(
        run_id="r", network="n", subnet="s", store={}, apiservers={}, apiservers_direct={},
        toxiproxy="t", api_token="a",
        components={"node-1": "http://10.201.7.61:10257"},
        controlplane_timings=ControlPlaneTimings().to_json(),
    )  # fmt: skip
    out = info.to_json()
    assert out["components"] == {"node-1": "http://10.201.7.61:10257"}
    assert out["controlplane_timings"]["le_lease_duration_s"] == 4.0
    empty = ClusterInfo(
        run_id="r", network="n", subnet="s", store={}, apiservers={}, apiservers_direct={},
        toxiproxy="t", api_token="a",
    )  # fmt: skip
    assert empty.to_json()["components"] == {}
    assert empty.to_json()["controlplane_timings"] == {}
    assert ClusterInfo.from_json(out) == info
    assert ClusterInfo.from_json(empty.to_json()) == empty


def test_lease_holder_rejects_unknown_component() -> None:
    from harness.errors import ClusterError

    info = ClusterInfo(
        run_id="r", network="n", subnet="s", store={}, apiservers={}, apiservers_direct={},
        toxiproxy="t", api_token="a",
    )  # fmt: skip
    with pytest.raises(ClusterError, match="no lease"):
        read_lease_holder(info, "node")


def test_node_ready_reads_the_ready_condition() -> None:
    nodes = {
        "items": [
            {"metadata": {"name": "node-1"}, "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "node-2"}, "status": {"conditions": [
                {"type": "Ready", "status": "Unknown"}]}},
            {"metadata": {"name": "node-3"}, "status": {}},
        ]
    }  # fmt: skip
    assert node_ready(nodes) == {"node-1": "True", "node-2": "Unknown", "node-3": "absent"}
    assert node_ready(None) == {}


class Exited:
    def __init__(self, name: str) -> None:
        self.name = name

    def is_running(self) -> bool:
        return False

    def state_summary(self) -> str:
        return "status=exited running=False exit_code=2"

    def logs(self) -> str:
        return "scheduler-1: CP_API_URLS: unset or empty\n"


def test_readiness_timeout_says_what_it_awaited_and_shows_the_container() -> None:
    from harness.cluster.controllers import wait_components_ready
    from harness.errors import ClusterError

    info = ClusterInfo(
        run_id="r", network="n", subnet="s", store={}, apiservers={},
        apiservers_direct={"api-1": "http://127.0.0.1:9"}, toxiproxy="t", api_token="a",
    )  # fmt: skip
    spec = ClusterSpec(schedulers=1, nodes=1)
    with pytest.raises(ClusterError) as err:
        wait_components_ready(spec, info, [Exited("scheduler-1")], timeout_s=0.5)
    text = str(err.value)
    assert "a holder of Lease kube-system/kube-scheduler" in text
    assert "Ready=True on node-1" in text
    assert "scheduler-1: status=exited" in text
    assert "CP_API_URLS: unset or empty" in text
    assert "hint:" in text

"""What each member container gets (env per ARCHITECTURE.md), link ports, leader agreement."""

from __future__ import annotations

from harness.cluster.leader import agreed_leader
from harness.cluster.links import plan_links
from harness.cluster.members import apiserver_members, proxy_member, store_members
from harness.cluster.subnet import POOL, SubnetPlan
from harness.model.cluster import ClusterSpec, Role

PLAN = SubnetPlan.for_slot(POOL, 7)


def test_store_members_list_every_peer_by_raft_address() -> None:
    members = store_members(ClusterSpec(store_members=3, bugs=("forget-vote",)), PLAN)
    assert [m.name for m in members] == ["store-1", "store-2", "store-3"]
    peers = "store-1=10.201.7.11:2380,store-2=10.201.7.12:2380,store-3=10.201.7.13:2380"
    assert all(m.env["KV_PEERS"] == peers for m in members)
    assert members[1].env["KV_ID"] == "store-2" and members[1].ip == "10.201.7.12"
    assert members[0].env["CHAOSPLANE_BUGS"] == "forget-vote"
    assert members[0].env["KV_ENGINE"] == "pysyncobj"
    assert members[0].probe.path == "/status" and members[0].role is Role.STORE


def test_apiservers_reach_the_store_through_their_own_links() -> None:
    spec = ClusterSpec(store_members=2, apiservers=2)
    api2 = apiserver_members(spec, PLAN, "tok")[1]
    assert api2.env["API_STORE_URLS"] == "http://10.201.7.2:21101,http://10.201.7.2:21102"
    assert api2.env["API_TOKENS"] == "tok=admin:*"
    assert api2.env["API_NAME"] == "api-2" and api2.ip == "10.201.7.32"


def test_links_are_named_as_the_model_says_with_distinct_ports() -> None:
    links = plan_links(PLAN, apiservers=2, store_members=3)
    names = [link.name for link in links]
    assert names[:2] == ["client-api-1", "client-api-2"]
    assert "api-2-store-3" in names and len(names) == 2 + 2 * 3
    assert len({link.listen for link in links}) == len(links)
    by_name = {link.name: link for link in links}
    assert by_name["api-1-store-1"].listen == "10.201.7.2:21001"
    assert by_name["api-1-store-1"].upstream == "10.201.7.11:2379"
    assert by_name["client-api-2"].upstream == "10.201.7.32:6443"


def test_proxy_seed_reaches_the_command() -> None:
    proxy = proxy_member(ClusterSpec(proxy_seed=9), PLAN)
    assert proxy.command is not None and proxy.command[-2:] == ["--seed", "9"]
    assert proxy_member(ClusterSpec(), PLAN).command == [
        "python", "-m", "linkproxy", "--host", "0.0.0.0", "--port", "8474",
    ]  # fmt: skip


def test_leader_needs_a_majority_of_those_answering_and_a_quorum_answering() -> None:
    follower = {"role": "follower", "leader": "store-1"}
    assert (
        agreed_leader(
            {"store-1": {"role": "leader"}, "store-2": follower, "store-3": None}, total=3
        )
        == "store-1"
    )
    # An isolated stale leader alone is no leader; neither is a minority answering.
    assert (
        agreed_leader({"store-1": {"role": "leader"}, "store-2": None, "store-3": None}, total=3)
        is None
    )
    split = {"store-1": {"role": "leader"}, "store-2": {"role": "leader"}}
    assert agreed_leader(split, total=3) is None
    assert agreed_leader({"a": {"role": "candidate"}, "b": {"role": "candidate"}}, total=2) is None

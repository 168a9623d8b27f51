"""Which path network faults take (nsenter or the NET_ADMIN helper), and the helper's lifecycle.

The choice is a pure function of the environment; the helper driver is exercised with a fake
starter whose "containers" run the commands against the same fake netns the nsenter tests use.
"""

from __future__ import annotations

import pytest

from harness.cluster.engine import EngineLocality
from harness.errors import FaultError
from harness.model.cluster import Node
from harness.nemesis.firewall import Firewall
from harness.nemesis.helper import HelperDriver
from harness.nemesis.iptables import CHAIN, DropRule, ProbeResult, render_rules
from harness.nemesis.netpath import (
    ENV,
    FaultPath,
    NsenterDriver,
    PathChoice,
    choose_path,
    choose_path_from_env,
    engine_is_local,
)
from harness.testing.nemesis_fakes import FakeCluster, FakeNet

NSENTER = "/usr/bin/nsenter"


def choose(
    requested: str | None = None,
    *,
    nsenter: str | None = NSENTER,
    euid: int = 0,
    docker_host: str | None = None,
) -> PathChoice:
    return choose_path(requested=requested, nsenter=nsenter, euid=euid, docker_host=docker_host)


def test_auto_on_a_local_engine_as_root_with_nsenter_takes_the_host_path() -> None:
    choice = choose()
    assert choice.path is FaultPath.NSENTER
    assert "root" in choice.reason and NSENTER in choice.reason
    assert choose(docker_host="unix:///var/run/docker.sock").path is FaultPath.NSENTER
    assert choose("auto", docker_host="unix:///tmp/cp-docker2.sock").path is FaultPath.NSENTER


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"nsenter": None}, "nsenter is not on PATH"),
        ({"euid": 1000}, "not running as root (euid 1000)"),
        ({"docker_host": "tcp://10.0.0.5:2375"}, "DOCKER_HOST=tcp://10.0.0.5:2375 is not a local"),
        ({"docker_host": "ssh://ci@big-box"}, "ssh://ci@big-box is not a local unix socket"),
        ({"docker_host": "unix:///run/user/1000/docker.sock"}, "rootless engine"),
    ],
)
def test_auto_takes_the_helper_when_nsenter_cannot_work(
    kwargs: dict[str, object], why: str
) -> None:
    choice = choose(**kwargs)  # type: ignore[arg-type]
    assert choice.path is FaultPath.HELPER
    assert why in choice.reason and choice.reason.startswith("auto: ")


def test_auto_names_every_reason_at_once() -> None:
    reason = choose(nsenter=None, euid=1000, docker_host="tcp://h:2375").reason
    assert "not on PATH" in reason and "euid 1000" in reason and "tcp://h:2375" in reason


def test_helper_can_be_forced_even_where_nsenter_works() -> None:
    choice = choose("helper")
    assert choice == PathChoice(path=FaultPath.HELPER, reason=f"forced by {ENV}=helper")
    assert choose(" HELPER ").path is FaultPath.HELPER


def test_forcing_nsenter_where_it_cannot_work_is_an_error_naming_the_fix() -> None:
    assert choose("nsenter").path is FaultPath.NSENTER
    with pytest.raises(FaultError) as info:
        choose("nsenter", docker_host="tcp://10.0.0.5:2375")
    assert f"{ENV}=helper" in str(info.value) and "tcp://10.0.0.5:2375" in str(info.value)


def test_an_unknown_path_lists_the_valid_ones() -> None:
    with pytest.raises(FaultError) as info:
        choose("netns")
    message = str(info.value)
    assert "'netns'" in message and "auto, nsenter, helper" in message


def test_engine_locality() -> None:
    assert engine_is_local(None)[0] and engine_is_local("")[0]
    assert engine_is_local("unix:///var/run/docker.sock")[0]
    assert not engine_is_local("tcp://127.0.0.1:2375")[0]  # could be a tunnel: not provable
    assert not engine_is_local("npipe:////./pipe/docker_engine")[0]


def test_choice_from_the_environment_reads_the_variable() -> None:
    def never() -> EngineLocality | None:
        raise AssertionError("a forced helper path must not ask the engine")

    assert choose_path_from_env({ENV: "helper"}, locate=never).path is FaultPath.HELPER
    idle = choose_path_from_env({"DOCKER_HOST": "tcp://x:1"}, locate=lambda: None)
    assert idle.path is FaultPath.HELPER and "no running container" in idle.reason


def test_a_checked_remote_engine_picks_the_helper_whatever_the_socket_looks_like() -> None:
    remote = EngineLocality(local=False, reason="PID 4242 does not exist on this host")
    choice = choose_path(
        requested="auto", nsenter="/usr/bin/nsenter", euid=0,
        docker_host="unix:///tmp/tunnel.sock", locality=remote,
    )  # fmt: skip
    assert choice.path is FaultPath.HELPER and "4242" in choice.reason
    with pytest.raises(FaultError, match="4242"):
        choose_path(
            requested="nsenter", nsenter="/usr/bin/nsenter", euid=0, docker_host=None,
            locality=remote,
        )  # fmt: skip


def test_a_checked_local_engine_on_tcp_keeps_nsenter() -> None:
    local = EngineLocality(local=True, reason="PID 4242 is in this host's /proc")
    choice = choose_path(
        requested="auto", nsenter="/usr/bin/nsenter", euid=0,
        docker_host="tcp://127.0.0.1:2375", locality=local,
    )  # fmt: skip
    assert choice.path is FaultPath.NSENTER and "4242" in choice.reason


class FakeHelper:
    """A helper container in the fake netns of one pid: runs the argv as nsenter would."""

    def __init__(self, net: FakeNet, pid: int, name: str) -> None:
        self.net, self.pid, self.name = net, pid, name
        self.removed = False
        self.calls: list[list[str]] = []

    def exec(self, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        assert not self.removed, "exec in a removed helper"
        assert argv[0] == "timeout"  # every command is bounded: exec has no timeout
        self.calls.append(argv)
        inner = argv[2:]
        if inner[:2] == ["sh", "-c"] and "iptables-restore" in inner[2]:
            stdin = (env or {})["CHAOSPLANE_RULES"]
            if CHAIN in inner[2].split("&&")[0]:  # the hook script ran first
                return self.net(
                    ["nsenter", "-t", str(self.pid), "-n", "sh", "-c", inner[2]], stdin, 1
                )
            return self.net(
                ["nsenter", "-t", str(self.pid), "-n", "iptables-restore", "-w", "--noflush"],
                stdin,
                1,
            )
        if inner[0] == "bash":  # a TCP probe
            return self.net(
                ["nsenter", "-t", str(self.pid), "-n", "timeout", argv[1], *inner], None, 1
            )
        return self.net(["nsenter", "-t", str(self.pid), "-n", *inner], None, 1)

    def remove(self) -> None:
        self.removed = True


class FakeStarter:
    def __init__(self, net: FakeNet) -> None:
        self.net = net
        self.helpers: list[FakeHelper] = []

    def __call__(self, node: Node, pid: int) -> FakeHelper:
        helper = FakeHelper(self.net, pid, f"{node.name}-nettools-{pid}")
        self.helpers.append(helper)
        return helper


def helper_firewall(cluster: FakeCluster) -> tuple[Firewall, FakeStarter, HelperDriver]:
    starter = FakeStarter(cluster.net)
    driver = HelperDriver(starter=starter)
    firewall = Firewall(cluster, driver)
    firewall.install()
    return firewall, starter, driver


def test_helper_path_applies_the_same_rules_with_one_helper_per_member() -> None:
    cluster = FakeCluster(3, 1)
    firewall, starter, driver = helper_firewall(cluster)
    grudge = {"store-1": frozenset({"store-2", "store-3"})}
    firewall.set(1, grudge)
    firewall.set(2, {"store-1": frozenset({"store-2"})}, probability=0.5)
    firewall.counters(["store-1"])
    firewall.probe("store-2", "store-1", 2379)
    store_1 = cluster.node("store-1")
    assert cluster.net.drops(store_1.pid()) == {
        cluster.node("store-2").ip,
        cluster.node("store-3").ip,
    }
    assert firewall.path.path is FaultPath.HELPER
    # Two sets, a counter read and a probe: still one helper for store-1 (and one for store-2).
    assert sorted(h.name for h in starter.helpers) == sorted(
        [f"store-1-nettools-{store_1.pid()}", f"store-2-nettools-{cluster.node('store-2').pid()}"]
    )
    assert driver.started == 2
    firewall.clear(1)
    firewall.clear(2)
    assert cluster.net.drops(store_1.pid()) == set()
    assert firewall.leftovers() == []


def test_a_restarted_member_gets_a_new_helper_and_the_old_one_is_removed() -> None:
    cluster = FakeCluster(3, 1)
    firewall, starter, _ = helper_firewall(cluster)
    firewall.set(1, {"store-2": frozenset({"store-1"})})
    node = cluster.node("store-2")
    old_pid = node.pid()
    node.kill()
    node.start()  # the start hook re-applies through a helper in the new netns
    assert node.pid() != old_pid
    assert cluster.net.drops(node.pid()) == {cluster.node("store-1").ip}
    old, new = [h for h in starter.helpers if h.name.startswith("store-2-")]
    assert old.removed and not new.removed and new.pid == node.pid()
    firewall.clear(1)
    firewall.close()
    assert all(h.removed for h in starter.helpers)


def test_helper_probe_reports_a_cut_as_timeout() -> None:
    cluster = FakeCluster(3, 1)
    firewall, _, _ = helper_firewall(cluster)
    firewall.set(1, {"store-1": frozenset({"store-2"})})
    assert firewall.probe("store-2", "store-1", 2379) is ProbeResult.TIMEOUT
    assert firewall.probe("store-3", "store-1", 2379) is ProbeResult.CONNECTED


def test_leftovers_on_the_helper_path_read_back_the_members_it_reached() -> None:
    cluster = FakeCluster(3, 1)
    firewall, _, driver = helper_firewall(cluster)
    firewall.set(1, {"store-1": frozenset({"store-2"})})
    pid = cluster.node("store-1").pid()
    # Broken behind the firewall's back: the rule is back, though our state says healed.
    firewall.clear(1)
    driver.restore(
        cluster.node("store-1"),
        pid,
        render_rules([DropRule(source_ip=cluster.node("store-2").ip)]),
        install_hook=False,
    )
    assert firewall.leftovers() == [
        f"store-1: 1 iptables DROP rule(s) from {cluster.node('store-2').ip}"
    ]


def test_a_netns_given_to_the_firewall_is_the_nsenter_path() -> None:
    cluster = FakeCluster(3, 1)
    from harness.nemesis.iptables import Netns

    firewall = Firewall(cluster, Netns(cluster.net))
    assert isinstance(firewall.driver, NsenterDriver)
    assert firewall.path.path is FaultPath.NSENTER

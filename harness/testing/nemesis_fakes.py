"""Fakes for nemesis unit tests: a cluster, a Toxiproxy, and a simulated ``nsenter`` network.

``FakeNet`` plays the host's ``nsenter … iptables-restore / iptables -L / bash /dev/tcp`` so the
real ``Netns`` command lines run against it: rules live per PID (a restart gives a new PID and
so an empty netns, as in Docker), DROP rules count the packets of TCP probes they drop.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from typing import Any

from harness.errors import ClusterError
from harness.history import FaultEvent
from harness.model.cluster import ClusterInfo, Link, Node, Role, StartHook
from harness.nemesis import FaultContext, make_context
from harness.nemesis.iptables import CHAIN, Netns


class FakeNet:
    """Per-netns (PID) CHAOSPLANE-IN rules, driven through the real ``Netns`` argv."""

    def __init__(self) -> None:
        # pid → [[source_ip, probability, packets, source_port]]
        self.rules: dict[int, list[list[Any]]] = {}
        self.jumps: dict[int, int] = {}  # pid → INPUT jumps installed (must stay ≤ 1)
        self.ip_of_pid: dict[int, str] = {}
        self.pid_of_ip: dict[str, int] = {}
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def register(self, pid: int, ip: str) -> None:
        with self.lock:
            self.ip_of_pid[pid] = ip
            self.pid_of_ip[ip] = pid

    def drops(self, pid: int) -> set[str]:
        return {r[0] for r in self.rules.get(pid, []) if r[1] is None and r[3] is None}

    def _restore(self, pid: int, text: str) -> None:
        rules = []
        for line in text.splitlines():
            if not line.startswith(f"-A {CHAIN} "):
                continue
            ip = re.search(r"-s ([\d.]+)/32", line)
            sport = re.search(r"--sport (\d+)", line)
            p = re.search(r"--probability ([\d.]+)", line)
            assert ip, line
            rules.append(
                [
                    ip.group(1),
                    float(p.group(1)) if p else None,
                    0,
                    int(sport.group(1)) if sport else None,
                ]
            )
        self.rules[pid] = rules

    def _listing(self, pid: int) -> str:
        lines = [
            f"Chain {CHAIN} (1 references)",
            "    pkts      bytes target     prot opt in out source destination",
        ]
        for ip, p, packets, sport in self.rules[pid]:
            extra = f" tcp spt:{sport}" if sport is not None else ""
            extra += f" statistic mode random probability {p}" if p is not None else ""
            lines.append(
                f"{packets:8d} {packets * 60:8d} DROP       0    --  *  *  {ip}  0.0.0.0/0{extra}"
            )
        return "\n".join(lines) + "\n"

    def __call__(self, argv: list[str], stdin: str | None, timeout_s: float) -> tuple[int, str]:
        with self.lock:
            self.calls.append(argv)
            assert argv[:2] == ["nsenter", "-t"] and argv[3] == "-n", argv
            pid, cmd = int(argv[2]), argv[4:]
            if pid not in self.ip_of_pid:
                return 1, f"nsenter: cannot open /proc/{pid}/ns/net: No such file or directory"
            if cmd[0] == "sh":
                self.jumps[pid] = max(self.jumps.get(pid, 0), 1)  # the hook script is idempotent
                self._restore(pid, stdin or "")
                return 0, ""
            if cmd[0] == "iptables-restore":
                self._restore(pid, stdin or "")
                return 0, ""
            if cmd[:2] == ["iptables", "-w"] and cmd[2] == "-L":
                if pid not in self.rules:
                    return 1, "iptables: No chain/target/match by that name."
                return 0, self._listing(pid)
            if cmd[0] == "timeout":
                target = re.search(r"/dev/tcp/([\d.]+)/(\d+)", cmd[-1])
                assert target, cmd
                ip, port = target.group(1), int(target.group(2))
                for rule in self.rules.get(pid, []):  # the answer (SYN-ACK) dropped here
                    if rule[0] == ip and rule[3] == port and rule[1] is None:
                        rule[2] += 1
                        return 124, ""
                if ip == PROXY_IP:
                    return 0, ""
                receiver = self.pid_of_ip.get(ip)
                if receiver is None:
                    return 124, ""
                for rule in self.rules.get(receiver, []):
                    if rule[0] == self.ip_of_pid[pid] and rule[1] is None and rule[3] is None:
                        rule[2] += 1
                        return 124, ""
                return 0, ""
            raise AssertionError(f"unexpected command {argv}")


# Above the kernel's PID_MAX_LIMIT (2**22): a fake pid never names a live host process, which
# the kill fault's /proc check would otherwise find.
_pids = itertools.count(2**22 + 1000)
PROXY_IP = "10.0.0.99"


def link_port(api: int, store: int) -> int:
    return 21000 + 10 * api + store


class FakeNode:
    def __init__(self, cluster: FakeCluster, name: str, role: Role, ip: str) -> None:
        self.cluster, self.name, self.role, self.ip = cluster, name, role, ip
        self.running, self.paused = True, False
        self.broken_pause = False  # pause() silently does nothing (a fault that fails)
        self.starts = 0
        self._pid = next(_pids)
        cluster.net.register(self._pid, ip)

    def pid(self) -> int:
        return self._pid if self.running else 0

    def is_running(self) -> bool:
        return self.running

    def is_paused(self) -> bool:
        return self.paused

    def kill(self) -> None:
        self.running = False
        self.cluster.net.ip_of_pid.pop(self._pid, None)
        self.cluster.on_member_down(self.name)

    def start(self) -> None:
        self.running, self.paused = True, False
        self._pid = next(_pids)
        self.cluster.net.register(self._pid, self.ip)
        self.starts += 1
        for hook in self.cluster.hooks:
            hook(self)

    def restart(self) -> None:
        self.kill()
        self.start()

    def pause(self) -> None:
        if not self.broken_pause:
            self.paused = True
            self.cluster.on_member_down(self.name)

    def unpause(self) -> None:
        self.paused = False

    def wait_ready(self, timeout_s: float) -> None:
        assert self.running

    def logs(self) -> str:
        return ""


class FakeCluster:
    """Store members ``store-1..n`` (10.0.0.1x), apiservers ``api-1..m`` (10.0.0.2x), links.

    Raft is modelled just enough: a leader that is killed, paused or cut off from every other
    store member is replaced by the first healthy member, with the term increased by one.
    """

    def __init__(self, stores: int = 3, apiservers: int = 1) -> None:
        self.net = FakeNet()
        self.hooks: list[StartHook] = []
        self._nodes: dict[str, FakeNode] = {}
        for i in range(1, stores + 1):
            self._nodes[f"store-{i}"] = FakeNode(self, f"store-{i}", Role.STORE, f"10.0.0.1{i}")
        for i in range(1, apiservers + 1):
            self._nodes[f"api-{i}"] = FakeNode(self, f"api-{i}", Role.APISERVER, f"10.0.0.2{i}")
        links = [
            Link(
                name=f"client-api-{i}",
                source="client",
                target=f"api-{i}",
                listen="127.0.0.1:1",
                upstream=f"10.0.0.2{i}:6443",
            )
            for i in range(1, apiservers + 1)
        ]
        links += [
            Link(
                name=f"api-{a}-store-{s}",
                source=f"api-{a}",
                target=f"store-{s}",
                listen=f"{PROXY_IP}:{link_port(a, s)}",
                upstream=f"10.0.0.1{s}:2379",
            )
            for a in range(1, apiservers + 1)
            for s in range(1, stores + 1)
        ]
        self.info = ClusterInfo(
            run_id="fake",
            network="fake-net",
            subnet="10.0.0.0/24",
            store={f"store-{i}": f"http://10.0.0.1{i}:2379" for i in range(1, stores + 1)},
            apiservers={f"api-{i}": f"http://127.0.0.1:1{i}" for i in range(1, apiservers + 1)},
            apiservers_direct={
                f"api-{i}": f"http://10.0.0.2{i}:6443" for i in range(1, apiservers + 1)
            },
            toxiproxy="http://127.0.0.1:8474",
            api_token="t",
            links=links,
        )
        self.current_leader: str | None = "store-1"
        self.term = 1

    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    def node(self, name: str) -> FakeNode:
        return self._nodes[name]

    def store_nodes(self) -> list[Node]:
        return [n for n in self._nodes.values() if n.role == Role.STORE]

    def apiserver_nodes(self) -> list[Node]:
        return [n for n in self._nodes.values() if n.role == Role.APISERVER]

    def add_start_hook(self, hook: StartHook) -> None:
        self.hooks.append(hook)

    def _healthy(self, name: str) -> bool:
        node = self._nodes[name]
        if not node.running or node.paused:
            return False
        others = {n.ip for n in self.store_nodes() if n.name != name}
        return not others <= self.net.drops(node.pid())

    def on_member_down(self, name: str) -> None:
        if name == self.current_leader:
            self.current_leader = None

    def status(self, member: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
        node = self._nodes[member]
        if not node.running or node.paused:
            return None
        leader = self.leader()
        role = "leader" if member == leader else "follower"
        return {"id": member, "role": role, "term": self.term, "leader": leader}

    def leader(self) -> str | None:
        if self.current_leader is not None and self._healthy(self.current_leader):
            return self.current_leader
        old = self.current_leader
        for node in sorted(self.store_nodes(), key=lambda n: n.name):
            if node.name != old and self._healthy(node.name):
                self.current_leader, self.term = node.name, self.term + 1
                return node.name
        return None

    def wait_leader_elected(self, timeout_s: float) -> str:
        leader = self.leader()
        if leader is None:
            raise ClusterError("fake cluster: no leader (the fake elects instantly or never)")
        return leader

    def component_nodes(self, role: Role) -> list[Node]:
        return [n for n in self._nodes.values() if n.role == role]

    def lease_holder(self, component: str) -> str | None:
        return None


class FakeToxiproxy:
    def __init__(self, names: list[str]) -> None:
        self.state: dict[str, dict[str, Any]] = {
            n: {"name": n, "enabled": True, "toxics": []} for n in names
        }
        self.stuck = False  # remove_toxic silently keeps the toxic (a heal that fails)

    def add_toxic(
        self,
        proxy: str,
        *,
        type: str,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        toxic = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes or {}),
        }
        self.state[proxy]["toxics"].append(toxic)
        return toxic

    def remove_toxic(self, proxy: str, name: str) -> None:
        if not self.stuck:
            toxics = self.state[proxy]["toxics"]
            self.state[proxy]["toxics"] = [t for t in toxics if t["name"] != name]

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        self.state[proxy]["enabled"] = enabled

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return list(self.state[proxy]["toxics"])

    def metrics(self, proxy: str) -> dict[str, Any]:
        return {"connections": 0}

    def proxies(self) -> dict[str, dict[str, Any]]:
        return {n: dict(p) for n, p in self.state.items()}


class ListTimeline:
    def __init__(self) -> None:
        self.events: list[FaultEvent] = []
        self.lock = threading.Lock()

    def write(self, record: FaultEvent) -> None:
        with self.lock:
            self.events.append(record)

    def of(self, fault_id: int) -> list[str]:
        return [e.type.value for e in self.events if e.id == fault_id]


def fake_context(
    stores: int = 3, apiservers: int = 1, seed: int = 7
) -> tuple[FaultContext, FakeCluster, FakeToxiproxy, ListTimeline]:
    cluster = FakeCluster(stores, apiservers)
    toxiproxy = FakeToxiproxy([link.name for link in cluster.info.links])
    timeline = ListTimeline()
    ctx = make_context(
        cluster=cluster,
        toxiproxy=toxiproxy,
        timeline=timeline,
        start_ns=time.monotonic_ns(),
        seed=seed,
        netns=Netns(cluster.net),
    )
    return ctx, cluster, toxiproxy, timeline


def seeded(seed: int) -> random.Random:
    return random.Random(seed)

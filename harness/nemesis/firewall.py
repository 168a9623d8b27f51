"""The run's network rule state: every active partition and loss, applied per receiving member.

In a nutshell: each network fault owns an entry (a grudge, optionally with a loss
probability); the firewall merges all entries into one rule set per receiver and applies only
the members whose rules changed, one atomic ``iptables-restore`` each, in parallel. Because a
restarted container gets a fresh netns (rules gone), ``install()`` registers a cluster start hook
that re-applies the member's current rules before it is reported ready. The commands reach a
member's netns through a ``NetnsDriver`` (netpath.py): ``nsenter`` from the host, or a NET_ADMIN
helper container when the host path cannot work (remote or rootless engine, no root).

    fw = Firewall(cluster); fw.install()
    fw.set(owner=3, grudge=build_grudge("halves", members, rng=rng))
    fw.clear(owner=3)  # heal: rules of every touched member back to empty
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.errors import FaultError
from harness.model.cluster import ClusterHandle, Node
from harness.nemesis.iptables import DropRule, Netns, ProbeResult, RuleCounter, render_rules
from harness.nemesis.netpath import NetnsDriver, NsenterDriver, PathChoice, make_driver


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entry:
    grudge: Mapping[str, frozenset[str]]
    probability: float | None  # None: a partition (drop all); else random loss


@dataclass(frozen=True, slots=True, kw_only=True)
class _LinkMap:
    proxy_ip: str
    ports: dict[str, dict[str, int]]  # apiserver → store member → link listen port on the proxy

    @classmethod
    def of(cls, cluster: ClusterHandle) -> _LinkMap:
        ports: dict[str, dict[str, int]] = {}
        proxy_ip = ""
        for link in cluster.info.links:
            if link.source == "client":
                continue
            ip, port = link.listen.rsplit(":", 1)
            proxy_ip = ip
            ports.setdefault(link.source, {})[link.target] = int(port)
        return cls(proxy_ip=proxy_ip, ports=ports)


class Firewall:
    """Desired per-member DROP rules (union of all entries) and the machinery to apply them."""

    def __init__(self, cluster: ClusterHandle, netns: Netns | NetnsDriver | None = None) -> None:
        self.cluster = cluster
        if isinstance(netns, Netns):
            netns = NsenterDriver(netns)
        self.driver: NetnsDriver = netns or make_driver()
        self._entries: dict[int, _Entry] = {}
        self._applied: dict[str, str] = {}  # member → rules text last applied to its netns
        self._hooked: set[tuple[str, int]] = set()  # (member, pid) with chain + jump installed
        self._pids: dict[str, int] = {}
        self._link_map: _LinkMap | None = None
        self._closed = False
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="firewall")

    # -- state ---------------------------------------------------------------------------------

    def install(self) -> None:
        self.cluster.add_start_hook(self.on_start)

    @property
    def path(self) -> PathChoice:
        """How rules reach the netns (recorded in every network fault's ``start`` event)."""
        return self.driver.choice

    def set(
        self, owner: int, grudge: Mapping[str, frozenset[str]], probability: float | None = None
    ) -> list[str]:
        """Add or replace ``owner``'s entry and apply; returns the members whose rules changed."""
        with self._lock:
            self._entries[owner] = _Entry(grudge=dict(grudge), probability=probability)
            return self._sync()

    def clear(self, owner: int) -> list[str]:
        with self._lock:
            self._entries.pop(owner, None)
            return self._sync()

    def active(self) -> bool:
        with self._lock:
            return bool(self._entries)

    def rules_for(self, member: str) -> list[DropRule]:
        with self._lock:
            full: set[str] = set()
            lossy: list[tuple[str, float]] = []
            full_links: set[int] = set()
            lossy_links: list[tuple[int, float]] = []
            for entry in self._entries.values():
                for sender in sorted(entry.grudge.get(member, frozenset())):
                    if entry.probability is None:
                        full.add(sender)
                    else:
                        lossy.append((sender, entry.probability))
                for port in self._cut_link_ports(member, entry.grudge):
                    if entry.probability is None:
                        full_links.add(port)
                    else:
                        lossy_links.append((port, entry.probability))
            rules = [DropRule(source_ip=self._ip(s)) for s in sorted(full)]
            # Sequential loss rules compound (1 - Π(1 - p)), which is what overlapping faults mean.
            rules += [
                DropRule(source_ip=self._ip(s), probability=p) for s, p in lossy if s not in full
            ]
            proxy_ip = self._links().proxy_ip
            rules += [DropRule(source_ip=proxy_ip, source_port=port) for port in sorted(full_links)]
            rules += [
                DropRule(source_ip=proxy_ip, source_port=port, probability=p)
                for port, p in lossy_links
                if port not in full_links
            ]
            return rules

    def _links(self) -> _LinkMap:
        if self._link_map is None:
            self._link_map = _LinkMap.of(self.cluster)
        return self._link_map

    def _cut_link_ports(self, member: str, grudge: Mapping[str, frozenset[str]]) -> list[int]:
        """An apiserver reaches the store only through its Toxiproxy links (``api-i-store-j``),
        so a cut between ``api-i`` and ``store-j`` (either way) also drops, on ``api-i``, the
        proxy's packets from that link's listen port: TCP through it then fails both ways."""
        links = self._links().ports.get(member)
        if not links:
            return []
        return sorted(
            port
            for store, port in links.items()
            if store in grudge.get(member, frozenset()) or member in grudge.get(store, frozenset())
        )

    # -- applying ------------------------------------------------------------------------------

    def _ip(self, member: str) -> str:
        return self.cluster.node(member).ip

    def _pid(self, member: str) -> int:
        pid = self._pids.get(member)
        if pid is None:
            pid = self.cluster.node(member).pid()
            self._pids[member] = pid
        return pid

    def _apply_one(self, member: str, text: str) -> None:
        pid = self._pid(member)
        if pid <= 0:
            return  # not running: the start hook applies its rules when it comes back
        node = self.cluster.node(member)
        try:
            self.driver.restore(node, pid, text, install_hook=(member, pid) not in self._hooked)
        except FaultError:
            # Restarted behind our back (no hook ran): ask Docker for the current PID once.
            fresh = self.cluster.node(member).pid()
            self._pids[member] = fresh
            if fresh in (pid, 0):
                if fresh == 0:
                    return
                raise
            pid = fresh
            self.driver.restore(node, pid, text, install_hook=True)
        self._hooked.add((member, pid))

    def _sync(self) -> list[str]:
        members = {m for e in self._entries.values() for m in e.grudge} | set(self._applied)
        if self._entries:
            members |= set(self._links().ports)  # apiservers whose proxy links may be cut
        wanted = {m: render_rules(self.rules_for(m)) for m in sorted(members)}
        empty = render_rules([])
        changed = [m for m, t in wanted.items() if self._applied.get(m, empty) != t]
        futures = {m: self._pool.submit(self._apply_one, m, wanted[m]) for m in changed}
        errors = []
        for member, future in futures.items():
            try:
                future.result()
                self._applied[member] = wanted[member]
            except Exception as exc:  # why broad: collected, then raised with every member
                errors.append(f"{member}: {exc}")
        for member, text in wanted.items():
            if text == empty:
                self._applied.pop(member, None)
        if errors:
            raise FaultError("applying partition rules failed: " + "; ".join(errors))
        return changed

    def on_start(self, node: Node) -> None:
        """Start hook: a fresh netns has no rules; give it this member's current ones."""
        with self._lock:
            if self._closed:
                return
            self._pids.pop(node.name, None)
            self._hooked = {(m, p) for m, p in self._hooked if m != node.name}
            rules = self.rules_for(node.name)
            if not rules:
                self._applied.pop(node.name, None)
                return
            text = render_rules(rules)
            self._apply_one(node.name, text)
            self._applied[node.name] = text

    def forget_pid(self, member: str) -> None:
        """A member was killed: its next pid is a new netns (the start hook re-applies)."""
        with self._lock:
            self._pids.pop(member, None)

    # -- observing -----------------------------------------------------------------------------

    def counters(self, members: list[str]) -> dict[str, list[RuleCounter]]:
        with self._lock:
            pids = {m: self._pid(m) for m in members}
        futures = {
            m: self._pool.submit(self.driver.counters, self.cluster.node(m), p)
            for m, p in pids.items()
            if p > 0
        }
        return {m: f.result() for m, f in futures.items()}

    def cut_links(self, grudge: Mapping[str, frozenset[str]]) -> list[tuple[str, str, int]]:
        """``(apiserver, proxy ip, listen port)`` of every apiserver→store link the grudge cuts."""
        links = self._links()
        return [
            (api, links.proxy_ip, port)
            for api in sorted(links.ports)
            for port in self._cut_link_ports(api, grudge)
        ]

    def probe_address(self, sender: str, ip: str, port: int, timeout_s: float = 0.5) -> ProbeResult:
        with self._lock:
            pid = self._pid(sender)
        node = self.cluster.node(sender)
        return self.driver.tcp_probe(node, pid, ip, port, timeout_s=timeout_s)

    def probe(self, sender: str, receiver: str, port: int, timeout_s: float = 0.5) -> ProbeResult:
        """A TCP connect from ``sender``'s netns to ``receiver``: ``TIMEOUT`` when cut."""
        with self._lock:
            pid = self._pid(sender)
        node = self.cluster.node(sender)
        return self.driver.tcp_probe(node, pid, self._ip(receiver), port, timeout_s=timeout_s)

    def leftovers(self) -> list[str]:
        """Rules still present in any running member's netns (read back, not from our state;
        on the helper path only members this firewall reached can hold its rules)."""
        out: list[str] = []
        running = [
            n for n in self.cluster.nodes() if self.driver.touched(n.name) and n.is_running()
        ]
        with self._lock:
            self._pids = {n.name: n.pid() for n in running}
        for member, counters in self.counters([n.name for n in running]).items():
            if counters:
                sources = ", ".join(c.source_ip for c in counters)
                out.append(f"{member}: {len(counters)} iptables DROP rule(s) from {sources}")
        return out

    def close(self) -> None:
        """Retire this firewall: its start hook does nothing from now on (the cluster has no
        way to remove a hook, and a later context brings its own firewall)."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False)
        self.driver.close()

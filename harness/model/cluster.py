"""The typed face of a running cluster, as the nemesis, workloads and the run see it.

``harness.cluster`` implements these; everything else codes against them. Names:
store members ``store-1..N``, apiservers ``api-1..M``, the link proxy ``toxiproxy``.
Links (Toxiproxy proxies): ``client-api-<i>`` (host → apiserver ``api-<i>``) and
``api-<i>-store-<j>`` (apiserver ``api-<i>`` → store member ``store-<j>``). The controller
layer (contract C5): ``controller-manager-<i>``, ``scheduler-<i>``, ``node-<i>`` (simulated
kubelets), each reaching apiserver ``api-<j>`` through link ``<member>-api-<j>``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class Role(enum.StrEnum):
    STORE = "store"
    APISERVER = "apiserver"
    PROXY = "proxy"
    CONTROLLER_MANAGER = "controller-manager"
    SCHEDULER = "scheduler"
    KUBELET = "node"


COMPONENT_ROLES = (Role.CONTROLLER_MANAGER, Role.SCHEDULER, Role.KUBELET)


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlPlaneTimings:
    """Leader-election and node-lifecycle durations of the controller layer (contract C3)."""

    lease_duration_s: float = 4.0
    renew_deadline_s: float = 3.0
    retry_period_s: float = 0.5
    node_lease_duration_s: float = 4.0
    node_renew_interval_s: float = 1.0
    node_monitor_period_s: float = 0.5
    node_monitor_grace_s: float = 4.0
    pod_eviction_timeout_s: float = 6.0

    def to_env(self) -> dict[str, str]:
        """The C3 environment variables (``LE_LEASE_DURATION_S`` …)."""
        return {
            "LE_LEASE_DURATION_S": _num(self.lease_duration_s),
            "LE_RENEW_DEADLINE_S": _num(self.renew_deadline_s),
            "LE_RETRY_PERIOD_S": _num(self.retry_period_s),
            "NODE_LEASE_DURATION_S": _num(self.node_lease_duration_s),
            "NODE_RENEW_INTERVAL_S": _num(self.node_renew_interval_s),
            "NODE_MONITOR_PERIOD_S": _num(self.node_monitor_period_s),
            "NODE_MONITOR_GRACE_S": _num(self.node_monitor_grace_s),
            "POD_EVICTION_TIMEOUT_S": _num(self.pod_eviction_timeout_s),
        }

    def to_json(self) -> dict[str, float]:
        """Lower-cased env names → seconds (run.json ``controlplane_timings``)."""
        return {k.lower(): float(v) for k, v in self.to_env().items()}


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSpec:
    store_members: int = 3  # 1–7
    apiservers: int = 2  # 1–5
    engine: str = "pysyncobj"  # pysyncobj | raftos | etcd
    bugs: tuple[str, ...] = ()  # bug-zoo switches passed to the control plane
    proxy_seed: int | None = None  # deterministic toxics
    log_dir: Path | None = None  # member logs land here at teardown
    ready_timeout_s: float = 60.0
    controller_managers: int = 0  # 0–3
    schedulers: int = 0  # 0–3
    nodes: int = 0  # 0–10 simulated kubelets
    controlplane_timings: ControlPlaneTimings = field(default_factory=ControlPlaneTimings)

    @property
    def has_components(self) -> bool:
        return bool(self.controller_managers or self.schedulers or self.nodes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    name: str  # Toxiproxy proxy name, e.g. "client-api-1", "api-1-store-2", "node-3-api-1"
    source: str  # "client" or a member name
    target: str  # member name
    listen: str  # "ip:port" on the proxy container, reachable from the host
    upstream: str  # "ip:port" of the target


class Node(Protocol):
    """One container of the cluster. Process faults go through here."""

    name: str
    role: Role
    ip: str

    def pid(self) -> int: ...  # host PID of the container's init (for nsenter); reloads
    def is_running(self) -> bool: ...
    def is_paused(self) -> bool: ...
    def kill(self) -> None: ...  # SIGKILL and wait until the container has exited
    def start(self) -> None: ...  # start again, run on_start hooks, wait until ready
    def restart(self) -> None: ...
    def pause(self) -> None: ...  # cgroup freezer
    def unpause(self) -> None: ...
    def wait_ready(self, timeout_s: float) -> None: ...
    def logs(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterInfo:
    """What ``chaosplane up`` prints and what a workload needs: addresses only."""

    run_id: str
    network: str
    subnet: str
    store: dict[str, str]  # member name → base URL reachable from the host (direct)
    apiservers: dict[str, str]  # apiserver name → base URL through its client link
    apiservers_direct: dict[str, str]  # apiserver name → base URL without the proxy
    toxiproxy: str  # Toxiproxy API base URL reachable from the host
    api_token: str
    links: list[Link] = field(default_factory=list)
    ca_pem: str = ""  # the run's CA when the apiservers serve https (contract C1); "" for http
    kubeconfig: str = ""  # path of the kubeconfig written for this cluster; "" when none
    components: dict[str, str] = field(default_factory=dict)  # member → its /status base URL
    controlplane_timings: dict[str, float] = field(default_factory=dict)  # {} without components
    # The store's engine as the run's spec says (``Engine`` value); "" = not known here (e.g.
    # an older ``chaosplane up`` output), and a workload that needs it probes the store.
    engine: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterInfo:
        """The inverse of ``to_json`` (e.g. ``chaosplane up``'s output read back by a client)."""
        names = [n for n in cls.__dataclass_fields__ if n != "links"]
        links = [Link(**k) for k in data.get("links") or []]
        return cls(**{n: data[n] for n in names if n in data}, links=links)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "network": self.network,
            "subnet": self.subnet,
            "store": self.store,
            "apiservers": self.apiservers,
            "apiservers_direct": self.apiservers_direct,
            "toxiproxy": self.toxiproxy,
            "api_token": self.api_token,
            "ca_pem": self.ca_pem,
            "kubeconfig": self.kubeconfig,
            "components": self.components,
            "controlplane_timings": self.controlplane_timings,
            "engine": self.engine,
            "links": [
                {
                    "name": k.name,
                    "source": k.source,
                    "target": k.target,
                    "listen": k.listen,
                    "upstream": k.upstream,
                }
                for k in self.links
            ],
        }


StartHook = Callable[[Node], None]
"""Called after a node (re)starts, before it is reported ready: the nemesis re-applies the
partition rules the node lost with its old network namespace."""


class ClusterHandle(Protocol):
    info: ClusterInfo

    def nodes(self) -> list[Node]: ...
    def node(self, name: str) -> Node: ...
    def store_nodes(self) -> list[Node]: ...
    def apiserver_nodes(self) -> list[Node]: ...
    def add_start_hook(self, hook: StartHook) -> None: ...
    def status(self, member: str, timeout_s: float = 1.0) -> dict[str, Any] | None: ...
    def leader(self) -> str | None: ...  # the member a majority of reachable members name, or None
    def wait_leader_elected(self, timeout_s: float) -> str: ...
    def component_nodes(self, role: Role) -> list[Node]: ...  # controller layer (C5)
    # The member (e.g. "controller-manager-2") holding Lease kube-system/<kube-controller-manager
    # | kube-scheduler> right now, read through an apiserver; None when no valid holder.
    def lease_holder(self, component: str) -> str | None: ...

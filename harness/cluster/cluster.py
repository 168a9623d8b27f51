"""A running cluster in Docker: network → link proxy → store → links → apiservers.

In a nutshell: ``start_cluster(spec)`` is a context manager yielding a ``DockerCluster`` (a
``ClusterHandle``, see model.py) that is ready: every member logged ``listening`` and answers
its probe, and a majority of the store agrees on a leader. It reaps dead runs' leftovers
first, gives the run a fresh labelled network with its own /24 and static IPs, and tears
everything down on the way out — normal end, exception, Ctrl-C, SIGTERM — writing member logs
to ``spec.log_dir`` first. ``DockerCluster.start``/``teardown`` are the same steps for callers
that manage the lifetime themselves (``chaosplane up``). The apiservers serve https with
certificates from a CA made for the run (tls.py); ``info.ca_pem`` is that CA and
``info.kubeconfig`` the kubeconfig written for the cluster (kubeconfig.py): at
``kubeconfig_path`` when given (a run directory), else in ``state_dir(run_id)``, which the
reaper (teardown, ``chaosplane down``) removes.

    with start_cluster(ClusterSpec(store_members=3, apiservers=2)) as cluster:
        cluster.wait_leader_elected(10.0); cluster.info.apiservers["api-1"]
"""

from __future__ import annotations

import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cluster import labels as L
from harness.cluster import tcenv
from harness.cluster.components import component_links, component_members, component_names
from harness.cluster.controllers import read_lease_holder, wait_components_ready
from harness.cluster.info import make_info, save_member_logs
from harness.cluster.kubeconfig import kubeconfig, state_dir, write_kubeconfig
from harness.cluster.leader import agreed_leader
from harness.cluster.links import PROXY_API_PORT, plan_links, populate
from harness.cluster.members import (
    MemberSpec,
    apiserver_members,
    apiserver_names,
    proxy_member,
    store_members,
)
from harness.cluster.node import ContainerNode, tail
from harness.cluster.reaper import reap_dead, reap_run
from harness.cluster.status import fetch_status
from harness.cluster.subnet import SubnetPlan, create_network
from harness.cluster.tls import RunPki, client_context, make_run_pki
from harness.errors import ClusterError
from harness.images import ImageTags, require_images
from harness.model.cluster import (
    COMPONENT_ROLES,
    ClusterHandle,
    ClusterInfo,
    ClusterSpec,
    Node,
    Role,
    StartHook,
)

tcenv.prepare()  # before testcontainers is imported below (in the functions that use it)


class DockerCluster:
    """``ClusterHandle`` over Docker containers. Build with ``start_cluster`` or ``start()``."""

    def __init__(
        self,
        spec: ClusterSpec,
        *,
        images: ImageTags | None = None,
        run_id: str | None = None,
        owner: L.Owner | None = None,
        kubeconfig_path: Path | None = None,
    ) -> None:
        self.spec = spec
        self.run_id = run_id or L.new_run_id()
        self.owner = owner or L.current_owner()
        self._images = images
        self._hooks: list[StartHook] = []
        self._nodes: dict[str, ContainerNode] = {}
        self._network: Any = None
        self._plan: SubnetPlan | None = None
        self._client: Any = None
        self._token = "admin-" + secrets.token_hex(12)
        self._pki: RunPki | None = None
        # None: the kubeconfig goes to this run's state dir, which teardown removes with it.
        self._kubeconfig_path = kubeconfig_path
        self._lifecycle_token: int | None = None
        self._torn_down = threading.Event()
        self.timings_s: dict[str, float] = {}  # bring-up phases, for run.json and benchmarks
        self.info = ClusterInfo(
            run_id=self.run_id, network="", subnet="", store={}, apiservers={},
            apiservers_direct={}, toxiproxy="", api_token=self._token,
        )  # fmt: skip

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> DockerCluster:
        import docker

        from harness.cluster import lifecycle

        phase = self._phase
        with phase("preflight"):  # images present, leftovers of dead runs reaped
            images = self._images or require_images()
            store_image = images.app
            if self.spec.engine == "etcd":  # real etcd: its own image (harness/images/etcd.py)
                from harness.images.etcd import require_etcd_image

                store_image = require_etcd_image()
            self._client = docker.from_env()
            reap_dead(self._client)
        self._lifecycle_token = lifecycle.register(self.teardown)
        try:
            with phase("network"):
                self._create_network()
            plan = self._require_plan()
            self._pki = make_run_pki(
                self.run_id, apiservers=apiserver_names(self.spec, plan), proxy_ip=plan.proxy_ip
            )
            links = plan_links(
                plan, apiservers=self.spec.apiservers, store_members=self.spec.store_members
            ) + component_links(self.spec, plan)
            # Every container starts at once (Python start-up in the containers is the slow
            # part); the links are made as soon as the proxy answers. Apiservers retry the
            # store until their links exist, and /readyz says when they got through.
            with phase("launch"):
                launched = self._launch(
                    [(proxy_member(self.spec, plan), images.proxy)]
                    + [(m, store_image) for m in store_members(self.spec, plan)]
                    + [
                        (m, images.app)
                        for m in apiserver_members(self.spec, plan, self._token, self._pki)
                        + component_members(self.spec, plan, self._token, self._pki)
                    ]
                )
            with phase("proxy ready"):
                self._wait_ready(launched[:1])
            with phase("links"):
                populate(f"http://{plan.proxy_ip}:{PROXY_API_PORT}", links)
            with phase("members ready"):
                self._wait_ready(launched[1:])
            self.info = self._make_info(links)
            self.info = replace(self.info, kubeconfig=str(self._write_kubeconfig()))
            with phase("leader"):
                self.wait_leader_elected(self.spec.ready_timeout_s)
            with phase("apiservers ready"):
                self._wait_apiservers_ready()
            if self.spec.has_components:  # a lease holder per elected component, nodes Ready
                with phase("controllers ready"):
                    wait_components_ready(
                        self.spec, self.info, self._component_nodes(), self.spec.ready_timeout_s
                    )
        except BaseException:
            self.teardown()
            raise
        return self

    def teardown(self) -> None:
        """Save member logs, remove containers and network. Idempotent and thread-safe."""
        if self._torn_down.is_set():
            return
        self._torn_down.set()
        from harness.cluster import lifecycle

        try:
            self._save_logs()
        finally:
            if self._client is not None:
                reap_run(self._client, self.run_id)
            if self._lifecycle_token is not None:
                lifecycle.unregister(self._lifecycle_token)

    def detach(self) -> None:
        """Leave the cluster running when this process exits: no teardown, no atexit.

        With the default owner (this process) the reaper removes it at the first cluster start
        after this process has exited; with ``labels.detached_owner`` (``chaosplane up``) only
        ``chaosplane down RUN_ID`` or ``chaosplane clean --all`` does.
        """
        from harness.cluster import lifecycle

        if self._lifecycle_token is not None:
            lifecycle.unregister(self._lifecycle_token)
            self._lifecycle_token = None
        self._torn_down.set()

    def __enter__(self) -> DockerCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    # -- ClusterHandle ----------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    def node(self, name: str) -> Node:
        return self.container_node(name)

    def container_node(self, name: str) -> ContainerNode:
        try:
            return self._nodes[name]
        except KeyError:
            raise ClusterError(f"no member {name!r}; members: {', '.join(self._nodes)}") from None

    def store_nodes(self) -> list[Node]:
        return [n for n in self._nodes.values() if n.role is Role.STORE]

    def apiserver_nodes(self) -> list[Node]:
        return [n for n in self._nodes.values() if n.role is Role.APISERVER]

    def component_nodes(self, role: Role) -> list[Node]:
        return [n for n in self._component_nodes() if n.role is role]

    def lease_holder(self, component: str) -> str | None:
        return read_lease_holder(self.info, component)

    def add_start_hook(self, hook: StartHook) -> None:
        self._hooks.append(hook)

    def remove_start_hook(self, hook: StartHook) -> None:
        """Undo ``add_start_hook`` (tests sharing one cluster must not leave hooks behind)."""
        if hook in self._hooks:
            self._hooks.remove(hook)

    def status(self, member: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
        url = self.info.store.get(member)
        if url is None:
            raise ClusterError(f"no store member {member!r}; members: {', '.join(self.info.store)}")
        return fetch_status(url, timeout_s, etcd=self.spec.engine == "etcd")

    def statuses(self, timeout_s: float = 1.0) -> dict[str, dict[str, Any] | None]:
        members = list(self.info.store)
        with ThreadPoolExecutor(max_workers=max(1, len(members))) as pool:
            answers = pool.map(lambda m: self.status(m, timeout_s), members)
            return dict(zip(members, answers, strict=True))

    def leader(self) -> str | None:
        return agreed_leader(self.statuses(), total=len(self.info.store))

    def wait_leader_elected(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        last: dict[str, dict[str, Any] | None] = {}
        while True:
            last = self.statuses()
            leader = agreed_leader(last, total=len(self.info.store))
            if leader is not None:
                return leader
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        seen = "; ".join(
            f"{m}: " + ("unreachable" if s is None else f"role={s.get('role')} "
                        f"term={s.get('term')} leader={s.get('leader')}")
            for m, s in last.items()
        )  # fmt: skip
        states = "; ".join(f"{n.name}: {n.state_summary()}" for n in self._store_container_nodes())
        raise ClusterError(
            f"no leader agreed by a majority of {len(self.info.store)} store members after "
            f"{timeout_s:.1f} s; last answers: {seen}; containers: {states}; "
            f"hint: a member stuck as candidate usually cannot reach its peers (check KV_PEERS "
            f"and partitions)"
        )

    # -- internals ------------------------------------------------------------------------

    def _component_nodes(self) -> list[ContainerNode]:
        """Controller-layer members in C5 order: controller-managers, schedulers, nodes."""
        order = {name: k for k, (_, _, name) in enumerate(component_names(self.spec))}
        members = [n for n in self._nodes.values() if n.role in COMPONENT_ROLES]
        return sorted(members, key=lambda n: order.get(n.name, len(order)))

    def _store_container_nodes(self) -> list[ContainerNode]:
        return [n for n in self._nodes.values() if n.role is Role.STORE]

    def _require_plan(self) -> SubnetPlan:
        if self._plan is None:
            raise ClusterError("the cluster network has not been created")
        return self._plan

    def _create_network(self) -> None:
        from docker.types import IPAMConfig, IPAMPool

        name = f"{self.run_id}-net"

        def create(plan: SubnetPlan) -> Any:
            ipam = IPAMConfig(
                pool_configs=[IPAMPool(subnet=str(plan.subnet), gateway=plan.gateway)]
            )
            return self._client.networks.create(
                name, driver="bridge", ipam=ipam, labels=L.run_labels(self.run_id, self.owner)
            )

        self._network, self._plan = create_network(self.run_id, create)

    def _launch(self, members: list[tuple[MemberSpec, str]]) -> list[ContainerNode]:
        """Create and start (member, image) containers in parallel; no readiness wait."""
        with ThreadPoolExecutor(max_workers=max(1, len(members))) as pool:
            return list(pool.map(lambda pair: self._create_and_start(*pair), members))

    def _wait_apiservers_ready(self) -> None:
        # /readyz, not /healthz: ready means the store answered and the system namespaces
        # exist, so a workload's first request does not meet a 404 for "default".
        nodes = [n for n in self._nodes.values() if n.role is Role.APISERVER]
        timeout_s = self.spec.ready_timeout_s
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            for future in [pool.submit(n.wait_http, "/readyz", timeout_s) for n in nodes]:
                future.result()

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings_s[name] = round(time.monotonic() - started, 3)

    def _wait_ready(self, nodes: list[ContainerNode]) -> None:
        timeout_s = self.spec.ready_timeout_s
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            for future in [pool.submit(n.wait_ready, timeout_s) for n in nodes]:
                future.result()

    def _create_and_start(self, member: MemberSpec, image: str) -> ContainerNode:
        from docker.types import EndpointConfig
        from testcontainers.core.container import DockerContainer

        net = f"{self.run_id}-net"
        container = DockerContainer(image).with_name(f"{self.run_id}-{member.name}")
        for key, value in member.env.items():
            container.with_env(key, value)
        if member.command is not None:
            container.with_command(member.command)
        # with_kwargs replaces earlier kwargs (notes §2.3): everything in one call.
        container.with_kwargs(
            labels=L.member_labels(self.run_id, self.owner, member.name),
            init=True,
            hostname=member.name,
            network=net,
            networking_config={
                net: EndpointConfig("1.41", aliases=[member.name], ipv4_address=member.ip)
            },
        )
        node = ContainerNode(
            name=member.name,
            role=member.role,
            ip=member.ip,
            container=container,
            probe=member.probe,
            hooks=self._hooks,
            default_timeout_s=self.spec.ready_timeout_s,
        )
        self._nodes[member.name] = node  # before start: teardown saves its log if start fails
        container.start()
        return node

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The ``ssl.SSLContext`` that trusts this run's apiservers (shared, built once)."""
        if self._pki is None:
            raise ClusterError("the cluster has not been started: no CA yet")
        return client_context(self._pki.ca_pem)

    def _write_kubeconfig(self) -> Path:
        path = self._kubeconfig_path or state_dir(self.run_id) / "kubeconfig"
        return write_kubeconfig(path, kubeconfig(self.info))

    def _make_info(self, links: list[Any]) -> ClusterInfo:
        return make_info(
            self.spec, run_id=self.run_id, subnet=str(self._require_plan().subnet),
            nodes=list(self._nodes.values()), components=self._component_nodes(), links=links,
            token=self._token, ca_pem=self._pki.ca_pem if self._pki is not None else "",
        )  # fmt: skip

    def save_logs(self) -> None:
        """Write every member's log (all incarnations) to ``spec.log_dir``, if set."""
        self._save_logs()

    def _save_logs(self) -> None:
        if self.spec.log_dir is not None:
            save_member_logs(list(self._nodes.values()), self.spec.log_dir)


@contextmanager
def start_cluster(spec: ClusterSpec, *, images: ImageTags | None = None) -> Iterator[DockerCluster]:
    cluster = DockerCluster(spec, images=images)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.teardown()


if TYPE_CHECKING:  # mypy proves the classes implement model.py's protocols

    def _conforms(cluster: DockerCluster, node: ContainerNode) -> tuple[ClusterHandle, Node]:
        return cluster, node


__all__ = ["DockerCluster", "start_cluster", "tail"]

"""What each member container gets: name, address, environment, command, readiness probe.

In a nutshell: pure functions from a ``ClusterSpec`` and a ``SubnetPlan`` to ``MemberSpec``s,
following the container contract in ARCHITECTURE.md (``KV_*`` for store members, ``API_*`` for
apiservers — ``API_TLS_CERT``/``API_TLS_KEY`` from the run's PKI, so they serve https — and
``python -m linkproxy`` for the proxy). No Docker here, so it is unit-tested.

    specs = store_members(spec, plan)   # [MemberSpec(name="store-1", ip="10.201.7.11", …), …]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.cluster.links import (
    API_PORT,
    PROXY_API_PORT,
    STORE_HTTP_PORT,
    STORE_RAFT_PORT,
    store_link_port,
)
from harness.cluster.node import ReadyProbe
from harness.cluster.subnet import SubnetPlan
from harness.cluster.tls import RunPki
from harness.model.cluster import ClusterSpec, Role

PROXY_NAME = "toxiproxy"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberSpec:
    name: str
    role: Role
    ip: str
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None  # None: the image's CMD
    probe: ReadyProbe


def proxy_member(spec: ClusterSpec, plan: SubnetPlan) -> MemberSpec:
    command = ["python", "-m", "linkproxy", "--host", "0.0.0.0", "--port", str(PROXY_API_PORT)]
    if spec.proxy_seed is not None:
        command += ["--seed", str(spec.proxy_seed)]
    return MemberSpec(
        name=PROXY_NAME,
        role=Role.PROXY,
        ip=plan.proxy_ip,
        command=command,
        probe=ReadyProbe(port=PROXY_API_PORT, path="/version"),
    )


def store_members(spec: ClusterSpec, plan: SubnetPlan) -> list[MemberSpec]:
    if spec.engine == "etcd":  # real etcd, not the kvstore (harness/cluster/etcd.py)
        from harness.cluster.etcd import etcd_members

        return list(etcd_members(spec, plan))
    n = spec.store_members
    # Raft talks member to member directly; faults on it are iptables partitions, not links.
    peers = ",".join(f"store-{j}={plan.store_ip(j)}:{STORE_RAFT_PORT}" for j in range(1, n + 1))
    return [
        MemberSpec(
            name=f"store-{j}",
            role=Role.STORE,
            ip=plan.store_ip(j),
            env={
                "KV_ID": f"store-{j}",
                "KV_PEERS": peers,
                "KV_ENGINE": spec.engine,
                "KV_DATA_DIR": "/data",
                "KV_HTTP_PORT": str(STORE_HTTP_PORT),
                "KV_RAFT_PORT": str(STORE_RAFT_PORT),
                "CHAOSPLANE_BUGS": ",".join(spec.bugs),
            },
            command=["python", "-m", "controlplane.kvstore"],
            probe=ReadyProbe(port=STORE_HTTP_PORT, path="/status"),
        )
        for j in range(1, n + 1)
    ]


def apiserver_names(spec: ClusterSpec, plan: SubnetPlan) -> dict[str, str]:
    """Apiserver name → its IP (what the run's server certificates are made for)."""
    return {f"api-{i}": plan.api_ip(i) for i in range(1, spec.apiservers + 1)}


def apiserver_members(
    spec: ClusterSpec, plan: SubnetPlan, admin_token: str, pki: RunPki | None = None
) -> list[MemberSpec]:
    """The apiservers; with ``pki`` each serves https with its own certificate."""
    members: list[MemberSpec] = []
    for i in range(1, spec.apiservers + 1):
        tls_env: dict[str, str] = {}
        if pki is not None:
            cert = pki.server(f"api-{i}")
            tls_env = {"API_TLS_CERT": cert.cert_pem, "API_TLS_KEY": cert.key_pem}
        store_urls = ",".join(
            f"http://{plan.proxy_ip}:{store_link_port(i, j)}"
            for j in range(1, spec.store_members + 1)
        )
        members.append(
            MemberSpec(
                name=f"api-{i}",
                role=Role.APISERVER,
                ip=plan.api_ip(i),
                env={
                    "API_NAME": f"api-{i}",
                    "API_STORE_URLS": store_urls,
                    "API_PORT": str(API_PORT),
                    "API_STORE_KIND": "etcd" if spec.engine == "etcd" else "kvstore",
                    "API_TOKENS": f"{admin_token}=admin:*",
                    "CHAOSPLANE_BUGS": ",".join(spec.bugs),
                    **tls_env,
                },
                command=["python", "-m", "controlplane.apiserver"],
                probe=ReadyProbe(
                    port=API_PORT, path="/healthz", ca_pem=pki.ca_pem if pki else None
                ),
            )
        )
    return members

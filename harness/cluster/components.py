"""The controller layer in the cluster (contract C5): members, their links, lease holders.

In a nutshell: pure functions from a ``ClusterSpec`` and a ``SubnetPlan`` to the
controller-manager, scheduler and simulated-kubelet members (``controller-manager-<i>``,
``scheduler-<i>``, ``node-<i>``, each ``python -m controlplane.<component>`` from the app
image with the C3 environment), and to their Toxiproxy links ``<member>-api-<j>`` (one per
apiserver: ``CP_API_URLS`` lists them, https with the run's CA). :func:`read_lease_holder`
reads Lease ``kube-system/<kube-controller-manager|kube-scheduler>`` through an apiserver
and names the member holding it. Addresses: ``controller-manager-i`` .40+i,
``scheduler-i`` .50+i, ``node-i`` .60+i; link ports 23000 + 100·kind + 10·(i-1) + j.

    members = component_members(spec, plan, token, pki)   # [MemberSpec("controller-manager-1"…
    read_lease_holder(cluster.info, "scheduler")          # "scheduler-2" | None
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from harness.cluster.links import API_PORT
from harness.cluster.model import ClusterInfo, ClusterSpec, Link, Role
from harness.cluster.node import ReadyProbe
from harness.cluster.subnet import SubnetPlan
from harness.cluster.tls import RunPki, client_context
from harness.errors import ClusterError

STATUS_PORT = 10257
LIMITS = {Role.CONTROLLER_MANAGER: 3, Role.SCHEDULER: 3, Role.KUBELET: 10}
_IP_BASE = {Role.CONTROLLER_MANAGER: 40, Role.SCHEDULER: 50, Role.KUBELET: 60}
_PORT_KIND = {Role.CONTROLLER_MANAGER: 0, Role.SCHEDULER: 1, Role.KUBELET: 2}
MODULES = {
    Role.CONTROLLER_MANAGER: "controlplane.controllermanager",
    Role.SCHEDULER: "controlplane.scheduler",
    Role.KUBELET: "controlplane.kubelet",
}
LEASES = {"controller-manager": "kube-controller-manager", "scheduler": "kube-scheduler"}
LEASE_NAMESPACE = "kube-system"


def replicas(spec: ClusterSpec, role: Role) -> int:
    counts = {
        Role.CONTROLLER_MANAGER: spec.controller_managers,
        Role.SCHEDULER: spec.schedulers,
        Role.KUBELET: spec.nodes,
    }
    return counts.get(role, 0)


def component_names(spec: ClusterSpec) -> list[tuple[Role, int, str]]:
    """(role, index, member name) of every component member, in start order."""
    return [
        (role, i, f"{role.value}-{i}")
        for role in (Role.CONTROLLER_MANAGER, Role.SCHEDULER, Role.KUBELET)
        for i in range(1, replicas(spec, role) + 1)
    ]


def component_ip(plan: SubnetPlan, role: Role, i: int) -> str:
    return plan.host(_IP_BASE[role] + i)


def component_link_port(role: Role, i: int, j: int) -> int:
    return 23000 + 100 * _PORT_KIND[role] + 10 * (i - 1) + j


def component_links(spec: ClusterSpec, plan: SubnetPlan) -> list[Link]:
    """Link ``<member>-api-<j>`` for every component member and apiserver."""
    return [
        Link(
            name=f"{name}-api-{j}",
            source=name,
            target=f"api-{j}",
            listen=f"{plan.proxy_ip}:{component_link_port(role, i, j)}",
            upstream=f"{plan.api_ip(j)}:{API_PORT}",
        )
        for role, i, name in component_names(spec)
        for j in range(1, spec.apiservers + 1)
    ]


def component_members(
    spec: ClusterSpec, plan: SubnetPlan, admin_token: str, pki: RunPki | None
) -> list[Any]:
    """The component ``MemberSpec``s (members.py), with the C3 environment."""
    from harness.cluster.members import MemberSpec

    scheme = "https" if pki is not None else "http"
    common = {
        "CP_API_TOKEN": admin_token,
        "CP_API_CA": pki.ca_pem if pki is not None else "",
        "CP_STATUS_PORT": str(STATUS_PORT),
        "CHAOSPLANE_BUGS": ",".join(spec.bugs),
        "PYTHONUNBUFFERED": "1",
        **spec.controlplane_timings.to_env(),
    }
    members: list[Any] = []
    for role, i, name in component_names(spec):
        urls = ",".join(
            f"{scheme}://{plan.proxy_ip}:{component_link_port(role, i, j)}"
            for j in range(1, spec.apiservers + 1)
        )
        members.append(
            MemberSpec(
                name=name,
                role=role,
                ip=component_ip(plan, role, i),
                env={**common, "CP_NAME": name, "CP_API_URLS": urls},
                command=["python", "-m", MODULES[role]],
                probe=ReadyProbe(port=STATUS_PORT, path="/status"),
            )
        )
    return members


def lease_member(holder_identity: str) -> str:
    """``controller-manager-2_1a2b3c4d`` → ``controller-manager-2``."""
    return holder_identity.rpartition("_")[0] or holder_identity


def holder_of(lease: dict[str, Any], now: dt.datetime) -> str | None:
    """The member holding ``lease`` at ``now`` (wall clock), None when unheld or expired."""
    spec = lease.get("spec") or {}
    identity = str(spec.get("holderIdentity") or "")
    renew = spec.get("renewTime") or spec.get("acquireTime")
    duration = spec.get("leaseDurationSeconds")
    if not identity or not renew or not duration:
        return None
    try:
        renewed = dt.datetime.fromisoformat(str(renew).replace("Z", "+00:00"))
    except ValueError:
        return None
    if renewed.tzinfo is None:
        renewed = renewed.replace(tzinfo=dt.UTC)
    if renewed + dt.timedelta(seconds=float(duration)) <= now:
        return None
    return lease_member(identity)


def read_lease(info: ClusterInfo, component: str, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """Lease of ``component`` via the first apiserver that answers; None when it has none."""
    try:
        name = LEASES[component]
    except KeyError:
        raise ClusterError(
            f"lease_holder: component {component!r} has no lease; expected one of "
            f"{', '.join(LEASES)}"
        ) from None
    path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{name}"
    verify: Any = client_context(info.ca_pem) if info.ca_pem else True
    headers = {"Authorization": f"Bearer {info.api_token}"}
    errors: list[str] = []
    for api, base in [*info.apiservers_direct.items(), *info.apiservers.items()]:
        try:
            response = httpx.get(
                base + path, headers=headers, verify=verify, timeout=timeout_s, trust_env=False
            )
        except httpx.HTTPError as exc:
            errors.append(f"{api}: {exc!r}")
            continue
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        errors.append(f"{api}: {response.status_code}")
    raise ClusterError(f"lease {LEASE_NAMESPACE}/{name}: no apiserver answered: {errors}")


def read_lease_holder(info: ClusterInfo, component: str) -> str | None:
    try:
        lease = read_lease(info, component)
    except ClusterError:
        return None
    if lease is None:
        return None
    return holder_of(lease, dt.datetime.now(dt.UTC))

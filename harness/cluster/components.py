"""The controller layer in the cluster (contract C5): members, their links, lease holders.

In a nutshell: pure functions from a ``ClusterSpec`` and a ``SubnetPlan`` to the
controller-manager, scheduler and simulated-kubelet members (``controller-manager-<i>``,
``scheduler-<i>``, ``node-<i>``, each ``python -m controlplane.<component>`` from the app
image with the C3 environment), and to their Toxiproxy links ``<member>-api-<j>`` (one per
apiserver: ``CP_API_URLS`` lists them, https with the run's CA). Leases and readiness are in
controllers.py. Addresses: ``controller-manager-i`` .40+i,
``scheduler-i`` .50+i, ``node-i`` .60+i; link ports 23000 + 100·kind + 10·(i-1) + j.

    members = component_members(spec, plan, token, pki)   # [MemberSpec("controller-manager-1"…
"""

from __future__ import annotations

from harness.cluster.faketime import FAKETIME_ENV
from harness.cluster.links import API_PORT
from harness.cluster.members import MemberSpec
from harness.cluster.node import ReadyProbe
from harness.cluster.subnet import SubnetPlan
from harness.cluster.tls import RunPki
from harness.model.cluster import ClusterSpec, Link, Role

STATUS_PORT = 10257
LIMITS = {Role.CONTROLLER_MANAGER: 3, Role.SCHEDULER: 3, Role.KUBELET: 10}
_IP_BASE = {Role.CONTROLLER_MANAGER: 40, Role.SCHEDULER: 50, Role.KUBELET: 60}
_PORT_KIND = {Role.CONTROLLER_MANAGER: 0, Role.SCHEDULER: 1, Role.KUBELET: 2}
MODULES = {
    Role.CONTROLLER_MANAGER: "controlplane.controllermanager",
    Role.SCHEDULER: "controlplane.scheduler",
    Role.KUBELET: "controlplane.kubelet",
}


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
) -> list[MemberSpec]:
    """The component members, with the C3 environment (``CP_*``, ``LE_*``, ``NODE_*``)."""
    scheme = "https" if pki is not None else "http"
    common = {
        "CP_API_TOKEN": admin_token,
        "CP_API_CA": pki.ca_pem if pki is not None else "",
        "CP_STATUS_PORT": str(STATUS_PORT),
        "CHAOSPLANE_BUGS": ",".join(spec.bugs),
        "PYTHONUNBUFFERED": "1",
        **FAKETIME_ENV,  # the clock-skew fault's hook (harness/cluster/faketime.py)
        **spec.controlplane_timings.to_env(),
    }
    members: list[MemberSpec] = []
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

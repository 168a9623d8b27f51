"""A started cluster's ``ClusterInfo`` and its members' logs: pure assembly from its parts.

In a nutshell: :func:`make_info` turns the started member nodes, the links and the run's PKI
into the addresses ``ClusterInfo`` promises (store members direct, apiservers through their
client links and direct, the components' ``/status`` URLs, the controller timings);
:func:`save_member_logs` writes every member's log, all incarnations, into a directory.

    info = make_info(spec, run_id=..., subnet=..., nodes=..., links=..., token=..., ca_pem=...)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.cluster.members import PROXY_NAME
from harness.cluster.node import ContainerNode
from harness.model.cluster import COMPONENT_ROLES, ClusterInfo, ClusterSpec, Link, Role


def make_info(
    spec: ClusterSpec,
    *,
    run_id: str,
    subnet: str,
    nodes: Sequence[ContainerNode],
    components: Sequence[ContainerNode],
    links: Sequence[Link],
    token: str,
    ca_pem: str,
) -> ClusterInfo:
    ordered = sorted(nodes, key=lambda n: (len(n.name), n.name))  # store-10 after store-9
    by_name = {n.name: n for n in nodes}
    stores = {n.name: n.base_url for n in ordered if n.role is Role.STORE}
    apis = {n.name: n.base_url for n in ordered if n.role is Role.APISERVER}
    client_links = {link.target: link.listen for link in links if link.source == "client"}
    return ClusterInfo(
        run_id=run_id,
        network=f"{run_id}-net",
        subnet=subnet,
        store=stores,
        apiservers={name: f"https://{client_links[name]}" for name in apis},
        apiservers_direct=apis,  # https too: the nodes' probes carry the CA
        toxiproxy=by_name[PROXY_NAME].base_url,
        api_token=token,
        links=list(links),
        ca_pem=ca_pem,
        components={n.name: n.base_url for n in components if n.role in COMPONENT_ROLES},
        controlplane_timings=spec.controlplane_timings.to_json() if spec.has_components else {},
    )


def save_member_logs(nodes: Sequence[ContainerNode], log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    for node in nodes:
        try:
            text = node.logs()
        except Exception as exc:  # gone already: leave a note rather than nothing
            text = f"<logs unavailable: {exc}>\n"
        (log_dir / f"{node.name}.log").write_text(text, encoding="utf-8")

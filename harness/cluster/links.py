"""The Toxiproxy links of a cluster: which ones exist, their ports, and creating them.

In a nutshell: ``plan_links`` names every link as model.py says (``client-api-<i>`` host →
apiserver, ``api-<i>-store-<j>`` apiserver → store member) and gives each a fixed listen port
on the proxy container; ``populate`` creates them all in one ``POST /populate``. Ports:
``client-api-i`` → 16000+i, ``api-i-store-j`` → 21000 + 100·(i-1) + j.

    links = plan_links(plan, apiservers=2, store_members=3)
    populate("http://10.201.7.2:8474", links)
"""

from __future__ import annotations

import httpx

from harness.cluster.subnet import SubnetPlan
from harness.errors import ClusterError
from harness.model.cluster import Link

STORE_HTTP_PORT = 2379
STORE_RAFT_PORT = 2380
API_PORT = 6443
PROXY_API_PORT = 8474
POPULATE_TIMEOUT_S = 10.0


def client_link_port(i: int) -> int:
    return 16000 + i


def store_link_port(i: int, j: int) -> int:
    return 21000 + 100 * (i - 1) + j


def plan_links(plan: SubnetPlan, *, apiservers: int, store_members: int) -> list[Link]:
    links: list[Link] = []
    for i in range(1, apiservers + 1):
        links.append(
            Link(
                name=f"client-api-{i}",
                source="client",
                target=f"api-{i}",
                listen=f"{plan.proxy_ip}:{client_link_port(i)}",
                upstream=f"{plan.api_ip(i)}:{API_PORT}",
            )
        )
    for i in range(1, apiservers + 1):
        for j in range(1, store_members + 1):
            links.append(
                Link(
                    name=f"api-{i}-store-{j}",
                    source=f"api-{i}",
                    target=f"store-{j}",
                    listen=f"{plan.proxy_ip}:{store_link_port(i, j)}",
                    upstream=f"{plan.store_ip(j)}:{STORE_HTTP_PORT}",
                )
            )
    return links


def populate(api_url: str, links: list[Link], *, timeout_s: float = POPULATE_TIMEOUT_S) -> None:
    """Create every link (listening on all interfaces of the proxy container)."""
    body = [
        {
            "name": link.name,
            "listen": f"0.0.0.0:{link.listen.rpartition(':')[2]}",
            "upstream": link.upstream,
            "enabled": True,
        }
        for link in links
    ]
    try:
        response = httpx.post(f"{api_url}/populate", json=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ClusterError(f"link proxy at {api_url}: POST /populate failed: {exc!r}") from exc
    if response.status_code not in (200, 201):
        raise ClusterError(
            f"link proxy at {api_url}: POST /populate answered {response.status_code}: "
            f"{response.text[:500]}"
        )

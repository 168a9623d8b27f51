"""Ask one store member for its ``/status``; None when it does not answer in time.

In a nutshell: the single place that turns "member unreachable, paused, crashed or answering
garbage" into ``None``, so leader election checks and the status probe agree on what
"reachable" means.

    fetch_status("http://10.201.7.11:2379", timeout_s=1.0)  # {"id": "store-1", "role": …} | None

``etcd``: the caller knows the engine (a cluster knows its spec): no guessing. ``None`` (a
URL alone, e.g. ``chaosplane check`` tools): etcd members registered by this process, else
``/status``, falling back to etcd's gateway on a 404.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.cluster.etcd import fetch_etcd_status, is_etcd


def fetch_status(
    base_url: str, timeout_s: float = 1.0, *, etcd: bool | None = None
) -> dict[str, Any] | None:
    if etcd is True:
        return fetch_etcd_status(base_url, timeout_s)
    if etcd is None and is_etcd(base_url):
        status = fetch_etcd_status(base_url, timeout_s)
        if status is not None or is_etcd(base_url):
            return status  # else: no longer etcd (a later run reuses the IP), ask /status
    try:
        response = httpx.get(f"{base_url}/status", timeout=timeout_s)
    except httpx.HTTPError:
        return None
    if response.status_code == 404 and etcd is None:  # no /status: maybe etcd's gateway
        return fetch_etcd_status(base_url, timeout_s)
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None

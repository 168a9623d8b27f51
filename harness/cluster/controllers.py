"""The controller layer seen through the API: Lease holders, Node readiness, the start-up wait.

In a nutshell: :class:`ApiReader` GETs through the run's apiservers (each one's direct
address first, then its client link; https with the run's CA, the admin token) and moves on
to the next when one does not answer. :func:`holder_of` names the member holding a Lease
(``holderIdentity`` is ``<member>_<random>``; valid while ``renewTime + leaseDurationSeconds``
is in the future on the host's clock); :func:`node_ready` reads each Node's ``Ready``
condition. :func:`wait_components_ready` is the last step of ``DockerCluster.start``: a holder
for each elected component with replicas and every ``node-<i>`` Ready=True, or a
``ClusterError`` naming what was awaited, the containers' state, their log tails and a hint.

    holder_of(lease, datetime.now(UTC))                  # "controller-manager-2" | None
    ApiReader(info).get("/api/v1/nodes")                 # the NodeList, from the first that answers
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from harness.cluster.components import replicas
from harness.cluster.node import tail
from harness.cluster.tls import client_context
from harness.errors import ClusterError
from harness.model.cluster import ClusterInfo, ClusterSpec, Role

LEASES = {"controller-manager": "kube-controller-manager", "scheduler": "kube-scheduler"}
LEASE_NAMESPACE = "kube-system"
POLL_S = 0.2
STATE_CHECK_S = 1.0
LOG_TAIL_LINES = 12


class Member(Protocol):
    """What the wait reports on a component container (``ContainerNode`` has all of it)."""

    name: str

    def is_running(self) -> bool: ...
    def state_summary(self) -> str: ...
    def logs(self) -> str: ...


class ApiReader:
    """GET JSON from the first of the run's apiservers that answers."""

    def __init__(self, info: ClusterInfo, timeout_s: float = 2.0) -> None:
        self.info = info
        verify: Any = client_context(info.ca_pem) if info.ca_pem else True
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(1.0, timeout_s)),
            verify=verify,
            trust_env=False,
            headers={"Authorization": f"Bearer {info.api_token}"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at ``path``; None on 404; ClusterError when no apiserver answers."""
        errors: list[str] = []
        bases = [*self.info.apiservers_direct.items(), *self.info.apiservers.items()]
        for api, base in bases:
            try:
                response = self._http.get(base + path)
            except httpx.HTTPError as exc:
                errors.append(f"{api} ({base}): {exc!r}")
                continue
            if response.status_code == 404:
                return None
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            errors.append(f"{api} ({base}): {response.status_code} {response.text[:200]}")
        raise ClusterError(f"GET {path}: no apiserver answered: {'; '.join(errors) or 'none'}")


def lease_path(component: str) -> str:
    try:
        name = LEASES[component]
    except KeyError:
        raise ClusterError(
            f"lease_holder: component {component!r} has no lease; expected one of "
            f"{', '.join(LEASES)}"
        ) from None
    return f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{name}"


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
    """Lease of ``component`` (``controller-manager`` | ``scheduler``); None while it has none."""
    path = lease_path(component)
    with ApiReader(info, timeout_s) as api:
        return api.get(path)


def read_lease_holder(info: ClusterInfo, component: str) -> str | None:
    lease_path(component)  # an unknown component is the caller's bug: raise, do not hide it
    try:
        lease = read_lease(info, component)
    except ClusterError:
        return None
    if lease is None:
        return None
    return holder_of(lease, dt.datetime.now(dt.UTC))


def node_ready(node_list: dict[str, Any] | None) -> dict[str, str]:
    """Node name → its ``Ready`` condition status (``True``/``False``/``Unknown``/``absent``)."""
    out: dict[str, str] = {}
    for item in (node_list or {}).get("items") or []:
        name = str((item.get("metadata") or {}).get("name", ""))
        conditions = (item.get("status") or {}).get("conditions") or []
        ready = [c for c in conditions if c.get("type") == "Ready"]
        out[name] = str(ready[0].get("status")) if ready else "absent"
    return out


def wait_components_ready(
    spec: ClusterSpec, info: ClusterInfo, members: Sequence[Member], timeout_s: float
) -> dict[str, str]:
    """Wait for a lease holder of each elected component and every node Ready; the holders."""
    components = [c for c in LEASES if replicas(spec, Role(c)) > 0]
    wanted_nodes = [f"node-{i}" for i in range(1, spec.nodes + 1)]
    holders: dict[str, str | None] = {c: None for c in components}
    ready: dict[str, str] = {}
    last_error = ""
    deadline = time.monotonic() + timeout_s
    next_check = time.monotonic() + STATE_CHECK_S
    with ApiReader(info) as api:
        while True:
            try:
                now = dt.datetime.now(dt.UTC)
                for c in components:
                    lease = api.get(lease_path(c))
                    holders[c] = holder_of(lease, now) if lease else None
                if wanted_nodes:
                    ready = node_ready(api.get("/api/v1/nodes"))
                last_error = ""
            except (ClusterError, ValueError) as exc:
                last_error = str(exc)
            pending_nodes = [n for n in wanted_nodes if ready.get(n) != "True"]
            if all(holders.values()) and not pending_nodes and not last_error:
                return {c: h for c, h in holders.items() if h}
            if time.monotonic() >= deadline:
                break
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + STATE_CHECK_S
                if any(not m.is_running() for m in members):
                    break  # a component exited: waiting longer cannot help
            time.sleep(POLL_S)
    raise ClusterError(_not_ready(holders, wanted_nodes, ready, last_error, members, timeout_s))


def _not_ready(
    holders: dict[str, str | None],
    wanted_nodes: list[str],
    ready: dict[str, str],
    last_error: str,
    members: Sequence[Member],
    timeout_s: float,
) -> str:
    awaited = [f"a holder of Lease {LEASE_NAMESPACE}/{LEASES[c]}" for c, h in holders.items()]
    if wanted_nodes:
        awaited.append(f"Ready=True on {', '.join(wanted_nodes)}")
    seen = [f"{c}: holder {h or 'none'}" for c, h in holders.items()]
    seen += [f"{n}: Ready={ready.get(n, 'not registered')}" for n in wanted_nodes]
    if last_error:
        seen.append(f"last API error: {last_error}")
    pending = {c.split("-", 1)[0] for c, h in holders.items() if not h}
    pending |= {n for n in wanted_nodes if ready.get(n) != "True"}
    suspects = [m for m in members if not m.is_running() or m.name.startswith(tuple(pending))]
    states = "; ".join(f"{m.name}: {m.state_summary()}" for m in members)
    tails = "\n".join(
        f"--- {m.name}:\n{tail(m.logs(), LOG_TAIL_LINES)}" for m in (suspects or members)[:4]
    )
    return (
        f"controller layer not ready: waited {timeout_s:.1f} s for {'; '.join(awaited)}; "
        f"last seen: {'; '.join(seen)}; containers: {states}; log tails:\n{tails}\n"
        f"hint: a component that cannot reach an apiserver logs its errors above (check its "
        f"links <member>-api-<j> and CP_API_URLS); a node stuck NotReady usually means its "
        f"kubelet cannot renew kube-node-lease/<node>; raise ready_timeout_s on a slow machine"
    )

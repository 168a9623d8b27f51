"""Real etcd 3.4 as the store: member containers and a ``/status`` adapter over its gateway.

In a nutshell: ``etcd_members(spec, plan)`` gives one ``MemberSpec`` per store member running
Debian's etcd with a static ``--initial-cluster``, ``--pre-vote`` and the tuned timers
(heartbeat 50 ms, election 250 ms), client port 2379 and peer port 2380
like the kvstore, so links and partitions need no change. ``fetch_etcd_status(url)`` answers in
the kvstore's ``/status`` shape (ARCHITECTURE.md) from the ``raft.status`` of ``/debug/vars``
(why not ``/v3/maintenance/status``: see ``status_from``), member ids named through
``/v3/cluster/member/list``, and the state hash from ``/v3/maintenance/hash``
(etcd ignores its consistent index there, so members at one revision hash alike).

    specs = etcd_members(ClusterSpec(engine="etcd"), plan)
    fetch_etcd_status("http://10.201.7.11:2379")   # {"id": "store-1", "role": "leader", …} | None
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from harness.cluster.links import STORE_HTTP_PORT, STORE_RAFT_PORT
from harness.cluster.node import ReadyProbe
from harness.cluster.subnet import SubnetPlan
from harness.model.cluster import ClusterSpec, Role

ENGINE = "etcd"
HEARTBEAT_INTERVAL_MS = 50
ELECTION_TIMEOUT_MS = 250
DATA_DIR = "/data/etcd"

# Base URLs seen answering as etcd, and member id → name per URL (ids never change in a
# cluster's life, so one member list per URL is enough).
_names: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def etcd_command(spec: ClusterSpec, plan: SubnetPlan, j: int, cluster_token: str) -> list[str]:
    ip = plan.store_ip(j)
    peers = ",".join(
        f"store-{k}=http://{plan.store_ip(k)}:{STORE_RAFT_PORT}"
        for k in range(1, spec.store_members + 1)
    )
    return [
        "etcd",
        f"--name=store-{j}",
        f"--data-dir={DATA_DIR}",
        f"--listen-client-urls=http://0.0.0.0:{STORE_HTTP_PORT}",
        f"--advertise-client-urls=http://{ip}:{STORE_HTTP_PORT}",
        f"--listen-peer-urls=http://0.0.0.0:{STORE_RAFT_PORT}",
        f"--initial-advertise-peer-urls=http://{ip}:{STORE_RAFT_PORT}",
        f"--initial-cluster={peers}",
        "--initial-cluster-state=new",  # ignored on restart: the data dir holds the membership
        f"--initial-cluster-token={cluster_token}",
        f"--heartbeat-interval={HEARTBEAT_INTERVAL_MS}",
        f"--election-timeout={ELECTION_TIMEOUT_MS}",
        # 3.4 defaults PreVote off: a healed minority member would force an election (§5.3).
        "--pre-vote",
    ]


def etcd_members(spec: ClusterSpec, plan: SubnetPlan, cluster_token: str = "chaosplane") -> Any:
    """``MemberSpec``s for the store members (typed Any: members.py imports this module)."""
    from harness.cluster.members import MemberSpec

    return [
        MemberSpec(
            name=f"store-{j}",
            role=Role.STORE,
            ip=plan.store_ip(j),
            command=etcd_command(spec, plan, j, cluster_token),
            # /version answers as soon as etcd serves, leader or not: a member restarted inside
            # a minority partition must still count as started.
            probe=ReadyProbe(port=STORE_HTTP_PORT, path="/version"),
        )
        for j in range(1, spec.store_members + 1)
    ]


def is_etcd(base_url: str) -> bool:
    with _lock:
        return base_url in _names


def forget(base_url: str) -> None:
    with _lock:
        _names.pop(base_url, None)


def _post(http: httpx.Client, url: str) -> dict[str, Any] | None:
    response = http.post(url, json={})
    if response.status_code != 200:
        return None
    body = response.json()
    return body if isinstance(body, dict) else None


def _member_name(http: httpx.Client, base_url: str, member_id: str) -> str:
    if not member_id or member_id == "0":
        return ""
    with _lock:
        known = _names.setdefault(base_url, {})
        if member_id in known:
            return known[member_id]
    listed = _post(http, f"{base_url}/v3/cluster/member/list") or {}
    names = {str(m.get("ID")): str(m.get("name") or m.get("ID")) for m in listed.get("members", [])}
    with _lock:
        _names.setdefault(base_url, {}).update(names)
    return names.get(member_id, member_id)


_ROLES = {
    "StateLeader": "leader",
    "StateFollower": "follower",
    "StateCandidate": "candidate",
    "StatePreCandidate": "candidate",
}


def member_id(hex_id: str) -> str:
    """raft.status names members in hex; the gateway in decimal strings."""
    try:
        return str(int(hex_id, 16))
    except ValueError:
        return ""


def status_from(
    raft: dict[str, Any], names: dict[str, str], hashed: dict[str, Any] | None
) -> dict[str, Any]:
    """The kvstore ``/status`` shape from etcd's ``raft.status`` and hash answers (pure).

    ``raft`` is the ``raft.status`` expvar of ``/debug/vars``: one consistent snapshot of the
    Raft node. Not ``/v3/maintenance/status``: its ``raftTerm`` is the term of the last
    *applied* entry, so a new leader reports the old term until its first entry applies — two
    "leaders" of one term in the samples (seen in a run: store-2 leader at term 3 after store-1).
    """
    me, lead = member_id(str(raft.get("id", ""))), member_id(str(raft.get("lead", "0")))
    state_hash = None
    revision = None
    if hashed is not None:
        revision = int((hashed.get("header") or {}).get("revision") or 0)
        state_hash = f"{revision}:{hashed.get('hash')}"
    return {
        "id": names.get(me, me),
        "role": _ROLES.get(str(raft.get("raftState")), "follower"),
        "term": int(raft.get("term") or 0),
        "leader": names.get(lead, lead) if lead not in ("", "0") else None,
        "commit_index": int(raft.get("commit") or 0),
        "applied_index": int(raft.get("applied") or 0),
        "revision": revision,
        "state_hash": state_hash,
        "engine": ENGINE,
    }


def fetch_etcd_status(base_url: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """One member's status in the kvstore's shape; None when it does not answer in time."""
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False) as http:
            response = http.get(f"{base_url}/debug/vars")
            if response.status_code == 404:
                forget(base_url)  # not etcd (any more): the caller asks /status instead
                return None
            if response.status_code != 200:
                return None
            raft = response.json().get("raft.status")
            if not isinstance(raft, dict):
                return None
            ids = {member_id(str(raft.get(k, ""))) for k in ("id", "lead")} - {"", "0"}
            names = {i: _member_name(http, base_url, i) for i in ids}
            hashed = _post(http, f"{base_url}/v3/maintenance/hash")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return status_from(raft, names, hashed)

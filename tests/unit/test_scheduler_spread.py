"""Pods without requests spread over nodes (kube-scheduler's non-zero defaults for scoring).

``kubectl create deployment web --image=x --replicas=6`` makes pods with no resource requests;
scored on their zero requests, every node ties and all six would land on ``node-1``.
"""

from __future__ import annotations

from typing import Any

from controlplane.scheduler.core import choose_node

Obj = dict[str, Any]


def node(name: str) -> Obj:
    return {
        "metadata": {"name": name, "labels": {}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(name: str, on: str = "", cpu: str = "") -> Obj:
    requests = {"cpu": cpu} if cpu else {}
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": on,
            "containers": [{"name": "c", "resources": {"requests": requests}}],
        },
        "status": {"phase": "Running" if on else "Pending"},
    }


def test_request_less_pods_spread_evenly() -> None:
    nodes = [node("node-1"), node("node-2"), node("node-3")]
    bound: dict[str, list[Obj]] = {}
    for i in range(6):
        chosen = choose_node(pod(f"web-{i}"), nodes, bound).node
        assert chosen is not None
        bound.setdefault(chosen, []).append(pod(f"web-{i}", on=chosen))
    assert {n: len(p) for n, p in bound.items()} == {"node-1": 2, "node-2": 2, "node-3": 2}


def test_explicit_requests_still_score_by_their_value() -> None:
    nodes = [node("node-1"), node("node-2")]
    bound = {
        "node-1": [pod("big", on="node-1", cpu="3")],
        "node-2": [pod(f"s{i}", on="node-2") for i in range(3)],
    }
    # node-1: 3 cpu used; node-2: 3 × 100m (defaults) → node-2 is less allocated
    assert choose_node(pod("p"), nodes, bound).node == "node-2"

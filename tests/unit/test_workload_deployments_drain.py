"""The deployments workload's drain: known settled and unsettled object shapes, and the bound."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness.workload.deployments_drain import Obj, unsettled, wait_settled


def _dep(replicas: int, *, gen: int = 2, observed: int = 2, **status: int) -> Obj:
    st = {"replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas}
    return {
        "metadata": {"name": "dep-0-0", "uid": "d1", "generation": gen},
        "spec": {"replicas": replicas},
        "status": {**st, "observedGeneration": observed, **status},
    }


def _rs(name: str, replicas: int, *, ready: int | None = None, observed: int = 1) -> Obj:
    return {
        "metadata": {
            "name": name,
            "generation": 1,
            "ownerReferences": [{"kind": "Deployment", "uid": "d1", "controller": True}],
        },
        "spec": {"replicas": replicas},
        "status": {
            "replicas": replicas,
            "readyReplicas": replicas if ready is None else ready,
            "observedGeneration": observed,
        },
    }


def _pod(name: str, *, terminating: bool = False) -> Obj:
    meta: dict[str, Any] = {"name": name}
    if terminating:
        meta["deletionTimestamp"] = "2026-12-03T16:00:00Z"
    return {"metadata": meta}


def test_a_settled_deployment_is_settled() -> None:
    assert unsettled([_dep(3)], [_rs("dep-0-0-new", 3), _rs("dep-0-0-old", 0)], [_pod("a")]) == []


@pytest.mark.parametrize(
    ("deps", "rses", "pods", "expected"),
    [
        # a rolling update half-way: the Deployment's status still counts the old pods
        ([_dep(3, updatedReplicas=1)], [_rs("n", 1), _rs("o", 2)], [], "deployment dep-0-0"),
        # a scale the controller has not observed yet
        ([_dep(3, gen=3, observed=2)], [_rs("n", 3)], [], "generation not yet observed"),
        # pods created but not Ready yet
        ([_dep(3)], [_rs("n", 3, ready=1)], [], "replicaset n: want 3"),
        # a ReplicaSet whose scale-down is not yet observed
        ([_dep(3)], [_rs("n", 3, observed=0)], [], "replicaset n: generation"),
        # a pod still terminating (a node controller eviction, a delete-pod op)
        ([_dep(3)], [_rs("n", 3)], [_pod("p", terminating=True)], "pod p: terminating"),
    ],
)
def test_what_still_moves_is_named(
    deps: list[Obj], rses: list[Obj], pods: list[Obj], expected: str
) -> None:
    left = unsettled(deps, rses, pods)
    assert left and any(expected in x for x in left), left


def test_replicasets_of_other_owners_and_deleted_deployments_do_not_hold_the_drain() -> None:
    other = _rs("x", 3, ready=0)
    other["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    gone = _dep(3, updatedReplicas=0)
    gone["metadata"]["deletionTimestamp"] = "2026-12-03T16:00:00Z"
    assert unsettled([gone], [other, _rs("n", 3, ready=0)], []) == []


def test_wait_settled_returns_when_the_objects_settle() -> None:
    answers: list[tuple[list[Obj], list[Obj], list[Obj]] | None] = [
        None,  # a failed read: tried again
        ([_dep(3, updatedReplicas=1)], [_rs("n", 1), _rs("o", 2)], []),
        ([_dep(3)], [_rs("n", 3), _rs("o", 0)], []),
    ]

    async def lister() -> tuple[list[Obj], list[Obj], list[Obj]] | None:
        return answers.pop(0)

    got = asyncio.run(wait_settled(lister, max_s=5.0, poll_s=0.01))
    assert got.settled and got.polls == 3 and got.unsettled == ()
    assert got.to_json()["settled"] is True


def test_wait_settled_gives_up_at_its_bound_and_says_what_was_moving() -> None:
    async def lister() -> tuple[list[Obj], list[Obj], list[Obj]] | None:
        return [_dep(3, updatedReplicas=1)], [_rs("n", 1)], []

    got = asyncio.run(wait_settled(lister, max_s=0.2, poll_s=0.05))
    assert not got.settled
    assert got.waited_s < 0.2 + 1.0 and got.polls >= 2  # stops at the bound, not later
    assert any("deployment dep-0-0" in x for x in got.unsettled), got.unsettled

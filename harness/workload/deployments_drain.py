"""The deployments workload's drain: wait, bounded, until every owner it made has settled.

In a nutshell: after the clients stop, the controllers still owe their answer to the last ops
(a rollout, a scale, a replaced pod). A fixed sleep turns a slow answer into "not converged at
the end"; instead :func:`unsettled` says, from one list of Deployments, ReplicaSets and pods,
what is still moving, and :func:`wait_settled` polls it until nothing is, or ``max_s``
passed. :class:`DrainResult` goes into the workload result, so a run states whether and when
its objects settled.

Settled means, for each Deployment of the workload: ``status.observedGeneration`` ≥
``metadata.generation`` and ``status.replicas`` = ``readyReplicas`` = ``updatedReplicas`` =
``spec.replicas``; for each ReplicaSet it controls: observed generation likewise and
``status.replicas`` = ``readyReplicas`` = ``spec.replicas``; and no pod of the workload
terminating.

    left = unsettled(deployments, replicasets, pods)   # [] once everything settled
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class DrainResult:
    settled: bool
    waited_s: float
    max_s: float
    polls: int
    unsettled: tuple[str, ...]  # what was still moving at the last poll (at most 10)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "unsettled": list(self.unsettled)}


def _meta(o: Obj) -> Obj:
    m = o.get("metadata")
    return m if isinstance(m, dict) else {}


def _num(d: Any, key: str, default: int = 0) -> int:
    if not isinstance(d, dict):
        return default
    v = d.get(key)
    return int(v) if isinstance(v, int | float) else default


def _owner_uid(o: Obj, kind: str) -> str | None:
    for ref in _meta(o).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") and ref.get("kind") == kind:
            return str(ref.get("uid"))
    return None


def _generation_lag(o: Obj) -> bool:
    return _num(o.get("status"), "observedGeneration") < _num(_meta(o), "generation", 1)


def unsettled(
    deployments: Sequence[Obj], replicasets: Sequence[Obj], pods: Sequence[Obj]
) -> list[str]:
    """What of the workload's objects is still moving; [] when all settled."""
    left: list[str] = []
    mine = {
        str(_meta(d).get("uid")): d for d in deployments if not _meta(d).get("deletionTimestamp")
    }
    for d in mine.values():
        name, spec, status = _meta(d).get("name"), d.get("spec"), d.get("status")
        want = _num(spec, "replicas", 1)
        got = {k: _num(status, k) for k in ("replicas", "readyReplicas", "updatedReplicas")}
        if _generation_lag(d):
            left.append(f"deployment {name}: generation not yet observed")
        elif any(v != want for v in got.values()):
            shown = ", ".join(f"{k} {v}" for k, v in got.items())
            left.append(f"deployment {name}: want {want}, {shown}")
    for rs in replicasets:
        if _owner_uid(rs, "Deployment") not in mine:
            continue
        name, want = _meta(rs).get("name"), _num(rs.get("spec"), "replicas", 1)
        status = rs.get("status")
        if _generation_lag(rs):
            left.append(f"replicaset {name}: generation not yet observed")
        elif _num(status, "replicas") != want or _num(status, "readyReplicas") != want:
            left.append(
                f"replicaset {name}: want {want}, replicas {_num(status, 'replicas')}, "
                f"ready {_num(status, 'readyReplicas')}"
            )
    for p in pods:
        if _meta(p).get("deletionTimestamp"):
            left.append(f"pod {_meta(p).get('name')}: terminating")
    return left


Lister = Callable[[], Awaitable[tuple[list[Obj], list[Obj], list[Obj]] | None]]


async def wait_settled(
    lister: Lister,
    *,
    max_s: float,
    poll_s: float = 0.5,
    mono: Callable[[], float] = time.monotonic,
) -> DrainResult:
    """Poll ``lister`` (None: this read failed, try again) until :func:`unsettled` is empty."""
    start = mono()
    polls = 0
    left: list[str] = ["no successful read of the workload's objects"]
    while True:
        polls += 1
        got = await lister()
        if got is not None:
            left = unsettled(*got)
            if not left:
                return DrainResult(
                    settled=True, waited_s=mono() - start, max_s=max_s, polls=polls, unsettled=()
                )
        if mono() - start + poll_s > max_s:
            return DrainResult(
                settled=False,
                waited_s=mono() - start,
                max_s=max_s,
                polls=polls,
                unsettled=tuple(left[:10]),
            )
        await asyncio.sleep(poll_s)

"""Typed records of a run: operations (Jepsen's vocabulary), fault events, status samples.

``Op`` uses Jepsen's names exactly: ``process``, ``type`` (invoke/ok/fail/info), ``f``, ``key``,
``value``, ``time`` (ns since the run started, monotonic), ``node``, ``error``. After ``info`` a
process id is retired; the client continues under a fresh id.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.history.jsonl import read_jsonl


class OpType(enum.StrEnum):
    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class Op:
    index: int
    time: int
    process: int
    type: OpType
    f: str
    key: str | None = None
    value: Any = None
    node: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "type": self.type.value,
            "f": self.f,
            "key": self.key,
            "value": self.value,
        }
        if self.node is not None:
            out["node"] = self.node
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Op:
        return cls(
            index=int(d.get("index", 0)),
            time=int(d.get("time", 0)),
            process=int(d["process"]),
            type=OpType(d["type"]),
            f=str(d["f"]),
            key=None if d.get("key") is None else str(d["key"]),
            value=d.get("value"),
            node=d.get("node"),
            error=d.get("error"),
        )


class FaultPhase(enum.StrEnum):
    START = "start"
    END = "end"
    EFFECT = "effect"  # the verification of a fault: did it really take effect
    HEALTH = "health"  # cluster health recorded before/after an injection


CLASS_KEY = "class"  # a start event's detail: what the fault does (harness.model.kinds.FaultClass)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultEvent:
    time: int
    type: FaultPhase
    fault: str  # the scenario's fault kind, e.g. "partition", "kill"
    targets: list[str] = field(default_factory=list)
    id: int = 0  # pairs a start with its end
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "type": self.type.value,
            "fault": self.fault,
            "targets": list(self.targets),
            "id": self.id,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FaultEvent:
        return cls(
            time=int(d["time"]),
            type=FaultPhase(d["type"]),
            fault=str(d["fault"]),
            targets=[str(t) for t in d.get("targets", [])],
            id=int(d.get("id", 0)),
            detail=dict(d.get("detail") or {}),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSample:
    """One probe of one store member's ``/status`` (or a failure to reach it)."""

    time: int
    member: str
    reachable: bool
    role: str | None = None
    term: int | None = None
    leader: str | None = None
    commit_index: int | None = None
    applied_index: int | None = None
    state_hash: str | None = None
    voted_for: str | None = None  # Raft votedFor in ``term``; None: no vote, or not reported

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": self.time,
            "member": self.member,
            "reachable": self.reachable,
            "role": self.role,
            "term": self.term,
            "leader": self.leader,
            "commit_index": self.commit_index,
            "applied_index": self.applied_index,
            "state_hash": self.state_hash,
        }
        if self.voted_for is not None:  # additive: files without it read as "no vote seen"
            out["voted_for"] = self.voted_for
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StatusSample:
        return cls(
            time=int(d["time"]),
            member=str(d["member"]),
            reachable=bool(d["reachable"]),
            role=d.get("role"),
            term=d.get("term"),
            leader=d.get("leader"),
            commit_index=d.get("commit_index"),
            applied_index=d.get("applied_index"),
            state_hash=d.get("state_hash"),
            voted_for=d.get("voted_for"),
        )


def read_ops(path: Path) -> Iterator[Op]:
    for d in read_jsonl(path):
        yield Op.from_json(d)


def read_faults(path: Path) -> Iterator[FaultEvent]:
    for d in read_jsonl(path):
        yield FaultEvent.from_json(d)


def read_status(path: Path) -> Iterator[StatusSample]:
    for d in read_jsonl(path):
        yield StatusSample.from_json(d)

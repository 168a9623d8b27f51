"""Raft engines behind one small interface.

In a nutshell: an :class:`Engine` replicates :mod:`controlplane.kvstore.state` commands through
a Raft log and answers with the command's result as of its log position. The HTTP layer only
talks to this Protocol, so a second Raft library is one new module here.

    engine = make_engine(config)          # config: controlplane.kvstore.config.StoreConfig
    result = await engine.execute(Get(key="a"), timeout_s=2.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from controlplane.kvstore.state import Command, Compacted, Get, Range, Result, WatchResult


class Role(StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"
    CANDIDATE = "candidate"


class EngineUnavailableError(Exception):
    """No leader or quorum answered within the deadline.

    ``outcome_unknown`` is True when the command may still commit later (it was handed to the
    log), so a client must treat a write as indeterminate and retry with the same request id.
    """

    def __init__(self, reason: str, *, outcome_unknown: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome_unknown = outcome_unknown


class NotLeaderError(EngineUnavailableError):
    """This member cannot replicate (its engine has no forwarding); ``leader_address`` is the
    leader's Raft address when known, so the HTTP layer can forward the request there."""

    def __init__(self, reason: str, *, leader_address: str | None) -> None:
        super().__init__(reason, outcome_unknown=False)
        self.leader_address = leader_address


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStatus:
    id: str
    role: Role
    term: int
    leader: str | None
    commit_index: int
    applied_index: int
    state_hash: str
    engine: str
    revision: int
    # Raft's persistent votedFor in ``term`` (member name), None when no vote or not exposed.
    voted_for: str | None = None


class Engine(Protocol):
    """One Raft member holding a :class:`~controlplane.kvstore.state.KVState`."""

    name: str

    def start(self) -> None:
        """Start Raft (call inside the running event loop); returns without waiting for a
        leader. Engines that start asynchronously finish in :meth:`wait_started`."""

    async def wait_started(self) -> None:
        """Return once the Raft port is bound (raises what a failed start raised)."""

    def stop(self) -> None: ...

    async def execute(self, command: Command, *, timeout_s: float) -> Result:
        """Replicate ``command`` and return its apply-time result (reads go through the log
        too, which makes them linearizable). Raises :class:`EngineUnavailableError`."""

    def submit_nowait(self, command: Command) -> None:
        """Hand ``command`` to the log and return at once (only for the ack-before-commit bug)."""

    def read_local(self, command: Get | Range) -> Result:
        """Answer a read from this member's applied state: may be stale."""

    def watch(self, prefix: str, since_revision: int) -> WatchResult | Compacted:
        """Events after ``since_revision`` from this member's applied state."""

    async def wait_revision(self, after_revision: int, timeout_s: float) -> None:
        """Return once the applied store revision exceeds ``after_revision`` or on timeout."""

    def believes_leader(self) -> bool: ...

    def status(self) -> EngineStatus: ...

"""The second Raft engine: raftos 0.2.6 (UDP, asyncio), kept so the harness can expose it.

In a nutshell: raftos' Raft core carries our commands; our :class:`KVState` replaces raftos'
dict-update state machine, so every command's result is computed at apply time exactly as on
PySyncObj. Only the compatibility patches of :mod:`.raftos_compat` are applied — none of
raftos' Raft bugs is fixed, because finding them is the harness's job. raftos runs on the same
event loop as the HTTP server (no threads).

Where our layer has a choice, it does what raftos' own API does (issue 10), so the harness
meets raftos' design and not ours:

* **Reads** are answered from the leader's local state machine, as ``State.get_value`` does —
  no log entry, no quorum check, so a deposed leader serves stale reads until it steps down.
* **Writes** wait for raftos' own ``Leader.execute_command`` future, as ``State.set_value``
  does. raftos keeps one ``apply_future`` per leader, so a newer command orphans an older
  caller, who then waits until its deadline (``info``) although its entry may commit. Once
  raftos answers, we still wait for *our* entry's result (raftos may answer an earlier entry's
  apply), because the HTTP reply needs it — the one place we are stricter than raftos.
* **Timings** are raftos' defaults (heartbeat 0.3 s, step-down after 5 missed heartbeats,
  elections 1.5–4.5 s), not the PySyncObj-tuned ones.
* Not reproduced: ``ReplicatedDict``'s per-process cache that logs the *whole* dict on every
  update (lost update and phantom write); our entries are commands.

    engine = RaftosEngine(config); await engine.start()
    await engine.execute(Put(key="a", value_json="1"), timeout_s=3.0)

Known raftos faults this engine inherits, so expect the checkers
to flag them: a restarted member forgets its vote (``voted_for`` reset on every start — the
``forget-vote`` bug is built in; our switch additionally drops the persisted term); a follower
that already follows never resets its vote in a new term (slow elections); stale vote
responses count; a 2-of-4 "majority"; follower log truncation that can drop committed entries;
no no-op entry on election; one shared ``apply_future`` per leader (orphaned callers hang;
see above); whole
log re-writes on truncation (slow catch-up); UDP datagrams cap an entry at about 48 KB. raftos
has no forwarding, so a follower raises :class:`NotLeaderError` and the HTTP layer forwards.

Seen on loopback (benchmarks/store.py --engine raftos): after SIGKILL of the leader a new leader
is elected within seconds but **never commits again** — ``Leader.update_commit_index`` stops at
the first uncommitted entry from an older term instead of skipping it (followers learn the
commit index one heartbeat late, so the old leader's last entry is always such an entry).
Concurrent writers also wedge it (8 clients: 81 of 100 writes timed out, and the cluster
stayed stuck afterwards).

Bug switches here: ``no-step-down`` (the leader never counts missed heartbeats) and
``forget-vote`` (the persisted term is deleted too before start).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import uuid
from typing import Any, ClassVar

from controlplane.kvstore.config import StoreConfig
from controlplane.kvstore.engine import (
    EngineStatus,
    EngineUnavailableError,
    NotLeaderError,
    Role,
    raftos_compat,
)
from controlplane.kvstore.state import (
    Cas,
    Command,
    Compacted,
    Delete,
    Get,
    KVState,
    Put,
    Range,
    Result,
    WatchResult,
)

log = logging.getLogger("controlplane.kvstore")

_COMMANDS: dict[str, type[Command]] = {
    "put": Put,
    "cas": Cas,
    "delete": Delete,
    "get": Get,
    "range": Range,
}
_OP_BY_TYPE = {cls: op for op, cls in _COMMANDS.items()}
_ENTRY_NAME = "cmd"  # raftos log entries are {name: value}; ours always use this name
_RETRY_PAUSE_S = 0.05
_NEVER = 10**9
# raftos' own defaults (raftos/conf.py): the design these timings were chosen for.
RAFTOS_HEARTBEAT_S = 0.3
RAFTOS_STEP_DOWN_MISSED_HEARTBEATS = 5


def encode(command: Command, command_id: str) -> dict[str, Any]:
    """A command as a msgpack-able dict (raftos' wire and log format)."""
    return {"op": _OP_BY_TYPE[type(command)], "id": command_id, **dataclasses.asdict(command)}


def decode(entry: dict[str, Any]) -> tuple[Command, str]:
    fields = dict(entry)
    op, command_id = fields.pop("op"), fields.pop("id")
    return _COMMANDS[op](**fields), command_id


class _KVStateMachine:
    """Stands in for ``raftos.storage.StateMachine``: raftos calls ``apply({name: value})`` for
    each committed entry, in log order, on every member (and again from index 1 after a
    restart, since raftos keeps no applied index — our state is rebuilt by that replay)."""

    engine: ClassVar[RaftosEngine | None] = None

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def apply(self, command: dict[str, Any]) -> None:
        engine = type(self).engine
        if engine is not None and _ENTRY_NAME in command:
            engine._apply(command[_ENTRY_NAME])


class RaftosEngine:
    """One store member on raftos (see the module docstring for what that implies)."""

    name = "raftos"

    def __init__(self, config: StoreConfig) -> None:
        self._config = config
        self._name_by_address = {addr: name for name, addr in config.peers}
        self._kv = KVState()
        self._waiting: dict[str, asyncio.Future[Result]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._revision_changed = asyncio.Event()
        self._node: Any = None
        self._starting: asyncio.Task[None] | None = None
        self._last_role: Role | None = None
        self._last_leader: str | None = None

    # -- lifecycle --

    def start(self) -> None:
        # raftos binds its UDP endpoint asynchronously; wait_started() awaits it.
        self._starting = asyncio.get_running_loop().create_task(self._start())

    async def wait_started(self) -> None:
        if self._starting is None:
            raise EngineUnavailableError("engine not started", outcome_unknown=False)
        await self._starting

    async def _start(self) -> None:
        raftos_compat.install()
        import raftos
        import raftos.server
        import raftos.state

        cfg = self._config
        os.makedirs(cfg.data_dir, exist_ok=True)
        if cfg.bug("forget-vote"):
            _forget_term(cfg.data_dir, cfg.self_address)
        heartbeat_s = RAFTOS_HEARTBEAT_S
        missed = RAFTOS_STEP_DOWN_MISSED_HEARTBEATS
        raftos.configure(
            {
                "log_path": cfg.data_dir + os.sep,
                "heartbeat_interval": heartbeat_s,
                # raftos derives step-down (and election timeouts) from missed heartbeats.
                "step_down_missed_heartbeats": _NEVER if cfg.bug("no-step-down") else missed,
            }
        )
        if cfg.bug("no-step-down"):
            # Election timeouts derive from the step-down interval; keep them sane.
            raftos.config.election_interval = (5 * heartbeat_s, 15 * heartbeat_s)
        _KVStateMachine.engine = self
        raftos.state.StateMachine = _KVStateMachine
        await raftos.register(cfg.self_address, cluster=[addr for _, addr in cfg.peers])
        self._node = raftos.server.Node.nodes[-1]
        monitor = asyncio.create_task(self._monitor())
        self._tasks.add(monitor)
        storage = self._node.state.storage
        voted = storage["voted_for"] if storage.exists("voted_for") else None
        _say(
            f"raft {cfg.member_id}: engine=raftos restored term={storage.term} "
            f"voted_for={self._member_name(voted)} address={cfg.self_address}"
        )

    def stop(self) -> None:
        if self._node is not None:
            self._node.stop()
            self._node = None
        for task in self._tasks:
            task.cancel()

    # -- commands --

    async def execute(self, command: Command, *, timeout_s: float) -> Result:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            leader = self._leader_state()
            if leader is not None and isinstance(command, Get | Range):
                # raftos' State.get_value: the leader's local state machine, no quorum check.
                return self._kv.apply(command)
            if leader is not None:
                return await self._execute_on_leader(leader, command, deadline - loop.time())
            known = self._leader_address()
            if known is not None:
                raise NotLeaderError(f"not the leader; leader is {known}", leader_address=known)
            if loop.time() + _RETRY_PAUSE_S >= deadline:
                raise EngineUnavailableError("no leader elected", outcome_unknown=False)
            await asyncio.sleep(_RETRY_PAUSE_S)

    async def _execute_on_leader(self, leader: Any, command: Command, timeout_s: float) -> Result:
        command_id = uuid.uuid4().hex
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        # The caller waits on raftos' own future, as State.set_value does; it may never resolve
        # (one shared apply_future per leader: a newer command orphans it). Then our entry's
        # result, which the HTTP reply needs.
        task = asyncio.ensure_future(
            leader.execute_command({_ENTRY_NAME: encode(command, command_id)})
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        try:
            await asyncio.wait_for(asyncio.shield(task), max(timeout_s, 0.0))
            return await asyncio.wait_for(future, max(deadline - loop.time(), 0.0))
        except TimeoutError:
            raise EngineUnavailableError(
                "not applied before the request deadline", outcome_unknown=True
            ) from None
        finally:
            self._waiting.pop(command_id, None)
            if not task.done():
                task.cancel()

    def submit_nowait(self, command: Command) -> None:
        leader = self._leader_state()
        if leader is None:
            raise NotLeaderError("not the leader", leader_address=self._leader_address())
        task = asyncio.ensure_future(
            leader.execute_command({_ENTRY_NAME: encode(command, uuid.uuid4().hex)})
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _apply(self, entry: dict[str, Any]) -> None:
        command, command_id = decode(entry)
        before = self._kv.revision
        result = self._kv.apply(command)
        future = self._waiting.get(command_id)
        if future is not None and not future.done():
            future.set_result(result)
        if self._kv.revision != before:
            event, self._revision_changed = self._revision_changed, asyncio.Event()
            event.set()

    def read_local(self, command: Get | Range) -> Result:
        return self._kv.apply(command)

    def watch(self, prefix: str, since_revision: int) -> WatchResult | Compacted:
        return self._kv.events_since(prefix, since_revision)

    async def wait_revision(self, after_revision: int, timeout_s: float) -> None:
        if self._kv.revision > after_revision:
            return
        try:
            await asyncio.wait_for(self._revision_changed.wait(), timeout_s)
        except TimeoutError:
            return

    # -- status --

    def believes_leader(self) -> bool:
        return self._leader_state() is not None

    def status(self) -> EngineStatus:
        if self._node is None:
            raise EngineUnavailableError("engine not started", outcome_unknown=False)
        state = self._node.state
        return EngineStatus(
            id=self._config.member_id,
            role=self._role(),
            term=int(state.storage.term),
            voted_for=self._voted_for(),
            leader=self._member_name(self._leader_address()),
            commit_index=int(state.log.commit_index),
            applied_index=int(state.log.last_applied),
            state_hash=self._kv.state_hash(),
            engine=self.name,
            revision=self._kv.revision,
        )

    # -- internals --

    def _role(self) -> Role:
        import raftos.state

        current = self._node.state.state if self._node is not None else None
        if isinstance(current, raftos.state.Leader):
            return Role.LEADER
        if isinstance(current, raftos.state.Candidate):
            return Role.CANDIDATE
        return Role.FOLLOWER

    def _leader_state(self) -> Any:
        import raftos.state

        current = self._node.state.state if self._node is not None else None
        return current if isinstance(current, raftos.state.Leader) else None

    def _voted_for(self) -> str | None:
        # raftos keeps the vote in its file-backed storage; unreadable → unknown (None).
        try:
            storage = self._node.state.storage if self._node is not None else None
            voted = (
                storage["voted_for"]
                if storage is not None and storage.exists("voted_for")
                else None
            )
        except Exception:  # status must answer even if the store file is mid-write
            return None
        return self._member_name(None if voted is None else str(voted))

    def _leader_address(self) -> str | None:
        import raftos.state

        leader = raftos.state.State.get_leader()
        return None if leader is None else str(leader)

    def _member_name(self, address: str | None) -> str | None:
        if address is None:
            return None
        return self._name_by_address.get(address, address)

    async def _monitor(self) -> None:
        # raftos has no callback for candidacy, so role changes are sampled (every 20 ms).
        while self._node is not None:
            role = self._role()
            leader = self._member_name(self._leader_address())
            term = self._node.state.storage.term
            if role != self._last_role:
                _say(f"raft {self._config.member_id}: role {self._last_role} -> {role} term={term}")
                self._last_role = role
            if leader != self._last_leader:
                _say(f"raft {self._config.member_id}: leader is {leader} term={term}")
                self._last_leader = leader
            await asyncio.sleep(0.02)


def _forget_term(data_dir: str, address: str) -> None:
    """Bug ``forget-vote`` on raftos: its vote is forgotten on every start anyway; also drop the
    persisted term (``<id>.storage``), so the member restarts at term 0."""
    path = os.path.join(data_dir, f"{address}.storage".replace(":", "_"))
    if os.path.exists(path):
        os.remove(path)
        _say(f"bug forget-vote: removed {path}")


def _say(line: str) -> None:
    print(line, flush=True)

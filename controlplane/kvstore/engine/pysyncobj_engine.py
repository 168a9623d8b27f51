"""The default Raft engine: PySyncObj 0.3.17 replicating a :class:`KVState`.

In a nutshell: every command, reads included, is one ``@replicated`` call on a
``SyncObjConsumer`` that owns the state; its result is computed when the entry is applied, in log
order, on the member that received the request (PySyncObj forwards a follower's command to the
leader and calls back once the follower itself has applied the committed entry). Results come
back on PySyncObj's tick thread and are handed to asyncio with ``loop.call_soon_threadsafe``.

    engine = PySyncObjEngine(config); engine.start()      # inside a running event loop
    await engine.execute(Put(key="a", value_json="1"), timeout_s=3.0)

What PySyncObj lacks, and what that costs us (not hidden, the harness should see it):

* **No PreVote** (Raft thesis §9.6). A member cut off from the leader but still reaching a third
  member keeps timing out and starting elections with ever higher terms; when its link heals its
  higher term deposes a perfectly healthy leader. Expect leader churn and term inflation under
  partial partitions and after any partition heals (measured here: a
  one-link cut caused 4 elections in 3.6 s).
* **No CheckQuorum / lease.** A leader cut off from its majority only steps down after
  ``leaderFallbackTimeout`` without responses (we set ~2 × the max election timeout). Until then
  it still says "leader" — harmless for us only because reads go through the log.
* **No ReadIndex.** Linearizable reads therefore cost one log entry each (a replicated no-op
  read); they never come from local state unless a bug switch says so.
* **Votes are persisted lazily** (term/votedFor go to ``journal.meta`` on a 1-second timer): a vote
  granted less than 1 s before a SIGKILL can be forgotten, a double-vote window.

Bug switches implemented here: ``no-step-down`` (a huge ``leaderFallbackTimeout``: a deposed,
isolated leader keeps its role) and ``forget-vote`` (``journal.meta`` — persisted term and vote —
is deleted before start, so a restarted member may vote twice in one term).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, SyncObjConsumer, replicated

from controlplane.kvstore.config import StoreConfig
from controlplane.kvstore.engine import EngineStatus, EngineUnavailableError, Role
from controlplane.kvstore.state import (
    Command,
    Compacted,
    Get,
    KVState,
    Range,
    Result,
    WatchResult,
)

log = logging.getLogger("controlplane.kvstore")

# PySyncObj's internal state numbers (pysyncobj.syncobj._RAFT_STATE).
_ROLE_BY_RAFT_STATE = {0: Role.FOLLOWER, 1: Role.CANDIDATE, 2: Role.LEADER}
# Used by the no-step-down bug: long enough that a run never sees the fallback.
_NEVER_S = 1e9
_RETRY_PAUSE_S = 0.05
# Reasons after which the command certainly did not enter the log.
_NOT_SUBMITTED = {FAIL_REASON.QUEUE_FULL, FAIL_REASON.MISSING_LEADER, FAIL_REASON.REQUEST_DENIED}


class _KVConsumer(SyncObjConsumer):  # type: ignore[misc]
    """Owns the state; PySyncObj serializes its non-base attributes into the full dump."""

    def __init__(self, lock: threading.Lock, notify: Callable[[], None]) -> None:
        # Attributes set before the base __init__ are excluded from the dump; those set after
        # it are the replicated state.
        self._lock = lock
        self._notify = notify
        super().__init__()
        self.kv = KVState()

    @replicated  # type: ignore[untyped-decorator]
    def apply(self, command: Command) -> Result:
        # Runs on the tick thread, in log order, on every member.
        with self._lock:
            before = self.kv.revision
            result = self.kv.apply(command)
            changed = self.kv.revision != before
        if changed:
            self._notify()
        return result


class PySyncObjEngine:
    """One store member on PySyncObj (see the module docstring for its limits)."""

    name = "pysyncobj"

    def __init__(self, config: StoreConfig) -> None:
        self._config = config
        self._name_by_address = {addr: name for name, addr in config.peers}
        self._lock = threading.Lock()
        self._consumer = _KVConsumer(self._lock, self._notify_threadsafe)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._revision_changed: asyncio.Event | None = None
        self._raft_state = 0
        self._last_leader: str | None = None
        self._sync: SyncObj | None = None

    # -- lifecycle --

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._revision_changed = asyncio.Event()
        cfg = self._config
        os.makedirs(cfg.data_dir, exist_ok=True)
        journal = os.path.join(cfg.data_dir, "raft.journal")
        if cfg.bug("forget-vote"):
            _forget_vote(journal)
        t = cfg.timings
        conf = SyncObjConf(
            # Batching waits for appendEntriesPeriod before sending: ~10 writes/s sequential.
            appendEntriesUseBatch=False,
            raftMinTimeout=t.min_timeout_s,
            raftMaxTimeout=t.max_timeout_s,
            appendEntriesPeriod=t.append_entries_period_s,
            leaderFallbackTimeout=(
                _NEVER_S if cfg.bug("no-step-down") else t.leader_fallback_timeout_s
            ),
            connectionTimeout=t.connection_timeout_s,
            connectionRetryTime=t.connection_retry_s,
            journalFile=journal,
            logCompactionMinEntries=cfg.log_compaction_entries,
            fullDumpFile=os.path.join(cfg.data_dir, "raft.dump"),
            bindAddress=f"0.0.0.0:{cfg.raft_port}",
            onStateChanged=self._on_state_changed,
            # Forking a process that holds an asyncio loop and threads is asking for trouble.
            useFork=False,
        )
        self._sync = SyncObj(
            cfg.self_address, list(cfg.other_addresses), conf=conf, consumers=[self._consumer]
        )
        self._sync.addOnTickCallback(self._on_tick)
        term = self._sync.raftCurrentTerm
        voted = getattr(self._sync, "_SyncObj__votedForNodeId", None)
        _say(
            f"raft {cfg.member_id}: engine=pysyncobj restored term={term} "
            f"voted_for={self._member_name(voted)} address={cfg.self_address}"
        )

    async def wait_started(self) -> None:
        return None  # SyncObj's constructor has already bound (or keeps retrying) its port

    def stop(self) -> None:
        if self._sync is not None:
            self._sync.destroy()
            self._sync = None

    # -- commands --

    async def execute(self, command: Command, *, timeout_s: float) -> Result:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                return await self._execute_once(command, deadline - loop.time())
            except EngineUnavailableError as exc:
                # Retry inside the deadline only when a second attempt cannot apply twice: the
                # first never entered the log, the command is a read, or it carries a request id
                # (the state machine dedupes it). Otherwise the outcome is unknown: say so.
                safe = not exc.outcome_unknown or _idempotent(command)
                if not safe or loop.time() + _RETRY_PAUSE_S >= deadline:
                    raise
            await asyncio.sleep(_RETRY_PAUSE_S)

    async def _execute_once(self, command: Command, timeout_s: float) -> Result:
        self._require_sync()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()

        def deliver(result: Any, error: int) -> None:
            # Called on the tick thread; never touch the future from here directly.
            loop.call_soon_threadsafe(_settle, future, result, error)

        self._consumer.apply(command, callback=deliver)
        try:
            return await asyncio.wait_for(future, max(timeout_s, 0.0))
        except TimeoutError:
            raise EngineUnavailableError(
                "no commit before the request deadline (no leader or no quorum)",
                outcome_unknown=True,
            ) from None

    def submit_nowait(self, command: Command) -> None:
        self._require_sync()
        self._consumer.apply(command, callback=lambda _r, _e: None)

    def read_local(self, command: Get | Range) -> Result:
        with self._lock:
            return self._consumer.kv.apply(command)

    def watch(self, prefix: str, since_revision: int) -> WatchResult | Compacted:
        with self._lock:
            return self._consumer.kv.events_since(prefix, since_revision)

    async def wait_revision(self, after_revision: int, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            with self._lock:
                if self._consumer.kv.revision > after_revision:
                    return
            event = self._revision_changed
            remaining = deadline - loop.time()
            if event is None or remaining <= 0:
                return
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return

    # -- status --

    def believes_leader(self) -> bool:
        return self._sync is not None and bool(self._sync._isLeader())

    def status(self) -> EngineStatus:
        sync = self._require_sync()
        with self._lock:
            state_hash = self._consumer.kv.state_hash()
            revision = self._consumer.kv.revision
        leader = sync._getLeader()
        term, voted = _term_and_vote(sync)
        return EngineStatus(
            id=self._config.member_id,
            role=_ROLE_BY_RAFT_STATE.get(self._raft_state, Role.FOLLOWER),
            term=term,
            voted_for=self._member_name(voted),
            leader=self._member_name(leader),
            commit_index=int(sync.raftCommitIndex),
            applied_index=int(sync.raftLastApplied),
            state_hash=state_hash,
            engine=self.name,
            revision=revision,
        )

    # -- internals --

    def _require_sync(self) -> SyncObj:
        if self._sync is None:
            raise EngineUnavailableError("engine not started", outcome_unknown=False)
        return self._sync

    def _member_name(self, node: Any) -> str | None:
        if node is None:
            return None
        address = str(getattr(node, "address", node))
        if address == self._config.self_address:
            return self._config.member_id
        return self._name_by_address.get(address, address)

    def _notify_threadsafe(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_watchers)

    def _wake_watchers(self) -> None:
        # Swap in a fresh Event so waiters woken now do not spin on a set one.
        event, self._revision_changed = self._revision_changed, asyncio.Event()
        if event is not None:
            event.set()

    def _on_state_changed(self, old: int, new: int) -> None:
        self._raft_state = new
        term = self._sync.raftCurrentTerm if self._sync is not None else "?"
        _say(
            f"raft {self._config.member_id}: role {_ROLE_BY_RAFT_STATE.get(old)} -> "
            f"{_ROLE_BY_RAFT_STATE.get(new)} term={term}"
        )

    def _on_tick(self) -> None:
        sync = self._sync
        if sync is None:
            return
        leader = self._member_name(sync._getLeader())
        if leader != self._last_leader:
            self._last_leader = leader
            _say(f"raft {self._config.member_id}: leader is {leader} term={sync.raftCurrentTerm}")


def _term_and_vote(sync: SyncObj) -> tuple[int, Any]:
    """currentTerm and votedFor as one pair. PySyncObj's Raft thread sets the term, then the
    vote; a pair read across that update could show the old term with the new term's (absent)
    vote, so read the term on both sides of the vote and retry when it moved."""
    for _ in range(5):
        term = int(sync.raftCurrentTerm)
        voted = getattr(sync, "_SyncObj__votedForNodeId", None)
        if int(sync.raftCurrentTerm) == term:
            return term, voted
    return int(sync.raftCurrentTerm), None  # terms racing by: claim no vote rather than guess


def _idempotent(command: Command) -> bool:
    return isinstance(command, Get | Range) or command.request_id is not None


def _settle(future: asyncio.Future[Result], result: Any, error: int) -> None:
    if future.done():
        return
    if error == FAIL_REASON.SUCCESS:
        future.set_result(result)
        return
    future.set_exception(
        EngineUnavailableError(
            f"raft refused the command (pysyncobj fail reason {error})",
            outcome_unknown=error not in _NOT_SUBMITTED,
        )
    )


def _forget_vote(journal: str) -> None:
    """Bug ``forget-vote``: drop the persisted currentTerm/votedFor (Raft §5.1 requires them to
    survive restarts). PySyncObj then restarts at the last log entry's term with no vote, and can
    grant a second vote in a term it already voted in."""
    meta = journal + ".meta"
    if os.path.exists(meta):
        os.remove(meta)
        _say(f"bug forget-vote: removed {meta}")


def _say(line: str) -> None:
    print(line, flush=True)

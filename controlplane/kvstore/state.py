"""The store's replicated state machine: a revisioned KV map, a watch log and a dedupe table.

In a nutshell: :class:`KVState` is pure (no sockets, clocks or threads) and deterministic, so
every member that applies the same commands in the same log order reaches the same state and the
same :meth:`KVState.state_hash`. Commands are small frozen dataclasses; :meth:`KVState.apply`
returns the command's result, decided at apply time (a CAS compares against the state as of its
log position, never against a read taken earlier).

    >>> s = KVState()
    >>> s.apply(Put(key="a", value_json="1", request_id=None))
    PutResult(revision=1)

Revisions follow etcd's model: one store revision, bumped by every mutation (a failed CAS and a
delete of an absent key mutate nothing); each key keeps its ``create_revision`` and
``mod_revision``. Values are kept as canonical JSON text so equality (``expect_value``) and the
state hash do not depend on dict order or on ``1 == 1.0 == True`` in Python.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_EVENTS = 10_000
DEFAULT_MAX_REQUEST_IDS = 100_000


def canonical_json(value: object) -> str:
    """The one text form of a JSON value: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class EventType(StrEnum):
    PUT = "PUT"
    DELETE = "DELETE"


# --- stored records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One key's current value and its revisions."""

    value_json: str
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One mutation, as a watch reports it. ``value_json`` is None for a DELETE.

    ``prev_value_json``/``prev_mod_revision``: the key's value before the mutation (None/0 when
    it was absent), as etcd's ``prev_kv``: a DELETE still tells what was deleted, and a
    watcher can tell an object leaving its selector."""

    type: EventType
    key: str
    value_json: str | None
    mod_revision: int
    create_revision: int
    prev_value_json: str | None = None
    prev_mod_revision: int = 0


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Put:
    key: str
    value_json: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cas:
    """Compare-and-set. Exactly one of ``expect_revision`` / ``expect_value_json`` is set;
    ``expect_revision=0`` means "the key is absent"."""

    key: str
    value_json: str
    expect_revision: int | None = None
    expect_value_json: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete:
    key: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Get:
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Range:
    prefix: str


Command = Put | Cas | Delete | Get | Range
Mutation = Put | Cas | Delete

# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PutResult:
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CasResult:
    """``value_json``/``mod_revision`` are the key's values after the command (the current
    ones when the compare failed; None/0 when the key is absent)."""

    succeeded: bool
    revision: int
    value_json: str | None
    mod_revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteResult:
    deleted: bool
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GetResult:
    """``entry`` is None when the key is absent; ``revision`` is the store revision."""

    key: str
    entry: Entry | None
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeResult:
    items: tuple[tuple[str, Entry], ...]
    revision: int


Result = PutResult | CasResult | DeleteResult | GetResult | RangeResult
MutationResult = PutResult | CasResult | DeleteResult


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchResult:
    events: tuple[Event, ...]
    revision: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Compacted:
    """The requested history is gone; ``compact_revision`` is the oldest answerable
    ``since_revision``."""

    compact_revision: int


# --- the state machine ------------------------------------------------------------------------


class KVState:
    """The replicated map. Mutated only through :meth:`apply`, in log order."""

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_request_ids: int = DEFAULT_MAX_REQUEST_IDS,
    ) -> None:
        self.revision = 0
        self.data: dict[str, Entry] = {}
        self.events: deque[Event] = deque()
        self.max_events = max_events
        # Highest revision whose event was evicted: a watch from below it cannot be served.
        self.compacted_revision = 0
        self.request_results: OrderedDict[str, MutationResult] = OrderedDict()
        self.max_request_ids = max_request_ids

    # -- commands --

    def apply(self, command: Command) -> Result:
        """Apply one command and return its result (reads mutate nothing)."""
        match command:
            case Get():
                return GetResult(
                    key=command.key, entry=self.data.get(command.key), revision=self.revision
                )
            case Range():
                return self.range(command.prefix)
            case Put() | Cas() | Delete():
                return self._apply_mutation(command)
        raise TypeError(f"not a store command: {command!r}")

    def _apply_mutation(self, command: Mutation) -> MutationResult:
        # A retried request (same id) must apply at most once: the client may have timed out
        # while the first attempt committed (the outcome was unknown), so it is answered with
        # the first attempt's result instead of being applied again.
        rid = command.request_id
        if rid is not None and rid in self.request_results:
            return self.request_results[rid]
        result: MutationResult
        match command:
            case Put():
                result = self._put(command.key, command.value_json)
            case Cas():
                result = self._cas(command)
            case Delete():
                result = self._delete(command.key)
        if rid is not None:
            self.request_results[rid] = result
            while len(self.request_results) > self.max_request_ids:
                self.request_results.popitem(last=False)
        return result

    def _put(self, key: str, value_json: str) -> PutResult:
        self.revision += 1
        old = self.data.get(key)
        create = old.create_revision if old is not None else self.revision
        self.data[key] = Entry(
            value_json=value_json, create_revision=create, mod_revision=self.revision
        )
        self._record(
            Event(
                type=EventType.PUT,
                key=key,
                value_json=value_json,
                mod_revision=self.revision,
                create_revision=create,
                prev_value_json=old.value_json if old is not None else None,
                prev_mod_revision=old.mod_revision if old is not None else 0,
            )
        )
        return PutResult(revision=self.revision)

    def _cas(self, command: Cas) -> CasResult:
        current = self.data.get(command.key)
        if command.expect_revision is not None:
            current_mod = current.mod_revision if current is not None else 0
            matches = current_mod == command.expect_revision
        else:
            current_value = current.value_json if current is not None else None
            matches = current is not None and current_value == command.expect_value_json
        if not matches:
            return CasResult(
                succeeded=False,
                revision=self.revision,
                value_json=current.value_json if current is not None else None,
                mod_revision=current.mod_revision if current is not None else 0,
            )
        put = self._put(command.key, command.value_json)
        return CasResult(
            succeeded=True,
            revision=put.revision,
            value_json=command.value_json,
            mod_revision=put.revision,
        )

    def _delete(self, key: str) -> DeleteResult:
        old = self.data.pop(key, None)
        if old is None:
            return DeleteResult(deleted=False, revision=self.revision)
        self.revision += 1
        self._record(
            Event(
                type=EventType.DELETE,
                key=key,
                value_json=None,
                mod_revision=self.revision,
                create_revision=old.create_revision,
                prev_value_json=old.value_json,
                prev_mod_revision=old.mod_revision,
            )
        )
        return DeleteResult(deleted=True, revision=self.revision)

    def _record(self, event: Event) -> None:
        self.events.append(event)
        while len(self.events) > self.max_events:
            self.compacted_revision = self.events.popleft().mod_revision

    # -- local queries (no log entry; callers decide whether that is allowed) --

    def range(self, prefix: str) -> RangeResult:
        items = tuple(sorted((k, e) for k, e in self.data.items() if k.startswith(prefix)))
        return RangeResult(items=items, revision=self.revision)

    def events_since(self, prefix: str, since_revision: int) -> WatchResult | Compacted:
        """Events with ``mod_revision > since_revision`` under ``prefix``, oldest first."""
        if since_revision < self.compacted_revision:
            return Compacted(compact_revision=self.compacted_revision)
        events = tuple(
            e for e in self.events if e.mod_revision > since_revision and e.key.startswith(prefix)
        )
        return WatchResult(events=events, revision=self.revision)

    def state_hash(self) -> str:
        """sha256 over the revision and the sorted map: equal on members that applied the same
        log prefix of mutations."""
        digest = hashlib.sha256()
        digest.update(f"rev:{self.revision}\n".encode())
        for key in sorted(self.data):
            e = self.data[key]
            line = canonical_json([key, e.value_json, e.create_revision, e.mod_revision])
            digest.update(line.encode())
            digest.update(b"\n")
        return digest.hexdigest()

"""The store's pure state machine: revisions, CAS, delete, dedupe, watch log, state hash.

Each test names the rule it checks: etcd's revision model (etcd API guarantees, "Revision"),
its Txn compare semantics, Raft's state-machine-safety requirement that replicas applying the
same log reach the same state (Raft paper §5.4.3 / Figure 3), and the thesis' client-session
rule that a retried command is applied at most once (Raft thesis §6.3).
"""

from __future__ import annotations

import pickle

from controlplane.kvstore.state import (
    Cas,
    CasResult,
    Command,
    Compacted,
    Delete,
    DeleteResult,
    Get,
    GetResult,
    KVState,
    Put,
    PutResult,
    Range,
    RangeResult,
    WatchResult,
    canonical_json,
)


def put(s: KVState, key: str, value: object, rid: str | None = None) -> PutResult:
    r = s.apply(Put(key=key, value_json=canonical_json(value), request_id=rid))
    assert isinstance(r, PutResult)
    return r


_UNSET = object()


def cas(
    s: KVState,
    key: str,
    value: object,
    *,
    expect_revision: int | None = None,
    expect_value: object = _UNSET,
    rid: str | None = None,
) -> CasResult:
    r = s.apply(
        Cas(
            key=key,
            value_json=canonical_json(value),
            expect_revision=expect_revision,
            expect_value_json=None if expect_value is _UNSET else canonical_json(expect_value),
            request_id=rid,
        )
    )
    assert isinstance(r, CasResult)
    return r


def get(s: KVState, key: str) -> GetResult:
    r = s.apply(Get(key=key))
    assert isinstance(r, GetResult)
    return r


# --- revisions (etcd: one store revision, bumped by every mutation; per-key create/mod) ----------


def test_put_bumps_store_revision_and_sets_create_and_mod_revision() -> None:
    s = KVState()
    assert put(s, "a", 1).revision == 1
    assert put(s, "b", 2).revision == 2
    assert put(s, "a", 3).revision == 3
    entry = get(s, "a").entry
    assert entry is not None
    assert (entry.create_revision, entry.mod_revision, entry.value_json) == (1, 3, "3")
    assert get(s, "a").revision == 3


def test_reads_do_not_change_the_revision() -> None:
    s = KVState()
    put(s, "a", 1)
    get(s, "a")
    s.apply(Range(prefix=""))
    assert s.revision == 1


def test_range_returns_sorted_keys_under_prefix_only() -> None:
    s = KVState()
    for k in ("p/b", "q/a", "p/a"):
        put(s, k, k)
    r = s.apply(Range(prefix="p/"))
    assert isinstance(r, RangeResult)
    assert [k for k, _ in r.items] == ["p/a", "p/b"]
    assert r.revision == 3


# --- CAS (etcd Txn: compare mod_revision / value at apply time; absent key has mod_revision 0) ---


def test_cas_by_revision_succeeds_only_on_the_current_mod_revision() -> None:
    s = KVState()
    put(s, "k", "v1")
    ok = cas(s, "k", "v2", expect_revision=1)
    assert ok.succeeded and ok.revision == 2 and ok.mod_revision == 2
    stale = cas(s, "k", "v3", expect_revision=1)
    assert not stale.succeeded
    # The failed compare reports the current value and mod_revision and mutates nothing.
    assert (stale.value_json, stale.mod_revision, stale.revision) == ('"v2"', 2, 2)
    assert s.revision == 2


def test_cas_expect_revision_zero_means_absent() -> None:
    s = KVState()
    assert cas(s, "k", 1, expect_revision=0).succeeded
    assert not cas(s, "k", 2, expect_revision=0).succeeded
    entry = get(s, "k").entry
    assert entry is not None and entry.value_json == "1"


def test_cas_by_value_compares_canonical_json() -> None:
    s = KVState()
    put(s, "k", {"b": 1, "a": [1, 2]})
    assert cas(s, "k", "x", expect_value={"a": [1, 2], "b": 1}).succeeded
    # 1 and true are different JSON values even though 1 == True in Python.
    put(s, "n", 1)
    assert not cas(s, "n", "y", expect_value=True).succeeded


def test_cas_by_value_on_an_absent_key_fails() -> None:
    s = KVState()
    r = cas(s, "k", 1, expect_value=None)
    assert not r.succeeded and r.value_json is None and r.mod_revision == 0


# --- delete -------------------------------------------------------------------------------------


def test_delete_bumps_revision_only_when_the_key_existed() -> None:
    s = KVState()
    put(s, "k", 1)
    r = s.apply(Delete(key="k"))
    assert r == DeleteResult(deleted=True, revision=2)
    r = s.apply(Delete(key="k"))
    assert r == DeleteResult(deleted=False, revision=2)
    assert get(s, "k").entry is None


def test_recreated_key_gets_a_new_create_revision() -> None:
    s = KVState()
    put(s, "k", 1)
    s.apply(Delete(key="k"))
    put(s, "k", 2)
    entry = get(s, "k").entry
    assert entry is not None and entry.create_revision == 3


# --- request ids (Raft thesis §6.3: a retried command applies at most once) ---------------------


def test_retried_put_with_same_request_id_applies_once() -> None:
    s = KVState()
    first = put(s, "k", 1, rid="r1")
    put(s, "k", 2)
    again = put(s, "k", 1, rid="r1")
    assert again == first
    entry = get(s, "k").entry
    assert entry is not None and entry.value_json == "2"  # the retry did not overwrite
    assert s.revision == 2


def test_retried_cas_returns_the_first_outcome() -> None:
    s = KVState()
    put(s, "k", 0)
    first = cas(s, "k", 1, expect_revision=1, rid="c1")
    assert first.succeeded
    # Without dedupe the retry would now fail its compare and the client would wrongly
    # conclude that its CAS lost.
    assert cas(s, "k", 1, expect_revision=1, rid="c1") == first


def test_retried_delete_returns_the_first_outcome() -> None:
    s = KVState()
    put(s, "k", 0)
    first = s.apply(Delete(key="k", request_id="d1"))
    put(s, "k", 1)
    assert s.apply(Delete(key="k", request_id="d1")) == first
    assert get(s, "k").entry is not None


def test_request_id_table_is_bounded_oldest_first() -> None:
    s = KVState(max_request_ids=2)
    put(s, "k", 1, rid="a")
    put(s, "k", 2, rid="b")
    put(s, "k", 3, rid="c")
    assert list(s.request_results) == ["b", "c"]
    # "a" was evicted, so a (very late) retry applies again.
    assert put(s, "k", 1, rid="a").revision == 4


# --- watch log (etcd watch: events after a revision, in order; compacted history → error) -------


def test_watch_returns_events_after_since_revision_in_order() -> None:
    s = KVState()
    put(s, "a/1", 1)
    put(s, "b/1", 2)
    put(s, "a/1", 3)
    s.apply(Delete(key="a/1"))
    r = s.events_since("a/", 1)
    assert isinstance(r, WatchResult)
    assert [(e.type.value, e.mod_revision, e.value_json) for e in r.events] == [
        ("PUT", 3, "3"),
        ("DELETE", 4, None),
    ]
    assert r.events[1].create_revision == 1
    assert r.revision == 4


def test_watch_reports_compaction_when_history_is_evicted() -> None:
    s = KVState(max_events=3)
    for i in range(5):
        put(s, "k", i)  # revisions 1..5; events 3..5 kept
    assert s.events_since("", 1) == Compacted(compact_revision=2)
    kept = s.events_since("", 2)
    assert isinstance(kept, WatchResult)
    assert [e.mod_revision for e in kept.events] == [3, 4, 5]


def test_failed_cas_records_no_event() -> None:
    s = KVState()
    put(s, "k", 1)
    cas(s, "k", 2, expect_revision=9)
    r = s.events_since("", 0)
    assert isinstance(r, WatchResult) and len(r.events) == 1


# --- state hash (Raft §5.4.3: same log → same state; the hash must show any divergence) ---------


def _log() -> list[Command]:
    return [
        Put(key="a", value_json="1"),
        Put(key="b", value_json='{"x":1}'),
        Cas(key="a", value_json="2", expect_revision=1),
        Delete(key="b"),
        Get(key="a"),
    ]


def test_replicas_applying_the_same_log_have_equal_hashes() -> None:
    one, two = KVState(), KVState()
    for cmd in _log():
        one.apply(cmd)
    for cmd in _log():
        two.apply(cmd)
    assert one.state_hash() == two.state_hash()


def test_hash_differs_when_one_entry_differs() -> None:
    one, two = KVState(), KVState()
    for cmd in _log():
        one.apply(cmd)
    for cmd in _log()[:-2]:
        two.apply(cmd)
    assert one.state_hash() != two.state_hash()


def test_hash_covers_revisions_not_only_values() -> None:
    one, two = KVState(), KVState()
    put(one, "k", 1)
    put(two, "k", 0)
    put(two, "k", 1)
    assert one.state_hash() != two.state_hash()


def test_state_survives_pickle_as_in_a_raft_dump() -> None:
    s = KVState()
    for cmd in _log():
        s.apply(cmd)
    put(s, "k", 1, rid="r")
    restored = pickle.loads(pickle.dumps(s))
    assert restored.state_hash() == s.state_hash()
    assert put(restored, "k", 1, rid="r") == put(s, "k", 1, rid="r")

"""The objects, set and watch workloads against the fake cluster."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_workload_support import run_workload, spec, well_formed

from harness.history import JsonlWriter, Op, OpType, read_ops
from harness.model import WorkloadKind
from harness.testing.fakes import FakeCluster, Misbehave
from harness.workload import WatchWorkload, make_workload
from harness.workload.http import Endpoint


@pytest.fixture
def fake() -> Iterator[FakeCluster]:
    with FakeCluster(apiservers=2, store_members=3) as cluster:
        yield cluster


def test_objects_history(tmp_path: Path, fake: FakeCluster) -> None:
    result, ops, _workload = run_workload(tmp_path, fake, spec(WorkloadKind.OBJECTS, keys=4))
    assert well_formed(ops) == []
    oks = Counter(op.f for op in ops if op.type is OpType.OK)
    assert {"create", "update", "get", "list"} <= set(oks)
    for op in ops:
        if op.type is OpType.OK and op.f in ("create", "update"):
            assert set(op.value) == {"name", "value", "resourceVersion"}
            assert op.value["name"] == op.key
        if op.type is OpType.OK and op.f == "list":
            assert all(name.startswith("obj-") for name in op.value["items"])
    # a stale resourceVersion is refused with 409 → fail, never info
    conflicts = [op for op in ops if "409" in (op.error or "")]
    assert all(op.type is OpType.FAIL for op in conflicts)
    assert result.counts.get("info", 0) == 0


def test_objects_rv_per_object_increase(tmp_path: Path, fake: FakeCluster) -> None:
    _, ops, _ = run_workload(tmp_path, fake, spec(WorkloadKind.OBJECTS, keys=2, clients=2))
    last: dict[str, int] = {}
    for op in ops:
        if op.type is OpType.OK and op.f in ("create", "update") and op.key is not None:
            rv = int(op.value["resourceVersion"])
            assert rv > last.get(op.key, 0)
            last[op.key] = rv


def _set_check(ops: list[Op]) -> None:
    final = [op for op in ops if op.f == "final-read" and op.type is OpType.OK]
    assert len(final) == 1
    seen = set(final[0].value)
    assert final[0].value == sorted(seen)
    acked = {op.value for op in ops if op.f == "add" and op.type is OpType.OK}
    failed = {op.value for op in ops if op.f == "add" and op.type is OpType.FAIL}
    assert acked and acked <= seen
    assert not failed & seen


@pytest.mark.parametrize("through", ["apiserver", "store"])
def test_set_final_read_holds_every_acked_add(
    tmp_path: Path, fake: FakeCluster, through: str
) -> None:
    _result, ops, workload = run_workload(
        tmp_path, fake, spec(WorkloadKind.SET, through=through), final_read=True
    )
    assert workload.checkers == ("well_formed", "no_lost_writes")
    assert well_formed(ops) == []
    assert all(op.key == "set" for op in ops)
    _set_check(ops)
    adds = [op.value for op in ops if op.f == "add" and op.type is OpType.INVOKE]
    assert len(adds) == len(set(adds))  # unique elements


def test_set_final_read_retries_until_it_succeeds(tmp_path: Path, fake: FakeCluster) -> None:
    path = tmp_path / "h.jsonl"
    with JsonlWriter(path) as writer:
        workload = make_workload(
            spec(WorkloadKind.SET, duration_s=0.3), fake.info(), writer, time.monotonic_ns(), 1
        )
        workload.run()
        for name in ("api-1", "api-2"):
            fake.misbehave(name, Misbehave(status=503))
        import threading

        def heal() -> None:
            for name in ("api-1", "api-2"):
                fake.misbehave(name, Misbehave())

        threading.Timer(1.2, heal).start()
        workload.final_read()
    ops = list(read_ops(path))
    attempts = [op for op in ops if op.f == "final-read" and op.type is not OpType.INVOKE]
    assert [op.type for op in attempts][-1] is OpType.OK
    assert OpType.FAIL in {op.type for op in attempts}  # it really failed first, then retried
    assert well_formed(ops) == []
    _set_check(ops)


def _watch_checks(ops: list[Op], watchers: int) -> dict[str, list[int]]:
    by_watcher: dict[str, list[int]] = {}
    for op in ops:
        if op.f == "watch-event" and op.value["type"] not in ("EXPIRED", "START"):
            assert op.key is not None
            by_watcher.setdefault(op.key, []).append(int(op.value["resourceVersion"]))
    assert len(by_watcher) == watchers
    for name, rvs in by_watcher.items():
        assert rvs == sorted(set(rvs)), f"{name}: out of order or duplicated"
    return by_watcher


def test_watch_follows_writes_across_failover(tmp_path: Path, fake: FakeCluster) -> None:
    result, ops, workload = run_workload(
        tmp_path,
        fake,
        spec(WorkloadKind.WATCH, duration_s=1.5, clients=2, rate=100.0),
        during=lambda: fake.kill("api-1"),
        at_s=0.6,
    )
    assert workload.checkers == ("well_formed", "watch")
    assert well_formed(ops) == []
    by_watcher = _watch_checks(ops, watchers=2)
    acked = {
        int(op.value["resourceVersion"])
        for op in ops
        if op.type is OpType.OK and op.f in ("create", "update")
    }
    assert len(acked) > 20
    for name, rvs in by_watcher.items():
        assert acked <= set(rvs), f"{name} missed {sorted(acked - set(rvs))[:5]}"
    # each watcher first marks its baseline: a START at the RV of its initial list
    for name in ("watcher-0", "watcher-1"):
        first = next(op for op in ops if op.f == "watch-event" and op.key == name)
        assert first.value["type"] == "START" and first.value["resourceVersion"] is not None
    # the watcher on api-1 really failed over: it recorded events from both apiservers
    nodes = {op.node for op in ops if op.f == "watch-event" and op.key == "watcher-0"}
    assert nodes == {"api-1", "api-2"}
    assert result.extra["reconnects"] >= 1


def test_watch_resume_from_compacted_rv_records_expired(tmp_path: Path, fake: FakeCluster) -> None:
    path = tmp_path / "h.jsonl"
    with JsonlWriter(path) as writer:
        workload = make_workload(spec(WorkloadKind.WATCH), fake.info(), writer, 0, 1)
        assert isinstance(workload, WatchWorkload)
        for i in range(3):  # three writes, then compaction: resuming from "1" is too old
            fake.servers["api-1"]._store({"metadata": {"name": f"w-{i}"}, "data": {}}, "ADDED")
        fake.compact()

        async def follow() -> str | None:
            async with workload.open_http() as http:
                endpoint = Endpoint(name="api-1", url=fake.url("api-1"))
                return await workload._follow(http, endpoint, 9, "watcher-0", 0, "1")

        assert asyncio.run(follow()) is None
        workload.recorder.close()
    (event,) = list(read_ops(path))
    assert event.f == "watch-event" and event.type is OpType.OK
    assert event.value == {
        "type": "EXPIRED",
        "name": None,
        "resourceVersion": None,
        "requested": "1",
    }


def test_key_prefix_keeps_runs_on_one_cluster_apart(tmp_path: Path, fake: FakeCluster) -> None:
    _, first, _ = run_workload(
        tmp_path, fake, spec(WorkloadKind.SET, key_prefix="a-", duration_s=0.5), final_read=True
    )
    _, second, _ = run_workload(
        tmp_path, fake, spec(WorkloadKind.SET, key_prefix="b-", duration_s=0.5), final_read=True
    )
    # Elements restart at 0 in each run; each final read sees only its own run's adds.
    _set_check(first)
    _set_check(second)
    names = set(fake.state.configmaps)
    assert any(n.startswith("a-set-") for n in names) and any(n.startswith("b-set-") for n in names)
    final_b = next(op for op in second if op.f == "final-read" and op.type is OpType.OK)
    acked_b = {op.value for op in second if op.f == "add" and op.type is OpType.OK}
    assert set(final_b.value) == acked_b  # nothing of run "a-" leaked in


def test_objects_final_read_lists_every_live_object(tmp_path: Path, fake: FakeCluster) -> None:
    _, ops, workload = run_workload(
        tmp_path, fake, spec(WorkloadKind.OBJECTS, keys=4, key_prefix="o-"), final_read=True
    )
    assert workload.checkers == ("well_formed", "no_lost_writes")
    assert well_formed(ops) == []
    (final,) = [op for op in ops if op.f == "final-read" and op.type is OpType.OK]
    assert final.key == "objects"
    assert final.value == sorted(n for n in fake.state.configmaps if n.startswith("o-obj-"))


def test_watchers_alone_run_for_the_whole_duration(tmp_path: Path, fake: FakeCluster) -> None:
    began = time.monotonic()
    result, ops, _ = run_workload(
        tmp_path, fake, spec(WorkloadKind.WATCH, clients=0, duration_s=0.6)
    )
    assert time.monotonic() - began >= 0.6
    assert result.duration_s >= 0.6
    assert [op.value["type"] for op in ops] == ["START", "START"]  # no writers, no events

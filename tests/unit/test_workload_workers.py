"""Clients over worker processes: one history, in order, nothing lost; the merge rule itself."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_workload_support import spec, well_formed

from harness.history import JsonlWriter, Op, OpType, read_ops
from harness.model import WorkloadKind
from harness.testing.fakes import FakeCluster
from harness.workload import (
    ParallelWorkload,
    RecorderError,
    RegisterWorkload,
    SetWorkload,
    WatchWorkload,
    WorkerError,
    make_workload,
    plan_shares,
    resolve_workers,
)
from harness.workload.base import ClientState, Invocation
from harness.workload.merge import StreamMerger


def _rec(t: int, process: int = 0) -> dict[str, Any]:
    return {"time": t, "process": process, "type": "invoke", "f": "read", "key": "k"}


def test_the_merger_holds_records_until_every_stream_promised_past_them() -> None:
    merger = StreamMerger(streams=2)
    merger.add(0, [_rec(5), _rec(9)], watermark=10)
    assert merger.ready() == []  # stream 1 said nothing yet: it may still send time 1
    merger.add(1, [_rec(1, 1), _rec(7, 1)], watermark=8)
    assert [r["time"] for r in merger.ready()] == [1, 5, 7]
    merger.add(1, [_rec(12, 1)], watermark=None)
    assert [r["time"] for r in merger.ready()] == [9]
    merger.finish(0)
    merger.finish(1)
    out = merger.ready()
    assert [(r["time"], r["index"]) for r in out] == [(12, 4)]
    assert merger.max_process == 1 and merger.held == 0


def test_the_merger_refuses_a_stream_that_goes_back_in_time() -> None:
    merger = StreamMerger(streams=1)
    merger.add(0, [_rec(5)], watermark=None)
    with pytest.raises(RecorderError, match="worker 0 sent a record at time 3 after one at 5"):
        merger.add(0, [_rec(3)], watermark=None)


def test_shares_keep_a_keys_clients_together(tmp_path: Path) -> None:
    with FakeCluster(apiservers=1, store_members=1) as fake, JsonlWriter(tmp_path / "h") as w:
        six = RegisterWorkload(
            spec(WorkloadKind.REGISTER, clients=6, keys=3, through="store"), fake.info(), w,
            start_ns=0, seed=1,
        )  # fmt: skip
        shares = plan_shares(six, 2)
        assert [s.slots for s in shares] == [(0, 2, 3, 5), (1, 4)]
        for share in shares:  # slots s and s+3 share key k(s % 3): same worker
            assert {s % 3 for s in share.slots}.isdisjoint(
                {s % 3 for other in shares if other is not share for s in other.slots}
            )
        one_key = RegisterWorkload(
            spec(WorkloadKind.REGISTER, clients=4, keys=1, through="store"), fake.info(), w,
            start_ns=0, seed=1,
        )  # fmt: skip
        assert len(plan_shares(one_key, 2)) == 1


def test_workers_are_derived_from_the_rate_unless_set() -> None:
    paced = spec(WorkloadKind.REGISTER, rate=60.0)
    assert resolve_workers(paced, RegisterWorkload) == 1  # one process keeps 60/s easily
    assert resolve_workers(replace(paced, workers=3), RegisterWorkload) == 3
    assert resolve_workers(replace(paced, rate=0.0), RegisterWorkload) >= 1
    assert resolve_workers(replace(paced, workers=3), WatchWorkload) == 1  # shares watchers


def _run(tmp_path: Path, fake: FakeCluster, **fields: Any) -> tuple[Any, list[Op], Any]:
    path = tmp_path / "history.jsonl"
    import time

    with JsonlWriter(path) as writer:
        workload = make_workload(spec(**fields), fake.info(), writer, time.monotonic_ns(), seed=3)
        result = workload.run()
        workload.final_read()
    return result, list(read_ops(path)), workload


def test_two_workers_record_one_well_formed_history(tmp_path: Path) -> None:
    with FakeCluster(apiservers=1, store_members=2) as fake:
        result, ops, workload = _run(
            tmp_path, fake, kind=WorkloadKind.REGISTER, clients=4, keys=4, rate=0.0,
            duration_s=1.0, through="store", workers=2,
        )  # fmt: skip
    assert isinstance(workload, ParallelWorkload)
    assert well_formed(ops) == []
    assert result.extra["workers"] == 2
    # Both workers' clients are in the history (processes 0..3 and their successors).
    assert {op.process % 4 for op in ops if op.f != "read" or op.process < 4} >= {0, 1, 2, 3}
    completions = Counter(op.type.value for op in ops if op.type is not OpType.INVOKE)
    final_reads = 4  # one read per key after the run, under fresh processes
    assert sum(result.counts.values()) + final_reads == sum(completions.values())
    assert all(op.process > max(p.process for p in ops[:-8]) for op in ops[-8:])
    # Values written per key stay unique although two processes write.
    written = Counter((op.key, op.value) for op in ops if op.f == "write" and op.type is OpType.OK)
    assert written and max(written.values()) == 1


def test_set_elements_stay_unique_across_workers(tmp_path: Path) -> None:
    with FakeCluster(apiservers=1, store_members=1) as fake:
        _, ops, workload = _run(
            tmp_path, fake, kind=WorkloadKind.SET, clients=4, rate=400.0, duration_s=0.6,
            through="store", workers=2,
        )  # fmt: skip
    assert isinstance(workload, ParallelWorkload)
    adds = [op.value for op in ops if op.f == "add" and op.type is OpType.INVOKE]
    assert len(adds) == len(set(adds)) > 10
    assert {a % 2 for a in adds} == {0, 1}  # both workers added
    (final,) = [op for op in ops if op.f == "final-read" and op.type is OpType.OK]
    acked = {op.value for op in ops if op.f == "add" and op.type is OpType.OK}
    assert acked <= set(final.value)


def test_a_stop_flag_stops_every_worker(tmp_path: Path) -> None:
    stop = threading.Event()
    with FakeCluster(apiservers=1, store_members=1) as fake, JsonlWriter(tmp_path / "h") as w:
        import time

        workload = make_workload(
            spec(WorkloadKind.REGISTER, clients=4, keys=4, rate=200.0, duration_s=30.0,
                 through="store", workers=2),
            fake.info(), w, time.monotonic_ns(), seed=1,
        )  # fmt: skip
        threading.Timer(0.5, stop.set).start()
        result = workload.run(stop)
    assert result.duration_s < 5.0


class _Crashing(RegisterWorkload):
    """Raises in the worker that runs slot 1 after a few ops: a bug in a workload."""

    def plan(self, client: ClientState) -> Invocation:
        if client.slot == 1 and self.recorder.counts.total() >= 5:
            raise ZeroDivisionError("planned crash")
        return super().plan(client)


def test_a_crashed_worker_is_reported_and_its_records_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    with FakeCluster(apiservers=1, store_members=1) as fake, JsonlWriter(path) as writer:
        import time

        start_ns = time.monotonic_ns()
        local = _Crashing(
            spec(WorkloadKind.REGISTER, clients=2, keys=2, rate=100.0, duration_s=3.0,
                 through="store", workers=2),
            fake.info(), writer, start_ns=start_ns, seed=1,
        )  # fmt: skip
        workload = ParallelWorkload(local, writer, start_ns=start_ns, shares=plan_shares(local, 2))
        with pytest.raises(WorkerError, match="ZeroDivisionError: planned crash") as err:
            workload.run()
    assert err.value.worker == 1
    ops = list(read_ops(path))
    assert [op.index for op in ops] == list(range(len(ops)))
    assert any(op.process % 2 == 1 for op in ops)  # the crashed worker's ops before the crash


def test_set_workload_in_process_is_unchanged(tmp_path: Path) -> None:
    with FakeCluster(apiservers=1, store_members=1) as fake:
        _, ops, workload = _run(
            tmp_path, fake, kind=WorkloadKind.SET, clients=2, rate=100.0, duration_s=0.3,
            through="store",
        )  # fmt: skip
    assert isinstance(workload, SetWorkload)
    adds = sorted(op.value for op in ops if op.f == "add" and op.type is OpType.INVOKE)
    assert adds == list(range(len(adds)))

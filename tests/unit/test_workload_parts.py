"""The pacer's absolute schedule, the recorder's rules and make_workload's choices."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.history import JsonlWriter, OpType, read_ops
from harness.model import WorkloadKind, WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.workload import (
    ObjectsWorkload,
    RecorderError,
    RegisterWorkload,
    SetWorkload,
    WatchWorkload,
    make_workload,
)
from harness.workload.pacing import Pacer, percentile
from harness.workload.recorder import Recorder


def test_pacer_schedule_is_absolute() -> None:
    pacer = Pacer(rate=100.0, start_s=10.0, max_lag_s=1.0)
    # Taking slots late does not shift later ones: slot k is due at 10 + k/100.
    dues = [pacer.take(10.0 + 0.5 * k / 100) for k in range(5)]
    assert dues == pytest.approx([10.0, 10.01, 10.02, 10.03, 10.04])
    assert pacer.skipped == 0


def test_pacer_drops_slots_older_than_max_lag() -> None:
    pacer = Pacer(rate=100.0, start_s=0.0, max_lag_s=0.5)
    pacer.take(0.0)
    due = pacer.take(5.0)  # every client was blocked for 5 s
    assert 4.5 <= due <= 4.51  # no burst of 450 overdue slots
    assert pacer.skipped == pytest.approx(449, abs=1)


def test_pacer_unlimited_rate_never_waits() -> None:
    pacer = Pacer(rate=0.0, start_s=0.0, max_lag_s=0.5)
    assert pacer.take(3.25) == 3.25


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0


def test_recorder_rules(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with JsonlWriter(path) as writer:
        rec = Recorder(writer, start_ns=time.monotonic_ns())
        first = rec.invoke(process=0, f="write", key="k", value=1, node="api-1")
        with pytest.raises(RuntimeError, match="open op"):
            rec.invoke(process=0, f="read", key="k", value=None, node="api-1")
        rec.complete(first, OpType.INFO, value=1, node="api-1", error="ReadTimeout")
        with pytest.raises(RuntimeError, match="completed twice"):
            rec.complete(first, OpType.OK, value=1)
        with pytest.raises(RuntimeError, match="retired"):
            rec.invoke(process=0, f="read", key="k", value=None, node="api-1")
        second = rec.invoke(process=4, f="read", key="k", value=None, node="api-2")
        with pytest.raises(RecorderError, match="invoke") as err:
            rec.complete(second, OpType.INVOKE)
        assert err.value.process == 4 and isinstance(err.value, HarnessError)
        rec.complete(second, OpType.OK, value=1, node="api-2")
        rec.close()
    ops = list(read_ops(path))
    assert [(op.index, op.process, op.type) for op in ops] == [
        (0, 0, OpType.INVOKE),
        (1, 0, OpType.INFO),
        (2, 4, OpType.INVOKE),
        (3, 4, OpType.OK),
    ]
    assert ops[1].error == "ReadTimeout"
    assert all(a.time <= b.time for a, b in itertools.pairwise(ops))


def _info() -> ClusterInfo:
    return ClusterInfo(
        run_id="r",
        network="n",
        subnet="s",
        store={"store-1": "http://127.0.0.1:1"},
        apiservers={"api-1": "http://127.0.0.1:2"},
        apiservers_direct={},
        toxiproxy="",
        api_token="t",
    )


@pytest.mark.parametrize(
    ("kind", "cls", "checker"),
    [
        (WorkloadKind.REGISTER, RegisterWorkload, "linearizable"),
        (WorkloadKind.OBJECTS, ObjectsWorkload, "well_formed"),
        (WorkloadKind.SET, SetWorkload, "no_lost_writes"),
        (WorkloadKind.WATCH, WatchWorkload, "watch"),
    ],
)
def test_make_workload_picks_the_kind(
    tmp_path: Path, kind: WorkloadKind, cls: type, checker: str
) -> None:
    with JsonlWriter(tmp_path / "h.jsonl") as writer:
        workload = make_workload(WorkloadSpec(kind=kind), _info(), writer, 0, 1)
    assert isinstance(workload, cls)
    assert checker in workload.checkers


def test_make_workload_refuses_an_unknown_kind(tmp_path: Path) -> None:
    spec = WorkloadSpec(kind="queue")  # type: ignore[arg-type]
    with JsonlWriter(tmp_path / "h.jsonl") as writer, pytest.raises(ValueError, match="register"):
        make_workload(spec, _info(), writer, 0, 1)


def test_objects_refuses_the_store_path(tmp_path: Path) -> None:
    spec = WorkloadSpec(kind=WorkloadKind.OBJECTS, through="store")
    with JsonlWriter(tmp_path / "h.jsonl") as writer, pytest.raises(ValueError, match="apiserver"):
        make_workload(spec, _info(), writer, 0, 1)


def test_register_spreads_clients_over_keys(tmp_path: Path) -> None:
    spec = WorkloadSpec(kind=WorkloadKind.REGISTER, clients=6, keys=3)
    with JsonlWriter(tmp_path / "h.jsonl") as writer:
        workload = make_workload(spec, _info(), writer, 0, 1)
    assert isinstance(workload, RegisterWorkload)
    per_key: dict[str, int] = {}
    for slot in range(6):
        (key,) = workload.keys_of(workload._client(slot))
        per_key[key] = per_key.get(key, 0) + 1
    assert per_key == {"k0": 2, "k1": 2, "k2": 2}
    spec = WorkloadSpec(kind=WorkloadKind.REGISTER, clients=2, keys=5)
    with JsonlWriter(tmp_path / "h2.jsonl") as writer:
        workload = make_workload(spec, _info(), writer, 0, 1)
    assert isinstance(workload, RegisterWorkload)
    assert workload.keys_of(workload._client(0)) == ["k0", "k2", "k4"]
    assert workload.keys_of(workload._client(1)) == ["k1", "k3"]


def test_the_well_formedness_helper_catches_bad_histories() -> None:
    from test_workload_support import well_formed

    from harness.history import Op

    def op(i: int, t: int, p: int, kind: OpType, f: str = "read") -> Op:
        return Op(index=i, time=t, process=p, type=kind, f=f, key="k")

    good = [op(0, 1, 0, OpType.INVOKE), op(1, 2, 0, OpType.INFO), op(2, 3, 3, OpType.INVOKE)]
    assert well_formed(good) == []
    reuse = [*good[:2], op(2, 3, 0, OpType.INVOKE)]
    assert any("after its info" in p for p in well_formed(reuse))
    twice = [op(0, 1, 0, OpType.INVOKE), op(1, 2, 0, OpType.OK), op(2, 3, 0, OpType.OK)]
    assert any("without an open invoke" in p for p in well_formed(twice))
    backwards = [op(0, 5, 0, OpType.INVOKE), op(1, 2, 0, OpType.OK)]
    assert any("time" in p for p in well_formed(backwards))
    overlap = [op(0, 1, 0, OpType.INVOKE), op(1, 2, 0, OpType.INVOKE)]
    assert any("already has an open op" in p for p in well_formed(overlap))
    other_f = [op(0, 1, 0, OpType.INVOKE), op(1, 2, 0, OpType.OK, f="write")]
    assert any("completes" in p for p in well_formed(other_f))


def test_make_workload_refuses_an_unknown_path(tmp_path: Path) -> None:
    spec = WorkloadSpec(kind=WorkloadKind.REGISTER, through="etcd")
    with JsonlWriter(tmp_path / "h.jsonl") as writer, pytest.raises(ValueError, match="store"):
        make_workload(spec, _info(), writer, 0, 1)


def test_a_failed_cas_steers_the_next_one(tmp_path: Path) -> None:
    from harness.workload.base import Invocation
    from harness.workload.outcome import Effect, Outcome

    spec = WorkloadSpec(kind=WorkloadKind.REGISTER, clients=1, keys=1, mix={"cas": 1.0})
    with JsonlWriter(tmp_path / "h.jsonl") as writer:
        workload = make_workload(spec, _info(), writer, 0, 1)
    assert isinstance(workload, RegisterWorkload)
    client = workload._client(0)
    first = workload.plan(client)
    assert first.value[0] is None  # nothing known yet: expect absence
    failed = Outcome(type=OpType.FAIL, error="compare failed: current value 7", observed=(7,))
    workload.observe(
        client, Invocation(f="cas", key="k0", value=[None, 1], effect=Effect.WRITE), failed
    )
    assert workload.plan(client).value[0] == 7

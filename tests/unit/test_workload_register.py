"""The register workload against the fake cluster: well-formed histories, exact register values,
Jepsen's process rule after info, failover to the next server."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_workload_support import run_workload, spec, well_formed

from harness.history import Op, OpType
from harness.model import WorkloadKind
from harness.testing.fakes import FakeCluster, Misbehave
from harness.workload.base import RETURN_HOME_AFTER_OK


@pytest.fixture
def fake() -> Iterator[FakeCluster]:
    with FakeCluster(apiservers=2, store_members=3) as cluster:
        yield cluster


def _completions(ops: list[Op]) -> list[Op]:
    return [op for op in ops if op.type is not OpType.INVOKE]


def _check_register_values(ops: list[Op]) -> None:
    """Writes are unique per key; every ok read returns null or a value some op wrote."""
    written: dict[str | None, list[object]] = defaultdict(list)
    for op in ops:
        if op.type is OpType.INVOKE and op.f == "write":
            written[op.key].append(op.value)
        if op.type is OpType.INVOKE and op.f == "cas":
            written[op.key].append(op.value[1])
    for key, values in written.items():
        assert len(values) == len(set(values)), f"{key}: a value written twice"
    for op in ops:
        if op.type is OpType.OK and op.f == "read":
            assert op.value is None or op.value in written[op.key]


@pytest.mark.parametrize("through", ["store", "apiserver"])
def test_register_history_is_well_formed(tmp_path: Path, fake: FakeCluster, through: str) -> None:
    result, ops, workload = run_workload(
        tmp_path,
        fake,
        # A generous deadline: on a loaded runner a healthy fake can still take > 0.5 s to answer,
        # and an op past its deadline is rightly recorded as info.
        spec(WorkloadKind.REGISTER, through=through, op_timeout_s=5.0),
        final_read=True,
    )
    assert well_formed(ops) == []
    assert workload.checkers == ("well_formed", "linearizable")
    oks = Counter(op.f for op in ops if op.type is OpType.OK)
    assert oks["read"] > 0 and oks["write"] > 0 and oks["cas"] > 0  # counts depend on load
    assert result.counts.get("info", 0) == 0  # a healthy fake: nothing unknown
    # Paced at 200/s: never faster (no bursts); how much slower depends on the machine's load,
    # which a unit test must not judge (benchmarks/workload.py measures it).
    assert 0 < result.ops_per_s <= 200 * 1.05
    _check_register_values(ops)
    # cas values are [expected, new]; some succeed (expected the latest value seen)
    assert all(len(op.value) == 2 for op in ops if op.f == "cas")
    # the final read reads every key once more, each under a process id never used before
    finals = ops[-4:]
    assert [(op.f, op.key, op.type) for op in finals] == [
        ("read", "k0", OpType.INVOKE),
        ("read", "k0", OpType.OK),
        ("read", "k1", OpType.INVOKE),
        ("read", "k1", OpType.OK),
    ]
    assert finals[0].process not in {op.process for op in ops[:-4]}


def test_reads_match_the_latest_write_when_alone(tmp_path: Path, fake: FakeCluster) -> None:
    # One client, one key: each ok read returns what the previous ok write/cas left.
    _, ops, _ = run_workload(
        tmp_path, fake, spec(WorkloadKind.REGISTER, clients=1, keys=1, through="apiserver")
    )
    current = None
    for op in _completions(ops):
        if op.type is not OpType.OK:
            continue
        if op.f == "read":
            assert op.value == current
        elif op.f == "write":
            current = op.value
        elif op.f == "cas":
            assert op.value[0] == current
            current = op.value[1]


def test_info_retires_the_process(tmp_path: Path, fake: FakeCluster) -> None:
    # store-1 applies writes and then answers 503: outcomes unknown → info, fresh process ids.
    fake.misbehave("store-1", Misbehave(apply_then_status=503))
    result, ops, _ = run_workload(
        tmp_path, fake, spec(WorkloadKind.REGISTER, through="store", clients=3)
    )
    assert well_formed(ops) == []
    infos = [op for op in ops if op.type is OpType.INFO]
    assert infos and all(op.node == "store-1" for op in infos)
    continued = 0
    for info in infos:  # the same client continues as process + slots (slots = 3 clients)
        later = [op.process for op in ops if op.index > info.index and op.type is OpType.INVOKE]
        same_client = [p for p in later if p % 3 == info.process % 3]
        if same_client:  # (an info at the very end of the run has no successor)
            assert min(same_client) == info.process + 3
            continued += 1
    assert continued
    # reads through store-1 fail (a read has no effect), they are never info
    assert not [op for op in infos if op.f == "read"]
    assert result.counts["info"] == len(infos)


def test_a_dead_server_refuses_and_clients_move_on(tmp_path: Path, fake: FakeCluster) -> None:
    fake.kill("api-1")  # dead before the run: no pooled connection, so every try is refused
    _, ops, _ = run_workload(
        tmp_path, fake, spec(WorkloadKind.REGISTER, through="apiserver", duration_s=0.8)
    )
    assert well_formed(ops) == []
    on_dead = [op for op in ops if op.node == "api-1" and op.type is not OpType.INVOKE]
    assert on_dead and all(op.type is OpType.FAIL for op in on_dead)  # never sent → fail
    assert all("ConnectError" in (op.error or "") for op in on_dead)
    # Clients 0 and 2 start on api-1, each fails once and moves; after RETURN_HOME_AFTER_OK ok
    # ops away each goes back to see whether its home is up again (one refused try per visit).
    oks = sum(op.type is OpType.OK for op in ops)
    assert len(on_dead) <= 2 + oks // RETURN_HOME_AFTER_OK
    assert {op.node for op in ops if op.type is OpType.OK} == {"api-2"}


def test_clients_fail_over_when_a_server_dies(tmp_path: Path, fake: FakeCluster) -> None:
    _, ops, _ = run_workload(
        tmp_path,
        fake,
        spec(WorkloadKind.REGISTER, through="apiserver", duration_s=1.2),
        during=lambda: fake.kill("api-1"),
        at_s=0.3,
    )
    assert well_formed(ops) == []
    assert any(op.node == "api-1" and op.type is OpType.OK for op in ops)  # alive at first
    # Once it died, api-1 only produced failures (refused) or unknowns (connection cut).
    first_bad = min(
        op.index
        for op in ops
        if op.node == "api-1"
        and op.type in (OpType.FAIL, OpType.INFO)
        and "HTTP" not in (op.error or "")
        and "compare" not in (op.error or "")
    )
    after = [op for op in ops if op.index > first_bad and op.type is not OpType.INVOKE]
    assert not [op for op in after if op.node == "api-1" and op.type is OpType.OK]
    last_third = ops[len(ops) * 2 // 3 :]
    assert {op.node for op in last_third if op.type is OpType.OK} == {"api-2"}


def test_stop_event_ends_the_run_early(tmp_path: Path, fake: FakeCluster) -> None:
    import threading
    import time

    from harness.history import JsonlWriter
    from harness.workload import make_workload

    stop = threading.Event()
    with JsonlWriter(tmp_path / "h.jsonl") as writer:
        workload = make_workload(
            spec(WorkloadKind.REGISTER, duration_s=30.0), fake.info(), writer, 0, 1
        )
        threading.Timer(0.3, stop.set).start()
        began = time.monotonic()
        result = workload.run(stop)
    assert time.monotonic() - began < 5.0  # far below the 30 s duration
    assert result.duration_s < 5.0


def test_unknown_mix_op_is_refused(fake: FakeCluster, tmp_path: Path) -> None:
    from harness.history import JsonlWriter
    from harness.workload import make_workload

    with JsonlWriter(tmp_path / "h.jsonl") as writer, pytest.raises(ValueError, match="append"):
        make_workload(spec(WorkloadKind.REGISTER, mix={"append": 1.0}), fake.info(), writer, 0, 1)

"""The histories the workloads write are the ones the checkers read: every workload's own
checkers say valid on a healthy fake cluster, and no_lost_writes says invalid when an
acknowledged element really disappears."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_workload_support import spec

from harness.checker import check_run
from harness.history import JsonlWriter, RunDir, read_ops
from harness.model import Expectations, WorkloadKind, WorkloadSpec
from harness.testing.fakes import FakeCluster
from harness.workload import Workload, assess, make_workload


@pytest.fixture
def fake() -> Iterator[FakeCluster]:
    with FakeCluster(apiservers=2, store_members=3) as cluster:
        yield cluster


def _run_dir(
    tmp_path: Path, fake: FakeCluster, workload_spec: WorkloadSpec, *, before_final: object = None
) -> tuple[RunDir, Workload]:
    run = RunDir(tmp_path / f"run-{workload_spec.kind}-{time.monotonic_ns()}").create()
    with JsonlWriter(run.history) as writer:
        workload = make_workload(workload_spec, fake.info(), writer, time.monotonic_ns(), 3)
        workload.run()
        if callable(before_final):
            before_final()
        workload.final_read()
    adequacy = assess(list(read_ops(run.history)), [], target_rate=workload_spec.rate)
    expect = Expectations(watch_ordered=workload_spec.kind == WorkloadKind.WATCH)
    meta = {
        "expect": expect.to_json(),
        "workload": {"kind": str(workload_spec.kind), "rate": workload_spec.rate},
        "adequacy": adequacy.to_json(),
    }
    run.meta.write_text(json.dumps(meta))
    return run, workload


@pytest.mark.parametrize(
    ("kind", "through"),
    [
        (WorkloadKind.REGISTER, "store"),
        (WorkloadKind.REGISTER, "apiserver"),
        (WorkloadKind.OBJECTS, "apiserver"),
        (WorkloadKind.SET, "apiserver"),
        (WorkloadKind.SET, "store"),
        (WorkloadKind.WATCH, "apiserver"),
    ],
)
def test_each_workload_is_valid_for_its_checkers(
    tmp_path: Path, fake: FakeCluster, kind: WorkloadKind, through: str
) -> None:
    run, workload = _run_dir(tmp_path, fake, spec(kind, through=through, duration_s=0.8))
    verdicts = check_run(run.root, write=False, names=workload.checkers)
    for name in workload.checkers:
        result = verdicts.checks[name]
        assert result.verdict.value == "valid", (name, result.reason, result.details)


def test_a_lost_acknowledged_add_is_invalid(tmp_path: Path, fake: FakeCluster) -> None:
    def lose_one() -> None:  # the cluster "forgets" an acknowledged element before healing
        name = sorted(n for n in fake.state.configmaps if n.startswith("set-"))[0]
        del fake.state.configmaps[name]

    run, workload = _run_dir(
        tmp_path, fake, spec(WorkloadKind.SET, duration_s=0.5), before_final=lose_one
    )
    result = check_run(run.root, write=False, names=workload.checkers).checks["no_lost_writes"]
    assert result.verdict.value == "invalid"
    assert result.details["lost"] == ["0"]

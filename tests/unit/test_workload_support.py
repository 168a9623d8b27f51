"""Helpers for the workload tests: run a workload against the fake cluster, check a history's
well-formedness (the rules of ``harness.history.Op`` that every workload must keep)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.history import JsonlWriter, Op, OpType, read_ops
from harness.model import WorkloadKind, WorkloadSpec
from harness.testing.fakes import FakeCluster
from harness.workload import Workload, WorkloadResult, make_workload


def well_formed(ops: list[Op]) -> list[str]:
    """Every violation of: indices 0..n-1 in order, times monotonic, each invoke completed at
    most once by the same f and key, one open op per process, no op from a process after its
    info. Lone ok ``watch-event`` records (observations, not requests) need no invoke."""
    problems: list[str] = []
    open_ops: dict[int, Op] = {}
    retired: set[int] = set()
    last_time = -1
    for expected_index, op in enumerate(ops):
        if op.index != expected_index:
            problems.append(f"op {op.index}: expected index {expected_index}")
        if op.time < last_time:
            problems.append(f"op {op.index}: time {op.time} < previous {last_time}")
        last_time = op.time
        if op.process in retired:
            problems.append(f"op {op.index}: process {op.process} used after its info")
        if op.f == "watch-event":
            if op.type is not OpType.OK or op.process in open_ops:
                problems.append(f"op {op.index}: a watch event must be a lone ok")
            continue
        if op.type is OpType.INVOKE:
            if op.process in open_ops:
                problems.append(f"op {op.index}: process {op.process} already has an open op")
            open_ops[op.process] = op
            continue
        invoke = open_ops.pop(op.process, None)
        if invoke is None:
            problems.append(f"op {op.index}: {op.type} without an open invoke")
            continue
        if (invoke.f, invoke.key) != (op.f, op.key):
            problems.append(f"op {op.index}: completes {invoke.f}/{invoke.key} as {op.f}/{op.key}")
        if op.type is OpType.INFO:
            retired.add(op.process)
    return problems


def spec(kind: WorkloadKind, **fields: Any) -> WorkloadSpec:
    defaults: dict[str, Any] = {
        "clients": 4,
        "keys": 2,
        "rate": 200.0,
        "duration_s": 1.0,
        "op_timeout_s": 0.5,
    }
    return WorkloadSpec(kind=kind, **{**defaults, **fields})


def run_workload(
    tmp_path: Path,
    fake: FakeCluster,
    workload_spec: WorkloadSpec,
    *,
    during: Callable[[], None] | None = None,
    at_s: float = 0.4,
    final_read: bool = False,
    seed: int = 1,
) -> tuple[WorkloadResult, list[Op], Workload]:
    """Run a workload against the fake; ``during`` is called once ``at_s`` into the run."""
    path = tmp_path / f"history-{time.monotonic_ns()}.jsonl"
    start_ns = time.monotonic_ns()
    with JsonlWriter(path) as writer:
        workload = make_workload(workload_spec, fake.info(), writer, start_ns, seed)
        timer = threading.Timer(at_s, during) if during is not None else None
        if timer is not None:
            timer.start()
        try:
            result = workload.run()
        finally:
            if timer is not None:
                timer.cancel()
        if final_read:
            workload.final_read()
    return result, list(read_ops(path)), workload

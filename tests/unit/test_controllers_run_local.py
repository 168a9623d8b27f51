"""The deployments workload, the components probe, the registered controller checkers and the
report's controller lanes on a REAL history: the control plane as local processes (no Docker).

One run of the correct system with the controller-manager leader killed half-way (recorded as
a fault, as the nemesis would) must be valid on every controller check that applies; the same
history with one known-bad record added (a second binding of a pod to another node) must be
invalid on ``binding``, in ``verdicts.json`` as ``chaosplane check`` writes it, and the report
must draw the lanes and the evidence.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from controlplane_local_support import TIMINGS, LocalControlPlane

from harness.checker import check_run
from harness.checker.controllers import CONTROLLER_CHECKS
from harness.cluster.componentprobe import ComponentProbe
from harness.history import FaultEvent, FaultPhase, JsonlWriter, Op, OpType, RunDir, read_ops
from harness.history.k8s import (
    K8S_EVENT_F,
    K8sEvent,
    WatchEventType,
    components_path,
    read_components,
)
from harness.model import WorkloadKind, WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.report import render_run_report
from harness.workload import make_workload

RUN_S = 14.0
KILL_AT_S = 5.0


def _info(cp: LocalControlPlane) -> ClusterInfo:
    api = dict(zip(cp.api_ports, cp.api_urls, strict=True))
    return ClusterInfo(
        run_id="local",
        network="",
        subnet="",
        store={},
        apiservers=api,
        apiservers_direct=api,
        toxiproxy="",
        api_token="",
        components={n: f"http://127.0.0.1:{p}" for n, p in cp.status_ports.items()},
    )


def _meta(root: Path) -> dict[str, Any]:
    return {
        "run_id": root.name,
        "scenario": "local-kcm-leader-killed",
        "cluster": {
            "store_members": 1,
            "apiservers": 1,
            "controller_managers": 2,
            "schedulers": 1,
            "nodes": 3,
            "bugs": [],
        },
        "workload": {"kind": "deployments", "clients": 2, "keys": 2},
        "expect": {
            "linearizable": False,
            "no_lost_writes": False,
            "converged_within_s": 30,
            "recovered_within_s": None,
        },
        "adequacy": {"ok": True, "reason": "local test"},
        "controlplane_timings": {k.lower(): float(v) for k, v in TIMINGS.items()},
    }


def _run(cp: LocalControlPlane, run: RunDir) -> None:
    """Workload + probe for RUN_S, killing the controller-manager leader at KILL_AT_S."""
    spec = WorkloadSpec(
        kind=WorkloadKind.DEPLOYMENTS,
        clients=2,
        keys=2,
        rate=4.0,
        duration_s=RUN_S,
        op_timeout_s=2.0,
    )
    start_ns = time.monotonic_ns()
    with (
        JsonlWriter(run.history) as history,
        JsonlWriter(run.faults) as faults,
        JsonlWriter(components_path(run.root)) as samples,
        ComponentProbe(_info(cp).components, samples, start_ns, interval_s=0.25),
    ):
        workload = make_workload(spec, _info(cp), history, start_ns, seed=11)
        stop = threading.Event()

        def nemesis() -> None:
            time.sleep(KILL_AT_S)
            leader = cp.leader("controller-manager")
            assert leader is not None
            now = time.monotonic_ns() - start_ns
            faults.write(
                FaultEvent(
                    time=now,
                    type=FaultPhase.START,
                    fault="leader-loss",
                    targets=[leader],
                    id=1,
                    detail={"action": "kill"},
                )
            )
            cp.kill(leader)
            faults.write(
                FaultEvent(
                    time=time.monotonic_ns() - start_ns,
                    type=FaultPhase.END,
                    fault="leader-loss",
                    targets=[leader],
                    id=1,
                )
            )

        thread = threading.Thread(target=nemesis, daemon=True)
        thread.start()
        workload.run(stop)
        thread.join(10)
    run.meta.write_text(json.dumps(_meta(run.root)), encoding="utf-8")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("local-cp")
    run = RunDir(base / "run").create()
    with LocalControlPlane(base / "cp", controller_managers=2, schedulers=1, nodes=3) as cp:
        cp.wait_for(
            lambda: cp.leader("controller-manager") and cp.leader("scheduler"),
            timeout_s=30,
            what="leaders",
        )
        _run(cp, run)
    return run.root


def test_the_correct_system_is_valid_on_every_controller_check(real_run: Path) -> None:
    verdicts = check_run(real_run)
    checks = verdicts.to_json()["checks"]
    assert checks["well_formed"]["verdict"] == "valid", checks["well_formed"]
    judged = {n: c for n, c in checks.items() if n in CONTROLLER_CHECKS}
    # reference_end_state needs a reference run; every other controller check applies.
    assert set(judged) == set(CONTROLLER_CHECKS) - {"reference_end_state"}, sorted(judged)
    bad = {n: c["reason"] for n, c in judged.items() if c["verdict"] == "invalid"}
    assert not bad, bad
    assert checks["failover"]["verdict"] == "valid", checks["failover"]  # the kill was seen
    samples = list(read_components(components_path(real_run)))
    assert {s.member for s in samples} >= {"controller-manager-1", "scheduler-1", "node-3"}
    assert any(s.leader for s in samples if s.member.startswith("controller-manager"))


def _with_double_binding(src: Path, dst: Path) -> None:
    """The real history plus one MODIFIED of a bound pod moved to another node."""
    run = RunDir(dst).create()
    ops = list(read_ops(RunDir(src).history))
    bound: tuple[Op, K8sEvent] | None = None
    for op in ops:
        ev = K8sEvent.from_op(op)
        if ev and ev.object and ev.resource == "pods" and ev.object["spec"].get("nodeName"):
            bound = (op, ev)
    assert bound is not None, "no bound pod in the real history"
    op, ev = bound
    obj = json.loads(json.dumps(ev.object))
    obj["spec"]["nodeName"] = "node-9" if obj["spec"]["nodeName"] != "node-9" else "node-8"
    obj["metadata"]["resourceVersion"] = str(ev.rv + 10_000_000)
    moved = K8sEvent(
        event=WatchEventType.MODIFIED, resource=ev.resource, rv=ev.rv + 10_000_000, object=obj
    )
    last = ops[-1]
    extra = Op(
        index=last.index + 1,
        process=op.process,
        type=OpType.OK,
        f=K8S_EVENT_F,
        key=op.key,
        value=moved.to_json(),
        time=last.time + 1,
        node=op.node,
    )
    with JsonlWriter(run.history) as w:
        for o in [*ops, extra]:
            w.write(o)
    for name in ("run.json", "faults.jsonl", "components.jsonl"):
        (dst / name).write_bytes((src / name).read_bytes())


def test_a_known_bad_record_is_invalid_and_the_report_shows_lanes_and_evidence(
    real_run: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    _with_double_binding(real_run, bad)
    checks = check_run(bad).to_json()["checks"]
    assert checks["binding"]["verdict"] == "invalid", checks["binding"]
    html = render_run_report(bad).read_text(encoding="utf-8")
    assert 'id="controllers"' in html
    assert "kube-controller-manager" in html and "Ready=True" in html
    assert "Evidence: binding" in html
    good = render_run_report(real_run).read_text(encoding="utf-8")
    assert "Replicas: desired" in good and "Evidence:" not in good

"""reference_end_state: the differential oracle of Sieve (OSDI '22) on hand-built run pairs."""

from __future__ import annotations

from pathlib import Path

from k8s_history import K8sHistory

from harness.checker import Verdict
from harness.checker.controllers import CONTROLLER_APPLIES, CONTROLLER_CHECKS
from harness.history import OpType
from harness.history.k8s import K8sResource


def end_state(
    b: K8sHistory,
    *,
    prefix: str = "",
    replicas: int = 2,
    suffix: str = "a",
    leftover: bool = False,
    create: OpType = OpType.OK,
) -> K8sHistory:
    dep, rs = f"{prefix}dep-web", f"{prefix}dep-web-{suffix}"
    b.at(0).node("node-1", cpu="8")
    b.deployment(dep, replicas)
    b.replicaset(rs, dep, replicas)
    for i in range(replicas):
        b.at(1 + i).running_pod(f"{rs}-{suffix}{i}", rs, "node-1")
    if leftover:  # an old ReplicaSet the controller never scaled down, still running a pod
        b.replicaset(f"{dep}-old", dep, 1, image="img:0")
        b.running_pod(f"{dep}-old-0", f"{dep}-old", "node-1", image="img:0")
    b.at(5).client("create-pod", f"default/{prefix}pod-solo", create)
    b.pod(f"{prefix}pod-solo", node="node-1", phase="Running", ready=True, writer=None)
    return b


def pair(tmp_path: Path, run: K8sHistory, ref: K8sHistory, *, prefix: str = "") -> Verdict:
    ref.save(tmp_path / "ref")
    data = run.save(
        tmp_path / "run",
        meta={"reference_run": "../ref", "workload": {"kind": "deployments", "key_prefix": prefix}},
    )
    assert CONTROLLER_APPLIES["reference_end_state"](data)
    return CONTROLLER_CHECKS["reference_end_state"](data).verdict


def test_same_end_state_under_other_names_is_valid(tmp_path: Path) -> None:
    run = end_state(K8sHistory(), prefix="r7-", suffix="zq")
    assert pair(tmp_path, run, end_state(K8sHistory()), prefix="r7-") is Verdict.VALID


def test_a_leftover_replicaset_with_pods_differs_from_the_reference(tmp_path: Path) -> None:
    run = end_state(K8sHistory(), leftover=True)
    ref = end_state(K8sHistory())
    ref.save(tmp_path / "run" / "reference")  # found alongside, without run.json naming it
    data = run.save(tmp_path / "run")
    result = CONTROLLER_CHECKS["reference_end_state"](data)
    assert result.verdict is Verdict.INVALID, result
    d = result.details["differences"][0]
    assert d["object"] == "deployment/dep-web"
    assert d["run"]["live_pods"] == 3 and d["reference"]["live_pods"] == 2
    assert d["run"]["replicasets_with_replicas"] == 2


def test_a_bare_pod_lost_without_a_delete_differs(tmp_path: Path) -> None:
    run = end_state(K8sHistory())
    run.at(6).delete(K8sResource.PODS, "default", "pod-solo")  # no client op deleted it
    assert pair(tmp_path, run, end_state(K8sHistory())) is Verdict.INVALID


def test_a_bare_pod_whose_create_is_uncertain_is_not_comparable(tmp_path: Path) -> None:
    """Seen in a local run: the reference's create-pod timed out (info) and did not land."""
    run = end_state(K8sHistory())
    ref = end_state(K8sHistory(), create=OpType.INFO)
    ref.at(6).delete(K8sResource.PODS, "default", "pod-solo")
    ref.save(tmp_path / "ref")
    data = run.save(tmp_path / "run", meta={"reference_run": "../ref"})
    result = CONTROLLER_CHECKS["reference_end_state"](data)
    assert result.verdict is Verdict.VALID, result
    assert result.details["not_comparable"] == ["pod/pod-solo"]


def test_a_different_desired_state_is_not_comparable(tmp_path: Path) -> None:
    """A scale op failed in the faulty run: its Deployment is left out; the bare pod still
    compares."""
    run = end_state(K8sHistory(), replicas=3)
    ref_dir = tmp_path / "ref"
    end_state(K8sHistory()).save(ref_dir)
    data = run.save(tmp_path / "run", meta={"reference_run": str(ref_dir)})
    result = CONTROLLER_CHECKS["reference_end_state"](data)
    assert result.verdict is Verdict.VALID, result
    assert result.details["not_comparable"] == ["deployment/dep-web"]
    assert result.details["compared"] == 1


def test_nothing_comparable_or_no_reference_is_unknown(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0).node("node-1")
    b.deployment("dep-web", 3)
    ref = K8sHistory()
    ref.at(0).node("node-1")
    ref.deployment("dep-web", 2)
    assert pair(tmp_path, b, ref) is Verdict.UNKNOWN
    lone = end_state(K8sHistory()).save(tmp_path / "lone")
    assert not CONTROLLER_APPLIES["reference_end_state"](lone)
    missing = end_state(K8sHistory()).save(tmp_path / "m", meta={"reference_run": "../nowhere"})
    result = CONTROLLER_CHECKS["reference_end_state"](missing)
    assert result.verdict is Verdict.UNKNOWN and "no history.jsonl" in result.reason

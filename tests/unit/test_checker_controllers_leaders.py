"""leader_exclusive, lease_integrity and failover on hand-built Lease histories.

The rules come from client-go's ``tools/leaderelection`` (tryAcquireOrRenew: leaseTransitions
+1 on a change of holder, acquireTime kept on renewal; the renew deadline before the lease
duration) and C3/C4 of the project's contracts (fencing annotations on every write).
"""

from __future__ import annotations

from pathlib import Path

from k8s_history import CM1, CM2, K8sHistory

from harness.checker import Verdict
from harness.checker.controllers import CONTROLLER_CHECKS, applies
from harness.history import OpType
from harness.history.k8s import K8sResource

TIMINGS = {"le_lease_duration_s": 4, "le_renew_deadline_s": 3, "le_retry_period_s": 0.5}
KCM = "kube-controller-manager"


def failover_history(
    *, takeover_s: float = 7.5, transitions: int = 1, acts: bool = True, duration: int = 4
) -> K8sHistory:
    """CM1 leads and writes; it is killed at 3.2 s; CM2 takes over and scales a ReplicaSet."""
    b = K8sHistory()
    b.at(0.0).deployment("web", 2)
    for i in range(7):  # CM1 renews every 0.5 s until 3.0 s
        b.at(i * 0.5).lease(KCM, CM1, 0, duration=duration)
    b.at(1.0).replicaset("web-a", "web", 2, writer=(CM1, 0))
    b.fault("kill", ["controller-manager-1"], start_s=3.2, end_s=None)
    b.at(takeover_s).lease(KCM, CM2, transitions)
    b.at(takeover_s + 0.3).client("scale-deployment", "default/web")
    if acts:
        b.at(takeover_s + 0.5).replicaset("web-a", "web", 3, writer=(CM2, transitions))
    for i in range(1, 6):
        b.at(takeover_s + i * 0.5).lease(KCM, CM2, transitions)
    return b


def test_a_clean_failover_is_valid_for_all_three(tmp_path: Path) -> None:
    run = failover_history().save(tmp_path, timings=TIMINGS)
    assert applies(run)
    for name in ("leader_exclusive", "lease_integrity", "failover"):
        result = CONTROLLER_CHECKS[name](run)
        assert result.verdict is Verdict.VALID, (name, result)
    fo = CONTROLLER_CHECKS["failover"](run).details["failovers"][0]
    assert fo["from"] == CM1 and fo["to"] == CM2 and fo["loss_from"] == "fault"
    assert fo["failover_s"] == 4.8  # from the kill at 3.2 s to CM2's write at 8.0 s


def test_two_leaders_writing_at_once_is_invalid_with_both_writes(tmp_path: Path) -> None:
    b = failover_history()
    b.at(8.4).replicaset("web-b", "web", 0, writer=(CM1, 0))  # the old leader, still acting
    run = b.save(tmp_path, timings=TIMINGS)
    result = CONTROLLER_CHECKS["leader_exclusive"](run)
    assert result.verdict is Verdict.INVALID, result
    v = result.details["violations"][0]
    assert v["write"]["writer"] == CM1 and v["write"]["key"] == "replicasets/default/web-b"
    assert v["holder"]["holder"] == CM2
    assert [w["writer"] for w in v["holder_writes_nearby"]] == [CM2]  # the overlapping write
    # lease_integrity sees the same writer acting long after its renew deadline
    li = CONTROLLER_CHECKS["lease_integrity"](run)
    assert li.verdict is Verdict.INVALID and li.details["late_writes"][0]["writer"] == CM1


def test_a_second_write_by_the_old_leader_is_seen_through_an_owned_field(tmp_path: Path) -> None:
    """The annotation stays (CM1, 0) on web-a's second write; spec.replicas changed anyway."""
    b = failover_history(acts=False)
    b.at(8.4).replicaset("web-a", "web", 5, writer=(CM1, 0))
    result = CONTROLLER_CHECKS["leader_exclusive"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.INVALID, result
    assert result.details["violations"][0]["write"]["why"] == "owned-field"


def test_a_write_after_the_holders_lease_expired_is_not_exclusive_violation(tmp_path: Path) -> None:
    """CM2 stopped renewing at 10 s; CM1 writing at 20 s overlaps no valid lease."""
    b = failover_history()
    b.at(20.0).replicaset("web-b", "web", 0, writer=(CM1, 0))
    run = b.save(tmp_path, timings=TIMINGS)
    assert CONTROLLER_CHECKS["leader_exclusive"](run).verdict is Verdict.VALID
    assert CONTROLLER_CHECKS["lease_integrity"](run).verdict is Verdict.INVALID  # still late


def test_a_skipped_transition_breaks_the_lease_chain(tmp_path: Path) -> None:
    run = failover_history(transitions=2).save(tmp_path, timings=TIMINGS)
    result = CONTROLLER_CHECKS["lease_integrity"](run)
    assert result.verdict is Verdict.INVALID, result
    step = result.details["broken"][0]
    assert "leaseTransitions 0 -> 2" in step["problem"]
    assert step["from"]["holder"] == CM1 and step["to"]["holder"] == CM2


def test_acquire_time_changing_without_a_new_holder_breaks_the_chain(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(0).lease(KCM, CM1, 0, acquire="a1")
    b.at(1).lease(KCM, CM1, 0, acquire="a2")
    result = CONTROLLER_CHECKS["lease_integrity"](b.save(tmp_path, timings=TIMINGS))
    assert (
        result.verdict is Verdict.INVALID
        and "acquireTime" in result.details["broken"][0]["problem"]
    )


def test_a_watch_gap_leaves_a_transition_jump_unjudged(tmp_path: Path) -> None:
    """A -> B -> C while the watcher was away: transitions 0 -> 2 across a relist is fine."""
    b = K8sHistory()
    b.at(0).lease(KCM, CM1, 0)
    b.at(1).lease(KCM, CM1, 0)
    b.at(5).lease(KCM, "controller-manager-3_eeee", 1, silent=True)
    b.at(9).lease(KCM, CM2, 2, silent=True)
    b.at(9.1).relist(K8sResource.LEASES)
    b.at(9.5).lease(KCM, CM2, 2)
    result = CONTROLLER_CHECKS["lease_integrity"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["gaps"] == 1 and result.details["steps_judged"] == 2


def test_without_leases_the_leader_checks_are_unknown(tmp_path: Path) -> None:
    b = K8sHistory()
    b.at(1).replicaset("web-a", None, 1, writer=(CM1, 0))
    run = b.save(tmp_path, timings=TIMINGS)
    for name in ("leader_exclusive", "lease_integrity", "failover"):
        assert CONTROLLER_CHECKS[name](run).verdict is Verdict.UNKNOWN, name


def test_no_holder_change_leaves_failover_unknown(tmp_path: Path) -> None:
    b = K8sHistory()
    for i in range(4):
        b.at(i).lease(KCM, CM1, 0)
    result = CONTROLLER_CHECKS["failover"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.UNKNOWN and "no change of holder" in result.reason


def test_a_slow_takeover_is_invalid_against_the_runs_lease_timings(tmp_path: Path) -> None:
    run = failover_history(takeover_s=15.0).save(tmp_path, timings=TIMINGS)
    result = CONTROLLER_CHECKS["failover"](run)
    assert result.verdict is Verdict.INVALID, result
    fo = result.details["failovers"][0]
    assert fo["bound_s"] == 8.2  # 4 s lease + 2 × 1.2 × 0.5 s retries + 3 s to act
    assert "takeover 11.8 s" in fo["problem"]
    # with a 12 s lease (in the Lease record and the run's timings) the same takeover passes
    again = failover_history(takeover_s=15.0, duration=12).save(
        tmp_path / "long", timings={**TIMINGS, "le_lease_duration_s": 12}
    )
    assert CONTROLLER_CHECKS["failover"](again).verdict is Verdict.VALID


def test_a_new_leader_that_never_acts_on_due_work_is_invalid(tmp_path: Path) -> None:
    b = failover_history(acts=False)
    b.at(30).lease(KCM, CM2, 1)
    result = CONTROLLER_CHECKS["failover"](b.save(tmp_path, timings=TIMINGS))
    assert (
        result.verdict is Verdict.INVALID
        and "no action" in result.details["failovers"][0]["problem"]
    )


def test_a_failed_client_op_is_no_work_for_the_new_leader(tmp_path: Path) -> None:
    b = K8sHistory()
    for i in range(3):
        b.at(i * 0.5).lease(KCM, CM1, 0)
    b.at(5.0).lease(KCM, CM2, 1)
    b.at(5.2).client("scale-deployment", "default/web", OpType.FAIL)
    b.at(30).lease(KCM, CM2, 1)
    result = CONTROLLER_CHECKS["failover"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    assert result.details["failovers"][0]["work_due_at_s"] is None


SCHED = "kube-scheduler"


def scheduler_failover(*, client_binds_after_s: float | None) -> K8sHistory:
    """SCHED1 leads, is killed at 3.2 s; SCHED2 takes over at 7.5 s; a bare pod appears at
    8.0 s and, unless ``client_binds_after_s`` is None, a client binds it that much later
    (bug-bind-without-check's second binder). The new leader never binds anything itself."""
    from k8s_history import SCHED1, SCHED2

    b = K8sHistory()
    for i in range(7):
        b.at(i * 0.5).lease(SCHED, SCHED1, 0)
    b.fault("kill", ["scheduler-1"], start_s=3.2, end_s=None)
    bind_at = None if client_binds_after_s is None else 8.0 + client_binds_after_s
    for i in range(45):  # SCHED2 renews every 0.5 s from 7.5 s; events in store order
        t = 7.5 + i * 0.5
        b.at(t).lease(SCHED, SCHED2, 1)
        if t == 8.0:
            b.at(8.0).pod("pod-0-0", writer=None)
        if bind_at is not None and t <= bind_at < t + 0.5:
            b.at(bind_at).pod("pod-0-0", node="node-1", writer=None)
    return b


def test_a_pod_another_binder_bound_at_once_is_no_work_for_the_new_scheduler(
    tmp_path: Path,
) -> None:
    """A shape bug-bind-without-check makes possible (found by reading the checker, not seen
    in a stored run): a client bound the bare pod 0.1 s after it appeared, so the new scheduler
    leader had nothing to bind; failover said "work due and no action by the end"."""
    run = scheduler_failover(client_binds_after_s=0.1).save(tmp_path, timings=TIMINGS)
    result = CONTROLLER_CHECKS["failover"](run)
    assert result.verdict is Verdict.VALID, result
    assert result.details["failovers"][0]["work_due_at_s"] is None


def test_a_pod_left_unbound_past_the_slack_is_work_the_new_scheduler_owed(
    tmp_path: Path,
) -> None:
    for name, after in (("late", 10.0), ("never", None)):
        run = scheduler_failover(client_binds_after_s=after).save(tmp_path / name, timings=TIMINGS)
        result = CONTROLLER_CHECKS["failover"](run)
        assert result.verdict is Verdict.INVALID, (name, result)
        fo = result.details["failovers"][0]
        assert fo["work_due_at_s"] is not None and "no action" in fo["problem"], fo


def test_a_holder_renewing_after_the_fault_began_was_not_lost_yet(tmp_path: Path) -> None:
    """The false alarm of bug-bind-without-check with the bug off (load 14): the kill of the
    scheduler leader started at 6.6 s but landed only after 15.9 s, its last renewal; the new
    holder took over at 24.5 s. Judged from the fault start the takeover took 17.8 s (bound
    11.4 s); from the last renewal 8.6 s. Here: the kill starts at 3.2 s, the holder renews
    until 10 s, the takeover is at 14.5 s."""
    b = K8sHistory()
    b.at(0.0).deployment("web", 2)
    for i in range(21):  # CM1 renews every 0.5 s until 10 s, though the kill began at 3.2 s
        b.at(i * 0.5).lease(KCM, CM1, 0)
    b.fault("kill", ["controller-manager-1"], start_s=3.2, end_s=None)
    b.at(14.5).lease(KCM, CM2, 1)
    for i in range(1, 6):
        b.at(14.5 + i * 0.5).lease(KCM, CM2, 1)
    result = CONTROLLER_CHECKS["failover"](b.save(tmp_path, timings=TIMINGS))
    assert result.verdict is Verdict.VALID, result
    fo = result.details["failovers"][0]
    assert fo["loss_from"] == "last renewal" and fo["takeover_s"] == 4.5, fo
    # the same takeover 9 s after that last renewal is too slow
    late = K8sHistory()
    for i in range(21):
        late.at(i * 0.5).lease(KCM, CM1, 0)
    late.fault("kill", ["controller-manager-1"], start_s=3.2, end_s=None)
    late.at(19.0).lease(KCM, CM2, 1)
    again = CONTROLLER_CHECKS["failover"](late.save(tmp_path / "late", timings=TIMINGS))
    assert again.verdict is Verdict.INVALID and "takeover 9.0 s" in again.reason, again

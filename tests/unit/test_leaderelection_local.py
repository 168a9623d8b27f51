"""The renew-deadline rule through the real I/O shell: a paused controller-manager leader
(SIGSTOP longer than the lease) loses the Lease, and once resumed must not act as leader beside
the new one; with ``no-renew-deadline`` planted it does — two leaders at once.

Local processes on loopback (kvstore, apiserver, two controller-managers); waits are bounded.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from controlplane_local_support import LocalControlPlane

KCM_LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"


def _both_lead_after_pause(tmp_path: Path, bugs: str) -> tuple[bool, int]:
    """Pause the leader past its lease, resume it, watch 3 s: did both ever claim to lead?"""
    with LocalControlPlane(tmp_path, controller_managers=2, schedulers=0, nodes=0, bugs=bugs) as cp:
        cp.wait_for(lambda: cp.leader("controller-manager"), timeout_s=30, what="a leader")
        old = str(cp.leader("controller-manager"))
        other = "controller-manager-2" if old == "controller-manager-1" else "controller-manager-1"
        before = int(cp.get(KCM_LEASE)["spec"]["leaseTransitions"])
        cp.pause(old)
        try:
            cp.wait_for(
                lambda: (cp.status(other) or {}).get("leader"), timeout_s=30, what=f"{other} leads"
            )
        finally:
            cp.resume(old)
        both = False
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            s_old, s_other = cp.status(old) or {}, cp.status(other) or {}
            both = both or bool(s_old.get("leader") and s_other.get("leader"))
            time.sleep(0.1)
        after = int(cp.get(KCM_LEASE)["spec"]["leaseTransitions"])
        return both, after - before


def test_a_resumed_leader_past_its_deadline_does_not_act(tmp_path: Path) -> None:
    both, transitions = _both_lead_after_pause(tmp_path, "")
    assert transitions == 1
    assert not both


@pytest.mark.parametrize("bug", ["no-renew-deadline"])
def test_bug_no_renew_deadline_gives_two_leaders(tmp_path: Path, bug: str) -> None:
    both, transitions = _both_lead_after_pause(tmp_path, bug)
    assert transitions == 1
    assert both

"""Which leader a recovery waits for after a (repeated) leader loss."""

from __future__ import annotations

from harness.checker.recovery import recovery_events
from harness.history import FaultEvent, FaultPhase, StatusSample

S = 1_000_000_000


def leader(t_s: float, member: str, term: int) -> StatusSample:
    return StatusSample(time=int(t_s * S), member=member, reachable=True, role="leader", term=term)


def test_repeated_leader_loss_waits_only_for_a_leader_other_than_the_one_struck() -> None:
    # Three strikes 4 s apart kill store-2, then store-1, then store-2 again: recovery from the
    # first strike is any leader but store-2 before the second strike, store-1 included.
    start = FaultEvent(
        time=5 * S, type=FaultPhase.START, fault="leader-loss", id=1,
        targets=["store-2", "store-1", "store-2"],
        detail={"params": {"action": "kill", "repeat": 3, "interval_s": 4.0}},
    )  # fmt: skip
    end = FaultEvent(time=19 * S, type=FaultPhase.END, fault="leader-loss", id=1)
    status = [leader(4.8, "store-2", 1)]
    (loss, heal) = recovery_events([start, end], status)
    assert loss.excluded == frozenset({"store-2"})
    assert loss.until == 9 * S  # the next strike
    assert heal.time == 19 * S


def test_single_leader_loss_excludes_every_target_until_its_heal() -> None:
    start = FaultEvent(
        time=5 * S, type=FaultPhase.START, fault="kill", id=2, targets=["store-3"],
        detail={"params": {"restart_after_s": 3.0}},
    )  # fmt: skip
    end = FaultEvent(time=8 * S, type=FaultPhase.END, fault="kill", id=2)
    (loss, _) = recovery_events([start, end], [leader(4.9, "store-3", 2)])
    assert loss.excluded == frozenset({"store-3"}) and loss.until == 8 * S


def test_whole_store_killed_has_no_leader_loss_to_time_only_heals() -> None:
    # All three members killed at once: no leader can exist until they restart, so recovery is
    # timed from each heal, not from the loss (which would count the planned downtime).
    kills = [
        FaultEvent(time=int((6 + i / 100) * S), type=FaultPhase.START, fault="kill", id=i,
                   targets=[f"store-{i}"], detail={"params": {"restart_after_s": 2.0}})
        for i in (1, 2, 3)
    ]  # fmt: skip
    heals = [
        FaultEvent(time=(17 + i) * S, type=FaultPhase.END, fault="kill", id=i) for i in (1, 2, 3)
    ]
    status = [leader(5.9, "store-3", 2), leader(5.9, "store-1", 1), leader(5.9, "store-2", 1)]
    status = [StatusSample(time=s.time, member=s.member, reachable=True,
                           role="leader" if s.member == "store-3" else "follower", term=2)
              for s in status]  # fmt: skip
    events = recovery_events([*kills, *heals], status, store_members=3)
    assert [e.label.split()[0] for e in events] == ["heal", "heal", "heal"]


def test_one_member_killed_keeps_its_leader_loss_event() -> None:
    kill = FaultEvent(time=6 * S, type=FaultPhase.START, fault="kill", id=1, targets=["store-3"])
    heal = FaultEvent(time=9 * S, type=FaultPhase.END, fault="kill", id=1)
    status = [leader(5.9, "store-3", 2), *(
        StatusSample(time=int(5.9 * S), member=m, reachable=True, role="follower", term=2)
        for m in ("store-1", "store-2")
    )]  # fmt: skip
    events = recovery_events([kill, heal], status, store_members=3)
    assert [e.label.split()[0] for e in events] == ["leader", "heal"]


def test_a_partition_strikes_only_the_leader_not_every_member_it_touched() -> None:
    # isolate:store-3 while store-3 leads: the start lists all members (their rules changed);
    # store-1 leading at 7.9 s is the recovery, not the heal at 12.9 s (a helper-path run).
    start = FaultEvent(
        time=int(5.16 * S), type=FaultPhase.START, fault="partition", id=1,
        targets=["store-1", "store-2", "store-3"], detail={"target": "isolate:store-3"},
    )  # fmt: skip
    end = FaultEvent(time=int(12.9 * S), type=FaultPhase.END, fault="partition", id=1)
    (loss, _) = recovery_events([start, end], [leader(0.42, "store-3", 2)], store_members=3)
    assert loss.excluded == frozenset({"store-3"})


def test_isolating_a_follower_is_no_leader_loss() -> None:
    start = FaultEvent(
        time=int(5.4 * S), type=FaultPhase.START, fault="partition", id=1,
        targets=["store-1", "store-2", "store-3"], detail={"target": "isolate:store-3"},
    )  # fmt: skip
    end = FaultEvent(time=int(15.1 * S), type=FaultPhase.END, fault="partition", id=1)
    events = recovery_events([start, end], [leader(1.0, "store-2", 2)], store_members=3)
    assert [e.label.split()[0] for e in events] == ["heal"]

"""client-go's leader election rules on the pure core, with a fake clock (no sockets).

Rules cited from client-go ``tools/leaderelection/leaderelection.go`` (tryAcquireOrRenew,
isLeaseValid) and its package doc (expiry on the observer's clock).
"""

from __future__ import annotations

import datetime

import pytest

from controlplane.leaderelection.core import (
    ConfigError,
    ElectionTimings,
    Elector,
    LeaseRecord,
    PlanKind,
    format_micro,
    parse_micro,
)

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class Clock:
    """Monotonic and wall clocks the test moves; ``skew_s`` offsets only the wall clock."""

    def __init__(self, skew_s: float = 0.0) -> None:
        self.t = 100.0
        self.skew_s = skew_s

    def mono(self) -> float:
        return self.t

    def wall(self) -> datetime.datetime:
        return T0 + datetime.timedelta(seconds=self.t + self.skew_s)

    def advance(self, s: float) -> None:
        self.t += s


def elector(identity: str, clock: Clock, bugs: frozenset[str] = frozenset()) -> Elector:
    return Elector(
        identity=identity, timings=ElectionTimings(), mono=clock.mono, wall=clock.wall, bugs=bugs
    )


def stored(rec: LeaseRecord, rv: int) -> LeaseRecord:
    """What the server returns after writing ``rec``."""
    return LeaseRecord(
        holder=rec.holder,
        lease_duration_s=rec.lease_duration_s,
        acquire_time=rec.acquire_time,
        renew_time=rec.renew_time,
        transitions=rec.transitions,
        resource_version=str(rv),
    )


def acquire(el: Elector, current: LeaseRecord | None, rv: int, clock: Clock) -> LeaseRecord:
    plan = el.plan(current)
    assert plan.kind in (PlanKind.CREATE, PlanKind.UPDATE) and plan.record is not None, plan
    out = stored(plan.record, rv)
    el.written(out, sent_at=clock.mono())
    return out


def test_constructor_rule_lease_gt_deadline_gt_jittered_retry() -> None:
    with pytest.raises(ConfigError, match="LE_LEASE_DURATION_S"):
        ElectionTimings(lease_duration_s=3, renew_deadline_s=3).check()
    with pytest.raises(ConfigError, match="LE_RETRY_PERIOD_S"):
        ElectionTimings(renew_deadline_s=1.0, retry_period_s=1.0).check()
    ElectionTimings().check()


def test_create_when_absent_starts_with_zero_transitions() -> None:
    c = Clock()
    a = elector("a", c)
    rec = acquire(a, None, 1, c)
    assert rec.transitions == 0 and rec.holder == "a" and rec.acquire_time == rec.renew_time
    assert a.is_leader() and a.acting()


def test_candidate_waits_a_full_lease_duration_from_its_own_observation() -> None:
    """Expiry counts from when the candidate SAW the record change, not from renewTime."""
    c = Clock()
    a, b = elector("a", c), elector("b", c)
    held = acquire(a, None, 1, c)
    c.advance(3.0)  # b first looks 3 s after a's renew: it must still wait a full 4 s
    assert b.plan(held).kind is PlanKind.WAIT
    c.advance(3.9)
    assert b.plan(held).kind is PlanKind.WAIT
    c.advance(0.2)
    plan = b.plan(held)
    assert plan.kind is PlanKind.UPDATE and plan.record is not None
    assert plan.record.resource_version == "1"  # the precondition
    assert plan.record.transitions == 1  # takeover: +1
    assert plan.record.acquire_time == plan.record.renew_time != held.acquire_time


def test_a_changed_record_restarts_the_timer() -> None:
    c = Clock()
    a, b = elector("a", c), elector("b", c)
    first = acquire(a, None, 1, c)
    b.plan(first)
    c.advance(3.5)
    renewed = acquire(a, first, 2, c)  # a renews: a new record
    assert b.plan(renewed).kind is PlanKind.WAIT
    c.advance(3.5)  # 7 s since b first looked, but only 3.5 s since the change
    assert b.plan(renewed).kind is PlanKind.WAIT


def test_renew_keeps_acquire_time_and_transitions() -> None:
    c = Clock()
    a = elector("a", c)
    first = acquire(a, None, 1, c)
    c.advance(0.5)
    fast = a.fast_path()
    assert fast is not None
    assert fast.acquire_time == first.acquire_time and fast.transitions == 0
    assert fast.renew_time != first.renew_time and fast.resource_version == "1"
    # after a GET of our own record the same holds
    plan = a.plan(first)
    assert plan.record is not None and plan.record.transitions == 0
    assert plan.record.acquire_time == first.acquire_time


def test_no_fast_path_for_a_candidate_or_an_expired_leader() -> None:
    c = Clock()
    a, b = elector("a", c), elector("b", c)
    held = acquire(a, None, 1, c)
    b.plan(held)
    assert b.fast_path() is None
    c.advance(4.1)
    assert a.fast_path() is None


def test_released_lease_is_taken_at_once_with_plus_one() -> None:
    c = Clock()
    b = elector("b", c)
    released = LeaseRecord(
        holder="",
        lease_duration_s=4,
        acquire_time="",
        renew_time="",
        transitions=3,
        resource_version="9",
    )
    plan = b.plan(released)
    assert plan.kind is PlanKind.UPDATE and plan.record is not None
    assert plan.record.transitions == 4


def test_leader_stops_acting_at_renew_deadline_before_others_may_take_over() -> None:
    """The rule of the brief: acting ends before any other candidate's expiry."""
    c = Clock()
    a, b = elector("a", c), elector("b", c)
    held = acquire(a, None, 1, c)
    b.plan(held)  # b observes at the same instant as the write (the earliest possible)
    step = 0.05
    while a.acting():
        assert b.plan(held).kind is PlanKind.WAIT  # while a acts, b may not take over
        c.advance(step)
    assert a.renew_deadline_passed()
    stopped_at = c.mono()
    while b.plan(held).kind is PlanKind.WAIT:
        c.advance(step)
    assert c.mono() - stopped_at >= 1.0 - step  # lease 4 - deadline 3 of margin


def test_seeing_another_holder_ends_acting() -> None:
    c = Clock()
    a = elector("a", c)
    held = acquire(a, None, 1, c)
    other = LeaseRecord(
        holder="b",
        lease_duration_s=4,
        acquire_time=held.renew_time,
        renew_time=held.renew_time,
        transitions=1,
        resource_version="2",
    )
    assert a.plan(other).kind is PlanKind.WAIT
    assert not a.acting()


def test_bug_no_renew_deadline_keeps_acting() -> None:
    c = Clock()
    a = elector("a", c, frozenset({"no-renew-deadline"}))
    held = acquire(a, None, 1, c)
    c.advance(60.0)
    assert a.acting() and not a.renew_deadline_passed()
    other = LeaseRecord(
        holder="b",
        lease_duration_s=4,
        acquire_time=held.renew_time,
        renew_time=held.renew_time,
        transitions=1,
        resource_version="2",
    )
    a.plan(other)
    assert a.acting()  # even with another holder in view


def test_bug_lease_clock_takes_over_early_under_skew() -> None:
    """A candidate whose wall clock runs 5 s ahead (more than the 4 s lease) judges the
    holder's renewTime expired at once; the correct elector (monotonic observation) is
    immune to the skew."""
    holder_clock = Clock()
    a = elector("a", holder_clock)
    held = acquire(a, None, 1, holder_clock)
    skewed = Clock(skew_s=5.0)
    correct, buggy = elector("b", skewed), elector("c", skewed, frozenset({"lease-clock"}))
    assert correct.plan(held).kind is PlanKind.WAIT
    plan = buggy.plan(held)
    assert plan.kind is PlanKind.UPDATE  # at the instant of the renew: a still acts
    assert a.acting()


def test_lease_clock_without_skew_waits() -> None:
    c = Clock()
    a = elector("a", c)
    held = acquire(a, None, 1, c)
    buggy = elector("c", c, frozenset({"lease-clock"}))
    assert buggy.plan(held).kind is PlanKind.WAIT


def test_micro_time_round_trip() -> None:
    t = datetime.datetime(2026, 12, 3, 9, 14, 3, 123456, tzinfo=datetime.UTC)
    assert format_micro(t) == "2026-12-03T09:14:03.123456Z"
    assert parse_micro(format_micro(t)) == t
    assert parse_micro("2026-12-03T09:14:03Z") == t.replace(microsecond=0)

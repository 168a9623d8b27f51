"""client-go's leader election as a pure state machine: no sockets, an injected clock.

In a nutshell: :class:`Elector` holds what one candidate knows — the Lease record it last
observed, *when* it observed it (on its own monotonic clock), and when its last successful
renew was sent. The I/O shell (:mod:`controlplane.leaderelection.elector`) asks it what to
write, performs the write, and reports the outcome back. Rules, from client-go
``tools/leaderelection/leaderelection.go`` (``tryAcquireOrRenew``):

- a leader whose observed lease is still valid first tries a *fast path*: update its cached
  record (same ``acquireTime`` and ``leaseTransitions``, new ``renewTime``), preconditioned on
  the cached ``resourceVersion``;
- otherwise the caller GETs the Lease. Absent → create it (``leaseTransitions`` 0). A record
  that differs from the observed one restarts the expiry timer: ``observed_at`` = now on the
  LOCAL monotonic clock, never the holder's ``renewTime`` (skew-tolerant);
- another holder whose lease is valid (``observed_at + leaseDurationSeconds`` in the future) →
  wait. Taking over → ``leaseTransitions + 1`` and a fresh ``acquireTime``; renewing keeps both;
- every update carries the ``resourceVersion`` read, so two racing candidates conflict (409).

Stop-acting rule (stricter than client-go by one RetryPeriod, and why): :meth:`acting` is true
only while ``now < last_renew_sent + renew_deadline``. The base is the time the renewing request
was *sent*, which precedes the write, which precedes any other candidate's observation of it, so
the old leader stops acting before ``observed_at + lease_duration`` of anyone else — provided
clock *rates* agree within lease_duration/renew_deadline (client-go's documented caveat).

Bug switches: ``no-renew-deadline`` — :meth:`acting` ignores the deadline and the term never
ends on failed renewals; ``lease-clock`` — expiry is judged from the holder's ``renewTime`` on
this candidate's wall clock (the rejected client-go#448 shortcut; wrong under clock skew).

    el = Elector(identity="cm-1_ab", timings=ElectionTimings(), mono=time.monotonic, wall=utcnow)
    plan = el.plan(current_record)       # Create | Update | Wait
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from dataclasses import dataclass, replace

MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime's RFC 3339 with microseconds


def format_micro(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime(MICRO_TIME)


def parse_micro(raw: str) -> datetime.datetime:
    """A MicroTime or Time string (``...Z`` with or without fraction, or ``+00:00``)."""
    text = raw.strip().replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).astimezone(datetime.UTC)


class ConfigError(ValueError):
    """Durations that break client-go's constructor rule."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ElectionTimings:
    lease_duration_s: float = 4.0
    renew_deadline_s: float = 3.0
    retry_period_s: float = 0.5
    jitter_factor: float = 1.2  # client-go JitterFactor

    def check(self) -> None:
        """client-go NewLeaderElector: LeaseDuration > RenewDeadline > JitterFactor×RetryPeriod."""
        if not self.lease_duration_s > self.renew_deadline_s:
            raise ConfigError(
                f"LE_LEASE_DURATION_S ({self.lease_duration_s}) must be greater than "
                f"LE_RENEW_DEADLINE_S ({self.renew_deadline_s})"
            )
        if not self.renew_deadline_s > self.jitter_factor * self.retry_period_s:
            raise ConfigError(
                f"LE_RENEW_DEADLINE_S ({self.renew_deadline_s}) must be greater than "
                f"{self.jitter_factor} × LE_RETRY_PERIOD_S ({self.retry_period_s})"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseRecord:
    """A Lease's spec as client-go's LeaderElectionRecord, plus the object's resourceVersion."""

    holder: str
    lease_duration_s: int
    acquire_time: str
    renew_time: str
    transitions: int
    resource_version: str = ""

    def same_record(self, other: LeaseRecord) -> bool:
        """client-go compares the record, not the resourceVersion."""
        return replace(self, resource_version="") == replace(other, resource_version="")


class PlanKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    WAIT = "wait"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    kind: PlanKind
    record: LeaseRecord | None = None  # what to write (UPDATE carries the rv precondition)
    reason: str = ""


class Elector:
    """One candidate's knowledge; see the module docstring."""

    def __init__(
        self,
        *,
        identity: str,
        timings: ElectionTimings,
        mono: Callable[[], float],
        wall: Callable[[], datetime.datetime],
        bugs: frozenset[str] = frozenset(),
    ) -> None:
        timings.check()
        self.identity = identity
        self.timings = timings
        self._mono = mono
        self._wall = wall
        self._no_renew_deadline = "no-renew-deadline" in bugs
        self._lease_clock = "lease-clock" in bugs
        self.observed: LeaseRecord | None = None
        self.observed_at = 0.0
        self.last_renew_sent: float | None = None  # send time of the last successful write
        self.term_transitions: int | None = None  # leaseTransitions of the term we hold

    # ---- queries ----

    def is_leader(self) -> bool:
        """client-go IsLeader: the observed record names us."""
        return self.observed is not None and self.observed.holder == self.identity

    def lease_valid(self) -> bool:
        """Whether the observed lease is still valid for others (client-go isLeaseValid)."""
        rec = self.observed
        if rec is None:
            return False
        if self._lease_clock:
            # BUG (lease-clock): the holder's renewTime read against OUR wall clock.
            expires = parse_micro(rec.renew_time) + datetime.timedelta(seconds=rec.lease_duration_s)
            return expires > self._wall()
        return self.observed_at + rec.lease_duration_s > self._mono()

    def acting(self) -> bool:
        """May the component act as leader now? Closes RenewDeadline after the last good renew."""
        if self.last_renew_sent is None:
            return False
        if self._no_renew_deadline:
            # BUG (no-renew-deadline): once elected it acts however long renewals fail, even
            # after it has seen another holder (kubernetes#23731: OnStoppedLeading never came).
            return True
        return (
            self.is_leader() and self._mono() < self.last_renew_sent + self.timings.renew_deadline_s
        )

    def renew_deadline_passed(self) -> bool:
        """The shell ends the term when this is true (never, with ``no-renew-deadline``)."""
        if self._no_renew_deadline or self.last_renew_sent is None:
            return False
        return self._mono() >= self.last_renew_sent + self.timings.renew_deadline_s

    # ---- planning ----

    def _fresh(self, *, acquire_time: str, transitions: int, rv: str) -> LeaseRecord:
        now = format_micro(self._wall())
        return LeaseRecord(
            holder=self.identity,
            lease_duration_s=max(1, round(self.timings.lease_duration_s)),
            acquire_time=acquire_time or now,
            renew_time=now,
            transitions=transitions,
            resource_version=rv,
        )

    def fast_path(self) -> LeaseRecord | None:
        """The blind renew of the cached record a valid leader tries first, or None."""
        obs = self.observed
        if obs is None or not self.is_leader() or not self.lease_valid():
            return None
        return self._fresh(
            acquire_time=obs.acquire_time, transitions=obs.transitions, rv=obs.resource_version
        )

    def plan(self, current: LeaseRecord | None) -> Plan:
        """What to write after a GET returned ``current`` (None: the Lease does not exist)."""
        if current is None:
            return Plan(
                kind=PlanKind.CREATE, record=self._fresh(acquire_time="", transitions=0, rv="")
            )
        if self.observed is None or not current.same_record(self.observed):
            self.observed = current
            self.observed_at = self._mono()
        elif current.resource_version != self.observed.resource_version:
            self.observed = current  # same record, newer rv: keep the timer, use the new rv
        if current.holder and current.holder != self.identity and self.lease_valid():
            return Plan(
                kind=PlanKind.WAIT, reason=f"lease held by {current.holder} and still valid"
            )
        if current.holder == self.identity:
            rec = self._fresh(
                acquire_time=current.acquire_time,
                transitions=current.transitions,
                rv=current.resource_version,
            )
        else:
            rec = self._fresh(
                acquire_time="", transitions=current.transitions + 1, rv=current.resource_version
            )
        return Plan(kind=PlanKind.UPDATE, record=rec)

    # ---- outcomes ----

    def written(self, record: LeaseRecord, *, sent_at: float) -> None:
        """A create/update of ``record`` (with its new resourceVersion) succeeded."""
        self.observed = record
        self.observed_at = self._mono()
        self.last_renew_sent = sent_at
        self.term_transitions = record.transitions

    def lost(self) -> None:
        """The term ended (renew deadline passed): forget we ever renewed."""
        self.last_renew_sent = None
        self.term_transitions = None

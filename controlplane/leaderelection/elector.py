"""The I/O shell of leader election: one thread that campaigns and renews over a real Lease.

In a nutshell: :class:`LeaderElection` runs client-go's loops around the pure
:class:`~controlplane.leaderelection.core.Elector`: while a candidate, ``tryAcquireOrRenew``
every RetryPeriod with client-go's jitter (``RetryPeriod × (1 + 1.2 × rand)``); once elected it
starts a :class:`Term` (``on_started``) and renews every RetryPeriod. When the renew deadline
passes without a successful renew, or a GET shows another holder, the term ends
(``on_stopped``) and the process goes back to being a candidate.

Choice (documented in ARCHITECTURE.md "Controller layer"): we go back to candidate instead of
exiting as kube-controller-manager does, because our containers have no restart policy — an
exiting replica would shrink the cluster for the rest of a run. A new term starts from scratch
exactly as a restarted process would: fresh informers, caches, queues and expectations.
Writes are gated by :meth:`Term.active`, which closes on the clock even while the renewing
thread is stuck in a hung request (Go cancels that request; Python cannot).

    le = LeaderElection(kube, lease=("kube-system", "kube-scheduler"), elector=el,
                        on_started=start_controllers, on_stopped=stop_controllers)
    threading.Thread(target=le.run, args=(stop_event,)).start()
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from controlplane.kubeclient.client import ApiUnavailable, Kube, Obj, status_code
from controlplane.kubeclient.events import EventRecorder
from controlplane.leaderelection.core import Elector, LeaseRecord, PlanKind

log = logging.getLogger(__name__)

WRITER_ANNOTATION = "chaosplane.io/writer"
TRANSITIONS_ANNOTATION = "chaosplane.io/writer-transitions"


class NotActing(RuntimeError):
    """A write was attempted while this replica may not act as leader."""


@dataclass(slots=True, kw_only=True)
class Term:
    """One uninterrupted leadership; controllers run only while :meth:`active`."""

    identity: str
    transitions: int
    acting: Callable[[], bool]
    ended: threading.Event = field(default_factory=threading.Event)

    def active(self) -> bool:
        return not self.ended.is_set() and self.acting()

    def annotations(self) -> dict[str, str]:
        """The fencing annotations of contract C3."""
        return {WRITER_ANNOTATION: self.identity, TRANSITIONS_ANNOTATION: str(self.transitions)}

    def fence(self, obj: Obj) -> Obj:
        """``obj`` with the fencing annotations set; raises NotActing when we may not write."""
        if not self.active():
            raise NotActing(f"{self.identity} is not acting as leader")
        meta = obj.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), **self.annotations()}
        return obj


def lease_path(namespace: str, name: str = "") -> str:
    base = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
    return f"{base}/{name}" if name else base


def record_of(lease: Obj) -> LeaseRecord:
    spec = lease.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        lease_duration_s=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=str(spec.get("acquireTime") or ""),
        renew_time=str(spec.get("renewTime") or ""),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str((lease.get("metadata") or {}).get("resourceVersion") or ""),
    )


def lease_body(namespace: str, name: str, rec: LeaseRecord) -> Obj:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if rec.resource_version:
        meta["resourceVersion"] = rec.resource_version  # the optimistic-concurrency precondition
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": rec.holder,
            "leaseDurationSeconds": rec.lease_duration_s,
            "acquireTime": rec.acquire_time,
            "renewTime": rec.renew_time,
            "leaseTransitions": rec.transitions,
        },
    }


class LeaderElection:
    """Campaign and renew forever (until ``stop``); see the module docstring."""

    def __init__(
        self,
        kube: Kube,
        *,
        lease: tuple[str, str],
        elector: Elector,
        on_started: Callable[[Term], None],
        on_stopped: Callable[[Term], None],
        rng: random.Random | None = None,
        mono: Callable[[], float] = time.monotonic,
        events: EventRecorder | None = None,
    ) -> None:
        self._events = events or EventRecorder.disabled()
        self._lease: Obj = {}  # the Lease as last written (the LeaderElection event's object)
        self._kube = kube
        self._namespace, self._name = lease
        self.elector = elector
        self._on_started = on_started
        self._on_stopped = on_stopped
        self._rng = rng or random.Random()
        self._mono = mono
        self.term: Term | None = None

    # ---- one tryAcquireOrRenew ----

    def _timeout_s(self) -> float:
        """Per-try request timeout: never beyond the renew deadline of a current leader."""
        t = self.elector.timings
        cap = max(t.retry_period_s, t.renew_deadline_s / 2)
        sent = self.elector.last_renew_sent
        if sent is None:
            return cap
        remaining = sent + t.renew_deadline_s - self._mono()
        return max(0.2, min(cap, remaining))

    def _write(self, kind: PlanKind, rec: LeaseRecord) -> bool:
        body = lease_body(self._namespace, self._name, rec)
        sent = self._mono()
        try:
            if kind is PlanKind.CREATE:
                obj = self._kube.create(
                    lease_path(self._namespace), body, timeout_s=self._timeout_s()
                )
            else:
                obj = self._kube.update(
                    lease_path(self._namespace, self._name), body, timeout_s=self._timeout_s()
                )
        except (ApiException, ApiUnavailable) as exc:
            log.info("lease %s %s failed: %s", kind, self._name, _short(exc))
            return False
        self.elector.written(record_of(obj), sent_at=sent)
        self._lease = obj
        return True

    def try_acquire_or_renew(self) -> bool:
        fast = self.elector.fast_path()
        if fast is not None and self._write(PlanKind.UPDATE, fast):
            return True
        try:
            current: LeaseRecord | None = record_of(
                self._kube.get(lease_path(self._namespace, self._name), timeout_s=self._timeout_s())
            )
        except ApiException as exc:
            if status_code(exc) != 404:
                log.info("error retrieving lease %s: %s", self._name, _short(exc))
                return False
            current = None
        except ApiUnavailable as exc:
            log.info("error retrieving lease %s: %s", self._name, exc)
            return False
        plan = self.elector.plan(current)
        if plan.kind is PlanKind.WAIT or plan.record is None:
            return False
        return self._write(plan.kind, plan.record)

    # ---- the loops ----

    def run(self, stop: threading.Event) -> None:
        t = self.elector.timings
        while not stop.is_set():
            if not self.try_acquire_or_renew():
                stop.wait(t.retry_period_s * (1 + t.jitter_factor * self._rng.random()))
                continue
            term = Term(
                identity=self.elector.identity,
                transitions=self.elector.term_transitions or 0,
                acting=self.elector.acting,
            )
            self.term = term
            log.info("%s: became leader (leaseTransitions=%d)", term.identity, term.transitions)
            # client-go LeaseLock.RecordEvent: "<identity> became leader" on the Lease.
            self._events.record(
                self._lease, reason="LeaderElection", message=f"{term.identity} became leader"
            )
            self._on_started(term)
            self._renew(stop)
            term.ended.set()
            self.elector.lost()
            log.info("%s: stopped leading", term.identity)
            self._on_stopped(term)

    def _renew(self, stop: threading.Event) -> None:
        t = self.elector.timings
        while not stop.wait(t.retry_period_s):
            if self.try_acquire_or_renew():
                continue
            if self.elector.renew_deadline_passed():
                log.warning(
                    "%s: failed to renew lease within %.1fs",
                    self.elector.identity,
                    t.renew_deadline_s,
                )
                return
            if not self.elector.is_leader() and not self.elector.acting():
                log.warning("%s: lease taken by %s", self.elector.identity, _holder(self.elector))
                return


def _holder(el: Elector) -> str:
    return el.observed.holder if el.observed else "?"


def _short(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}"
    return str(exc)

"""Kubernetes Events from the controller layer: a small, best-effort recorder.

In a nutshell: :class:`EventRecorder` is client-go's event broadcaster cut down. A call to
:meth:`EventRecorder.record` never blocks and never raises: it puts the event on a bounded
queue that one daemon thread writes to the apiserver (``POST`` a new Event; a repeat of the
same event — same object, reason, message, type and component — updates the one already
written: ``count``/``lastTimestamp``, or ``series`` for ``events.k8s.io``, as client-go's
EventCorrelator and the events/v1 series do). A write that fails is logged and dropped, so a
partition or a slow apiserver costs the controllers nothing. client-go's spam filter is kept
too: per component and object a bucket of 25 events, refilled one per 5 minutes.

Events name their writer: ``source.component`` / ``reportingComponent`` (e.g.
``replicaset-controller``), ``reportingInstance`` the member identity holding the lease
(``controller-manager-1_ab12cd34``), ``source.host`` the member name. Core events also carry
``eventTime`` and ``action`` (valid "new-style" core events), so clients of both
``v1`` and ``events.k8s.io/v1`` can read every event.

    rec = EventRecorder(kube, component="replicaset-controller", instance=el.identity,
                        host=env.name)
    rec.start(stop)
    rec.record(rs, reason="SuccessfulCreate", message="Created pod: web-1", action="Create")
"""

from __future__ import annotations

import collections
import copy
import datetime
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from controlplane.kubeclient.client import ApiUnavailable, Kube, Obj

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000  # events waiting to be written; beyond that new ones are dropped
CACHE_SIZE = 4096  # client-go's maxLruCacheEntries: events remembered for aggregation
SPAM_BURST = 25  # client-go EventSourceObjectSpamFilter defaults
SPAM_REFILL_S = 300.0
BUCKETS_MAX = 10_000  # spam-filter buckets kept before idle ones are forgotten


class EventApi(enum.StrEnum):
    CORE = "v1"  # client-go tools/record (controller-manager, leader election)
    EVENTS_V1 = "events.k8s.io/v1"  # client-go tools/events (kube-scheduler)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSource:
    component: str  # "replicaset-controller", "default-scheduler"
    instance: str  # the member identity, "scheduler-1_ab12cd34"
    host: str  # the member name, "scheduler-1"
    api: EventApi = EventApi.CORE


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pending:
    source: EventSource
    ref: Obj
    type: str
    reason: str
    message: str
    action: str
    at: datetime.datetime


@dataclass(slots=True)
class _Written:
    path: str  # the event object's path
    body: Obj  # as last written (no resourceVersion)
    count: int = 1


@dataclass(slots=True, kw_only=True)
class _Shared:
    kube: Kube | None
    queue: queue.Queue[_Pending] = field(default_factory=lambda: queue.Queue(QUEUE_SIZE))
    written: collections.OrderedDict[tuple[str, ...], _Written] = field(
        default_factory=collections.OrderedDict
    )
    buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False
    sent: int = 0
    failed: int = 0
    dropped: int = 0


def reference(obj: Obj) -> Obj:
    """The ObjectReference of ``obj`` (client-go ``reference.GetReference``); a Node's uid is
    its name and it has no namespace, as the node controller and kubelet record them."""
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind") or "")
    ref: Obj = {
        "kind": kind,
        "namespace": str(meta.get("namespace") or ""),
        "name": str(meta.get("name") or ""),
        "uid": str(meta.get("uid") or ""),
        "apiVersion": str(obj.get("apiVersion") or ""),
        "resourceVersion": str(meta.get("resourceVersion") or ""),
    }
    if kind == "Node":
        ref.update(namespace="", uid=ref["name"], resourceVersion="")
    return {k: v for k, v in ref.items() if v}


def _micro(at: datetime.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(at: datetime.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Records events for one component; :meth:`with_component` shares the writer thread."""

    def __init__(
        self,
        kube: Kube | None,
        *,
        component: str,
        instance: str,
        host: str,
        api: EventApi = EventApi.CORE,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        mono: Callable[[], float] = time.monotonic,
        _shared: _Shared | None = None,
    ) -> None:
        self.source = EventSource(component=component, instance=instance, host=host, api=api)
        self._clock = clock
        self._mono = mono
        self._shared = _shared or _Shared(kube=kube)

    @classmethod
    def disabled(cls) -> EventRecorder:
        """A recorder that writes nothing (components and tests built without one)."""
        return cls(None, component="", instance="", host="")

    def with_component(self, component: str, *, api: EventApi | None = None) -> EventRecorder:
        rec = EventRecorder(
            self._shared.kube,
            component=component,
            instance=self.source.instance,
            host=self.source.host,
            api=api or self.source.api,
            clock=self._clock,
            mono=self._mono,
            _shared=self._shared,
        )
        return rec

    @property
    def stats(self) -> dict[str, int]:
        s = self._shared
        return {"sent": s.sent, "failed": s.failed, "dropped": s.dropped}

    # ---- the caller's side: never blocks, never raises ----

    def record(
        self, obj: Obj, *, reason: str, message: str, action: str = "", warning: bool = False
    ) -> None:
        shared = self._shared
        if shared.kube is None:
            return
        ref = reference(obj)
        if not ref.get("name"):
            log.warning("event %s not recorded: the object has no name", reason)
            return
        if not self._allowed(ref):
            shared.dropped += 1
            log.debug("event %s on %s dropped by the spam filter", reason, ref.get("name"))
            return
        pending = _Pending(
            source=self.source,
            ref=ref,
            type="Warning" if warning else "Normal",
            reason=reason,
            message=message,
            action=action or reason,
            at=self._clock(),
        )
        try:
            shared.queue.put_nowait(pending)
        except queue.Full:
            shared.dropped += 1
            log.warning("event %s on %s dropped: queue full", reason, ref.get("name"))

    def _allowed(self, ref: Obj) -> bool:
        key = (self.source.component, f"{ref.get('kind')}/{ref.get('namespace')}/{ref['name']}")
        now = self._mono()
        with self._shared.lock:
            buckets = self._shared.buckets
            if len(buckets) > BUCKETS_MAX:  # forget objects quiet long enough to be full again
                full_after = SPAM_BURST * SPAM_REFILL_S
                for k in [k for k, (_, t) in buckets.items() if now - t > full_after]:
                    del buckets[k]
            tokens, last = buckets.get(key, (float(SPAM_BURST), now))
            tokens = min(float(SPAM_BURST), tokens + (now - last) / SPAM_REFILL_S)
            if tokens < 1.0:
                self._shared.buckets[key] = (tokens, now)
                return False
            self._shared.buckets[key] = (tokens - 1.0, now)
            return True

    # ---- the writer thread ----

    def start(self, stop: threading.Event) -> None:
        """Start the writer (once per shared recorder); it ends when ``stop`` is set."""
        shared = self._shared
        with shared.lock:
            if shared.started or shared.kube is None:
                return
            shared.started = True
        threading.Thread(target=self._run, args=(stop,), name="events", daemon=True).start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                pending = self._shared.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.write(pending)

    def write(self, pending: _Pending) -> None:
        """One event to the apiserver: create, or update the one written before."""
        shared = self._shared
        assert shared.kube is not None
        key = self._key(pending)
        known = shared.written.get(key)
        try:
            if known is None:
                ns = pending.ref.get("namespace") or "default"
                base = _collection(pending.source.api, ns)
                body = _new_body(pending, ns)
                shared.kube.create(base, body)
                self._remember(key, _Written(path=f"{base}/{body['metadata']['name']}", body=body))
            else:
                known.count += 1
                known.body = _repeat_body(known.body, pending, known.count)
                shared.kube.update(known.path, known.body)
                shared.written.move_to_end(key)
            shared.sent += 1
        except (ApiException, ApiUnavailable, OSError) as exc:
            shared.failed += 1
            if known is not None and getattr(exc, "status", 0) == 404:
                shared.written.pop(key, None)  # gone (pruned): the next repeat starts anew
            log.info(
                "event %s on %s/%s not written: %s",
                pending.reason,
                pending.ref.get("kind"),
                pending.ref.get("name"),
                getattr(exc, "reason", None) or exc,
            )

    def _key(self, p: _Pending) -> tuple[str, ...]:
        r = p.ref
        return (
            p.source.api,
            p.source.component,
            p.source.instance,
            str(r.get("kind")),
            str(r.get("namespace")),
            str(r.get("name")),
            str(r.get("uid")),
            p.type,
            p.reason,
            p.message,
        )

    def _remember(self, key: tuple[str, ...], written: _Written) -> None:
        cache = self._shared.written
        cache[key] = written
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)


def _collection(api: EventApi, namespace: str) -> str:
    if api is EventApi.EVENTS_V1:
        return f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    return f"/api/v1/namespaces/{namespace}/events"


def _new_body(p: _Pending, namespace: str) -> Obj:
    nanos = int(p.at.timestamp() * 1e9)
    meta = {"name": f"{p.ref['name']}.{nanos:x}", "namespace": namespace}
    src = p.source
    if src.api is EventApi.EVENTS_V1:
        return {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": meta,
            "eventTime": _micro(p.at),
            "reportingController": src.component,
            "reportingInstance": src.instance,
            "action": p.action,
            "reason": p.reason,
            "regarding": p.ref,
            "note": p.message,
            "type": p.type,
        }
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta,
        "involvedObject": p.ref,
        "reason": p.reason,
        "message": p.message,
        "source": {"component": src.component, "host": src.host},
        "firstTimestamp": _seconds(p.at),
        "lastTimestamp": _seconds(p.at),
        "count": 1,
        "type": p.type,
        "eventTime": _micro(p.at),
        "action": p.action,
        "reportingComponent": src.component,
        "reportingInstance": src.instance,
    }


def _repeat_body(body: Obj, p: _Pending, count: int) -> Obj:
    out: dict[str, Any] = copy.deepcopy(body)
    if p.source.api is EventApi.EVENTS_V1:
        out["series"] = {"count": count, "lastObservedTime": _micro(p.at)}
    else:
        out["count"] = count
        out["lastTimestamp"] = _seconds(p.at)
    return out

"""Events served twice: core ``v1`` and ``events.k8s.io/v1`` over one stored form.

In a nutshell: kube-apiserver keeps every Event in one etcd collection in the internal (core)
shape and converts ``events.k8s.io/v1`` bodies on the way in and out
(``pkg/apis/events/v1/conversion.go``): ``regarding`` ↔ ``involvedObject``, ``note`` ↔
``message``, ``reportingController`` ↔ ``reportingComponent``, ``deprecatedSource`` ↔
``source``, ``deprecatedFirstTimestamp``/``LastTimestamp``/``Count`` ↔ ``firstTimestamp``/
``lastTimestamp``/``count``. So an event the scheduler writes through ``events.k8s.io`` shows
in ``kubectl describe pod``, which lists core events. :func:`view_of` gives the routes what to
apply to a resource's bodies (identity for every other resource); :func:`validate` checks the
fields Kubernetes requires of a new ``events.k8s.io/v1`` Event (``eventTime``,
``reportingController``, ``reportingInstance``, ``action``, ``reason``, ``type``).

    view = view_of(EVENTS_V1)
    stored = view.to_storage(body)        # core v1 Event
    served = view.to_served(stored)       # events.k8s.io/v1 Event again
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controlplane.apiserver.resources import EVENTS, EVENTS_V1, Resource, collection_prefix
from controlplane.apiserver.status import ApiError, Reason
from controlplane.apiserver.store import StoreClient, StoreError

log = logging.getLogger(__name__)

Obj = dict[str, Any]

# events.k8s.io/v1 field -> core v1 field (both directions; the rest have the same names).
_RENAMES: tuple[tuple[str, str], ...] = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)
EVENT_TYPES = ("Normal", "Warning")


def to_core(obj: Obj) -> Obj:
    """An ``events.k8s.io/v1`` Event in the core ``v1`` form (what the store holds)."""
    out = copy.deepcopy(obj)
    for new, old in _RENAMES:
        if new in out:
            out[old] = out.pop(new)
    out["apiVersion"], out["kind"] = EVENTS.api_version, EVENTS.kind
    return out


def to_events_v1(obj: Obj) -> Obj:
    """A stored (core) Event as ``events.k8s.io/v1`` serves it."""
    out = copy.deepcopy(obj)
    for new, old in _RENAMES:
        if old in out:
            out[new] = out.pop(old)
    # Core's reportingComponent/Instance are always present (no omitempty); v1 omits empties.
    for key in ("reportingController", "reportingInstance"):
        if out.get(key) == "":
            del out[key]
    out["apiVersion"], out["kind"] = EVENTS_V1.api_version, EVENTS_V1.kind
    return out


def validate(res: Resource, namespace: str | None, obj: Obj) -> None:
    """422 Invalid naming the field, for what kube-apiserver refuses on create
    (``pkg/apis/core/validation/events.go``): a core Event's ``involvedObject.namespace`` must
    be its own namespace (or empty, in ``default``); a new ``events.k8s.io/v1`` Event needs
    ``eventTime``, ``reportingController``, ``reportingInstance``, ``action``, ``reason``
    and a ``type`` of Normal or Warning."""
    if res is EVENTS_V1:
        for field in ("eventTime", "reportingController", "reportingInstance", "action", "reason"):
            if not obj.get(field):
                raise _invalid(obj, field, obj.get(field), "a non-empty value (required)")
        if obj.get("type") not in EVENT_TYPES:
            raise _invalid(obj, "type", obj.get("type"), "Normal or Warning")
        return
    involved = str((obj.get("involvedObject") or {}).get("namespace") or "")
    allowed = (namespace,) if involved else ("default", "kube-system")
    if (involved or namespace) not in allowed:
        raise _invalid(
            obj,
            "involvedObject.namespace",
            involved,
            f"the event's namespace {namespace!r} (or empty, for events in 'default')",
        )


def _invalid(obj: Obj, field: str, value: Any, expected: str) -> ApiError:
    name = str((obj.get("metadata") or {}).get("name") or "")
    return ApiError(
        Reason.INVALID,
        f'Event "{name}" is invalid: {field}: Invalid value: {value!r}: expected {expected}',
        kind="Event",
        name=name or None,
    )


def _same(obj: Obj) -> Obj:
    return obj


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """How a served resource maps onto its stored collection."""

    served: Resource
    storage: Resource
    to_storage: Callable[[Obj], Obj]
    to_served: Callable[[Obj], Obj]

    @property
    def converts(self) -> bool:
        return self.served is not self.storage


def view_of(res: Resource) -> View:
    if res is EVENTS_V1:
        return View(served=res, storage=EVENTS, to_storage=to_core, to_served=to_events_v1)
    return View(served=res, storage=res, to_storage=_same, to_served=_same)


def served_item(view: View, obj: Obj) -> Obj:
    """A response object in the served form (Status bodies and other kinds pass unchanged)."""
    if view.converts and obj.get("kind") == view.storage.kind:
        return view.to_served(obj)
    return obj


def served_list(view: View, listed: Obj) -> Obj:
    if not view.converts:
        return listed
    return {
        **listed,
        "apiVersion": view.served.api_version,
        "kind": view.served.list_kind,
        "items": [view.to_served(i) for i in listed.get("items", [])],
    }


# ---- a bounded life without a TTL --------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class EventBudget:
    """Keeps each namespace at its newest ``limit`` events (kube-apiserver gives them a 1 h
    etcd lease instead; our store has no TTLs). Every ``check_every``-th event created in a
    namespace through this replica starts one background pass that lists the namespace's
    events and deletes the least recently written beyond ``limit``. Best effort: a failed pass
    is logged and the next one tries again; replicas racing to delete the same event is
    harmless."""

    store: StoreClient
    limit: int
    check_every: int = 50
    _created: dict[str, int] = field(default_factory=dict)
    _tasks: set[asyncio.Task[int]] = field(default_factory=set)

    def created(self, namespace: str) -> None:
        n = self._created.get(namespace, 0) + 1
        self._created[namespace] = n
        if n % self.check_every == 0 or n == 1:
            task = asyncio.get_running_loop().create_task(self.prune(namespace))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def prune(self, namespace: str) -> int:
        """Delete the oldest events of ``namespace`` beyond the limit; returns how many."""
        try:
            listed = await self.store.list(collection_prefix(EVENTS, namespace))
            excess = len(listed.items) - self.limit
            if excess <= 0:
                return 0
            oldest = sorted(listed.items, key=lambda i: i.mod_revision)[:excess]
            for item in oldest:
                await self.store.delete(item.key)
        except StoreError as exc:
            log.warning("events: pruning namespace %s failed: %s", namespace, exc)
            return 0
        log.info("events: pruned the %d oldest events of namespace %s", excess, namespace)
        return excess

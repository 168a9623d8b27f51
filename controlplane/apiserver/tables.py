"""Server-side printing: ``meta.k8s.io/v1`` Table answers, the columns ``kubectl get`` shows.

In a nutshell: kubectl asks lists, gets and watches for
``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``; without a Table it can print only
NAME and AGE. :func:`wants_table` reads that header and :func:`to_table` renders objects with
the columns of kube-apiserver's printers for the served kinds (pods: Ready, Status, Restarts,
Age, and with ``-o wide`` IP and Node; deployments: Ready, Up-to-date, Available; …). Each row
carries the object as ``PartialObjectMetadata`` (``includeObject=Object``: the whole object,
``None``: nothing), so ``--show-labels`` works.

    if wants_table(request.headers.get("Accept", "")):
        body = to_table(res, items, include="Metadata", resource_version="812")
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from controlplane.apiserver.eventsapi import to_core
from controlplane.apiserver.resources import Resource

Obj = dict[str, Any]
TABLE_MEDIA = "application/json;as=Table;v=v1;g=meta.k8s.io"


def wants_table(accept: str) -> bool:
    for choice in accept.split(","):
        params = {p.strip() for p in choice.split(";")[1:]}
        if {"as=Table", "g=meta.k8s.io"} <= params and ("v=v1" in params or "v=v1beta1" in params):
            return True
    return False


def human_age(timestamp: str | None) -> str:
    """kubectl's HumanDuration of the time since ``timestamp``: 5s, 3m2s, 4h, 2d.

    ``timestamp`` is RFC 3339, with seconds (Time) or microseconds (MicroTime)."""
    if not timestamp:
        return "<unknown>"
    try:
        when = datetime.datetime.fromisoformat(timestamp)
    except ValueError:
        return "<unknown>"
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    seconds = int((datetime.datetime.now(datetime.UTC) - when).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _get(obj: Obj, *path: str) -> Any:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _age(obj: Obj) -> str:
    return human_age(_get(obj, "metadata", "creationTimestamp"))


def _pod_status(obj: Obj) -> str:
    if _get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    reason = _get(obj, "status", "reason")
    return str(reason or _get(obj, "status", "phase") or "Unknown")


def _pod_ready(obj: Obj) -> str:
    containers = _get(obj, "spec", "containers") or []
    statuses = _get(obj, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready"))
    return f"{ready}/{len(containers)}"


def _restarts(obj: Obj) -> int:
    statuses = _get(obj, "status", "containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses if isinstance(s, dict))


def _node_status(obj: Obj) -> str:
    ready = "Unknown"
    for cond in _get(obj, "status", "conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            ready = {"True": "Ready", "False": "NotReady"}.get(str(cond.get("status")), "Unknown")
    if _get(obj, "spec", "unschedulable"):
        ready += ",SchedulingDisabled"
    return ready


def _node_roles(obj: Obj) -> str:
    labels = _get(obj, "metadata", "labels") or {}
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in labels if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _node_ip(obj: Obj, kind: str) -> str:
    for addr in _get(obj, "status", "addresses") or []:
        if isinstance(addr, dict) and addr.get("type") == kind:
            return str(addr.get("address"))
    return "<none>"


def _containers(obj: Obj, field: str) -> str:
    containers = _get(obj, "spec", "template", "spec", "containers") or []
    return ",".join(str(c.get(field, "")) for c in containers if isinstance(c, dict))


def _selector(obj: Obj) -> str:
    labels = _get(obj, "spec", "selector", "matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def _int(obj: Obj, *path: str) -> int:
    return int(_get(obj, *path) or 0)


def _event(obj: Obj) -> Obj:
    """Event cells read the core form; events.k8s.io/v1 rows are converted back to it."""
    return to_core(obj) if obj.get("apiVersion") == "events.k8s.io/v1" else obj


def _event_first_seen(obj: Obj) -> str:
    ev = _event(obj)
    return human_age(ev.get("firstTimestamp") or ev.get("eventTime"))


def _event_last_seen(obj: Obj) -> str:
    # pkg/printers/internalversion printEvent: a series' last observation, else lastTimestamp.
    ev = _event(obj)
    series = ev.get("series") or {}
    if series.get("lastObservedTime"):
        return human_age(series["lastObservedTime"])
    if ev.get("lastTimestamp"):
        return human_age(ev["lastTimestamp"])
    return _event_first_seen(ev)


def _event_count(obj: Obj) -> int:
    ev = _event(obj)
    series = ev.get("series") or {}
    return int(series.get("count") or ev.get("count") or 1)


def _event_object(obj: Obj) -> str:
    ref = _event(obj).get("involvedObject") or {}
    kind = str(ref.get("kind") or "").lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def _event_source(obj: Obj) -> str:
    ev = _event(obj)
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    host = source.get("host") or ev.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


Column = tuple[str, str, int, Callable[[Obj], Any]]  # name, type, priority, cell
_NAME: Column = ("Name", "string", 0, lambda o: _get(o, "metadata", "name"))
_AGE: Column = ("Age", "string", 0, _age)
_WORKLOAD_WIDE: list[Column] = [
    ("Containers", "string", 1, lambda o: _containers(o, "name")),
    ("Images", "string", 1, lambda o: _containers(o, "image")),
    ("Selector", "string", 1, _selector),
]
COLUMNS: dict[str, list[Column]] = {
    "Pod": [
        _NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "integer", 0, _restarts),
        _AGE,
        ("IP", "string", 1, lambda o: _get(o, "status", "podIP") or "<none>"),
        ("Node", "string", 1, lambda o: _get(o, "spec", "nodeName") or "<none>"),
    ],
    "Deployment": [
        _NAME,
        (
            "Ready",
            "string",
            0,
            lambda o: f"{_int(o, 'status', 'readyReplicas')}/{_int(o, 'spec', 'replicas')}",
        ),
        ("Up-to-date", "integer", 0, lambda o: _int(o, "status", "updatedReplicas")),
        ("Available", "integer", 0, lambda o: _int(o, "status", "availableReplicas")),
        _AGE,
        *_WORKLOAD_WIDE,
    ],
    "ReplicaSet": [
        _NAME,
        ("Desired", "integer", 0, lambda o: _int(o, "spec", "replicas")),
        ("Current", "integer", 0, lambda o: _int(o, "status", "replicas")),
        ("Ready", "integer", 0, lambda o: _int(o, "status", "readyReplicas")),
        _AGE,
        *_WORKLOAD_WIDE,
    ],
    "Node": [
        _NAME,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        _AGE,
        ("Version", "string", 0, lambda o: _get(o, "status", "nodeInfo", "kubeletVersion") or ""),
        ("Internal-IP", "string", 1, lambda o: _node_ip(o, "InternalIP")),
    ],
    "Namespace": [_NAME, ("Status", "string", 0, lambda o: _get(o, "status", "phase")), _AGE],
    "ConfigMap": [_NAME, ("Data", "integer", 0, lambda o: len(o.get("data") or {})), _AGE],
    "Secret": [
        _NAME,
        ("Type", "string", 0, lambda o: o.get("type") or "Opaque"),
        ("Data", "integer", 0, lambda o: len(o.get("data") or {})),
        _AGE,
    ],
    # Wide cells are always sent (kube-apiserver prints tables wide); kubectl hides them.
    "Event": [
        ("Last Seen", "string", 0, _event_last_seen),
        ("Type", "string", 0, lambda o: _event(o).get("type") or ""),
        ("Reason", "string", 0, lambda o: _event(o).get("reason") or ""),
        ("Object", "string", 0, _event_object),
        (
            "Subobject",
            "string",
            1,
            lambda o: (_event(o).get("involvedObject") or {}).get("fieldPath") or "",
        ),
        ("Source", "string", 1, _event_source),
        ("Message", "string", 0, lambda o: str(_event(o).get("message") or "").strip()),
        ("First Seen", "string", 1, _event_first_seen),
        ("Count", "string", 1, _event_count),
        ("Name", "string", 1, lambda o: _get(o, "metadata", "name")),
    ],
    "Lease": [
        _NAME,
        ("Holder", "string", 0, lambda o: _get(o, "spec", "holderIdentity") or ""),
        _AGE,
    ],
}


def to_table(
    res: Resource, items: list[Obj], *, include: str, resource_version: str, cont: str = ""
) -> Obj:
    columns = COLUMNS.get(res.kind, [_NAME, _AGE])
    definitions = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": name,
            "priority": prio,
        }
        for name, kind, prio, _ in columns
    ]
    meta: Obj = {"resourceVersion": resource_version}
    if cont:
        meta["continue"] = cont
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": definitions,
        "rows": [_row(o, columns, include) for o in items],
    }


def _row(obj: Obj, columns: list[Column], include: str) -> Obj:
    row: Obj = {"cells": [cell(obj) for _, _, _, cell in columns]}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {},
        }
    return row

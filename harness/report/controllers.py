"""The controller layer on the run page: who held each Lease, nodes' Ready, replicas, evidence.

In a nutshell: ``controller_lanes(ops, samples, verdicts, end_ns)`` reads the ``k8s-event``
ops (C4) and the ``components.jsonl`` samples of a run and returns what the page draws, or
None when the run had no controller layer:

- ``leases``: one lane per leader-election Lease (``kube-system/kube-controller-manager``,
  ``kube-scheduler``) with the holder over time (the member part of ``holderIdentity``), and
  under it one lane per component member with the spans its ``/status`` said it was acting;
- ``nodes``: one lane per Node with its ``Ready`` condition (True / False / Unknown) over time;
- ``deployments``: per Deployment, desired ``spec.replicas`` and Running+Ready pods over time
  (a step series, pods counted through their ReplicaSet's owner);
- ``evidence``: for each invalid controller check, the writes (or records) that prove it,
  flattened into table rows.

Segments carry ``x0``/``x1`` in [0, 1] of the run's length, so the template draws them as
plain SVG with no script.

    lanes = controller_lanes(files.ops, samples, files.verdicts, end_ns)
    lanes["leases"][0]["segments"][0]  # {"label": "controller-manager-1", "x0": 0.0, …}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.checker.controllers import CONTROLLER_CHECKS
from harness.checker.controllers.model import (
    ObjectHistory,
    condition,
    controller_uid,
    pod_running_ready,
    replicas,
    uid,
)
from harness.history import Op
from harness.history.k8s import ComponentSample, K8sResource

NS_PER_S = 1_000_000_000
LEADER_LEASE_NAMESPACE = "kube-system"
MAX_EVIDENCE_ROWS = 30
MAX_SERIES_POINTS = 2_000
EVIDENCE_FIELDS = (
    "violations",
    "late_writes",
    "broken",
    "problems",
    "overshoots",
    "overcommits",
    "late",
    "differences",
)


def _x(t_ns: int, end_ns: int) -> float:
    return round(min(1.0, max(0.0, t_ns / end_ns)), 5) if end_ns > 0 else 0.0


def _segments(changes: Sequence[tuple[int, str]], end_ns: int) -> list[dict[str, Any]]:
    """Run-length segments of (time, label) changes; equal neighbours merge."""
    out: list[dict[str, Any]] = []
    for i, (t, label) in enumerate(changes):
        stop = changes[i + 1][0] if i + 1 < len(changes) else end_ns
        if out and out[-1]["label"] == label:
            out[-1]["end_ns"] = stop
            continue
        out.append({"label": label, "start_ns": t, "end_ns": stop})
    for seg in out:
        seg["x0"] = _x(seg["start_ns"], end_ns)
        seg["x1"] = _x(seg.pop("end_ns"), end_ns)
        seg["start_s"] = round(seg.pop("start_ns") / NS_PER_S, 3)
    return out


def holder_member(identity: Any) -> str:
    """``controller-manager-2_1a2b3c4d`` → ``controller-manager-2``; "" → "(none)"."""
    text = str(identity or "")
    return text.rsplit("_", 1)[0] if text else "(none)"


def lease_lanes(objects: ObjectHistory, end_ns: int) -> list[dict[str, Any]]:
    lanes = []
    for key in objects.keys(K8sResource.LEASES):
        if f"/{LEADER_LEASE_NAMESPACE}/" not in key:
            continue  # node heartbeats live in kube-node-lease
        changes = [
            (
                v.time,
                "(deleted)" if v.deleted else holder_member(_spec(v.obj).get("holderIdentity")),
            )
            for v in objects.chain(key)
        ]
        lanes.append({"name": key.rsplit("/", 1)[1], "segments": _segments(changes, end_ns)})
    return lanes


def acting_lanes(samples: Sequence[ComponentSample], end_ns: int) -> list[dict[str, Any]]:
    """Per leader-elected member: acting / standby / unreachable, from its /status samples."""
    by_member: dict[str, list[tuple[int, str]]] = {}
    for s in sorted(samples, key=lambda s: s.time):
        if s.member.startswith("node-"):
            continue
        state = "unreachable" if not s.reachable else "acting" if s.leader else "standby"
        by_member.setdefault(s.member, []).append((s.time, state))
    return [{"name": m, "segments": _segments(ch, end_ns)} for m, ch in sorted(by_member.items())]


def node_lanes(objects: ObjectHistory, end_ns: int) -> list[dict[str, Any]]:
    lanes = []
    for key in objects.keys(K8sResource.NODES):
        changes = [
            (v.time, "deleted" if v.deleted else f"Ready={condition(v.obj, 'Ready') or '?'}")
            for v in objects.chain(key)
        ]
        lanes.append({"name": key.rsplit("/", 1)[1], "segments": _segments(changes, end_ns)})
    return lanes


def replica_series(objects: ObjectHistory, end_ns: int) -> list[dict[str, Any]]:
    """Desired vs Running+Ready pods per Deployment, one point per change."""
    resources = (K8sResource.DEPLOYMENTS, K8sResource.REPLICASETS, K8sResource.PODS)
    series: dict[str, list[tuple[int, int, int]]] = {}
    for v, state in objects.sweep(resources):
        rs_owner: dict[str, str] = {}  # ReplicaSet uid → Deployment uid
        deps: dict[str, tuple[str, int]] = {}  # Deployment uid → (name, desired)
        for key, obj in state.items():
            if key.startswith("deployments/"):
                deps[uid(obj) or key] = (key.split("/", 1)[1], replicas(obj))
            elif key.startswith("replicasets/"):
                owner = controller_uid(obj)
                if owner is not None:
                    rs_owner[uid(obj) or key] = owner
        running: dict[str, int] = {}
        for key, obj in state.items():
            if key.startswith("pods/") and pod_running_ready(obj):
                dep = rs_owner.get(controller_uid(obj) or "")
                if dep is not None:
                    running[dep] = running.get(dep, 0) + 1
        for dep_uid, (name, desired) in deps.items():
            point = (v.time, desired, running.get(dep_uid, 0))
            points = series.setdefault(name, [])
            if not points or points[-1][1:] != point[1:]:
                points.append(point)
    out = []
    for name, points in sorted(series.items()):
        points = points[-MAX_SERIES_POINTS:]
        peak = max([1, *(max(p[1], p[2]) for p in points)])
        out.append(
            {
                "name": name,
                "peak": peak,
                "points": [
                    {"x": _x(t, end_ns), "t_s": round(t / NS_PER_S, 3), "desired": d, "running": r}
                    for t, d, r in points
                ],
            }
        )
    return out


def evidence(verdicts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """For each invalid controller check: its reason and the rows that prove it."""
    checks = (verdicts or {}).get("checks") or {}
    out = []
    for name in CONTROLLER_CHECKS:
        check = checks.get(name)
        if not isinstance(check, Mapping) or check.get("verdict") != "invalid":
            continue
        details = check.get("details") or {}
        rows: list[dict[str, str]] = []
        for field_name in EVIDENCE_FIELDS:
            items = details.get(field_name) if isinstance(details, Mapping) else None
            if isinstance(items, list):
                rows += [_row(field_name, item) for item in items if isinstance(item, Mapping)]
        out.append(
            {
                "check": name,
                "reason": str(check.get("reason", "")),
                "rows": rows[:MAX_EVIDENCE_ROWS],
            }
        )
    return out


def _row(kind: str, item: Mapping[str, Any]) -> dict[str, str]:
    """A table row: the write (who wrote what, when, at which revision) first, then the rest."""
    write = item.get("write")
    cells: dict[str, str] = {"kind": kind}
    if isinstance(write, Mapping):
        cells["write"] = _brief(write)
        cells["while"] = _brief(item.get("holder"))
        cells["also"] = "; ".join(_brief(w) for w in item.get("holder_writes_nearby") or [])[:400]
    else:
        cells["record"] = _brief(item)
    return cells


def _brief(value: Any) -> str:
    if isinstance(value, Mapping):
        text = ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    else:
        text = _short(value)
    return text[:400]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "…"


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def controller_lanes(
    ops: Sequence[Op],
    samples: Sequence[ComponentSample],
    verdicts: Mapping[str, Any] | None,
    end_ns: int,
) -> dict[str, Any] | None:
    objects = ObjectHistory.of_ops(ops)
    if not objects.chains and not samples:
        return None
    end = max(end_ns, objects.end_time, max((s.time for s in samples), default=0), 1)
    return {
        "end_s": round(end / NS_PER_S, 3),
        "leases": lease_lanes(objects, end),
        "acting": acting_lanes(samples, end),
        "nodes": node_lanes(objects, end),
        "deployments": replica_series(objects, end),
        "evidence": evidence(verdicts),
    }


HOLDER_PALETTE = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e", "#1b7c83")


def controller_section(files: Any, windows: Sequence[Any], end_ns: int) -> dict[str, Any] | None:
    """What ``controllers.html.j2`` draws for a loaded run (``load.RunFiles``), or None."""
    samples = _read_samples(files.root)
    lanes = controller_lanes(files.ops, samples, files.verdicts, end_ns)
    if lanes is None:
        return None
    end = int(lanes["end_s"] * NS_PER_S) or 1
    holders = sorted({s["label"] for lane in lanes["leases"] for s in lane["segments"]})
    colours = {h: HOLDER_PALETTE[i % len(HOLDER_PALETTE)] for i, h in enumerate(holders)}
    colours["(none)"] = "#d0d7de"
    lanes["holder_colours"] = colours
    lanes["windows"] = [
        {"label": w.label, "x0": _x(w.start_ns, end), "x1": _x(w.end_ns, end)} for w in windows
    ]
    return lanes


def _read_samples(root: Any) -> list[ComponentSample]:
    from pathlib import Path

    from harness.history.k8s import components_path, read_components

    path = components_path(Path(root))
    if not path.is_file():
        return []
    try:
        return list(read_components(path))
    except (OSError, ValueError, KeyError, TypeError):
        return []  # a damaged file is shown as no samples, never a crash of the page

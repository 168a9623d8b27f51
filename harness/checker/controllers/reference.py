"""reference_end_state: the workload's objects end as in a fault-free run of the same seed.

In a nutshell (Sieve's differential oracle, OSDI '22, under real faults): the end state of the
objects the ``deployments`` workload owns — its Deployments and bare pods, and the
ReplicaSets and pods its Deployments own — is reduced to a form free of names, uids and
timestamps, and compared with the same reduction of a reference run directory: run.json's
``"reference_run"`` (a path, relative to the run directory or absolute), else ``reference/``
inside the run directory. Per Deployment (by its name without the workload's key prefix):
desired ``spec.replicas`` and template; actual: live pods, Running+Ready pods of the current
template, ReplicaSets still holding replicas, and the templates of the live pods. Per bare
pod: present or not, phase, bound or not. An object whose desired state differs between the
runs (a Deployment's spec; a bare pod's last create/delete op), or whose last op on a bare pod
did not certainly happen (fail or info), is not comparable and is listed, not judged.
**Invalid**: a comparable object whose actual state differs (each difference shown). No
reference run, or nothing comparable: **unknown**.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.checker.controllers.context import context
from harness.checker.controllers.model import (
    ObjectHistory,
    controller_uid,
    node_name,
    pod_live,
    pod_phase,
    replicas,
    template_signature,
)
from harness.checker.controllers.owners import Owners
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.history import Op, OpType, read_ops
from harness.history.k8s import K8sResource

REFERENCE_DIR = "reference"
MAX_LISTED = 20


def reference_path(run: RunData) -> Path | None:
    root = run.source if run.source.is_dir() else run.source.parent
    raw = run.meta.get("reference_run")
    if raw:
        p = Path(str(raw))
        return p if p.is_absolute() else root / p
    candidate = root / REFERENCE_DIR
    return candidate if candidate.is_dir() else None


def applies(run: RunData) -> bool:
    return reference_path(run) is not None


def reference_end_state(run: RunData) -> CheckResult:
    path = reference_path(run)
    if path is None:
        return CheckResult.unknown(
            "no reference run: set run.json 'reference_run' to a fault-free run directory of "
            f"the same seed, or put one in {REFERENCE_DIR}/ inside the run directory"
        )
    history = path / "history.jsonl"
    if not history.is_file():
        return CheckResult.unknown(
            f"reference run {path}: no history.jsonl (run.json 'reference_run' must name a run "
            "directory)"
        )
    ref_meta: dict[str, Any] = {}
    if (path / "run.json").is_file():
        ref_meta = json.loads((path / "run.json").read_text(encoding="utf-8"))
    ref_ops = list(read_ops(history))
    ctx = context(run)
    return compare(
        end_state_of(ctx.objects, _prefix(run.meta), ctx.client_ops),
        end_state_of(ObjectHistory.of_ops(ref_ops), _prefix(ref_meta), ref_ops),
        reference=str(path),
    )


def _prefix(meta: dict[str, Any]) -> str:
    workload = meta.get("workload") or {}
    return str(workload.get("key_prefix") or "") if isinstance(workload, dict) else ""


def end_state_of(h: ObjectHistory, prefix: str, ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
    """Logical name → reduced end state of the workload's Deployments and bare pods.

    A bare pod's desired state is the workload's last op on it and whether it certainly
    happened (ok): a create or delete that failed or timed out may differ between the runs."""
    state = h.final_state()
    last_op: dict[str, Op] = {}
    for op in ops:
        if op.f in ("create-pod", "delete-pod") and op.type is not OpType.INVOKE and op.key:
            value = op.value if isinstance(op.value, dict) else {}
            if "owner" not in value:  # a Deployment's pod: its owner replaces it
                last_op[op.key.split("/", 1)[-1]] = op
    owners = Owners.of(state)
    out: dict[str, dict[str, Any]] = {}
    for key, obj in sorted(state.items()):
        kind, _, name = key.split("/", 2)
        if not name.startswith(prefix):
            continue
        logical = name[len(prefix) :]
        if kind == K8sResource.DEPLOYMENTS and logical.startswith("dep-"):
            counts = owners.counts(key)
            rs_keys = owners.rs_of.get(str(obj.get("metadata", {}).get("uid")), [])
            out[f"deployment/{logical}"] = {
                "desired": {"replicas": replicas(obj), "template": template_signature(obj)},
                "actual": {
                    "live_pods": counts.live,
                    "ready_current_pods": counts.ready,
                    "replicasets_with_replicas": sum(
                        1 for rs in rs_keys if replicas(state[rs]) > 0
                    ),
                    "live_pod_templates": sorted(
                        {_pod_template(state, owners, p) for p in counts.pods}
                    ),
                },
            }
        elif (
            kind == K8sResource.PODS and controller_uid(obj) is None and logical.startswith("pod-")
        ):
            out[f"pod/{logical}"] = {
                "desired": _pod_desired(last_op.get(name)),
                "actual": {
                    "present": pod_live(obj),
                    "phase": pod_phase(obj),
                    "bound": node_name(obj) is not None,
                },
            }
    for pod_name, op in last_op.items():
        if pod_name.startswith(prefix) and f"pod/{pod_name[len(prefix) :]}" not in out:
            out[f"pod/{pod_name[len(prefix) :]}"] = {
                "desired": _pod_desired(op),
                "actual": {"present": False},
            }
    return out


def _pod_desired(op: Op | None) -> dict[str, Any]:
    if op is None:
        return {"last_op": None, "certain": True}  # not the workload's doing at all
    return {"last_op": op.f, "certain": op.type is OpType.OK}


def _pod_template(state: dict[str, Any], owners: Owners, pod_key: str) -> str:
    rs = owners.by_uid.get(controller_uid(state[pod_key]) or "")
    return template_signature(state[rs]) if rs in state else "?"


def compare(
    got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]], *, reference: str
) -> CheckResult:
    differ: list[dict[str, Any]] = []
    incomparable: list[str] = []
    compared = 0
    for name in sorted(set(got) | set(want)):
        a, b = got.get(name), want.get(name)
        if (
            a is None
            or b is None
            or a["desired"] != b["desired"]
            or not a["desired"].get("certain", True)
        ):
            incomparable.append(name)
            continue
        compared += 1
        if a["actual"] != b["actual"]:
            differ.append({"object": name, "run": a["actual"], "reference": b["actual"]})
    details: dict[str, Any] = {
        "reference": reference,
        "compared": compared,
        "not_comparable": incomparable[:MAX_LISTED],
    }
    if differ:
        d = differ[0]
        return CheckResult.invalid(
            f"{len(differ)} of {compared} object(s) end differently from the reference run; "
            f"first: {d['object']}: {d['run']} vs {d['reference']}",
            differences=differ[:MAX_LISTED],
            **details,
        )
    if not compared:
        return CheckResult.unknown(
            f"nothing comparable with the reference run ({len(incomparable)} object(s) whose "
            "desired state differs or exists in one run only)",
            **details,
        )
    return CheckResult.valid(
        f"{compared} object(s) end as in the reference run ({len(incomparable)} not comparable)",
        **details,
    )

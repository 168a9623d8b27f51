"""Cross-field checks: do the faults fit this cluster and this workload?

In a nutshell: after every field is valid on its own, check what needs two of them: fault
targets that exist (``store-5`` with 3 members, ``api-3`` with 2, link names and globs), partitions
that separate someone, faults that start before the workload ends, ``through: store`` only for
register workloads, serializable reads only on etcd, ``mix`` op names for the workload kind.
A check is skipped when a field it depends on already has a problem (one mistake, one line).

    check_semantics(values, faults, problems)   # adds problems; returns nothing
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from harness.model import FaultKind, FaultSpec
from harness.scenario.faultkinds import (
    COMPONENT_TARGETS,
    FAULT_KINDS,
    PARTITION_MIN_MEMBERS,
    PARTITION_MODES,
    PROCESS_TARGETS,
    TargetKind,
)
from harness.scenario.fields import MIX_OPS, THROUGH_STORE
from harness.scenario.problems import Path, Problems, did_you_mean, one_of


def members(values: dict[str, Any]) -> tuple[list[str], list[str]]:
    cluster = values["cluster"]
    stores = [f"store-{j}" for j in range(1, cluster["store"]["members"] + 1)]
    apis = [f"api-{i}" for i in range(1, cluster["apiservers"] + 1)]
    return stores, apis


COMPONENT_COUNTS = {
    "controller-manager": "controller_managers",
    "scheduler": "schedulers",
    "node": "nodes",
}  # member prefix → cluster field (contract C5)


def components(values: dict[str, Any]) -> list[str]:
    """The controller-layer members of the cluster (``controller-manager-1``, …, ``node-3``)."""
    cluster = values["cluster"]
    return [
        f"{prefix}-{i}"
        for prefix, field_name in COMPONENT_COUNTS.items()
        for i in range(1, int(cluster.get(field_name) or 0) + 1)
    ]


def component_targets(values: dict[str, Any]) -> list[str]:
    """The leader / random targets this cluster can resolve."""
    cluster = values["cluster"]
    out = []
    if cluster.get("controller_managers"):
        out.append("controller-manager-leader")
    if cluster.get("schedulers"):
        out.append("scheduler-leader")
    if cluster.get("nodes"):
        out.append("random-node")
    return out


def link_names(values: dict[str, Any]) -> list[str]:
    """Links as ``harness.model.cluster`` names them."""
    stores, apis = members(values)
    client = [f"client-{api}" for api in apis]
    own = [f"{m}-{api}" for m in components(values) for api in apis]
    return client + [f"{api}-{store}" for api in apis for store in stores] + own


def check_semantics(
    values: dict[str, Any], faults: Sequence[tuple[int, FaultSpec]], problems: Problems
) -> None:
    _check_workload(values, problems)
    cluster_ok = not problems.bad_under(("cluster",))
    duration_ok = not problems.bad_under(("workload", "duration"))
    for index, fault in faults:
        path: Path = ("faults", index)
        if cluster_ok:
            _check_target(values, fault, path, problems)
        if duration_ok:
            raw = values["faults"][index]  # the entry as written, to show `at` as the author did
            _check_timing(values["workload"]["duration"], fault, raw, path, problems)


def _check_workload(values: dict[str, Any], problems: Problems) -> None:
    workload = values["workload"]
    kind_ok = not problems.bad_under(("workload", "kind"))
    if kind_ok and workload["through"] == "store" and workload["kind"] not in THROUGH_STORE:
        problems.add(
            ("workload", "through"),
            "store",
            expected=f"through: store only with kind: {' or '.join(THROUGH_STORE)} (kind "
            f"{workload['kind']} needs the apiserver's API)",
            fix=f"write through: apiserver, or kind: {THROUGH_STORE[0]}",
        )
    engine_ok = not problems.bad_under(("cluster",))
    if (
        engine_ok
        and workload["read_consistency"] == "serializable"
        and values["cluster"]["store"]["engine"] != "etcd"
    ):
        problems.add(
            ("workload", "read_consistency"),
            "serializable",
            expected="serializable reads only with cluster.store.engine: etcd",
            fix="write read_consistency: linearizable, or engine: etcd",
        )
    if (
        kind_ok
        and workload["value_size"] > 0
        and (workload["kind"] != "register" or workload["through"] != "store")
    ):
        problems.add(
            ("workload", "value_size"),
            workload["value_size"],
            expected="value_size > 0 only with kind: register and through: store",
            fix="write value_size: 0, or kind: register with through: store",
        )
    if kind_ok and workload["kind"] == "deployments":
        cluster = values["cluster"]
        lacking = [f for f in COMPONENT_COUNTS.values() if not cluster.get(f)]
        if lacking and not problems.bad_under(("cluster",)):
            problems.add(
                ("workload", "kind"),
                workload["kind"],
                expected="kind: deployments only on a cluster with a controller layer "
                f"(cluster.{', cluster.'.join(lacking)} is 0)",
                fix="write e.g. cluster: {controller_managers: 2, schedulers: 2, nodes: 3}",
            )
    if kind_ok and not problems.bad_under(("workload", "mix")):
        ops = MIX_OPS[workload["kind"]]
        for op in workload["mix"]:
            if op not in ops:
                problems.add(
                    ("workload", "mix", op),
                    op,
                    at_key=True,
                    expected=f"an op of kind {workload['kind']}",
                    fix=f"{did_you_mean(op, ops)}valid ops: {one_of(ops)}"
                    if ops
                    else f"remove mix: kind {workload['kind']} has a fixed shape",
                )


def _check_target(values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems) -> None:
    spec = FAULT_KINDS[fault.kind]
    stores, apis = members(values)
    where = (*path, fault.kind.value)
    if fault.kind is FaultKind.CLOCK_SKEW:
        _check_skew(values, fault.target or "", where, problems)
    elif spec.target is TargetKind.PROCESS:
        own = components(values)
        _check_process(
            fault.target or "",
            where,
            stores,
            [*apis, *own],
            problems,
            targets=(*STORE_TARGETS, *component_targets(values)),
        )
    elif spec.target in (TargetKind.PARTITION, TargetKind.LOSS):
        own = components(values)
        if (
            fault.kind is FaultKind.PARTITION
            and (fault.target or "").removeprefix("isolate:") in own
        ):
            pass  # a component is isolated by taking its links to the apiservers down
        else:
            _check_grudge(fault, where, stores, apis, problems)
    if fault.kind is FaultKind.LEADER_LOSS:
        _check_leader_component(values, fault, where, problems)
    if fault.kind is FaultKind.LINK_DOWN:
        _check_link(values, fault.target, where, problems)
    elif fault.kind is FaultKind.TOXIC:
        _check_link(values, fault.target, (*path, "link"), problems)


def _counts(stores: list[str], apis: list[str]) -> str:
    served = [a for a in apis if a.startswith("api-")]  # components may ride along in ``apis``
    text = f"cluster.store.members is {len(stores)}, cluster.apiservers is {len(served)}"
    return text + (f", components {len(apis) - len(served)}" if len(apis) > len(served) else "")


STORE_TARGETS = tuple(t for t in PROCESS_TARGETS if t not in COMPONENT_TARGETS)


def _check_skew(values: dict[str, Any], target: str, where: Path, problems: Problems) -> None:
    valid = [*component_targets(values), *components(values)]
    if target in valid:
        return
    problems.add(
        where,
        target,
        expected="a controller-layer member of this cluster or a leader/random target "
        "(clock skew runs libfaketime in the component containers)",
        fix=f"{did_you_mean(target, valid)}valid targets: {one_of(valid)}"
        if valid
        else "add cluster.controller_managers / schedulers / nodes",
    )


def _check_leader_component(
    values: dict[str, Any], fault: FaultSpec, where: Path, problems: Problems
) -> None:
    component = str(fault.params.get("component") or "store")
    field_name = COMPONENT_COUNTS.get(component)
    if field_name is None or values["cluster"].get(field_name):
        return
    problems.add(
        (*where[:-1], "component"),
        component,
        expected=f"component: {component} only with cluster.{field_name} ≥ 1",
        fix=f"set cluster.{field_name}: 2, or component: store",
    )


def _check_process(
    target: str,
    where: Path,
    stores: list[str],
    apis: list[str],
    problems: Problems,
    *,
    targets: Sequence[str] = PROCESS_TARGETS,
) -> None:
    if target in targets:
        return
    valid = [*stores, *apis, *targets]
    names = [name.strip() for name in target.split(",")]
    unknown = [name for name in names if name not in (*stores, *apis)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if not unknown and repeated:
        problems.add(
            where,
            target,
            expected="each member once in a comma list",
            fix=f"remove the repeated {', '.join(repeated)}",
        )
    elif unknown:
        problems.add(
            where,
            target,
            expected=f"a member of this cluster ({_counts(stores, apis)}), a comma list of "
            f"members, or {one_of(targets)}",
            fix=f"{did_you_mean(unknown[0] if unknown else target, valid)}valid targets: "
            f"{one_of(valid)}",
        )


def _scope(fault: FaultSpec, stores: list[str], apis: list[str]) -> tuple[str, list[str]]:
    """The members a partition or loss is drawn over (``members:``), as the nemesis does."""
    scope = str(fault.params.get("members", "store"))
    chosen = {"store": stores, "apiservers": apis}.get(scope, [*stores, *apis])
    return scope, chosen


def _check_grudge(
    fault: FaultSpec, where: Path, stores: list[str], apis: list[str], problems: Problems
) -> None:
    target = fault.target or ""
    scope, pool = _scope(fault, stores, apis)
    in_scope = f"members: {scope} ({_counts(stores, apis)})"
    isolated = [f"isolate:{m}" for m in pool]
    extra = ["all"] if fault.kind is FaultKind.LOSS else []
    modes = [*extra, *PARTITION_MODES]
    if target.startswith("isolate:"):
        if target not in isolated:
            problems.add(
                where,
                target,
                expected=f"isolate:<member> naming a member in scope, {in_scope}",
                fix=f"{did_you_mean(target, isolated)}valid choices: {one_of(isolated)}; "
                "or widen members: to all",
            )
        return
    if target not in modes:
        problems.add(
            where,
            target,
            expected=f"{' or '.join([*extra, 'a partition mode'])} or isolate:<member>",
            fix=f"{did_you_mean(target, modes + isolated)}valid choices: "
            f"{one_of(modes + isolated)}",
        )
        return
    needed = PARTITION_MIN_MEMBERS.get(target, 2)
    if target == "isolate-leader" and scope == "apiservers":
        problems.add(
            where,
            target,
            expected="isolate-leader over a scope that holds the store leader",
            fix="write members: store or members: all",
        )
    elif len(pool) < needed:
        problems.add(
            where,
            target,
            expected=f"a grudge that separates someone: {target} needs ≥ {needed} members in "
            f"scope, {in_scope}",
            fix="add members (cluster.store.members / cluster.apiservers), widen members: to "
            "all, or use isolate:<member>",
        )
    elif target == "ring" and fault.params.get("one_way") is not None:
        problems.add(
            (*where[:-1], "one_way"),
            fault.params["one_way"],
            expected="no one_way on a ring (it has no sides)",
            fix="remove one_way, or pick halves / majority-minority / bridge",
        )


def _check_link(
    values: dict[str, Any], target: str | None, where: Path, problems: Problems
) -> None:
    links = link_names(values)
    pattern = target or ""
    if any(fnmatch.fnmatchcase(link, pattern) for link in links):
        return
    stores, apis = members(values)
    problems.add(
        where,
        target,
        expected=f"a link name or glob matching at least one link of this cluster "
        f"(client-api-1…{len(apis)}, api-<1…{len(apis)}>-store-<1…{len(stores)}>)",
        fix=f"{did_you_mean(pattern, links)}e.g. client-api-*, api-1-store-*, {links[-1]}",
    )


def _check_timing(
    duration_s: float, fault: FaultSpec, raw: dict[str, Any], path: Path, problems: Problems
) -> None:
    if fault.at_s >= duration_s:
        problems.add(
            (*path, "at"),
            raw["at"],
            expected=f"at < workload.duration ({duration_s:g}s): faults strike while the "
            "workload runs",
            fix=f"move it earlier, or raise workload.duration above {fault.at_s:g}s",
        )
        return
    if fault.kind is FaultKind.LEADER_LOSS:
        repeat = fault.params["repeat"]
        interval_s = fault.params["interval_s"]
        last_s = fault.at_s + (repeat - 1) * interval_s
        if last_s >= duration_s:
            problems.add(
                (*path, "repeat"),
                repeat,
                expected=f"every strike before workload.duration ({duration_s:g}s); the last "
                f"of {repeat} every {interval_s:g}s from {fault.at_s:g}s is at {last_s:g}s",
                fix="lower repeat or interval, or raise workload.duration",
            )

"""The cluster-dependent checks of the built-in fault kinds, one function per kind.

In a nutshell: each built-in ``FaultKindSpec`` (``faultkinds.py``) names its ``check`` here:
``check(values, fault, path, problems)`` adds a problem when the fault's target does not exist
in this cluster (``store-5`` with 3 members, a link glob that matches nothing, a partition that
separates nobody); ``check_timing`` functions judge a kind's own timing (leader-loss strikes
after the workload ends). ``semantics.py`` calls them only when the fields they read are valid.
A new kind writes its checks beside its descriptor; nothing here needs to change.

    check_partition(values, fault, ("faults", 0), problems)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from harness.model import FaultSpec
from harness.scenario.problems import Path, Problems, did_you_mean, one_of

MEMBER_PATTERN = r"(store-[1-7]|api-[1-5]|controller-manager-[1-3]|scheduler-[1-3]|node-([1-9]|10))"
# The controller layer's (issue 16): the member holding each leader-election Lease right now,
# and a node drawn from the fault's seeded RNG.
COMPONENT_TARGETS = ("controller-manager-leader", "scheduler-leader", "random-node")
PROCESS_TARGETS = ("store-leader", "random-store", "random-apiserver", *COMPONENT_TARGETS)
PARTITION_MODES = ("isolate-leader", "halves", "majority-minority", "bridge", "ring")
# The fewest store members for which each partition separates anyone (harness.nemesis.grudge).
PARTITION_MIN_MEMBERS = {
    "isolate-leader": 2,
    "halves": 2,
    "majority-minority": 3,
    "bridge": 3,
    "ring": 4,
}


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


def _where(fault: FaultSpec, path: Path) -> Path:
    return (*path, str(fault.kind))


def check_process(values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems) -> None:
    """kill, pause: a member of this cluster, a comma list of them, or a leader/random target."""
    stores, apis = members(values)
    _check_process(
        fault.target or "",
        _where(fault, path),
        stores,
        [*apis, *components(values)],
        problems,
        targets=(*STORE_TARGETS, *component_targets(values)),
    )


def check_partition(
    values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems
) -> None:
    """A grudge that separates someone; a component is isolated by taking its links down."""
    if (fault.target or "").removeprefix("isolate:") in components(values):
        return
    stores, apis = members(values)
    _check_grudge(fault, _where(fault, path), stores, apis, problems)


def check_loss(values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems) -> None:
    stores, apis = members(values)
    _check_grudge(fault, _where(fault, path), stores, apis, problems, loss=True)


def check_leader_loss(
    values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems
) -> None:
    _check_leader_component(values, fault, _where(fault, path), problems)


def check_link_down(
    values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems
) -> None:
    _check_link(values, fault.target, _where(fault, path), problems)


def check_toxic(values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems) -> None:
    _check_link(values, fault.target, (*path, "link"), problems)


def check_clock_skew(
    values: dict[str, Any], fault: FaultSpec, path: Path, problems: Problems
) -> None:
    _check_skew(values, fault.target or "", _where(fault, path), problems)


def check_strikes_timing(
    duration_s: float, fault: FaultSpec, path: Path, problems: Problems
) -> None:
    """leader-loss: every one of ``repeat`` strikes lands before the workload ends."""
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
    fault: FaultSpec,
    where: Path,
    stores: list[str],
    apis: list[str],
    problems: Problems,
    *,
    loss: bool = False,
) -> None:
    target = fault.target or ""
    scope, pool = _scope(fault, stores, apis)
    in_scope = f"members: {scope} ({_counts(stores, apis)})"
    isolated = [f"isolate:{m}" for m in pool]
    extra = ["all"] if loss else []
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

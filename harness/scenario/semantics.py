"""Cross-field checks: do the faults fit this cluster and this workload?

In a nutshell: after every field is valid on its own, check what needs two of them: fault
targets that exist (``store-5`` with 3 members, ``api-3`` with 2, link names and globs), partitions
that separate someone, faults that start before the workload ends, ``through: store`` only for
register workloads, serializable reads only on etcd, ``mix`` op names for the workload kind.
A check is skipped when a field it depends on already has a problem (one mistake, one line).

    check_semantics(values, faults, problems)   # adds problems; returns nothing
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.model import FaultSpec
from harness.model.kinds import workload_kinds, workload_traits
from harness.scenario.faultkinds import FAULT_KINDS
from harness.scenario.faultrules import COMPONENT_COUNTS
from harness.scenario.problems import Path, Problems, did_you_mean, one_of


def check_semantics(
    values: dict[str, Any], faults: Sequence[tuple[int, FaultSpec]], problems: Problems
) -> None:
    _check_workload(values, problems)
    cluster_ok = not problems.bad_under(("cluster",))
    duration_ok = not problems.bad_under(("workload", "duration"))
    for index, fault in faults:
        path: Path = ("faults", index)
        check = FAULT_KINDS[fault.kind].check  # the kind's own rules (faultrules.py)
        if cluster_ok and check is not None:
            check(values, fault, path, problems)
        if duration_ok:
            raw = values["faults"][index]  # the entry as written, to show `at` as the author did
            _check_timing(values["workload"]["duration"], fault, raw, path, problems)


def _check_workload(values: dict[str, Any], problems: Problems) -> None:
    workload = values["workload"]
    kind_ok = not problems.bad_under(("workload", "kind"))
    traits = workload_traits(workload["kind"]) if kind_ok else None
    through_store = [k for k in workload_kinds() if workload_traits(k).through_store]
    if traits is not None and workload["through"] == "store" and not traits.through_store:
        problems.add(
            ("workload", "through"),
            "store",
            expected=f"through: store only with kind: {' or '.join(through_store)} (kind "
            f"{workload['kind']} needs the apiserver's API)",
            fix=f"write through: apiserver, or kind: {through_store[0]}",
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
    if traits is not None and traits.needs_components:
        cluster = values["cluster"]
        lacking = [f for f in COMPONENT_COUNTS.values() if not cluster.get(f)]
        if lacking and not problems.bad_under(("cluster",)):
            problems.add(
                ("workload", "kind"),
                workload["kind"],
                expected=f"kind: {workload['kind']} only on a cluster with a controller layer "
                f"(cluster.{', cluster.'.join(lacking)} is 0)",
                fix="write e.g. cluster: {controller_managers: 2, schedulers: 2, nodes: 3}",
            )
    if traits is not None and not problems.bad_under(("workload", "mix")):
        ops = traits.mix_ops
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
    check_timing = FAULT_KINDS[fault.kind].check_timing
    if check_timing is not None:
        check_timing(duration_s, fault, path, problems)

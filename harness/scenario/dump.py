"""Scenarios back to file form: for run directories and for generated schedules.

In a nutshell: ``scenario_to_dict`` gives the file-shaped data with every field explicit
(defaults resolved, durations as ``"500ms"``/``"5s"``); ``scenario_to_yaml`` writes it so that
``load_scenario`` reads back an equal ``Scenario`` (only ``source`` differs);
``dump_resolved`` adds a header naming where it came from, for ``reports/<run>/scenario.yaml``.

    text = scenario_to_yaml(scenario)
    scenario_from_dict(yaml.safe_load(text)) == dataclasses.replace(scenario, source=...)
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.model import FaultKind, FaultSpec
from harness.scenario.durations import format_duration, format_in_unit
from harness.scenario.faultkinds import FAULT_KINDS, TOXIC_ATTRIBUTES
from harness.scenario.fields import FieldType
from harness.scenario.model import Scenario


def _duration(seconds: float | None) -> str | float | None:
    return None if seconds is None else format_duration(seconds)


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    cluster = scenario.cluster
    workload = scenario.workload
    expect = scenario.expect
    return {
        "name": scenario.name,
        "description": scenario.description,
        "cluster": {
            "store": {"engine": str(cluster.engine), "members": cluster.store_members},
            "apiservers": cluster.apiservers,
            "bugs": list(cluster.bugs),
            **(
                {
                    "controller_managers": cluster.controller_managers,
                    "schedulers": cluster.schedulers,
                    "nodes": cluster.nodes,
                }
                if cluster.has_components
                else {}
            ),
        },
        "workload": {
            "kind": str(workload.kind),
            "clients": workload.clients,
            "keys": workload.keys,
            "rate": workload.rate,
            "duration": _duration(workload.duration_s),
            "op_timeout": _duration(workload.op_timeout_s),
            "through": workload.through,
            "mix": dict(workload.mix),
            "read_consistency": workload.read_consistency,
            "value_size": workload.value_size,
            "workers": workload.workers,
        },
        "faults": [fault_to_entry(fault) for fault in scenario.faults],
        "expect": {
            "linearizable": expect.linearizable,
            "no_lost_writes": expect.no_lost_writes,
            "recovered_within": _duration(expect.recovered_within_s),
            "converged_within": _duration(expect.converged_within_s),
            "min_availability": expect.min_availability,
            "watch_ordered": expect.watch_ordered,
        },
        "adequacy": {
            "min_ok_before": scenario.adequacy.min_ok_before,
            "min_ops_during": scenario.adequacy.min_ops_during,
            "min_ok_after": scenario.adequacy.min_ok_after,
            "min_rate_share": scenario.adequacy.min_rate_share,
            "require_effect": scenario.adequacy.require_effect,
        },
        "seed": scenario.seed,
        "markers": list(scenario.markers),
    }


def fault_to_entry(fault: FaultSpec) -> dict[str, Any]:
    """One fault in file form: ``at``, the kind key, ``for``, then its params."""
    spec = FAULT_KINDS[fault.kind]
    entry: dict[str, Any] = {"at": format_duration(fault.at_s)}
    if fault.kind is FaultKind.TOXIC:
        toxic_type = fault.params["type"]
        entry["toxic"] = toxic_type
        entry["link"] = fault.target
        if fault.duration_s is not None:
            entry["for"] = format_duration(fault.duration_s)
        entry["stream"] = fault.params["stream"]
        entry["toxicity"] = fault.params["toxicity"]
        attributes = fault.params["attributes"]
        for attr in TOXIC_ATTRIBUTES[toxic_type]:
            value = attributes[attr.name]
            entry[attr.name] = (
                format_in_unit(value, attr.output_unit) if attr.output_unit else value
            )
        return entry
    entry[str(fault.kind)] = (
        fault.target if spec.value_is == "target" else fault.params[spec.value_is]
    )
    if fault.duration_s is not None:
        entry["for"] = format_duration(fault.duration_s)
    for param in spec.params:
        value = fault.params[spec.param_key(param.name)]
        if param.type is FieldType.DURATION and value is not None:
            value = format_duration(value)
        entry[param.name] = value
    return entry


def scenario_to_yaml(scenario: Scenario) -> str:
    """YAML that ``load_scenario`` reads back as an equal scenario."""
    data = scenario_to_dict(scenario)
    for allow_unicode in (True, False):
        text: str = yaml.safe_dump(
            data, sort_keys=False, default_flow_style=None, allow_unicode=allow_unicode, width=100
        )
        # PyYAML writes some characters raw that its reader then folds (NEL, LS, PS become line
        # breaks); escaped ASCII output is always exact, so fall back to it when needed.
        if yaml.safe_load(text) == data:
            break
    return text


def dump_resolved(scenario: Scenario) -> str:
    """The resolved scenario for a run directory: every default explicit, rerunnable as is."""
    origin = str(scenario.source) if scenario.source is not None else "(built in Python)"
    header = (
        "# Resolved by chaosplane: every default written out; run it again with\n"
        f"#   chaosplane run <this file>\n# source: {origin}\n"
    )
    return header + scenario_to_yaml(scenario)

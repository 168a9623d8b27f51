"""Scenario files: the format, the loader with ``file:line`` errors, and the way back to YAML.

In a nutshell: ``load_scenario(path)`` returns a typed ``Scenario`` or raises one
``ScenarioError`` (a ``ScenarioFileError`` with ``.problems``) listing every problem of the file,
one per line, as ``file:line: dotted.field: got <value> (<type>); expected <rule>; <fix>``.
Nothing else escapes it. The field tables in ``fields.py`` / ``faultkinds.py`` are the single
source of truth for the loader, ``scenarios/schema.json`` and the README's field reference;
``register_fault_kind(FaultKindSpec(...))`` adds a fault kind to all of them.

    scenario = load_scenario("scenarios/isolate-leader.yaml")
    (run_dir / "scenario.yaml").write_text(dump_resolved(scenario))
"""

from harness.scenario.dump import dump_resolved, scenario_to_dict, scenario_to_yaml
from harness.scenario.faultkinds import FaultKindSpec, register_fault_kind, unregister_fault_kind
from harness.scenario.loader import load_scenario, load_scenarios, scenario_from_dict
from harness.scenario.model import ClusterConfig, Scenario
from harness.scenario.problems import Problem, ScenarioFileError

__all__ = [
    "ClusterConfig",
    "FaultKindSpec",
    "Problem",
    "Scenario",
    "ScenarioFileError",
    "dump_resolved",
    "load_scenario",
    "load_scenarios",
    "register_fault_kind",
    "scenario_from_dict",
    "scenario_to_dict",
    "scenario_to_yaml",
    "unregister_fault_kind",
]

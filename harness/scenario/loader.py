"""Load scenario files into typed ``Scenario``s, or fail with every problem of the file.

In a nutshell: ``load_scenario(path)`` reads, parses (with line marks), checks every field, then
the cross-field rules, and either returns a ``Scenario`` or raises one ``ScenarioFileError``
(a ``harness.errors.ScenarioError``) listing each problem as
``file:line: dotted.field: got <value> (<type>); expected <rule>; <fix>``. No other exception
escapes it, whatever the file holds. ``scenario_from_dict`` does the same for data built in
Python (Hypothesis schedules); its problems carry no line.

    scenario = load_scenario(Path("scenarios/isolate-leader.yaml"))
    scenarios = load_scenarios(["scenarios/"])     # every *.yaml / *.yml below, sorted
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.model import (
    AdequacySpec,
    Engine,
    Expectations,
    FaultSpec,
    WorkloadSpec,
)
from harness.model.kinds import workload_traits
from harness.scenario.check import check_section
from harness.scenario.faultcheck import check_faults
from harness.scenario.fields import ROOT
from harness.scenario.model import ClusterConfig, Scenario
from harness.scenario.problems import Problem, Problems, ScenarioFileError
from harness.scenario.semantics import check_semantics
from harness.scenario.yamltree import parse_yaml

SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 1_000_000


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """The scenario in ``path``; raises ``ScenarioFileError`` listing every problem."""
    source = Path(path)
    problems = Problems(source=str(source))
    text = _read(source, problems)
    if text is None:
        problems.raise_if_any()
    assert text is not None
    data = parse_yaml(text, problems)
    if data is None:
        problems.raise_if_any()  # a syntax error: nothing to check beyond it
        problems.add(
            (),
            None,
            got_type="empty document",
            expected="a mapping with at least a name",
            fix=f"start the file with name: {_stem_hint(source)}",
            line=1,
        )
        problems.raise_if_any()
    return _resolve(data, problems, source)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """A scenario from plain data shaped like a file (durations as ``"5s"`` or seconds)."""
    problems = Problems(source=source)
    return _resolve(_plain(data), problems, Path(source))


def load_scenarios(paths_or_dirs: Iterable[str | os.PathLike[str]]) -> list[Scenario]:
    """Every scenario in the given files and directories (recursively, ``*.yaml``/``*.yml``,
    sorted). Problems of all files are raised together; two scenarios may not share a name."""
    found: list[Problem] = []
    scenarios: list[Scenario] = []
    for path in scenario_files(paths_or_dirs):
        try:
            scenarios.append(load_scenario(path))
        except ScenarioFileError as exc:
            found.extend(exc.problems)
    by_name: dict[str, Scenario] = {}
    for scenario in scenarios:
        first = by_name.setdefault(scenario.name, scenario)
        if first is not scenario:
            problems = Problems(source=str(scenario.source))
            problems.add(
                ("name",),
                scenario.name,
                expected="a name no other scenario file uses (it names run directories)",
                fix=f"rename it; {first.source} uses it already",
                line=_name_line(scenario.source),
            )
            found.extend(problems.found)
    if found:
        raise ScenarioFileError(found)
    return scenarios


def _resolve(data: Any, problems: Problems, source: Path) -> Scenario:
    values = check_section(ROOT, data, (), problems)
    faults = check_faults(values["faults"], problems)
    check_semantics(values, faults, problems)
    problems.raise_if_any()
    return _build(values, [fault for _, fault in faults], source)


def _build(values: dict[str, Any], faults: list[FaultSpec], source: Path) -> Scenario:
    cluster = values["cluster"]
    workload = values["workload"]
    expect = values["expect"]
    return Scenario(
        name=values["name"],
        description=values["description"],
        cluster=ClusterConfig(
            engine=Engine(cluster["store"]["engine"]),
            store_members=cluster["store"]["members"],
            apiservers=cluster["apiservers"],
            bugs=tuple(cluster["bugs"]),
            controller_managers=cluster["controller_managers"],
            schedulers=cluster["schedulers"],
            nodes=cluster["nodes"],
        ),
        workload=WorkloadSpec(
            kind=workload_traits(workload["kind"]).kind,
            clients=workload["clients"],
            keys=workload["keys"],
            rate=workload["rate"],
            duration_s=workload["duration"],
            op_timeout_s=workload["op_timeout"],
            through=workload["through"],
            mix=dict(workload["mix"]),
            read_consistency=workload["read_consistency"],
            value_size=workload["value_size"],
            workers=workload["workers"],
        ),
        faults=tuple(faults),
        expect=Expectations(
            linearizable=expect["linearizable"],
            no_lost_writes=expect["no_lost_writes"],
            converged_within_s=expect["converged_within"],
            recovered_within_s=expect["recovered_within"],
            min_availability=expect["min_availability"],
            watch_ordered=expect["watch_ordered"],
        ),
        adequacy=AdequacySpec(**values["adequacy"]),
        seed=values["seed"],
        source=source,
        markers=tuple(values["markers"]),
    )


def _read(source: Path, problems: Problems) -> str | None:
    def fail(got: str, got_type: str, fix: str) -> None:
        problems.add(
            (), got, got_type=got_type, expected="a readable UTF-8 YAML file", fix=fix, line=None
        )

    try:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            fail(f"{size} bytes", "file size", f"keep scenario files under {MAX_FILE_BYTES} bytes")
            return None
        raw = source.read_bytes()
    except FileNotFoundError:
        fail(str(source), "missing file", "check the path")
        return None
    except IsADirectoryError:
        fail(str(source), "directory", "name a .yaml file, or use load_scenarios for folders")
        return None
    except OSError as exc:
        fail(exc.strerror or type(exc).__name__, "unreadable file", "check its permissions")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"byte {exc.start}", "not UTF-8", "save the file as UTF-8")
        return None


def scenario_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders as every ``*.yaml``/``*.yml`` below them, sorted."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return out


def _plain(data: Any) -> Any:
    """Tuples → lists, so Python-built data checks like parsed YAML."""
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


def _stem_hint(source: Path) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in source.stem) or "my-scenario"


def _name_line(source: Path | None) -> int | None:
    if source is None:
        return None
    try:
        for number, line in enumerate(source.read_text("utf-8-sig").splitlines(), start=1):
            if line.startswith("name:"):
                return number
    except OSError:
        return None
    return None

"""Valid scenario files load into the typed model; dumps round-trip through the loader."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.model import Engine, Expectations, FaultKind, FaultSpec, WorkloadKind, WorkloadSpec
from harness.scenario import (
    ClusterConfig,
    Scenario,
    ScenarioFileError,
    dump_resolved,
    load_scenario,
    load_scenarios,
    scenario_from_dict,
    scenario_to_yaml,
)
from harness.scenario.durations import DurationError, format_duration, parse_duration
from harness.scenario.faultkinds import (
    FAULT_KINDS,
    PARTITION_MIN_MEMBERS,
    TOXIC_ATTRIBUTES,
    DurationUse,
)
from harness.scenario.fields import BUG_ZOO, ENGINES, MIX_OPS

EXAMPLE = """\
name: isolate-leader
description: The store leader loses its peers; a new leader takes over and nothing acknowledged is lost.
cluster: {store: {engine: pysyncobj, members: 3}, apiservers: 2, bugs: []}
workload: {kind: register, clients: 6, keys: 8, rate: 200, duration: 30s, op_timeout: 1s, through: apiserver}
faults:
  - {at: 5s, partition: isolate-leader, for: 10s}
  - {at: 20s, kill: store-leader, restart_after: 3s}
  - {at: 8s, toxic: latency, link: "client-api-*", latency: 200ms, jitter: 50ms, for: 5s}
  - {at: 8s, leader-loss: kill, repeat: 3, interval: 4s}
expect: {linearizable: true, no_lost_writes: true, recovered_within: 8s, converged_within: 10s}
seed: 42
markers: [slow]
"""  # noqa: E501 — the brief's example, verbatim


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_example_loads_exactly(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    assert load_scenario(path) == Scenario(
        name="isolate-leader",
        description="The store leader loses its peers; a new leader takes over and nothing "
        "acknowledged is lost.",
        cluster=ClusterConfig(engine=Engine.PYSYNCOBJ, store_members=3, apiservers=2, bugs=()),
        workload=WorkloadSpec(
            kind=WorkloadKind.REGISTER,
            clients=6,
            keys=8,
            rate=200.0,
            duration_s=30.0,
            op_timeout_s=1.0,
            through="apiserver",
        ),
        faults=(
            FaultSpec(
                kind=FaultKind.PARTITION,
                at_s=5.0,
                duration_s=10.0,
                target="isolate-leader",
                params={"one_way": None, "members": "store"},
            ),
            FaultSpec(
                kind=FaultKind.KILL,
                at_s=20.0,
                target="store-leader",
                params={"restart_after_s": 3.0},
            ),
            FaultSpec(
                kind=FaultKind.TOXIC,
                at_s=8.0,
                duration_s=5.0,
                target="client-api-*",
                params={
                    "type": "latency",
                    "attributes": {"latency": 200, "jitter": 50},
                    "stream": "downstream",
                    "toxicity": 1.0,
                },
            ),
            FaultSpec(
                kind=FaultKind.LEADER_LOSS,
                at_s=8.0,
                params={"action": "kill", "repeat": 3, "interval_s": 4.0},
            ),
        ),
        expect=Expectations(
            linearizable=True,
            no_lost_writes=True,
            recovered_within_s=8.0,
            converged_within_s=10.0,
        ),
        seed=42,
        source=path,
        markers=("slow",),
    )


def test_field_table_defaults_are_the_model_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "name: minimal\n")
    assert load_scenario(path) == Scenario(name="minimal", source=path)


def test_empty_sections_mean_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "name: e\ncluster:\nworkload: {}\nfaults:\nexpect:\n")
    assert load_scenario(path) == Scenario(name="e", source=path)


def test_every_other_fault_kind_loads(tmp_path: Path) -> None:
    text = """\
name: kinds
cluster: {store: {members: 5}, apiservers: 3}
workload: {duration: 1m}
faults:
  - {at: 0, pause: "api-3,store-5", for: 500ms}
  - {at: 1s, link-down: "api-?-store-5", for: 2s}
  - {at: 2s, rolling-restart: store, interval: 0}
  - {at: 3s, loss: all, probability: 0.25, for: 1.5, members: apiservers}
  - {at: 4s, partition: "isolate:api-2", for: 1m, one_way: minority, members: all}
  - {at: 5s, toxic: slicer, link: api-1-store-1, average_size: 64, delay: 10us, for: 2s}
  - {at: 6s, toxic: timeout, link: client-api-2, for: 2s, stream: upstream, toxicity: 0.5}
"""
    faults = load_scenario(write(tmp_path, text)).faults
    assert [f.kind for f in faults] == [
        FaultKind.PAUSE,
        FaultKind.LINK_DOWN,
        FaultKind.ROLLING_RESTART,
        FaultKind.LOSS,
        FaultKind.PARTITION,
        FaultKind.TOXIC,
        FaultKind.TOXIC,
    ]
    assert faults[2] == FaultSpec(
        kind=FaultKind.ROLLING_RESTART, at_s=2.0, target="store", params={"interval_s": 0.0}
    )
    assert faults[3] == FaultSpec(
        kind=FaultKind.LOSS,
        at_s=3.0,
        duration_s=1.5,
        target="all",
        params={"probability": 0.25, "one_way": None, "members": "apiservers"},
    )
    assert faults[4].params == {"one_way": "minority", "members": "all"}
    assert faults[5].params["attributes"] == {"average_size": 64, "size_variation": 0, "delay": 10}
    assert faults[6].params == {
        "type": "timeout",
        "attributes": {"timeout": 0},
        "stream": "upstream",
        "toxicity": 0.5,
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("5s", 5.0), ("1m", 60.0), ("1.5h", 5400.0), ("20us", 2e-5), (3, 3.0),
     (0.25, 0.25), ("100ms", 0.1), (" 2s ", 2.0)],
)  # fmt: skip
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5s", "5", "5 parsecs", "s", "", True, None, [], "1e3s",
                                  float("inf"), float("nan"), 10**400, "8d", "900h"])  # fmt: skip
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


@given(st.floats(min_value=0, max_value=7 * 24 * 3600, allow_nan=False))
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_scenario_from_dict_problems_have_no_line() -> None:
    with pytest.raises(ScenarioFileError) as info:
        scenario_from_dict({"name": "x", "workload": {"clients": 0}}, source="gen")
    assert str(info.value) == (
        "gen: workload.clients: got 0 (integer); expected an integer 1–1000; "
        "choose a value in range, e.g. clients: 4"
    )


def test_load_scenarios_walks_folders_sorted(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path, "name: b\n", "b.yaml")
    write(tmp_path, "name: a\n", "sub/a.yml")
    write(tmp_path, "not: a scenario\n", "notes.txt")
    assert [s.name for s in load_scenarios([tmp_path])] == ["b", "a"]


def test_load_scenarios_refuses_duplicate_names(tmp_path: Path) -> None:
    write(tmp_path, "name: same\n", "one.yaml")
    write(tmp_path, "description: x\nname: same\n", "two.yaml")
    with pytest.raises(ScenarioFileError) as info:
        load_scenarios([tmp_path])
    assert str(info.value) == (
        f"{tmp_path / 'two.yaml'}:2: name: got 'same' (string); expected a name no other "
        f"scenario file uses (it names run directories); rename it; {tmp_path / 'one.yaml'} "
        "uses it already"
    )


def test_example_round_trips_through_yaml(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, EXAMPLE))
    again = load_scenario(write(tmp_path, scenario_to_yaml(scenario), "again.yaml"))
    assert dataclasses.replace(again, source=scenario.source) == scenario


def test_line_separator_characters_round_trip(tmp_path: Path) -> None:
    # Found by the round-trip property: PyYAML wrote NEL raw and read it back as a space.
    scenario = Scenario(name="nel", description="a\x85b\u2028c → d")
    path = write(tmp_path, scenario_to_yaml(scenario))
    assert load_scenario(path).description == "a\x85b\u2028c → d"


def test_dump_resolved_is_loadable_and_explicit(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "name: minimal\n"))
    text = dump_resolved(scenario)
    assert text.startswith("# Resolved by chaosplane")
    assert f"# source: {tmp_path / 's.yaml'}" in text
    assert yaml.safe_load(text)["workload"]["op_timeout"] == "1s"
    again = load_scenario(write(tmp_path, text, "resolved.yaml"))
    assert dataclasses.replace(again, source=scenario.source) == scenario


# --- Hypothesis: any valid scenario survives scenario_to_yaml → load_scenario unchanged. ---

durations = st.one_of(
    st.integers(min_value=1, max_value=600).map(float),
    st.integers(min_value=1, max_value=600_000).map(lambda ms: ms / 1000),
    st.floats(min_value=0.001, max_value=600, allow_nan=False),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    members = draw(st.integers(1, 7))
    apis = draw(st.integers(1, 5))
    engine = draw(st.sampled_from(ENGINES))
    kind = draw(st.sampled_from(list(WorkloadKind)))
    duration_s = draw(durations) + 1.0
    stores = [f"store-{j}" for j in range(1, members + 1)]
    api_names = [f"api-{i}" for i in range(1, apis + 1)]
    faults = tuple(draw(st.lists(fault_specs(stores, api_names, duration_s), max_size=5)))
    ops = MIX_OPS[kind]
    mix = draw(st.dictionaries(st.sampled_from(ops), st.floats(0.1, 10), max_size=3)) if ops else {}
    return Scenario(
        name=draw(st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,20}\Z")),
        description=draw(st.text(max_size=40)),
        cluster=ClusterConfig(
            engine=Engine(engine),
            store_members=members,
            apiservers=apis,
            bugs=tuple(draw(st.lists(st.sampled_from(BUG_ZOO), unique=True))),
        ),
        workload=WorkloadSpec(
            kind=kind,
            clients=draw(st.integers(1, 1000)),
            keys=draw(st.integers(1, 100_000)),
            rate=draw(st.floats(0, 100_000)),
            duration_s=duration_s,
            op_timeout_s=draw(durations),
            through=draw(st.sampled_from(["apiserver", "store"]))
            if kind in ("register", "set")
            else "apiserver",
            mix=mix,
            read_consistency=draw(st.sampled_from(["linearizable", "serializable"]))
            if engine == "etcd"
            else "linearizable",
        ),
        faults=faults,
        expect=Expectations(
            linearizable=draw(st.booleans()),
            no_lost_writes=draw(st.booleans()),
            converged_within_s=draw(st.none() | durations),
            recovered_within_s=draw(st.none() | durations),
            min_availability=draw(st.none() | st.floats(0, 1)),
            watch_ordered=draw(st.booleans()),
        ),
        seed=draw(st.none() | st.integers(0, 2**63 - 1)),
        markers=tuple(draw(st.lists(st.from_regex(r"\A[a-z_][a-z0-9_]{0,10}\Z"), unique=True))),
    )


@st.composite
def fault_specs(
    draw: st.DrawFn, stores: list[str], apis: list[str], duration_s: float
) -> FaultSpec:
    kind = draw(st.sampled_from(list(FaultKind)))
    spec = FAULT_KINDS[kind]
    at_s = draw(st.floats(0, duration_s, exclude_max=True))
    for_s = draw(durations) if spec.duration is DurationUse.REQUIRED else None
    links = [f"client-{a}" for a in apis] + [f"{a}-{s}" for a in apis for s in stores]
    if kind in (FaultKind.KILL, FaultKind.PAUSE):
        names = st.lists(st.sampled_from([*stores, *apis]), min_size=1, max_size=3, unique=True)
        target = draw(st.sampled_from(["store-leader", "random-store"]) | names.map(",".join))
        params: dict[str, Any] = (
            {} if kind is FaultKind.PAUSE else {"restart_after_s": draw(st.none() | durations)}
        )
        return FaultSpec(kind=kind, at_s=at_s, duration_s=for_s, target=target, params=params)
    if kind in (FaultKind.PARTITION, FaultKind.LOSS):
        scope = draw(st.sampled_from(["store", "apiservers", "all"]))
        pool = {"store": stores, "apiservers": apis, "all": stores + apis}[scope]
        modes = [m for m, n in PARTITION_MIN_MEMBERS.items() if len(pool) >= n]
        if scope == "apiservers":
            modes = [m for m in modes if m != "isolate-leader"]
        if kind is FaultKind.LOSS and len(pool) >= 2:
            modes.append("all")
        target = draw(st.sampled_from([*modes, *(f"isolate:{m}" for m in pool)]))
        sides = [None] if target == "ring" else [None, "minority", "majority"]
        params = {"one_way": draw(st.sampled_from(sides)), "members": scope}
        if kind is FaultKind.LOSS:
            params = {"probability": draw(st.floats(0.001, 1)), **params}
        return FaultSpec(kind=kind, at_s=at_s, duration_s=for_s, target=target, params=params)
    if kind is FaultKind.LEADER_LOSS:
        interval_s = draw(durations)
        room = math.floor((duration_s - at_s) / interval_s - 1e-9)
        repeat = draw(st.integers(1, max(1, min(room + 1, 100))))
        if at_s + (repeat - 1) * interval_s >= duration_s:
            repeat = 1
        each = draw(st.none() | durations)
        action = draw(st.sampled_from(["kill", "pause", "isolate"]))
        params = {"action": action, "repeat": repeat, "interval_s": interval_s}
        return FaultSpec(kind=kind, at_s=at_s, duration_s=each, params=params)
    if kind is FaultKind.TOXIC:
        toxic = draw(st.sampled_from(list(TOXIC_ATTRIBUTES)))
        attributes = {a.name: draw(st.integers(0 if not a.required else 1, 10_000))
                      for a in TOXIC_ATTRIBUTES[toxic]}  # fmt: skip
        return FaultSpec(
            kind=kind,
            at_s=at_s,
            duration_s=for_s,
            target=draw(st.sampled_from([*links, "client-api-*", "api-*"])),
            params={
                "type": toxic,
                "attributes": attributes,
                "stream": draw(st.sampled_from(["downstream", "upstream"])),
                "toxicity": draw(st.floats(0, 1)),
            },
        )
    if kind is FaultKind.LINK_DOWN:
        return FaultSpec(
            kind=kind, at_s=at_s, duration_s=for_s, target=draw(st.sampled_from(links))
        )
    if kind is FaultKind.ROLLING_RESTART:
        return FaultSpec(
            kind=kind, at_s=at_s, target=draw(st.sampled_from(["apiservers", "store"])),
            params={"interval_s": draw(durations)},
        )  # fmt: skip
    raise AssertionError(kind)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_any_valid_scenario_round_trips(tmp_path_factory: pytest.TempPathFactory,
                                        scenario: Scenario) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("rt") / "s.yaml"
    path.write_text(scenario_to_yaml(scenario), encoding="utf-8")
    assert load_scenario(path) == dataclasses.replace(scenario, source=path)
    from_dict = scenario_from_dict(yaml.safe_load(path.read_text()), source="x")
    assert dataclasses.replace(from_dict, source=None) == scenario


SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"


def test_shipped_scenarios_are_valid() -> None:
    files = sorted(p for p in SHIPPED.rglob("*") if p.suffix in (".yaml", ".yml"))
    if not files:
        pytest.skip("no shipped scenarios under scenarios/ yet")
    assert len(load_scenarios([SHIPPED])) == len(files)

"""Fuzz: whatever a file holds, ``load_scenario`` returns a Scenario or raises ScenarioError.

Random text, YAML-ish token soup, random structures dumped as YAML, and valid scenarios with one
field replaced by garbage. Any other exception (KeyError, TypeError, RecursionError, …) escaping
the loader fails the test with the input that caused it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.scenario import Scenario, ScenarioFileError, load_scenario, scenario_from_dict
from harness.scenario.faultkinds import KIND_NAMES, TOXIC_PARAM_NAMES
from harness.scenario.fields import ROOT, FieldType

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _field_names() -> list[str]:
    names: list[str] = []
    stack = [ROOT]
    while stack:
        spec = stack.pop()
        for field in spec.fields:
            names.append(field.name)
            if field.type is FieldType.SECTION:
                stack.append(field)
    return names


EXTRA = ["at", "for", "link", "repeat", "interval", "restart_after", "probability", "one_way"]
VOCAB = sorted({*_field_names(), *KIND_NAMES, *TOXIC_PARAM_NAMES, *EXTRA})
VALUES = [
    "5s", "500ms", "-1s", "1m", "0", "store-1", "store-9", "api-2", "store-leader", "halves",
    "ring", "isolate:store-2", "client-api-*", "latency", "kill", "register", "etcd", "yes",
    "1e400", "nan", ".inf", "~", "", "🙂", "0x1F", "0o17", "1_000", "2001-12-14", "1:30",
]  # fmt: skip
TOKENS = [
    *(f"{name}:" for name in VOCAB), *VALUES, "\n", "\n  ", "\n    ", "- ", " ", "{", "}", "[",
    "]", ",", ":", "&a ", "*a", "!!int ", "!!str ", "!!binary ", "!!set ", "!foo ", "<<: ", "? ",
    "|\n  ", ">\n  ", '"', "'", "#", "---\n", "...\n", "%YAML 1.1\n", "\t", "\x00", "\\",
    "9" * 5000,
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(VALUES),
)
keys = st.one_of(st.sampled_from(VOCAB), st.text(max_size=10))
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=40,
)


def load_text(tmp_path: Path, text: str | bytes) -> Scenario | None:
    path = tmp_path / "fuzz.yaml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(text)
    try:
        return load_scenario(path)
    except ScenarioFileError as exc:
        assert exc.problems, "a ScenarioFileError must list at least one problem"
        for problem in exc.problems:
            assert problem.render().startswith(str(path)), problem.render()
        return None


@FUZZ
@given(st.text(max_size=300))
def test_random_text(tmp_path: Path, text: str) -> None:
    load_text(tmp_path, text)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    load_text(tmp_path, data)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_yaml_ish_token_soup(tmp_path: Path, tokens: list[str]) -> None:
    load_text(tmp_path, "".join(tokens))


@FUZZ
@given(st.dictionaries(keys, structures, max_size=8))
def test_random_structures(tmp_path: Path, data: dict[str, Any]) -> None:
    load_text(tmp_path, yaml.safe_dump(data, allow_unicode=True))
    with contextlib.suppress(ScenarioFileError):
        scenario_from_dict(data, source="fuzz")


BASE: dict[str, Any] = {
    "name": "base",
    "cluster": {"store": {"engine": "pysyncobj", "members": 3}, "apiservers": 2, "bugs": []},
    "workload": {"kind": "register", "duration": "30s", "mix": {"read": 1}},
    "faults": [
        {"at": "5s", "partition": "halves", "for": "3s", "one_way": "minority"},
        {"at": "6s", "kill": "store-1", "restart_after": "1s"},
        {"at": "7s", "toxic": "latency", "link": "client-api-*", "latency": "5ms", "for": "1s"},
        {"at": "8s", "leader-loss": "pause", "repeat": 2, "interval": "2s", "for": "1s"},
        {"at": "9s", "loss": "all", "probability": 0.5, "for": "1s", "members": "all"},
    ],
    "expect": {"recovered_within": "8s"},
}


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*prefix, index))
    return out


MUTABLE = [p for p in _paths(BASE) if p]


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    if isinstance(data, dict):
        return {k: (_replace(v, path[1:], value) if k == path[0] else v) for k, v in data.items()}
    if isinstance(data, list):
        return [(_replace(v, path[1:], value) if i == path[0] else v) for i, v in enumerate(data)]
    return data  # an earlier mutation replaced the parent with a scalar: nothing left to reach


def test_base_is_valid() -> None:
    assert scenario_from_dict(BASE).name == "base"


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(MUTABLE), structures), min_size=1, max_size=3))
def test_valid_scenario_with_garbage_fields(
    tmp_path: Path, mutations: list[tuple[tuple[Any, ...], Any]]
) -> None:
    data: Any = BASE
    for path, value in mutations:
        data = _replace(data, path, value)
    load_text(tmp_path, yaml.safe_dump(data, allow_unicode=True))


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nseed: " + "9" * 5000 + "\n",  # past Python's int-string limit
        "name: x\nseed: 1e400\n",
        "name: x\nworkload: {duration: " + "9" * 400 + "}\n",
        "name: x\nfaults: [{at: 1e400, kill: store-1}]\n",
        "&a [*a]\n",
        "name: x\nfaults: &f [{at: 1s, kill: store-1}, *f]\n",
        "? [a, b]\n: c\n",
        "name: !!binary aGVsbG8=\n",
        "name: x\nworkload: !!set {a, b}\n",
        "\ufeffname: bom-is-fine\n",
    ],
)
def test_known_nasty_inputs(tmp_path: Path, text: str) -> None:
    load_text(tmp_path, text)

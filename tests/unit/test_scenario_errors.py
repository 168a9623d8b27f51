"""Every class of scenario mistake gives exact ``file:line: field: got …; expected …; fix`` lines.

Golden pairs (Porcupine's test_data style): ``scenarios_bad/<name>.yaml`` is a broken file and
``<name>.expected`` the exact problems it must produce, with ``{file}`` for its path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import ScenarioFileError, load_scenario, load_scenarios

BAD = Path(__file__).parent / "scenarios_bad"
# file:line: dotted.field: got <value> (<type>); expected <rule>; <fix>
SHAPE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): (?P<field>[^:]+): got (?P<got>.+) \((?P<type>[^()]+)\); "
    r"expected (?P<expected>.+); (?P<fix>.+)$"
)
# Each error class the loader promises, with the broken file that shows it.
ERROR_CLASSES = {
    "yaml-syntax": "syntax.yaml",
    "yaml-syntax-flow": "syntax-flow.yaml",
    "yaml-two-documents": "two-docs.yaml",
    "yaml-duplicate-keys-tags-merge-bool-keys": "yaml-features.yaml",
    "empty-file": "empty.yaml",
    "not-a-mapping": "not-a-mapping.yaml",
    "missing-required-and-wrong-faults-type": "missing-name.yaml",
    "wrong-types": "wrong-types.yaml",
    "unknown-fields-did-you-mean": "unknown-fields.yaml",
    "unknown-fault-kinds": "fault-kinds.yaml",
    "negative-unparsable-durations": "durations.yaml",
    "faults-past-the-end": "past-end.yaml",
    "targets-not-in-cluster": "targets.yaml",
    "partitions-isolating-nobody": "partitions.yaml",
    "ring-and-one-way": "ring.yaml",
    "engine-members-apiservers-bugs": "cluster.yaml",
    "cross-field-rules": "cross-fields.yaml",
    "toxics-and-kind-params": "toxics.yaml",
}


def problems_of(path: Path) -> str:
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    return str(info.value).replace(str(path), "{file}")


def test_every_broken_file_is_covered() -> None:
    assert sorted(ERROR_CLASSES.values()) == sorted(p.name for p in BAD.glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(ERROR_CLASSES.values()))
def test_broken_file_gives_exact_problems(name: str) -> None:
    path = BAD / name
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
    assert problems_of(path) == expected


@pytest.mark.parametrize("name", sorted(ERROR_CLASSES.values()))
def test_every_problem_line_has_the_promised_shape(name: str) -> None:
    path = BAD / name
    for line in problems_of(path).splitlines():
        match = SHAPE.match(line)
        assert match, line
        assert match["file"] == "{file}"
        assert int(match["line"]) >= 1


def test_problems_are_structured_and_a_scenario_error() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / "targets.yaml")
    assert isinstance(info.value, ScenarioFileError)
    first = info.value.problems[0]
    assert (first.line, first.field, first.got, first.got_type) == (
        4,
        "faults[0].kill",
        "'store-5'",
        "string",
    )
    assert "did you mean 'store-3'?" in first.fix
    assert "store-1, store-2, store-3, api-1, api-2" in first.fix


def test_target_error_names_the_cluster_size() -> None:
    text = problems_of(BAD / "targets.yaml")
    assert (
        "{file}:4: faults[0].kill: got 'store-5' (string); expected a member of this cluster "
        "(cluster.store.members is 3, cluster.apiservers is 2)"
    ) in text
    assert "{file}:5: faults[1].pause: got 'api-3' (string)" in text


def test_all_problems_of_a_file_are_listed_not_just_the_first() -> None:
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(BAD / "wrong-types.yaml")
    assert len(info.value.problems) == 8
    assert len(str(info.value).splitlines()) == 8


def test_problems_come_in_file_order() -> None:
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(BAD / "past-end.yaml")
    lines = [p.line or 0 for p in info.value.problems]
    assert lines == sorted(lines)


def test_load_scenarios_collects_problems_of_every_file() -> None:
    with pytest.raises(ScenarioFileError) as info:
        load_scenarios([BAD])
    sources = {p.source for p in info.value.problems}
    assert sources == {str(BAD / name) for name in ERROR_CLASSES.values()}


@pytest.mark.parametrize(
    ("setup", "got_type"),
    [
        (lambda d: d / "absent.yaml", "missing file"),
        (lambda d: d, "directory"),
        (lambda d: _write_bytes(d / "latin1.yaml", "name: café\n".encode("latin-1")), "not UTF-8"),
        (lambda d: _write_bytes(d / "big.yaml", b"#" * 1_000_001), "file size"),
        (lambda d: _write_bytes(d / "ctl.yaml", b"name: a\x07b\n"), "YAML syntax error"),
    ],
)
def test_unreadable_inputs_are_scenario_errors(
    tmp_path: Path, setup: object, got_type: str
) -> None:
    path = setup(tmp_path)  # type: ignore[operator]
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    assert info.value.problems[0].got_type == got_type
    assert str(info.value).startswith(str(path))


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    path = _write_bytes(tmp_path / "bomb.yaml", ("\n".join(lines) + "\n").encode())
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    assert "20000 nodes" in str(info.value)


def test_deep_nesting_is_a_scenario_error(tmp_path: Path) -> None:
    path = _write_bytes(tmp_path / "deep.yaml", b"name: " + b"[" * 5000 + b"]" * 5000 + b"\n")
    with pytest.raises(ScenarioFileError):
        load_scenario(path)


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path

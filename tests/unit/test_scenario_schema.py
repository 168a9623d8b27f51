"""``scenarios/schema.json`` and the README's field reference are generated and up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.scenario import load_scenario
from harness.scenario.faultkinds import FAULT_KINDS, TOXIC_ATTRIBUTES
from harness.scenario.fields import BUG_ZOO, ENGINES
from harness.scenario.reference import BEGIN, END, render_reference, update_readme
from harness.scenario.schema import json_schema, render_schema

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REGENERATE = "run `.venv/bin/python -m harness.scenario.schema` and commit the result"


def test_schema_file_is_up_to_date() -> None:
    assert (SCENARIOS / "schema.json").read_text(encoding="utf-8") == render_schema(), REGENERATE


def test_readme_reference_is_up_to_date() -> None:
    text = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert update_readme(text) == text, REGENERATE


def test_update_readme_replaces_only_between_markers() -> None:
    text = f"# Title\n\nprose\n\n{BEGIN}\nOLD-TEXT\n{END}\n\nafter\n"
    updated = update_readme(text)
    assert updated.startswith("# Title\n\nprose\n\n") and updated.endswith("\n\nafter\n")
    assert "OLD-TEXT" not in updated and render_reference() in updated


def test_schema_is_draft_2020_12_with_the_tables_vocabulary() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    store = schema["properties"]["cluster"]["properties"]["store"]["properties"]
    assert store["engine"]["enum"] == list(ENGINES)
    assert (store["members"]["minimum"], store["members"]["maximum"]) == (1, 7)
    bugs = schema["properties"]["cluster"]["properties"]["bugs"]
    assert bugs["items"]["enum"] == list(BUG_ZOO)
    variants = {ref["$ref"].rsplit("/", 1)[1] for ref in
                schema["properties"]["faults"]["items"]["oneOf"]}  # fmt: skip
    expected = {f"fault-{k}" for k in FAULT_KINDS if k != "toxic"}
    expected |= {f"fault-toxic-{t}" for t in TOXIC_ATTRIBUTES}
    assert variants == expected
    json.dumps(schema)  # serialisable as is


def _variant_for(schema: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The one fault variant whose required keys the entry has and whose properties cover it."""
    matches = []
    for name, variant in schema["$defs"].items():
        if not name.startswith("fault-"):
            continue
        props, required = variant["properties"], variant["required"]
        const = next((p.get("const") for p in props.values() if "const" in p), None)
        if const is not None and entry.get("toxic") != const:
            continue
        if set(required) <= set(entry) and set(entry) <= set(props):
            matches.append(variant)
    assert len(matches) == 1, entry
    match: dict[str, Any] = matches[0]
    return match


@pytest.mark.parametrize(
    "entry",
    [
        {"at": "5s", "partition": "isolate-leader", "for": "10s"},
        {"at": "20s", "kill": "store-leader", "restart_after": "3s"},
        {"at": "8s", "toxic": "latency", "link": "client-api-*", "latency": "200ms",
         "jitter": "50ms", "for": "5s"},
        {"at": "8s", "leader-loss": "kill", "repeat": 3, "interval": "4s"},
        {"at": "1s", "loss": "all", "probability": 0.1, "for": "1s"},
        {"at": "8s", "toxic": "slicer", "link": "api-1-store-1", "average_size": 10, "for": "1s"},
        {"at": "8s", "rolling-restart": "store", "interval": "1s"},
    ],
)  # fmt: skip
def test_schema_has_exactly_one_variant_per_valid_entry(
    tmp_path: Path, entry: dict[str, Any]
) -> None:
    _variant_for(json_schema(), entry)
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nworkload: {duration: 1m}\nfaults: [" + json.dumps(entry) + "]\n")
    assert len(load_scenario(path).faults) == 1  # and the loader agrees it is valid


def test_schema_refuses_a_kill_with_for() -> None:
    with pytest.raises(AssertionError):
        _variant_for(json_schema(), {"at": "1s", "kill": "store-1", "for": "1s"})

"""The bug-zoo list has one source, ``controlplane/bugs.py``: the scenario format, its JSON
Schema and the system under test agree, and every switch is documented and implemented."""

from __future__ import annotations

import json
import re
from pathlib import Path

from controlplane import bugs
from harness.scenario.fields import BUG_ZOO
from harness.scenario.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_scenario_format_reads_the_control_planes_list() -> None:
    assert BUG_ZOO is bugs.SWITCHES
    assert frozenset(bugs.SWITCHES) == bugs.KNOWN_BUGS
    assert len(set(bugs.SWITCHES)) == len(bugs.SWITCHES)


def test_the_json_schema_offers_exactly_the_switches() -> None:
    text = json.dumps(json_schema())
    for name in bugs.SWITCHES:
        assert f'"{name}"' in text, name
    on_disk = json.loads((ROOT / "scenarios" / "schema.json").read_text(encoding="utf-8"))
    assert on_disk == json_schema()


def test_every_switch_is_documented_and_implemented() -> None:
    doc = bugs.__doc__ or ""
    documented = set(re.findall(r"^- ``([a-z-]+)``", doc, flags=re.MULTILINE))
    assert documented == set(bugs.SWITCHES)
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "controlplane").rglob("*.py")
        if p.name != "bugs.py"
    )
    unused = [name for name in bugs.SWITCHES if f'"{name}"' not in sources]
    assert not unused, f"switches no server ever checks: {unused}"

"""``workload.value_size``: padded register values (for size limits such as raftos' ~48 KB).

The loader takes the field and refuses it where the register-through-store workload cannot pad;
the padding is deterministic, unique per value, and maps back to the plain integer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import ScenarioFileError, load_scenario
from harness.workload.register import pad, unpad

SCENARIO = """\
name: big
cluster: {{store: {{engine: raftos, members: 3}}, apiservers: 1}}
workload: {{kind: register, duration: 10s, through: {through}, value_size: {size}}}
"""


def _write(tmp_path: Path, *, through: str, size: int) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(through=through, size=size), encoding="utf-8")
    return path


def test_value_size_loads_through_the_store(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, through="store", size=60000))
    assert scenario.workload.value_size == 60000


def test_value_size_is_refused_through_the_apiserver(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(_write(tmp_path, through="apiserver", size=10))
    assert "workload.value_size" in str(info.value)


def test_padding_has_the_size_and_maps_back() -> None:
    stored = pad(7, 60000)
    assert isinstance(stored, str) and len(stored) == len("7|") + 60000
    assert unpad(stored) == 7
    assert pad(7, 100) != pad(8, 100)  # values stay unique per key
    assert pad(7, 0) == 7 and unpad(7) == 7 and pad(None, 10) is None

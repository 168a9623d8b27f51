"""Every fault of the shipped scenarios runs on the fake cluster: the loader's ``FaultSpec``
params are the ones the nemesis reads (time compressed 50×)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from harness.model import FaultSpec
from harness.nemesis import ScheduleOptions, run_schedule
from harness.scenario.loader import load_scenario
from harness.testing.nemesis_fakes import fake_context

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "suite"
SCALE = 0.02


def compressed(spec: FaultSpec) -> FaultSpec:
    params = {k: (v * SCALE if k.endswith("_s") and v else v) for k, v in spec.params.items()}
    duration = None if spec.duration_s is None else spec.duration_s * SCALE
    return dataclasses.replace(spec, at_s=spec.at_s * SCALE, duration_s=duration, params=params)


@pytest.mark.parametrize("path", sorted(SUITE.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenario_faults_fire_take_effect_and_heal(path: Path) -> None:
    try:
        scenario = load_scenario(path)
    except Exception as exc:  # the loader's business, not the nemesis'
        pytest.skip(f"scenario does not load: {exc}")
    ctx, _, _, _ = fake_context(scenario.cluster.store_members, scenario.cluster.apiservers)
    specs = [compressed(f) for f in scenario.faults]
    fired = run_schedule(specs, ctx, threading.Event(), ScheduleOptions(status_timeout_s=0.1))
    assert len(fired) == len(specs)
    for f in fired:
        assert f.error is None, f
        assert f.effect_ok is True, f
        assert f.targets, f

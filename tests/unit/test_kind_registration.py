"""Issue 13's done-when: a new fault kind, workload kind and checker each register in one place.

Everything a toy kind needs is defined in this file, through the public registration paths
(``register_fault_kind`` + ``harness.nemesis.register``; ``register_workload_kind``;
``register_checker``), and no product file is edited. The tests then show that the scenario
loader (fields, semantic checks, schema), the nemesis schedule (start event with the kind's
class, replay, planned end in ``harness.run``), the Hypothesis strategies, ``make_workload``,
``check_run`` and the HTML report all pick the new kinds up — and that each is gone again
after unregistering, so the rest of the suite sees the built-in vocabulary only.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find
from hypothesis.strategies import DrawFn

from harness import run as run_module
from harness.checker import check_run
from harness.checker.faultclass import classes
from harness.checker.registry import CheckerSpec, register_checker, unregister_checker
from harness.checker.rundata import RunData
from harness.checker.verdict import CheckResult
from harness.errors import HarnessError
from harness.history import CLASS_KEY, FaultEvent, FaultPhase, JsonlWriter
from harness.model import FaultSpec, WorkloadSpec
from harness.model.kinds import (
    FaultClass,
    FaultTraits,
    WorkloadTraits,
    fault_traits,
    workload_feeds,
)
from harness.nemesis import ScheduleOptions, register, replay_specs, run_schedule
from harness.nemesis.base import FaultContext, Injection
from harness.nemesis.registry import unregister
from harness.report import render_run_report
from harness.scenario import (
    FaultKindSpec,
    ScenarioFileError,
    register_fault_kind,
    scenario_from_dict,
    unregister_fault_kind,
)
from harness.scenario.faultdraws import DrawContext, FaultEntry
from harness.scenario.faultkinds import DurationUse, TargetKind, kind_names
from harness.scenario.fields import FieldSpec, FieldType
from harness.scenario.problems import Path as FieldPath
from harness.scenario.problems import Problems
from harness.scenario.schema import json_schema
from harness.strategies import fault_entries
from harness.testing.fakes import FakeCluster
from harness.testing.nemesis_fakes import fake_context
from harness.testing.synthetic import FaultWindow, SyntheticRun, write_synthetic_run
from harness.workload import (
    RegisterWorkload,
    make_workload,
    register_workload_kind,
    unregister_workload_kind,
)

# ----- the toy fault kind: "drain", which freezes one store member for a while ----------------

DRAIN = "drain"


def _drain_check(
    values: dict[str, Any], fault: FaultSpec, path: FieldPath, problems: Problems
) -> None:
    members = values["cluster"]["store"]["members"]
    valid = [f"store-{j}" for j in range(1, members + 1)]
    if fault.target not in valid:
        problems.add(
            (*path, DRAIN),
            fault.target,
            expected=f"a store member of this cluster ({', '.join(valid)})",
            fix=f"write drain: {valid[0]}",
        )


def _drain_draw(draw: DrawFn, ctx: DrawContext) -> FaultEntry:
    from hypothesis import strategies as st

    return {DRAIN: draw(st.sampled_from(ctx.stores)), "for": ctx.hold, "depth": 2}


def _drain_end_s(spec: FaultSpec, _members: int) -> float:
    return spec.at_s + float(spec.duration_s or 0.0) + float(spec.params["depth"])  # drains late


DRAIN_KIND = FaultKindSpec(
    kind=DRAIN,
    traits=FaultTraits(kind=DRAIN, fault_class=FaultClass.PROCESS, planned_end=_drain_end_s),
    value=FieldSpec(
        name=DRAIN,
        type=FieldType.TARGET,
        pattern=r"^store-[1-7]$",
        required=True,
        doc="The store member to drain.",
    ),
    target=TargetKind.PROCESS,
    value_is="target",
    duration=DurationUse.REQUIRED,
    duration_doc="required: the member is undrained after it",
    params=(
        FieldSpec(
            name="depth", type=FieldType.INTEGER, minimum=1, maximum=5, default=1, doc="How deep."
        ),
    ),
    doc="Drain one store member (a toy kind of the registration test).",
    check=_drain_check,
    draw=_drain_draw,
)


class DrainFault:
    kind = DRAIN

    def __init__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> None:
        self.spec = spec

    def inject(self, ctx: FaultContext) -> Injection:
        target = str(self.spec.target)
        ctx.cluster.node(target).pause()
        return Injection(targets=[target])

    def heal(self, ctx: FaultContext) -> None:
        node = ctx.cluster.node(str(self.spec.target))
        if node.is_paused():
            node.unpause()


# ----- the toy workload kind: "counter", a register workload under another name ----------------

COUNTER = "counter"


class CounterWorkload(RegisterWorkload):
    kind = COUNTER
    checkers = ("well_formed", "counter_sane")


COUNTER_KIND = WorkloadTraits(
    kind=COUNTER, mix_ops=("read", "write"), through_store=True, checks=frozenset({"counter_sane"})
)

# ----- the toy checker: "counter_sane", every acknowledged write of a counter run is a number --


def _counter_sane(run: RunData) -> CheckResult:
    writes = [c for c in run.paired.calls if c.f == "write" and c.ok]
    bad = [c.arg for c in writes if not isinstance(c.arg, int)]
    if bad:
        return CheckResult.invalid(f"{len(bad)} writes of a non-number", values=bad[:5])
    return CheckResult.valid(f"{len(writes)} writes, each a number")


COUNTER_CHECK = CheckerSpec(
    name="counter_sane",
    check=_counter_sane,
    applies=lambda run: workload_feeds(run.workload_kind, "counter_sane"),
    meaning="Every acknowledged write of a counter run is a number (a toy checker).",
)


@pytest.fixture
def toys() -> Iterator[None]:
    register_fault_kind(DRAIN_KIND)
    register(DRAIN)(DrainFault)
    register_workload_kind(COUNTER_KIND, CounterWorkload)
    register_checker(COUNTER_CHECK)
    try:
        yield
    finally:
        unregister_checker(COUNTER_CHECK.name)
        unregister_workload_kind(COUNTER)
        unregister(DRAIN)
        unregister_fault_kind(DRAIN)


def document(**fault: Any) -> dict[str, Any]:
    return {
        "name": "toy",
        "cluster": {"store": {"members": 3}, "apiservers": 1},
        "workload": {"kind": COUNTER, "duration": "10s", "through": "store", "mix": {"read": 1}},
        "faults": [{"at": "2s", "for": "3s", DRAIN: "store-2", "depth": 2, **fault}],
    }


# ----- the tests ------------------------------------------------------------------------------


@pytest.mark.usefixtures("toys")
def test_the_loader_reads_the_toy_kinds_and_checks_them() -> None:
    scenario = scenario_from_dict(document(), "toy.yaml")
    (fault,) = scenario.faults
    assert (fault.kind, fault.target, fault.duration_s, fault.params) == (
        DRAIN,
        "store-2",
        3.0,
        {"depth": 2},
    )
    assert scenario.workload.kind == COUNTER
    # its semantic check: store-5 does not exist with 3 members
    with pytest.raises(
        ScenarioFileError, match=r"faults\[0\]\.drain: got .store-5.*store-1, store-2, store-3"
    ):
        scenario_from_dict({**document(), "faults": [{"at": "2s", "for": "3s", DRAIN: "store-5"}]})
    # its schema row: `for` is required, `depth` bounded
    with pytest.raises(ScenarioFileError, match=r"faults\[0\]"):
        scenario_from_dict({**document(), "faults": [{"at": "2s", DRAIN: "store-1"}]})
    with pytest.raises(ScenarioFileError, match=r"depth"):
        scenario_from_dict(document(depth=9))
    # the workload's mix ops come from its descriptor: "cas" is not one of the counter's
    bad_mix = document()
    bad_mix["workload"] = {**bad_mix["workload"], "mix": {"cas": 1}}
    with pytest.raises(ScenarioFileError, match=r"workload\.mix\.cas.*valid ops: read, write"):
        scenario_from_dict(bad_mix)
    schema = json.dumps(json_schema())
    assert f"fault-{DRAIN}" in schema and COUNTER in schema


@pytest.mark.usefixtures("toys")
def test_the_schedule_fires_the_toy_fault_and_records_its_class() -> None:
    ctx, cluster, _, timeline = fake_context()
    spec = scenario_from_dict(document(), "toy.yaml").faults[0]
    spec = FaultSpec(kind=spec.kind, at_s=0.0, duration_s=0.05, target=spec.target, params={})
    fired = run_schedule([spec], ctx, threading.Event(), ScheduleOptions(health=False))
    assert [(f.kind, f.targets) for f in fired] == [(DRAIN, ["store-2"])]
    start = next(e for e in timeline.events if e.type is FaultPhase.START)
    assert start.detail[CLASS_KEY] == "process"
    assert classes(timeline.events) == {start.id: FaultClass.PROCESS}
    assert not cluster.node("store-2").is_paused()  # healed
    assert replay_specs(fired)[0].kind == DRAIN
    # harness.run plans the heal with the kind's own planned end (for + depth)
    planned = FaultSpec(kind=DRAIN, at_s=2.0, duration_s=3.0, target="store-1", params={"depth": 2})
    assert run_module._planned_end_s(planned) == 7.0


@pytest.mark.usefixtures("toys")
def test_the_strategies_draw_the_toy_fault_and_the_loader_takes_the_draw() -> None:
    entry = find(fault_entries(3, 1, 1.5), lambda e: DRAIN in e)
    assert entry[DRAIN] in ("store-1", "store-2", "store-3") and entry["for"] == "1.5s"
    scenario = scenario_from_dict({**document(), "faults": [{"at": "1s", **entry}]}, "drawn.yaml")
    assert scenario.faults[0].kind == DRAIN


@pytest.mark.usefixtures("toys")
def test_make_workload_builds_the_toy_workload_and_it_runs(tmp_path: Path) -> None:
    spec = WorkloadSpec(kind=COUNTER, clients=2, keys=2, rate=50, duration_s=0.5, through="store")
    with (
        FakeCluster(apiservers=1, store_members=1) as cluster,
        JsonlWriter(tmp_path / "history.jsonl") as history,
    ):
        workload = make_workload(spec, cluster.info(), history, start_ns=0, seed=1)
        assert isinstance(workload, CounterWorkload)
        result = workload.run()
    assert result.counts.get("ok", 0) > 0


@pytest.mark.usefixtures("toys")
def test_check_run_and_the_report_show_the_toy_checker(tmp_path: Path) -> None:
    window = FaultWindow(kind=DRAIN, start_s=2.0, end_s=3.0, targets=("store-2",))
    run = write_synthetic_run(tmp_path / "run", SyntheticRun(seed=3, faults=(window,)))
    meta = json.loads(run.meta.read_text())
    meta["workload"]["kind"] = COUNTER
    run.meta.write_text(json.dumps(meta))
    verdicts = check_run(run.root)
    assert verdicts.checks["counter_sane"].verdict.value == "valid"
    html = render_run_report(run.root).read_text(encoding="utf-8")
    assert "counter_sane" in html and COUNTER_CHECK.meaning in html
    # the checker says invalid on a bad history: one more write, of a string
    last = json.loads(run.history.read_text().splitlines()[-1])
    op = {"process": 99, "f": "write", "key": "k1", "value": "x", "node": "api-1"}
    with JsonlWriter(run.history) as w:  # appends
        w.write({**op, "index": last["index"] + 1, "time": last["time"] + 1, "type": "invoke"})
        w.write({**op, "index": last["index"] + 2, "time": last["time"] + 2, "type": "ok"})
    bad = check_run(run.root).checks["counter_sane"]
    assert bad.verdict.value == "invalid" and "1 writes of a non-number" in bad.reason


def test_after_unregistering_only_the_built_in_kinds_are_left() -> None:
    assert DRAIN not in kind_names()
    with pytest.raises(HarnessError, match="not registered"):
        fault_traits(DRAIN)
    assert not workload_feeds(COUNTER, "counter_sane")
    with pytest.raises(ScenarioFileError, match="drain"):
        scenario_from_dict(document(), "toy.yaml")


def test_a_fault_class_is_read_from_the_start_event_not_the_kind_name() -> None:
    # A start event that says "partition" while its kind is named "kill": the class wins.
    start = FaultEvent(
        time=1, type=FaultPhase.START, fault="kill", id=7, detail={CLASS_KEY: "partition"}
    )
    end = FaultEvent(time=2, type=FaultPhase.END, fault="kill", id=7)
    assert classes([start, end]) == {7: FaultClass.PARTITION}
    # an old run without the class falls back on the kind's registered traits
    old = FaultEvent(time=1, type=FaultPhase.START, fault="kill", id=8)
    assert classes([old]) == {8: FaultClass.PROCESS}
    unknown = FaultEvent(time=1, type=FaultPhase.START, fault="nobody-registered-me", id=9)
    assert classes([unknown]) == {9: None}

"""One run: scenario + seed → cluster → workload and nemesis → history → verdicts → report.

In a nutshell: ``run_scenario(scenario, RunOptions(...))`` owns the lifecycle and returns a
``RunOutcome`` (run directory, verdicts, report path, the command that reruns it). Everything
the checkers and the report need is written into the run directory as the run goes, so a run
that crashes half-way still leaves a history to re-check offline (``chaosplane check``).

    scenario = load_scenario(Path("scenarios/suite/leader-killed.yaml"))
    outcome = run_scenario(scenario, RunOptions(seed=7))
    print(outcome.verdicts.overall, outcome.report)
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.checker import RunVerdicts, check_run
from harness.history import JsonlWriter, RunDir, mark_finished, mark_running, read_faults, read_ops
from harness.history.k8s import components_path
from harness.model import Engine, FaultSpec
from harness.model.cluster import ClusterHandle, ClusterSpec
from harness.model.kinds import fault_traits
from harness.model.runfiles import read_schedule_doc
from harness.nemesis import NemesisThread, make_context, read_schedule, replay_specs, write_schedule
from harness.reference_run import run_reference
from harness.runmeta import RunRecord, new_run_id, start_meta
from harness.scenario import Scenario, dump_resolved
from harness.toxiproxy import ToxiproxyClient
from harness.workload import Workload, assess, make_workload, thresholds_for

CONVERGENCE_POLL_S = 0.25
RECOVERY_TAIL_S = 5.0  # traffic kept up after the last heal, so recovery can be seen
MAX_OVERRUN_S = 120.0  # how long late heals may keep the workload running past its duration
NEMESIS_GRACE_S = 60.0  # past the last planned heal, before a stuck nemesis is an error


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    reports_dir: Path = Path("reports")
    seed: int | None = None  # overrides the scenario's seed; None: the scenario's, else random
    replay: Path | None = None  # a schedule.json whose faults replace the scenario's
    engine: str | None = None  # overrides cluster.store.engine
    bugs: tuple[str, ...] = ()  # bug-zoo switches added to the scenario's
    keep_cluster: bool = False  # leave the cluster running when the run is not valid
    render_report: bool = True
    cluster: ClusterHandle | None = None  # run on this live cluster instead of starting one
    reference: bool = False  # first a fault-free twin into <run>/reference (reference_run)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    run_id: str
    run_dir: Path
    seed: int
    verdicts: RunVerdicts
    report: Path | None
    rerun: str
    duration_s: float
    kept_cluster: str | None = None  # run id of a cluster left running for inspection
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdicts.overall.value == "valid"


def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunOutcome:
    options = options or RunOptions()
    scenario = _apply_overrides(scenario, options)
    seed = _resolve_seed(scenario, options)
    faults = _planned_faults(scenario, options)
    scenario = _with_recovery_tail(scenario, faults)
    run_id = new_run_id(scenario.name, seed)
    run_dir = RunDir(options.reports_dir / run_id).create()
    mark_running(run_dir)  # until the recording is complete: a killed runner leaves "running"
    run_dir.scenario.write_text(dump_resolved(scenario), encoding="utf-8")
    if options.reference:
        run_reference(scenario, seed, run_dir, runner=run_scenario, options=options)
    record = RunRecord(
        run_dir.meta, start_meta(run_id=run_id, scenario=scenario, seed=seed, replay=options.replay)
    )
    started = time.monotonic()
    kept: str | None = None
    try:
        with _cluster_for(scenario, options, run_dir, record) as (cluster, keep):
            _exercise(cluster, scenario, faults, seed, run_dir)
            mark_finished(run_dir)
            record.update(adequacy=_adequacy(scenario, run_dir))
            # Checked once, with the cluster still up: the checkers read everything they need
            # from run.json now (expect, workload, adequacy), and a kept cluster needs the verdict.
            verdicts = check_run(run_dir.root)
            if options.keep_cluster and verdicts.overall.value != "valid":
                keep.set()
                kept = cluster.info.run_id
    except BaseException as exc:
        record.finish(time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
        raise
    record.finish(time.monotonic() - started)
    report = _render(run_dir) if options.render_report else None
    return RunOutcome(
        run_id=run_id,
        run_dir=run_dir.root,
        seed=seed,
        verdicts=verdicts,
        report=report,
        rerun=record.meta.command,
        duration_s=time.monotonic() - started,
        kept_cluster=kept,
    )


def _exercise(
    cluster: ClusterHandle, scenario: Scenario, faults: list[FaultSpec], seed: int, run_dir: RunDir
) -> None:
    """Workload and nemesis together on one clock, probes throughout, then heal and read back."""
    from harness.cluster import StatusProbe
    from harness.cluster.componentprobe import ComponentProbe

    components: dict[str, str] = dict(getattr(cluster.info, "components", None) or {})
    with (
        JsonlWriter(run_dir.history) as history,
        JsonlWriter(run_dir.faults) as timeline,
        JsonlWriter(run_dir.status) as status,
        contextlib.ExitStack() as stack,
    ):
        samples = (
            stack.enter_context(JsonlWriter(components_path(run_dir.root))) if components else None
        )
        # Setting up the nemesis touches every member (firewall hooks): do it before the run
        # clock starts, so a fault planned at 4 s strikes 4 s into the workload.
        ctx = make_context(
            cluster=cluster,
            toxiproxy=ToxiproxyClient(cluster.info.toxiproxy),
            timeline=timeline,
            start_ns=time.monotonic_ns(),
            seed=seed,
        )
        start_ns = time.monotonic_ns()
        ctx = replace(ctx, start_ns=start_ns)
        probe = StatusProbe(cluster, status, start_ns, interval_s=0.2).start()
        component_probe = (
            ComponentProbe(components, samples, start_ns, interval_s=0.25).start()
            if samples is not None
            else None
        )
        try:
            # The workload may run past its duration while late heals finish (see below).
            spec = replace(
                scenario.workload, duration_s=scenario.workload.duration_s + MAX_OVERRUN_S
            )
            info = replace(cluster.info, engine=str(scenario.cluster.engine))  # no probing
            workload = make_workload(spec, info, history, start_ns, seed)
            nemesis = NemesisThread(faults, ctx)
            _workload_with_nemesis(workload, nemesis, scenario.workload.duration_s, run_dir, seed)
            if component_probe is not None:  # its samples end with the workload's watchers
                component_probe.stop()
            _wait_converged(cluster, scenario.expect.converged_within_s or 10.0)
            workload.final_read()
        finally:
            probe.stop()
            if component_probe is not None:
                component_probe.stop()
            ctx.firewall.close()  # retire its start hook: a reused cluster outlives this run


def _workload_with_nemesis(
    workload: Workload, nemesis: NemesisThread, duration_s: float, run_dir: RunDir, seed: int
) -> None:
    """Run both; the nemesis always finishes (heals) and schedule.json is always written.

    The workload stops at its duration, or ``RECOVERY_TAIL_S`` after the nemesis healed its
    last fault, whichever is later: heals run late on a loaded machine, and recovery can only be
    judged from traffic after them.
    """
    stop = threading.Event()
    start_ns = nemesis.ctx.start_ns
    faults = nemesis.specs

    def stop_when_done() -> None:
        if stop.wait(max(0.0, duration_s - (time.monotonic_ns() - start_ns) / 1e9)):
            return
        timed = sum(not _open_ended(f) for f in faults)
        deadline = time.monotonic() + MAX_OVERRUN_S
        while len(nemesis.healed) < timed and nemesis.is_alive() and time.monotonic() < deadline:
            if stop.wait(0.1):
                return
        healed_s = max((f.at_s + f.held_s for f in list(nemesis.healed)), default=None)
        if healed_s is not None:
            now_s = (time.monotonic_ns() - start_ns) / 1e9
            stop.wait(max(0.0, healed_s + RECOVERY_TAIL_S - now_s))
        stop.set()

    supervisor = threading.Thread(target=stop_when_done, name="run-supervisor", daemon=True)
    nemesis.start()
    supervisor.start()
    try:
        result = workload.run(stop)  # its figures (the deployments drain: settled or not)
        (run_dir.root / "workload.json").write_text(json.dumps(result.to_json(), indent=1))
    finally:
        stop.set()
        try:
            nemesis.result(timeout_s=_last_heal_s(faults, start_ns) + NEMESIS_GRACE_S)
        finally:
            nemesis.stop()  # past the deadline: interrupt, let it heal, then record what fired
            nemesis.join(NEMESIS_GRACE_S)
            write_schedule(run_dir.schedule, nemesis.fired, seed=seed)


def _open_ended(fault: FaultSpec) -> bool:
    """A fault healed only at the end of the run (a kill without ``restart_after``)."""
    return fault_traits(fault.kind).open_ended(fault)


def _last_heal_s(faults: list[FaultSpec], start_ns: int) -> float:
    """Seconds from now until the last planned heal (0 when it is past)."""
    elapsed = (time.monotonic_ns() - start_ns) / 1e9
    return max([0.0, *(_planned_end_s(f) - elapsed for f in faults)])


def _planned_end_s(fault: FaultSpec, members: int = 5) -> float:
    """When ``fault`` should be healed on the run clock, as planned (its kind's descriptor)."""
    return fault_traits(fault.kind).planned_end_s(fault, members)


def _wait_converged(cluster: ClusterHandle, bound_s: float) -> None:
    """Give the store up to ``bound_s`` to converge; the checker judges, this only waits."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        statuses = [cluster.status(n.name, timeout_s=0.5) for n in cluster.store_nodes()]
        if all(statuses):
            marks = {(s.get("applied_index"), s.get("state_hash")) for s in statuses if s}
            if len(marks) == 1:
                return
        time.sleep(CONVERGENCE_POLL_S)


def _adequacy(scenario: Scenario, run_dir: RunDir) -> dict[str, Any]:
    if not run_dir.history.exists():
        return {"ok": False, "reason": "no history was written"}
    ops = list(read_ops(run_dir.history))
    faults = list(read_faults(run_dir.faults)) if run_dir.faults.exists() else []
    thresholds = thresholds_for(scenario.workload, scenario.adequacy)
    return assess(ops, faults, target_rate=scenario.workload.rate, thresholds=thresholds).to_json()


@contextlib.contextmanager
def _cluster_for(
    scenario: Scenario, options: RunOptions, run_dir: RunDir, record: RunRecord
) -> Iterator[tuple[ClusterHandle, threading.Event]]:
    keep = threading.Event()
    if options.cluster is not None:
        yield options.cluster, keep
        return
    from harness.cluster import DockerCluster
    from harness.images import require_images

    images = require_images()
    spec = ClusterSpec(
        store_members=scenario.cluster.store_members,
        apiservers=scenario.cluster.apiservers,
        engine=scenario.cluster.engine,
        bugs=tuple(scenario.cluster.bugs),
        proxy_seed=record.meta.seed,
        log_dir=run_dir.logs,
        controller_managers=scenario.cluster.controller_managers,
        schedulers=scenario.cluster.schedulers,
        nodes=scenario.cluster.nodes,
    )
    # kubectl/clients can follow a run (or inspect a kept cluster) with the run's kubeconfig.
    cluster = DockerCluster(spec, images=images, kubeconfig_path=run_dir.root / "kubeconfig")
    record.update(image_tags=images.to_json(), cluster_run_id=cluster.run_id)
    if spec.has_components:  # the controller checkers read the durations the run used (C4)
        record.update(controlplane_timings=spec.controlplane_timings.to_json())
    try:
        cluster.start()
        yield cluster, keep
    finally:
        if keep.is_set():
            cluster.save_logs()  # the logs belong in the report even when the cluster stays
            cluster.detach()  # reaped at the next start after this process, or `chaosplane down`
        else:
            cluster.teardown()


def _render(run_dir: RunDir) -> Path | None:
    try:
        from harness.report import render_run_report
    except ImportError:
        return None
    return render_run_report(run_dir.root)


def _apply_overrides(scenario: Scenario, options: RunOptions) -> Scenario:
    cluster = scenario.cluster
    if options.engine:
        cluster = replace(cluster, engine=Engine(options.engine))
    if options.bugs:
        cluster = replace(cluster, bugs=tuple(dict.fromkeys((*cluster.bugs, *options.bugs))))
    return replace(scenario, cluster=cluster)


def _with_recovery_tail(scenario: Scenario, faults: list[FaultSpec]) -> Scenario:
    """Run the workload until at least ``RECOVERY_TAIL_S`` after the last planned heal: the
    recovery checker needs traffic after it (the run directory records the longer duration)."""
    if not faults:
        return scenario
    members = max(scenario.cluster.store_members, scenario.cluster.apiservers)
    last_heal = max(_planned_end_s(f, members) for f in faults)
    needed = last_heal + RECOVERY_TAIL_S
    if needed <= scenario.workload.duration_s:
        return scenario
    return replace(scenario, workload=replace(scenario.workload, duration_s=round(needed, 1)))


def _resolve_seed(scenario: Scenario, options: RunOptions) -> int:
    if options.seed is not None:
        return options.seed
    if options.replay is not None:
        replayed = read_schedule_doc(options.replay).seed  # version checked: RunFileError
        if replayed is not None:
            return replayed
    if scenario.seed is not None:
        return scenario.seed
    return random.SystemRandom().randrange(1, 2**31)


def _planned_faults(scenario: Scenario, options: RunOptions) -> list[FaultSpec]:
    if options.replay is not None:
        return replay_specs(read_schedule(options.replay))
    return list(scenario.faults)

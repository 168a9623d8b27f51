"""Run a list of ``FaultSpec`` against the run clock, record the timeline, heal everything.

In a nutshell: ``run_schedule(specs, ctx, stop)`` starts each fault at its ``at_s`` in a worker
thread of its own (so a long leader-loss does not delay a kill), and for each writes ``health``
(leader, reachable members) before and after the injection, ``start`` with the resolved targets,
``effect`` from verification (ok=false is recorded, never dropped) and ``end``. Every fault is
healed in ``finally``; afterwards the cluster is read back and any leftover (iptables rule,
toxic, disabled link, paused or stopped member) raises ``LeftoverFaultError``. The returned
``FiredFault`` list is what ``schedule.json`` holds; ``replay_specs`` turns it back into specs
that strike the same members at the same times.

    stop = threading.Event()
    fired = run_schedule(scenario.faults, ctx, stop)
    write_schedule(run_dir.schedule, fired, seed=seed)
"""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import FaultError
from harness.history import CLASS_KEY, FaultPhase
from harness.model import FaultSpec
from harness.model.kinds import fault_traits
from harness.model.runfiles import ScheduleDoc, read_schedule_doc, write_schedule_doc
from harness.nemesis.base import (
    Blocking,
    Fault,
    FaultContext,
    Interruptible,
    LeftoverFaultError,
    Verifiable,
)
from harness.nemesis.leftovers import find_leftovers
from harness.nemesis.registry import make_fault


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleOptions:
    health: bool = True  # health events before/after each injection
    verify: bool = True  # effect events from Verifiable faults
    check_leftovers: bool = True
    status_timeout_s: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class FiredFault:
    """A fault as it actually fired: the replayable record in ``schedule.json``."""

    id: int
    kind: str
    target: str | None  # as the scenario said (``store-leader``)
    planned_at_s: float
    at_s: float  # actual start on the run clock
    held_s: float  # from start to heal
    duration_s: float | None = None  # as the scenario said (per strike for leader-loss)
    targets: list[str] = field(default_factory=list)  # resolved member / link names
    resolved: dict[str, Any] = field(default_factory=dict)  # what replay needs
    params: dict[str, Any] = field(default_factory=dict)
    effect_ok: bool | None = None  # None: not verifiable (or verification off)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "planned_at_s": self.planned_at_s,
            "at_s": self.at_s,
            "held_s": self.held_s,
            "duration_s": self.duration_s,
            "targets": self.targets,
            "resolved": self.resolved,
            "params": self.params,
            "effect_ok": self.effect_ok,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FiredFault:
        return cls(
            id=int(d["id"]),
            kind=str(d["kind"]),
            target=d.get("target"),
            planned_at_s=float(d.get("planned_at_s", d["at_s"])),
            at_s=float(d["at_s"]),
            held_s=float(d.get("held_s", 0.0)),
            duration_s=d.get("duration_s"),
            targets=[str(t) for t in d.get("targets", [])],
            resolved=dict(d.get("resolved") or {}),
            params=dict(d.get("params") or {}),
            effect_ok=d.get("effect_ok"),
            error=d.get("error"),
        )

    def to_spec(self) -> FaultSpec:
        """The spec that replays this fault: same start, same hold, same resolved members."""
        params = {k: v for k, v in self.params.items() if k != "replay"}
        if self.resolved:
            params["replay"] = self.resolved
        traits = fault_traits(self.kind)  # an unknown kind: UnknownKindError naming the known
        own_course = traits.runs_own_course
        return FaultSpec(
            kind=traits.kind,
            at_s=round(self.at_s, 6),
            duration_s=self.duration_s if own_course else round(self.held_s, 6),
            target=self.target,
            params=params,
        )


def replay_specs(fired: list[FiredFault]) -> list[FaultSpec]:
    return [f.to_spec() for f in sorted(fired, key=lambda f: (f.at_s, f.id))]


def write_schedule(path: Path, fired: list[FiredFault], *, seed: int | None) -> None:
    faults = tuple(json.loads(json.dumps(f.to_json(), default=str)) for f in fired)
    write_schedule_doc(path, ScheduleDoc(seed=seed, faults=faults))


def read_schedule(path: Path) -> list[FiredFault]:
    """The fired faults of a schedule.json (version checked: ``RunFileError``)."""
    return [FiredFault.from_json(d) for d in read_schedule_doc(path).faults]


def hold_s(spec: FaultSpec, fault: Fault) -> float | None:
    """How long the fault stays injected before the schedule heals it; ``None``: until the
    final heal (``stop``), as for a kill without ``restart_after``."""
    if isinstance(fault, Blocking) and fault.runs_own_course():
        return 0.0  # its duration is its own business (per strike, per member)
    if spec.duration_s is not None:
        return float(spec.duration_s)
    restart_after = spec.params.get("restart_after_s")
    return None if restart_after is None else float(restart_after)


def health(ctx: FaultContext, timeout_s: float) -> dict[str, Any]:
    members = sorted(n.name for n in ctx.cluster.store_nodes())
    with ThreadPoolExecutor(max_workers=max(1, len(members))) as pool:
        statuses = dict(
            zip(members, pool.map(lambda m: ctx.cluster.status(m, timeout_s), members), strict=True)
        )
    leader = ctx.cluster.leader()
    term = (statuses.get(leader) or {}).get("term") if leader else None
    return {
        "leader": leader,
        "term": term,
        "reachable": [m for m, s in statuses.items() if s is not None],
        "unreachable": [m for m, s in statuses.items() if s is None],
    }


class _Run:
    """One schedule execution: the workers, the faults they hold, and what fired."""

    def __init__(self, ctx: FaultContext, stop: threading.Event, options: ScheduleOptions) -> None:
        self.ctx = ctx
        self.stop = stop
        self.options = options
        self.fired: list[FiredFault] = []
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.final = threading.Event()  # releases faults held "until the final heal"
        self.open_ended: set[int] = set()  # fault ids held until the final heal

    def _health(self, fault_id: int, kind: str, when: str) -> None:
        if self.options.health:
            detail = {"when": when, **health(self.ctx, self.options.status_timeout_s)}
            self.ctx.record(FaultPhase.HEALTH, kind, fault_id=fault_id, detail=detail)

    def lifecycle(self, spec: FaultSpec, fault: Fault, fault_id: int) -> None:
        ctx, kind = self.ctx, str(spec.kind)
        # Checkers learn what the fault does from its start event, never from its kind's name.
        klass = {CLASS_KEY: fault_traits(kind).fault_class.value}
        started_s = ctx.now_ns() / 1e9
        targets: list[str] = []
        resolved: dict[str, Any] = {}
        effect_ok: bool | None = None
        error: str | None = None
        try:
            self._health(fault_id, kind, "before")
            started_s = ctx.now_ns() / 1e9
            try:
                injection = fault.inject(ctx)
            except Exception as exc:
                ctx.record(
                    FaultPhase.START,
                    kind,
                    fault_id=fault_id,
                    detail={"target": spec.target, **klass},
                )
                raise FaultError(f"{kind} #{fault_id}: inject failed: {exc}") from exc
            targets, resolved = injection.targets, injection.resolved
            ctx.record(
                FaultPhase.START,
                kind,
                fault_id=fault_id,
                targets=targets,
                # A blocking inject (leader-loss strikes, a kill that waits for the exit) is
                # recorded when it began to strike, not when it returned.
                at_ns=int(started_s * 1e9),
                detail={
                    "target": spec.target,
                    "params": spec.params,
                    "started_s": started_s,
                    **injection.detail,
                    **klass,
                },
            )
            if self.options.verify and isinstance(fault, Verifiable):
                effect_ok = self._verify(fault, kind, fault_id, targets)
            self._health(fault_id, kind, "after")
            hold = hold_s(spec, fault)
            if hold is None:
                self.final.wait()  # the final heal: set on stop or when the schedule is done
            else:
                self.stop.wait(max(0.0, started_s + hold - ctx.now_ns() / 1e9))
        except Exception as exc:  # why broad: recorded on the timeline and in schedule.json
            error = str(exc)
            ctx.record(
                FaultPhase.EFFECT,
                kind,
                fault_id=fault_id,
                targets=targets,
                detail={"ok": False, "error": error},
            )
            effect_ok = False
        finally:
            error = self._heal(fault, kind, fault_id, targets, error)
            held = ctx.now_ns() / 1e9 - started_s
            with self.lock:
                self.fired.append(
                    FiredFault(
                        id=fault_id,
                        kind=kind,
                        target=spec.target,
                        planned_at_s=spec.at_s,
                        duration_s=spec.duration_s,
                        at_s=round(started_s, 6),
                        held_s=round(held, 6),
                        targets=targets,
                        resolved=resolved,
                        params=dict(spec.params),
                        effect_ok=effect_ok,
                        error=error,
                    )
                )

    def _verify(self, fault: Verifiable, kind: str, fault_id: int, targets: list[str]) -> bool:
        try:
            evidence = fault.verify(self.ctx)
            detail = evidence.to_json()
        except Exception as exc:  # why broad: a crashed verification is "not proven"
            detail = {"ok": False, "evidence": {}, "reason": f"verification crashed: {exc}"}
        self.ctx.record(FaultPhase.EFFECT, kind, fault_id=fault_id, targets=targets, detail=detail)
        return bool(detail["ok"])

    def _heal(
        self, fault: Fault, kind: str, fault_id: int, targets: list[str], error: str | None
    ) -> str | None:
        try:
            fault.heal(self.ctx)
            healed = True
        except Exception as exc:  # why broad: recorded; leftovers are checked at the end
            error = f"{error}; heal failed: {exc}" if error else f"heal failed: {exc}"
            healed = False
        self.ctx.record(
            FaultPhase.END,
            kind,
            fault_id=fault_id,
            targets=targets,
            detail={"healed": healed, **({"error": error} if error else {})},
        )
        return error

    def interrupt(self) -> None:
        self.stop.set()
        self.final.set()
        for fault in self.faults:
            if isinstance(fault, Interruptible):
                fault.interrupt()


def run_schedule(
    specs: list[FaultSpec] | tuple[FaultSpec, ...],
    ctx: FaultContext,
    stop: threading.Event,
    options: ScheduleOptions | None = None,
    finish: threading.Event | None = None,
    healed: list[FiredFault] | None = None,
) -> list[FiredFault]:
    """Fire ``specs`` at their ``at_s`` (run clock) until done or ``stop`` is set; heal all.

    Faults not yet started when ``stop`` is set never fire (and are not returned). A fault with
    neither ``duration_s`` nor ``restart_after_s`` (a kill without ``restart_after``) stays
    until the final heal: once every other fault has run its course, and ``finish`` is set
    when given (the run sets it when the workload ends), or ``stop``.
    """
    run = _Run(ctx, stop, options or ScheduleOptions())
    if healed is not None:
        run.fired = healed  # live progress for the caller: each fault appears once healed
    ordered = sorted(enumerate(specs), key=lambda p: (p[1].at_s, p[0]))
    # Built (and their random draws made) up front in schedule order: the same seed gives the
    # same choices whatever order the worker threads happen to run in.
    planned = [
        (spec, make_fault(spec, fault_id=i, rng=random.Random(ctx.rng.getrandbits(64))), i)
        for i, (_, spec) in enumerate(ordered, start=1)
    ]
    workers: list[threading.Thread] = []
    try:
        for spec, fault, fault_id in planned:
            if stop.wait(max(0.0, spec.at_s - ctx.now_ns() / 1e9)):
                break
            run.faults.append(fault)
            if hold_s(spec, fault) is None:
                run.open_ended.add(fault_id)
            worker = threading.Thread(
                target=run.lifecycle,
                args=(spec, fault, fault_id),
                name=f"nemesis:{spec.kind}#{fault_id}",
                daemon=True,
            )
            worker.start()
            workers.append(worker)
        for worker, (_, _, fault_id) in zip(workers, planned, strict=False):
            if fault_id not in run.open_ended:
                worker.join()
        if finish is not None:
            while not (finish.wait(0.1) or stop.is_set()):
                pass
        run.final.set()
    except BaseException:
        run.interrupt()  # Ctrl-C or a crash here: cut every fault short, heal, then re-raise
        raise
    finally:
        if stop.is_set():
            run.interrupt()
        for worker in workers:
            worker.join()
    fired = sorted(run.fired, key=lambda f: f.id)
    if run.options.check_leftovers:
        leftovers = find_leftovers(ctx)
        if leftovers:
            ctx.record(
                FaultPhase.HEALTH,
                "nemesis",
                fault_id=0,
                detail={"when": "final", "leftovers": leftovers},
            )
            raise LeftoverFaultError(leftovers, fired=fired)
    return fired


class NemesisThread(threading.Thread):
    """``run_schedule`` in a background thread: ``start()``, then ``result()`` when the workload
    is done (faults finish their course; "until the final heal" ones are healed then), or
    ``stop()`` to cut everything short."""

    def __init__(
        self,
        specs: list[FaultSpec] | tuple[FaultSpec, ...],
        ctx: FaultContext,
        options: ScheduleOptions | None = None,
    ) -> None:
        super().__init__(name="nemesis", daemon=True)
        self.specs, self.ctx, self.options = list(specs), ctx, options
        self.stop_event = threading.Event()
        self.finish_event = threading.Event()
        self.healed: list[FiredFault] = []  # grows as faults are healed, while it runs
        self.fired: list[FiredFault] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.fired = run_schedule(
                self.specs,
                self.ctx,
                self.stop_event,
                self.options,
                finish=self.finish_event,
                healed=self.healed,
            )
        except BaseException as exc:  # why broad: handed to the caller by result()
            self.error = exc
            self.fired = list(getattr(exc, "fired", []))

    def stop(self) -> None:
        """Cut every fault short now, heal, and skip what has not fired yet."""
        self.stop_event.set()

    def result(self, timeout_s: float | None = None) -> list[FiredFault]:
        """Let the schedule run its course, then the final heal; wait up to ``timeout_s``."""
        self.finish_event.set()
        self.join(timeout_s)
        if self.is_alive():
            raise FaultError(f"nemesis still running after {timeout_s} s")
        if self.error is not None:
            raise self.error
        return self.fired


def shift(specs: list[FaultSpec], offset_s: float) -> list[FaultSpec]:
    """Specs moved by ``offset_s`` on the run clock (e.g. to replay after a warm-up)."""
    return [replace(s, at_s=s.at_s + offset_s) for s in specs]

"""Synthetic run directories for the report's tests and benchmark: no cluster needed.

In a nutshell: ``write_synthetic_run(root, SyntheticRun(...))`` writes a run directory in the
real layout with the real writers (``JsonlWriter``, ``RunDir``): clients issuing register ops
against an atomic register (each op takes effect at its midpoint, so the history is
linearizable), slower and failing ops inside fault windows, status samples in which the leader
is lost and re-elected, fault start/effect/end events, schedule.json, run.json, scenario.yaml
and member logs. ``stale_read=True`` turns one late read into a read of an overwritten value —
a real linearizability violation the checker must find. Verdicts are not written: run the
checker (``harness.checker.check_run``) or write them yourself.

    write_synthetic_run(tmp_path / "run", SyntheticRun(ops=2_000, stale_read=True))
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.history import FaultEvent, FaultPhase, JsonlWriter, Op, OpType, RunDir, StatusSample
from harness.testing.simulate import AtomicRegister

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultWindow:
    kind: str
    start_s: float
    end_s: float
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticRun:
    ops: int = 2_000
    clients: int = 4
    keys: int = 3
    duration_s: float = 20.0
    members: int = 3
    seed: int = 7
    stale_read: bool = False
    faults: tuple[FaultWindow, ...] = field(
        default=(
            FaultWindow(kind="partition", start_s=5.0, end_s=9.0, targets=("store-1",)),
            FaultWindow(kind="kill", start_s=12.0, end_s=14.0, targets=("store-2",)),
        )
    )


@dataclass(slots=True, kw_only=True)
class _Call:
    process: int
    f: str
    key: str
    arg: Any
    start: int
    end: int
    outcome: OpType
    result: Any = None


def _in_fault(params: SyntheticRun, t_s: float) -> bool:
    return any(w.start_s <= t_s < w.end_s for w in params.faults)


def _calls(params: SyntheticRun, rng: random.Random) -> list[_Call]:
    per_client = max(1, params.ops // params.clients)
    gap_ns = int(params.duration_s * NS_PER_S / per_client)
    calls: list[_Call] = []
    for client in range(params.clients):
        process, t = client, rng.randrange(max(1, gap_ns))
        for _ in range(per_client):
            faulty = _in_fault(params, t / NS_PER_S)
            base_ms = rng.lognormvariate(1.0, 0.5) * (8 if faulty else 1)
            end = t + int(base_ms * 1_000_000)
            roll = rng.random()
            outcome = OpType.OK
            f = rng.choice(("read", "read", "write", "cas"))
            # A failed cas means "compare failed" to the checker; faults make cas unknown.
            if faulty and roll < 0.15 and f != "cas":
                outcome = OpType.FAIL
            elif faulty and roll < 0.25:
                outcome, end = OpType.INFO, t + NS_PER_S // 2  # the client's timeout
            key = f"k{rng.randrange(params.keys)}"
            calls.append(
                _Call(process=process, f=f, key=key, arg=None, start=t, end=end, outcome=outcome)
            )
            if outcome is OpType.INFO:
                process += params.clients  # Jepsen's rule: an info op retires its process
            t = end + max(1, gap_ns - (end - t))
    return calls


def _apply(calls: list[_Call], rng: random.Random) -> None:
    """Give each call its value and result from the simulator's atomic register
    (``simulate.AtomicRegister``), applying each op at its midpoint: linearizable by
    construction."""
    register = AtomicRegister()
    for c in sorted(calls, key=lambda c: (c.start + c.end) // 2):
        current = register.current(c.key)
        if c.f == "write":
            c.arg = register.fresh()
            if c.outcome is not OpType.FAIL:
                register.apply("write", c.key, c.arg)
        elif c.f == "cas":
            expect = current if rng.random() < 0.7 or current is None else current + 1000
            c.arg = [expect, register.fresh()]
            # ok or info (an unknown outcome that did take effect when the compare held)
            if c.outcome is not OpType.FAIL:
                _, compared = register.apply("cas", c.key, c.arg)
                if c.outcome is OpType.OK and not compared:
                    c.outcome = OpType.FAIL  # compare failed: certainly no effect
        elif c.outcome is OpType.OK:
            c.result, _ = register.apply("read", c.key, None)


def _make_stale(calls: list[_Call]) -> None:
    """The last ok read of a key returns the value of the write before the last one, although
    the last write completed before the read began."""
    for read in sorted(calls, key=lambda c: -c.start):
        if read.f != "read" or read.outcome is not OpType.OK:
            continue
        writes = [
            c for c in calls if c.key == read.key and c.f == "write" and c.outcome is OpType.OK
        ]
        writes.sort(key=lambda c: c.start)
        if len(writes) >= 2 and writes[-1].end < read.start and writes[-2].arg != read.result:
            read.result = writes[-2].arg
            return


def _ops(calls: list[_Call]) -> list[Op]:
    events: list[tuple[int, int, Op]] = []
    for c in calls:
        events.append(
            (
                c.start,
                0,
                Op(
                    index=0,
                    time=c.start,
                    process=c.process,
                    type=OpType.INVOKE,
                    f=c.f,
                    key=c.key,
                    value=c.arg,
                    node="api-1",
                ),
            )
        )
        value = c.result if c.f == "read" else c.arg
        error = "compare failed" if c.f == "cas" and c.outcome is OpType.FAIL else None
        if c.outcome is OpType.INFO:
            error = "read timeout"
        events.append(
            (
                c.end,
                1,
                Op(
                    index=0,
                    time=c.end,
                    process=c.process,
                    type=c.outcome,
                    f=c.f,
                    key=c.key,
                    value=value,
                    node="api-1",
                    error=error,
                ),
            )
        )
    events.sort(key=lambda e: (e[0], e[1]))
    out = []
    for i, (_, _, op) in enumerate(events):
        out.append(
            Op(
                index=i,
                time=op.time,
                process=op.process,
                type=op.type,
                f=op.f,
                key=op.key,
                value=op.value,
                node=op.node,
                error=op.error,
            )
        )
    return out


def _status(params: SyntheticRun) -> list[StatusSample]:
    members = [f"store-{i + 1}" for i in range(params.members)]
    leader, term, lost_at = members[0], 1, None
    out: list[StatusSample] = []
    step = NS_PER_S // 4
    # Offset from the fault times, so a sample sees the leader just before it is lost.
    for t in range(step // 2, int(params.duration_s * NS_PER_S) + 1, step):
        active = {
            m
            for w in params.faults
            if w.start_s * NS_PER_S <= t < w.end_s * NS_PER_S
            for m in w.targets
        }
        kills = {
            m
            for w in params.faults
            if w.kind == "kill" and w.start_s * NS_PER_S <= t < w.end_s * NS_PER_S
            for m in w.targets
        }
        if leader in active and lost_at is None:
            lost_at = t
        if lost_at is not None and t - lost_at >= int(1.2 * NS_PER_S):
            leader = next(m for m in members if m not in active)
            term, lost_at = term + 1, None
        for m in members:
            if m in kills:
                out.append(StatusSample(time=t, member=m, reachable=False))
                continue
            role = "leader" if m == leader and lost_at is None else "follower"
            if m in active:
                role = "candidate"
            out.append(
                StatusSample(
                    time=t,
                    member=m,
                    reachable=True,
                    role=role,
                    term=term,
                    leader=leader if lost_at is None else None,
                    commit_index=t // step,
                    applied_index=t // step,
                    state_hash=f"h{t // step}",
                )
            )
    return out


def write_synthetic_run(root: Path, params: SyntheticRun) -> RunDir:
    rng = random.Random(params.seed)
    run = RunDir(root).create()
    calls = _calls(params, rng)
    _apply(calls, rng)
    if params.stale_read:
        _make_stale(calls)
    with JsonlWriter(run.history) as w:
        for op in _ops(calls):
            w.write(op)
    with JsonlWriter(run.faults) as w:
        for i, fw in enumerate(params.faults, start=1):
            start = int(fw.start_s * NS_PER_S)
            w.write(
                FaultEvent(
                    time=start, type=FaultPhase.START, fault=fw.kind, targets=list(fw.targets), id=i
                )
            )
            w.write(
                FaultEvent(
                    time=start + NS_PER_S // 10,
                    type=FaultPhase.EFFECT,
                    fault=fw.kind,
                    targets=list(fw.targets),
                    id=i,
                    detail={"ok": True, "evidence": f"{fw.kind} verified"},
                )
            )
            w.write(
                FaultEvent(
                    time=int(fw.end_s * NS_PER_S),
                    type=FaultPhase.END,
                    fault=fw.kind,
                    targets=list(fw.targets),
                    id=i,
                )
            )
    with JsonlWriter(run.status) as w:
        for s in _status(params):
            w.write(s)
    _write_meta(run, params)
    return run


def _write_meta(run: RunDir, params: SyntheticRun) -> None:
    schedule = [
        {
            "id": i,
            "kind": fw.kind,
            "target": fw.targets[0] if fw.targets else None,
            "planned_at_s": fw.start_s,
            "at_s": fw.start_s,
            "held_s": fw.end_s - fw.start_s,
            "targets": list(fw.targets),
            "effect_ok": True,
        }
        for i, fw in enumerate(params.faults, start=1)
    ]
    run.schedule.write_text(json.dumps({"version": 1, "seed": params.seed, "faults": schedule}))
    run.scenario.write_text(
        f"name: synthetic\ncluster: {{store: {{members: {params.members}}}, apiservers: 1}}\n"
        f"workload: {{kind: register, clients: {params.clients}, keys: {params.keys}}}\n",
        encoding="utf-8",
    )
    meta = {
        "run_id": f"synthetic-s{params.seed}",
        "scenario": "synthetic",
        "description": "A synthetic run written by harness.testing.synthetic.",
        "seed": params.seed,
        "git_sha": "0" * 40,
        "image_tags": {"app": "chaosplane-app:synthetic"},
        "command": f"chaosplane run scenarios/synthetic.yaml --seed {params.seed}",
        "started_at": 1_764_000_000.0,
        "duration_s": params.duration_s,
        "cluster": {
            "engine": "pysyncobj",
            "store_members": params.members,
            "apiservers": 1,
            "bugs": [],
        },
        "workload": {
            "kind": "register",
            "clients": params.clients,
            "keys": params.keys,
            "rate": None,
            "duration_s": params.duration_s,
        },
        "expect": {
            "linearizable": True,
            "no_lost_writes": False,
            "recovered_within_s": 5.0,
            "converged_within_s": None,
            "min_availability": None,
        },
        "adequacy": {"ok": True, "reason": "synthetic", "windows": []},
    }
    run.meta.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    for m in range(params.members):
        lines = [f"{i / 10:.1f} store-{m + 1} INFO tick {i}" for i in range(50)]
        lines.append(f"5.0 store-{m + 1} WARN lost leader, starting election")
        run.logs.joinpath(f"store-{m + 1}.log").write_text("\n".join(lines) + "\n")

"""Inject + heal latency per fault kind on a 5-member store; one JSON line per kind.

In a nutshell: starts one cluster (5 store members, 1 apiserver), then for each fault kind
injects and heals it ``--repeat`` times (default 10), timing ``inject`` and ``heal`` apart
(verification is timed too but is not part of the goal), and prints the medians. Goal: a
partition applied and healed in < 50 ms. Between rounds the cluster is given time to re-elect,
outside the timings.

    .venv/bin/python benchmarks/nemesis.py [--repeat 10] [--kinds partition,loss,pause]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from typing import Any

from harness.cluster import ClusterSpec, start_cluster
from harness.images import ensure_images
from harness.model import FaultKind, FaultSpec
from harness.nemesis import FaultContext, Verifiable, find_leftovers, make_context, make_fault
from harness.toxiproxy import ToxiproxyClient

GOALS_MS = {"partition": 50.0}

CASES: list[tuple[FaultKind, str | None, dict[str, Any]]] = [
    (FaultKind.PARTITION, "halves", {}),
    (FaultKind.PARTITION, "ring", {}),
    (FaultKind.LOSS, "all", {"probability": 0.3}),
    (FaultKind.PAUSE, "random-store", {}),
    (FaultKind.KILL, "random-store", {}),
    (FaultKind.TOXIC, "client-api-1", {"type": "latency", "attributes": {"latency": 100}}),
    (FaultKind.LINK_DOWN, "api-1-store-*", {}),
    (FaultKind.LEADER_LOSS, None, {"action": "isolate"}),
    (FaultKind.ROLLING_RESTART, "apiservers", {"interval_s": 0.0}),
]


class _Timeline:
    def write(self, record: Any) -> None:  # the benchmark keeps no timeline
        pass


def measure(
    ctx: FaultContext,
    kind: FaultKind,
    target: str | None,
    params: dict[str, Any],
    repeat: int,
    members: int,
) -> dict[str, Any]:
    inject_ms, heal_ms, verify_ms, ok = [], [], [], 0
    for i in range(repeat + 1):  # round 0 warms up (first nsenter hook, PID lookups)
        spec = FaultSpec(kind=kind, at_s=0.0, target=target, params=params)
        fault = make_fault(spec, fault_id=1000 + i, rng=random.Random(i))
        t0 = time.perf_counter()
        fault.inject(ctx)
        t1 = time.perf_counter()
        good = fault.verify(ctx).ok if isinstance(fault, Verifiable) else True
        t2 = time.perf_counter()
        fault.heal(ctx)
        t3 = time.perf_counter()
        if i:
            inject_ms.append((t1 - t0) * 1e3)
            verify_ms.append((t2 - t1) * 1e3)
            heal_ms.append((t3 - t2) * 1e3)
            ok += good
        ctx.cluster.wait_leader_elected(30.0)
    total = [a + b for a, b in zip(inject_ms, heal_ms, strict=True)]
    row: dict[str, Any] = {
        "benchmark": "nemesis.inject_heal",
        "kind": kind.value,
        "target": target,
        "store_members": members,
        "n": repeat,
        "effect_ok": ok,
        "inject_ms_median": round(statistics.median(inject_ms), 2),
        "heal_ms_median": round(statistics.median(heal_ms), 2),
        "inject_heal_ms_median": round(statistics.median(total), 2),
        "inject_heal_ms_max": round(max(total), 2),
        "verify_ms_median": round(statistics.median(verify_ms), 2),
    }
    goal = GOALS_MS.get(kind.value)
    if goal is not None:
        row["goal_ms"] = goal
        row["goal_met"] = row["inject_heal_ms_median"] < goal
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--kinds", default="", help="comma list of fault kinds (default: all)")
    args = parser.parse_args(argv)
    kinds = {k for k in args.kinds.split(",") if k}
    images = ensure_images()
    with start_cluster(ClusterSpec(store_members=args.members, apiservers=1), images=images) as c:
        ctx = make_context(
            cluster=c,
            toxiproxy=ToxiproxyClient(c.info.toxiproxy, timeout_s=5.0),
            timeline=_Timeline(),
            start_ns=time.monotonic_ns(),
            seed=1,
        )
        for kind, target, params in CASES:
            if kinds and kind.value not in kinds:
                continue
            row = measure(ctx, kind, target, params, args.repeat, args.members)
            print(json.dumps(row), flush=True)
        leftovers = find_leftovers(ctx)
        if leftovers:
            print(json.dumps({"benchmark": "nemesis.leftovers", "leftovers": leftovers}))
            return 1
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "benchmark"
    sys.exit(main())

"""How fast the workload generator goes: max ops/s and scheduling jitter, as JSON lines.

In a nutshell: runs the register workload against the fake store (harness.testing.fakes) —
either in a thread of this process (``--server thread``: the client shares the GIL with the
server, a pessimistic figure) or in a child process (``--server process``, default) — first
unpaced (rate 0: the generator's ceiling), then paced at ``--rate`` to measure how late ops start
against their schedule slot (p50 / p99 jitter), by default at half the measured ceiling.
CPU ms per op and ops per CPU-second are printed too: on a shared machine they say more about
the generator than wall-clock ops/s. Goal: ≥ 2,000 ops/s.

    .venv/bin/python benchmarks/workload.py --duration-s 5 --clients 16
    {"bench": "workload.max", "server": "process", "clients": 16, "ops_per_s": 2650.1, ...}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.cluster.model import ClusterInfo
from harness.history import JsonlWriter, read_ops
from harness.model import WorkloadKind, WorkloadSpec
from harness.testing.fakes import FakeCluster
from harness.workload import make_workload

CHILD = """
import json, sys
from harness.testing.fakes import FakeCluster
with FakeCluster(apiservers=1, store_members=1) as fake:
    print(json.dumps(fake.info().to_json()), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
"""


@contextlib.contextmanager
def fake_cluster(where: str) -> Iterator[ClusterInfo]:
    if where == "thread":
        with FakeCluster(apiservers=1, store_members=1) as fake:
            yield fake.info()
        return
    root = str(Path(__file__).resolve().parents[1])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    try:
        assert child.stdout is not None
        raw = json.loads(child.stdout.readline())
        yield ClusterInfo(**{k: v for k, v in raw.items() if k != "links"})
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=10)


def measure(
    info: ClusterInfo, *, clients: int, rate: float, duration_s: float
) -> dict[str, object]:
    spec = WorkloadSpec(
        kind=WorkloadKind.REGISTER,
        clients=clients,
        keys=max(1, clients // 2),
        rate=rate,
        duration_s=duration_s,
        op_timeout_s=2.0,
        through="store",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.jsonl"
        with JsonlWriter(path) as writer:
            cpu_s = time.process_time()
            result = make_workload(spec, info, writer, time.monotonic_ns(), 1).run()
            cpu_s = time.process_time() - cpu_s
        records = sum(1 for _ in read_ops(path))
    completed = sum(v for k, v in result.counts.items() if k in ("ok", "fail", "info"))
    # CPU per op is what the generator costs; ops/s also depends on how busy the machine is.
    return {
        **result.to_json(),
        "records": records,
        "cpu_ms_per_op": round(1000 * cpu_s / max(completed, 1), 3),
        "ops_per_cpu_s": round(completed / max(cpu_s, 1e-9), 1),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=["process", "thread"], default="process")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration-s", type=float, default=5.0)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="paced run's ops/s (0: half the measured max)"
    )
    args = parser.parse_args()
    with fake_cluster(args.server) as info:
        unpaced = measure(info, clients=args.clients, rate=0.0, duration_s=args.duration_s)
        print(
            json.dumps(
                {
                    "bench": "workload.max",
                    "server": args.server,
                    "clients": args.clients,
                    "ops_per_s": unpaced["ops_per_s"],
                    "ok_per_s": unpaced["ok_per_s"],
                    "records": unpaced["records"],
                    "cpu_ms_per_op": unpaced["cpu_ms_per_op"],
                    "ops_per_cpu_s": unpaced["ops_per_cpu_s"],
                    "load_1m": unpaced["load_1m"],
                    "goal_ops_per_s": 2000,
                }
            ),
            flush=True,
        )
        # Jitter means something only below saturation: pace at half the measured ceiling.
        rate = args.rate or round(float(str(unpaced["ops_per_s"])) / 2, 1)
        paced = measure(info, clients=args.clients, rate=rate, duration_s=args.duration_s)
        print(
            json.dumps(
                {
                    "bench": "workload.paced",
                    "server": args.server,
                    "clients": args.clients,
                    "target_rate": rate,
                    "ops_per_s": paced["ops_per_s"],
                    "skipped_slots": paced["skipped_slots"],
                    "jitter_p50_ms": paced["jitter_p50_ms"],
                    "jitter_p99_ms": paced["jitter_p99_ms"],
                    "load_1m": paced["load_1m"],
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

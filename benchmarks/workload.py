"""How fast the workload generator goes: max ops/s and scheduling jitter, as JSON lines.

In a nutshell: runs the register workload against the fake store (harness.testing.fakes) —
either in a thread of this process (``--server thread``: the client shares the GIL with the
server, a pessimistic figure) or in a child process (``--server process``, default) — first
unpaced (rate 0: the generator's ceiling), then paced at ``--rate`` to measure how late ops start
against their schedule slot (p50 / p99 jitter), by default at half the measured ceiling.
Each figure twice, side by side in one run: clients in this process (``workers: 1``) and
spread over ``--workers`` processes (``harness.workload.workers``); ``--hog N`` keeps N cores
busy meanwhile (``stress-ng --cpu N``, or busy Python loops), the loaded-CI-runner case.
CPU ms per op and ops per CPU-second (workers included) are printed too: on a shared machine
they say more about the generator than wall-clock ops/s. Goal: ≥ 2,000 ops/s.

    .venv/bin/python benchmarks/workload.py --duration-s 5 --clients 16 --workers 2 --hog 1
    {"bench": "workload.max", "workers": 2, "ops_per_s": 2650.1, "history_in_order": true, ...}
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.history import JsonlWriter, read_ops
from harness.model import WorkloadKind, WorkloadSpec
from harness.model.cluster import ClusterInfo
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
    info: ClusterInfo, *, clients: int, rate: float, duration_s: float, workers: int
) -> dict[str, object]:
    spec = WorkloadSpec(
        kind=WorkloadKind.REGISTER,
        clients=clients,
        keys=max(1, clients // 2),
        rate=rate,
        duration_s=duration_s,
        op_timeout_s=2.0,
        through="store",
        workers=workers,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.jsonl"
        with JsonlWriter(path) as writer:
            cpu_s = _cpu_s()
            result = make_workload(spec, info, writer, time.monotonic_ns(), 1).run()
            cpu_s = _cpu_s() - cpu_s + float(result.extra.get("workers_cpu_s", 0.0))
        ops = list(read_ops(path))
    in_order = all(a.index < b.index and a.time <= b.time for a, b in itertools.pairwise(ops))
    completed = sum(v for k, v in result.counts.items() if k in ("ok", "fail", "info"))
    # CPU per op is what the generator costs; ops/s also depends on how busy the machine is.
    return {
        **result.to_json(),
        "workers": workers,
        "records": len(ops),
        "history_in_order": in_order,
        "cpu_ms_per_op": round(1000 * cpu_s / max(completed, 1), 3),
        "ops_per_cpu_s": round(completed / max(cpu_s, 1e-9), 1),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def _cpu_s() -> float:
    """CPU of this process and of its reaped children (worker processes report their own:
    they are the forkserver's children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextlib.contextmanager
def cpu_hog(cores: int) -> Iterator[str]:
    """Keep ``cores`` cores busy (``stress-ng --cpu N`` when installed, else busy Python loops)."""
    if cores <= 0:
        yield "none"
        return
    if shutil.which("stress-ng"):
        cmd = ["stress-ng", "--cpu", str(cores), "--quiet"]
        how = f"stress-ng --cpu {cores}"
    else:
        cmd = [
            sys.executable,
            "-c",
            "import multiprocessing as m, itertools\n"
            "def spin(): [0 for _ in itertools.count()]\n"
            f"ps = [m.Process(target=spin) for _ in range({cores})]\n"
            "[p.start() for p in ps]; [p.join() for p in ps]",
        ]
        how = f"python busy loop x{cores}"
    hog = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(1.0)
        yield how
    finally:
        os.killpg(hog.pid, signal.SIGTERM)
        hog.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=["process", "thread"], default="process")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration-s", type=float, default=5.0)
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of the parallel side (vs 1)"
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="paced run's ops/s (0: half the measured max)"
    )
    parser.add_argument("--hog", type=int, default=0, help="cores to keep busy meanwhile")
    args = parser.parse_args()
    with fake_cluster(args.server) as info, cpu_hog(args.hog) as hog:
        unpaced: dict[int, dict[str, object]] = {}
        for workers in sorted({1, args.workers}):
            unpaced[workers] = measure(
                info, clients=args.clients, rate=0.0, duration_s=args.duration_s, workers=workers
            )
            line = {
                "bench": "workload.max",
                "server": args.server,
                "hog": hog,
                "clients": args.clients,
            }
            keys = (
                "workers",
                "ops_per_s",
                "ok_per_s",
                "records",
                "history_in_order",
                "cpu_ms_per_op",
                "ops_per_cpu_s",
                "load_1m",
            )
            print(
                json.dumps(
                    {**line, **{k: unpaced[workers][k] for k in keys}, "goal_ops_per_s": 2000}
                ),
                flush=True,
            )
        # Jitter means something only below saturation: pace at half the slower ceiling.
        slowest = min(float(str(u["ops_per_s"])) for u in unpaced.values())
        rate = args.rate or round(slowest / 2, 1)
        for workers in sorted({1, args.workers}):
            paced = measure(
                info, clients=args.clients, rate=rate, duration_s=args.duration_s, workers=workers
            )
            ops_per_s = float(str(paced["ops_per_s"]))
            print(
                json.dumps(
                    {
                        "bench": "workload.paced",
                        "server": args.server,
                        "hog": hog,
                        "clients": args.clients,
                        "workers": workers,
                        "target_rate": rate,
                        "ops_per_s": ops_per_s,
                        "rate_met_within_10pct": ops_per_s >= 0.9 * rate,
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

"""Benchmark the store on 3 loopback members (no Docker), one JSON line per figure.

In a nutshell: writes/s and reads/s with p50/p99 latency, sequential and concurrent, straight
against the members' HTTP API; then the time from SIGKILL of the leader to the next acknowledged
write, median of N rounds. Speed goals live here, never in tests.

    .venv/bin/python benchmarks/store.py --ops 500 --failovers 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from controlplane.kvstore.loopback import LoopbackCluster


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def _load(url: str, *, kind: str, ops: int, concurrency: int) -> tuple[float, list[float]]:
    """Run ``ops`` requests with ``concurrency`` workers; returns (elapsed_s, latencies_ms)."""
    latencies: list[float] = []
    counter = iter(range(ops))
    async with httpx.AsyncClient(timeout=10.0) as client:

        async def worker() -> None:
            for i in counter:
                key = f"bench/{i % 100}"
                t0 = time.perf_counter()
                if kind == "write":
                    resp = await client.put(f"{url}/kv/{key}", json={"value": i})
                else:
                    resp = await client.get(f"{url}/kv/{key}")
                if resp.status_code not in (200, 404):
                    raise RuntimeError(f"{kind} {key}: {resp.status_code} {resp.text}")
                latencies.append((time.perf_counter() - t0) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies


def throughput(cluster: LoopbackCluster, ops: int) -> None:
    leader = cluster.wait_leader(timeout_s=20)
    follower = next(n for n in cluster.members if n != leader)
    for target, role in ((leader, "leader"), (follower, "follower")):
        for kind in ("write", "read"):
            for concurrency in (1, 8):
                elapsed, lat = asyncio.run(
                    _load(cluster.url(target), kind=kind, ops=ops, concurrency=concurrency)
                )
                emit(
                    bench="store",
                    metric=f"{kind}s_per_s",
                    via=role,
                    concurrency=concurrency,
                    ops=ops,
                    value=round(ops / elapsed, 1),
                    p50_ms=round(_pct(lat, 0.50), 2),
                    p99_ms=round(_pct(lat, 0.99), 2),
                )


def failover(cluster: LoopbackCluster, rounds: int) -> None:
    samples: list[float] = []
    client = httpx.Client(timeout=2.0)
    for r in range(rounds):
        leader = cluster.wait_leader(timeout_s=20)
        target = next(n for n in cluster.members if n != leader)
        cluster.kill(leader)
        killed_at = time.perf_counter()
        while True:
            try:
                resp = client.put(
                    f"{cluster.url(target)}/kv/failover", json={"value": r, "request_id": f"f{r}"}
                )
                if resp.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - killed_at > 30:
                raise RuntimeError("no acknowledged write 30 s after the leader kill")
            time.sleep(0.01)
        samples.append(time.perf_counter() - killed_at)
        emit(bench="store", metric="leader_kill_to_ack_s", round=r, value=round(samples[-1], 3))
        cluster.start(leader)
        cluster.wait_converged(timeout_s=20)
    client.close()
    emit(
        bench="store",
        metric="leader_kill_to_ack_s_median",
        rounds=rounds,
        value=round(statistics.median(samples), 3),
        min=round(min(samples), 3),
        max=round(max(samples), 3),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=500, help="requests per throughput run")
    parser.add_argument("--failovers", type=int, default=5, help="leader-kill rounds")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="chaosplane-bench-") as tmp,
        LoopbackCluster(base_dir=Path(tmp)) as cluster,
    ):
        throughput(cluster, args.ops)
        failover(cluster, args.failovers)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from harness.testing.loopback import LoopbackCluster

_FAILOVER_LIMIT_S = 30.0


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def _load(
    url: str, *, kind: str, ops: int, concurrency: int
) -> tuple[float, list[float], int]:
    """Run ``ops`` requests with ``concurrency`` workers; returns (elapsed_s, latencies_ms of
    the answered ones, number of failed requests)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(ops))
    async with httpx.AsyncClient(timeout=10.0) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                key = f"bench/{i % 100}"
                t0 = time.perf_counter()
                try:
                    if kind == "write":
                        resp = await client.put(f"{url}/kv/{key}", json={"value": i})
                    else:
                        resp = await client.get(f"{url}/kv/{key}")
                except httpx.HTTPError:
                    errors += 1
                    continue
                if resp.status_code not in (200, 404):
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, errors


def throughput(cluster: LoopbackCluster, ops: int, engine: str, concurrencies: list[int]) -> None:
    leader = cluster.wait_leader(timeout_s=20)
    follower = next(n for n in cluster.members if n != leader)
    for target, role in ((leader, "leader"), (follower, "follower")):
        for kind in ("write", "read"):
            for concurrency in concurrencies:
                elapsed, lat, errors = asyncio.run(
                    _load(cluster.url(target), kind=kind, ops=ops, concurrency=concurrency)
                )
                emit(
                    bench="store",
                    engine=engine,
                    metric=f"{kind}s_per_s",
                    via=role,
                    concurrency=concurrency,
                    ops=ops,
                    value=round(len(lat) / elapsed, 1),
                    errors=errors,
                    p50_ms=round(_pct(lat, 0.50), 2) if lat else None,
                    p99_ms=round(_pct(lat, 0.99), 2) if lat else None,
                )


def failover(cluster: LoopbackCluster, rounds: int, engine: str) -> None:
    samples: list[float] = []
    client = httpx.Client(timeout=2.0)
    for r in range(rounds):
        leader = cluster.wait_leader(timeout_s=20)
        target = next(n for n in cluster.members if n != leader)
        cluster.kill(leader)
        took = _time_to_ack(client, cluster.url(target), r)
        if took is None:
            error = f"no acknowledged write within {_FAILOVER_LIMIT_S}s"
            emit(bench="store", engine=engine, metric="leader_kill_to_ack_s", round=r, error=error)
            break
        samples.append(took)
        emit(
            bench="store",
            engine=engine,
            metric="leader_kill_to_ack_s",
            round=r,
            value=round(took, 3),
        )
        cluster.start(leader)
        cluster.wait_converged(timeout_s=30)
    client.close()
    emit(
        bench="store",
        engine=engine,
        metric="leader_kill_to_ack_s_median",
        rounds=len(samples),
        value=round(statistics.median(samples), 3) if samples else None,
        min=round(min(samples), 3) if samples else None,
        max=round(max(samples), 3) if samples else None,
    )


def _time_to_ack(client: httpx.Client, url: str, round_no: int) -> float | None:
    """Seconds from now until one PUT (retried with the same request id) is acknowledged."""
    start = time.perf_counter()
    while time.perf_counter() - start < _FAILOVER_LIMIT_S:
        try:
            body = {"value": round_no, "request_id": f"failover-{round_no}"}
            if client.put(f"{url}/kv/failover", json=body).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=500, help="requests per throughput run")
    parser.add_argument("--failovers", type=int, default=5, help="leader-kill rounds")
    parser.add_argument("--engine", default="pysyncobj", choices=["pysyncobj", "raftos"])
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 8], help="client counts to run"
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the members are killed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with (
        tempfile.TemporaryDirectory(prefix="chaosplane-bench-") as tmp,
        LoopbackCluster(base_dir=Path(tmp), extra_env={"KV_ENGINE": args.engine}) as cluster,
    ):
        throughput(cluster, args.ops, args.engine, args.concurrency)
        failover(cluster, args.failovers, args.engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())

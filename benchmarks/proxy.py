"""Cost of one linkproxy hop without toxics: added round-trip latency and throughput.

In a nutshell: starts ``python -m linkproxy`` as a subprocess (its own interpreter, as in the
container) and a threaded echo server, then measures the same workloads directly and through one
proxy, printing JSON lines. Goal: < 1 ms added p99 per request-response round trip.

    .venv/bin/python benchmarks/proxy.py --round-trips 3000 --megabytes 64
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from linkproxy.echo import EchoServer

GOAL_ADDED_P99_MS = 1.0


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def round_trips_ms(address: tuple[str, int], count: int, payload_bytes: int) -> list[float]:
    payload = b"x" * payload_bytes
    samples = []
    with socket.create_connection(address, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(count + count // 10):  # the first tenth warms up and is discarded
            start = time.perf_counter()
            sock.sendall(payload)
            got = 0
            while got < payload_bytes:
                got += len(sock.recv(65536))
            if i >= count // 10:
                samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def throughput_mb_s(address: tuple[str, int], total_bytes: int) -> float:
    block = os.urandom(256 * 1024)
    with socket.create_connection(address, timeout=30) as sock:

        def send() -> None:
            sent = 0
            while sent < total_bytes:
                sock.sendall(block)
                sent += len(block)

        sender = threading.Thread(target=send)
        start = time.perf_counter()
        sender.start()
        received = 0
        while received < total_bytes:
            received += len(sock.recv(1 << 20))
        elapsed_s = time.perf_counter() - start
        sender.join()
    return total_bytes / elapsed_s / 1e6


def _start_proxy() -> tuple[subprocess.Popen[str], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        api_port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkproxy", "--host", "127.0.0.1", "--port", str(api_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.kill()
        raise RuntimeError(f"linkproxy did not start: {line!r}")
    return proc, api_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round-trips", type=int, default=3000)
    parser.add_argument("--payload-bytes", type=int, default=64)
    parser.add_argument("--megabytes", type=int, default=64)
    args = parser.parse_args()

    proc, api_port = _start_proxy()
    try:
        with EchoServer() as echo:
            listen = httpx.post(
                f"http://127.0.0.1:{api_port}/proxies",
                json={"name": "bench", "listen": "127.0.0.1:0", "upstream": echo.address},
            ).json()["listen"]
            paths = {
                "direct": ("127.0.0.1", echo.port),
                "proxy": ("127.0.0.1", int(listen.rpartition(":")[2])),
            }
            rtt: dict[str, list[float]] = {}
            for path, address in paths.items():
                rtt[path] = round_trips_ms(address, args.round_trips, args.payload_bytes)
                _emit(
                    {
                        "benchmark": "proxy.round_trip",
                        "path": path,
                        "n": len(rtt[path]),
                        "payload_bytes": args.payload_bytes,
                        "p50_ms": round(statistics.median(rtt[path]), 4),
                        "p90_ms": round(_percentile(rtt[path], 0.90), 4),
                        "p99_ms": round(_percentile(rtt[path], 0.99), 4),
                        # The tail is mostly CPU contention on a shared machine: say how much.
                        "load_avg_1m": round(os.getloadavg()[0], 2),
                        "cpus": os.cpu_count(),
                    }
                )
            added_p50 = statistics.median(rtt["proxy"]) - statistics.median(rtt["direct"])
            added_p99 = _percentile(rtt["proxy"], 0.99) - _percentile(rtt["direct"], 0.99)
            _emit(
                {
                    "benchmark": "proxy.added_latency",
                    "added_p50_ms": round(added_p50, 4),
                    "added_p99_ms": round(added_p99, 4),
                    "goal_p99_ms": GOAL_ADDED_P99_MS,
                    "goal_met": added_p99 < GOAL_ADDED_P99_MS,
                }
            )
            for path, address in paths.items():
                _emit(
                    {
                        "benchmark": "proxy.throughput",
                        "path": path,
                        "megabytes": args.megabytes,
                        "mb_per_s": round(throughput_mb_s(address, args.megabytes << 20), 1),
                    }
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()

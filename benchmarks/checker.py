"""Checker speed and memory: one JSON line per history, on the shared corpus and generated ones.

In a nutshell: for each history, the time of ``check_linearizable`` (pairing included, reading
the file excluded) and, in a second run under tracemalloc, its peak Python memory. Goals: a
100,000-op history with 30 clients and 200 keys in < 10 s and < 1 GiB. Reference, Porcupine
(Go, one thread): 102 etcd histories 0.337 s in all; kv c50-ok 0.139 s, c50-bad 0.018 s,
c10-ok/bad 1.76/2.21 s.

    .venv/bin/python benchmarks/checker.py                 # corpus + generated
    .venv/bin/python benchmarks/checker.py --only generated --no-memory
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

from harness.checker import LinearizabilityOptions, check_linearizable, pair_calls
from harness.checker.simulate import SimParams, simulate_register
from harness.history import Op, read_ops

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "histories" / "porcupine"


def measure(name: str, ops: list[Op], *, memory: bool) -> dict[str, Any]:
    options = LinearizabilityOptions(time_budget_s=300, minimize_budget_s=2)
    start = time.perf_counter()
    result = check_linearizable(pair_calls(ops).calls, options)
    seconds = time.perf_counter() - start
    row: dict[str, Any] = {
        "history": name,
        "events": len(ops),
        "verdict": result.verdict.value,
        "seconds": round(seconds, 4),
    }
    if memory:
        tracemalloc.start()
        check_linearizable(pair_calls(ops).calls, options)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        row["peak_mib"] = round(peak / 2**20, 2)
    if result.verdict.value == "invalid":
        row["unorderable"] = len(result.details["unorderable"])
    return row


def corpus_rows(memory: bool) -> list[dict[str, Any]]:
    if not (CORPUS / "jsonl").is_dir():
        return [{"skipped": f"corpus not found at {CORPUS}"}]
    rows = []
    for path in sorted((CORPUS / "jsonl").glob("*.jsonl")):
        ops = list(read_ops(path))
        if ops:
            rows.append(measure(path.stem, ops, memory=memory))
    etcd = [r for r in rows if r["history"].startswith("etcd_")]
    rows.append(
        {
            "history": "etcd-total",
            "count": len(etcd),
            "seconds": round(sum(r["seconds"] for r in etcd), 3),
            "porcupine_go_seconds": 0.337,
        }
    )
    return rows


def generated_rows(memory: bool) -> list[dict[str, Any]]:
    cases = [
        ("gen-100k-c30-k200", SimParams(clients=30, keys=200, ops=100_000)),
        ("gen-20k-c10-k1", SimParams(clients=10, keys=1, ops=20_000)),
    ]
    rows = []
    for name, params in cases:
        ops = simulate_register(params, random.Random(1).randrange)
        rows.append(measure(name, ops, memory=memory))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["corpus", "generated"])
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()
    memory = not args.no_memory
    rows: list[dict[str, Any]] = []
    if args.only in (None, "corpus"):
        rows += corpus_rows(memory)
    if args.only in (None, "generated"):
        rows += generated_rows(memory)
    for row in rows:
        print(json.dumps(row), flush=True)
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"process_max_rss_mib": round(maxrss_kib / 1024, 1)}))


if __name__ == "__main__":
    main()

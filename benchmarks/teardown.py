"""Teardown of a 3-store / 2-apiserver cluster: the old parallel force-removal vs the new order.

In a nutshell: starts the cluster ``--repeat`` times per strategy (interleaved, same process,
same engine — DOCKER_HOST picks it) and times only the removal of its containers and network:

* ``parallel-8`` — what the reaper did before issue 17: 8 threads force-remove every container
  at once, then the network (the pattern that leaked an endpoint on dockerd 20.10);
* ``ordered`` — ``reaper.remove_objects`` now: endpoints disconnected one at a time, a pool of 4
  removes the containers, each waited for until the engine no longer knows it, then the network.

Prints one JSON line per strategy (median, min, max seconds; refused network removals).

    .venv/bin/python benchmarks/teardown.py --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.cluster import ClusterSpec, DockerCluster, reaper  # noqa: E402
from harness.cluster import labels as L  # noqa: E402


def parallel_8(client: Any, label: str) -> int:
    import docker.errors

    containers, networks, _ = reaper.list_objects(client, label)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(reaper._remove_container, containers))
    refused = 0
    for net in networks:
        try:
            net.remove()
        except docker.errors.APIError:
            refused += 1
            time.sleep(0.25)  # what the old retry loop would wait before its second try
            with contextlib.suppress(docker.errors.APIError):
                net.remove()
    return refused


def ordered(client: Any, label: str) -> int:
    reaper.remove_objects(client, label)
    _, networks, _ = reaper.list_objects(client, label)
    return len(networks)  # left in place: refused even after the retries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    strategies = {"parallel-8": parallel_8, "ordered": ordered}
    times: dict[str, list[float]] = {name: [] for name in strategies}
    refused: dict[str, int] = dict.fromkeys(strategies, 0)
    for _ in range(args.repeat):
        for name, remove in strategies.items():
            cluster = DockerCluster(ClusterSpec(store_members=3, apiservers=2)).start()
            cluster.detach()
            client = cluster._client
            started = time.perf_counter()
            refused[name] += remove(client, f"{L.RUN}={cluster.run_id}")
            times[name].append(time.perf_counter() - started)
            reaper.reap_run(client, cluster.run_id)  # whatever a strategy left
    for name, values in times.items():
        print(json.dumps({
            "strategy": name, "repeat": args.repeat,
            "median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
            "max_s": round(max(values), 3),
            "network_refused": refused[name],
        }))  # fmt: skip


if __name__ == "__main__":
    main()

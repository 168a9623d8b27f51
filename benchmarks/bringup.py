"""Bring-up and teardown of a 3-store / 2-apiserver cluster: cold, warm, and plain docker-py.

In a nutshell: prints one JSON line per measurement (medians of ``--repeat`` runs, default 5):

* ``cold``  — a fresh Python process: imports, image preflight, network, proxy, store, links,
  apiservers, every member ready, a leader agreed (what ``chaosplane up`` costs);
* ``warm``  — the same inside one process that has already started a cluster once;
* ``docker-py-baseline`` — the same six containers on a fresh network with plain docker-py,
  started in parallel, without any readiness wait: the floor Docker itself sets;
* ``images`` — ``ensure_images()`` when nothing changed, and re-importing the base image from
  the cached rootfs tarball (into a throwaway tag).

    .venv/bin/python benchmarks/bringup.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.cluster import labels as L  # noqa: E402
from harness.cluster.cluster import DockerCluster  # noqa: E402
from harness.cluster.members import apiserver_members, proxy_member, store_members  # noqa: E402
from harness.cluster.subnet import SubnetPlan, create_network  # noqa: E402
from harness.images import ImageTags, Steps, ensure_images  # noqa: E402
from harness.model.cluster import ClusterSpec  # noqa: E402

SPEC = ClusterSpec(store_members=3, apiservers=2)


def summary(name: str, up_s: list[float], down_s: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "bench": "bringup",
        "variant": name,
        "store": SPEC.store_members,
        "apiservers": SPEC.apiservers,
        "n": len(up_s),
        "up_median_s": round(statistics.median(up_s), 3),
        "up_min_s": round(min(up_s), 3),
        "up_max_s": round(max(up_s), 3),
        "down_median_s": round(statistics.median(down_s), 3) if down_s else None,
        **extra,
    }


def one_bringup(
    images: ImageTags, phases: list[dict[str, float]] | None = None
) -> tuple[float, float]:
    started = time.monotonic()
    cluster = DockerCluster(SPEC, images=images).start()
    up = time.monotonic() - started
    if phases is not None:
        phases.append(dict(cluster.timings_s))
    started = time.monotonic()
    cluster.teardown()
    return up, time.monotonic() - started


def phase_medians(phases: list[dict[str, float]]) -> dict[str, float]:
    """Median seconds per bring-up phase (where the warm time goes)."""
    names = [name for name in phases[0]] if phases else []
    return {n: round(statistics.median(p.get(n, 0.0) for p in phases), 3) for n in names}


CHILD = """
import json, time
t0 = time.monotonic()
from harness.cluster.cluster import DockerCluster
from harness.model.cluster import ClusterSpec
from harness.images import require_images
cluster = DockerCluster(ClusterSpec(store_members=3, apiservers=2), images=require_images()).start()
up = time.monotonic() - t0
t1 = time.monotonic()
cluster.teardown()
print(json.dumps({"up": up, "down": time.monotonic() - t1}))
"""


def cold(repeat: int) -> dict[str, Any]:
    ups, downs = [], []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", CHILD],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            raise SystemExit(
                f"cold bring-up failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        ups.append(result["up"])
        downs.append(result["down"])
    return summary("cold", ups, downs, note="fresh process incl. imports and image preflight")


def warm(images: ImageTags, repeat: int) -> dict[str, Any]:
    one_bringup(images)  # discarded: warms imports, clients, the daemon's caches
    phases: list[dict[str, float]] = []
    ups, downs = zip(*(one_bringup(images, phases) for _ in range(repeat)), strict=True)
    return summary(
        "warm",
        list(ups),
        list(downs),
        phases_median_s=phase_medians(phases),
        load_1m=round(os.getloadavg()[0], 2),
        note="same process, images given",
    )


def docker_baseline(images: ImageTags, repeat: int) -> dict[str, Any]:
    import docker
    from docker.types import EndpointConfig, IPAMConfig, IPAMPool

    client = docker.from_env()
    ups, downs = [], []
    for _ in range(repeat):
        run_id = L.new_run_id("bench")
        labels = L.run_labels(run_id, L.current_owner())
        started = time.monotonic()

        def create(plan: SubnetPlan, run_id: str = run_id, labels: dict[str, str] = labels) -> Any:
            ipam = IPAMConfig(
                pool_configs=[IPAMPool(subnet=str(plan.subnet), gateway=plan.gateway)]
            )
            return client.networks.create(f"{run_id}-net", ipam=ipam, labels=labels)

        network, plan = create_network(run_id, create)
        members = [proxy_member(SPEC, plan), *store_members(SPEC, plan)]
        members += apiserver_members(SPEC, plan, "tok")

        def run(member: Any, network: Any = network, labels: dict[str, str] = labels) -> Any:
            image = images.proxy if member.name == "toxiproxy" else images.app
            return client.containers.run(
                image,
                member.command,
                detach=True,
                name=f"{network.name[:-4]}-{member.name}",
                environment=member.env,
                labels=labels,
                init=True,
                network=network.name,
                networking_config={
                    network.name: EndpointConfig(
                        "1.41", aliases=[member.name], ipv4_address=member.ip
                    )
                },
            )

        with ThreadPoolExecutor(max_workers=len(members)) as pool:
            containers = list(pool.map(run, members))
        ups.append(time.monotonic() - started)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(containers)) as pool:
            list(pool.map(lambda c: c.remove(force=True, v=True), containers))
        network.remove()
        downs.append(time.monotonic() - started)
    return summary("docker-py-baseline", ups, downs, note="6 containers started, no readiness wait")


def image_timings(images: ImageTags, repeat: int) -> dict[str, Any]:
    import docker

    from harness.images.base import tarball_path
    from harness.images.ensure import cache_dir
    from harness.images.recipe import BaseRecipe

    noop = []
    for _ in range(repeat):
        started = time.monotonic()
        ensure_images(steps=Steps(quiet=True))
        noop.append(time.monotonic() - started)
    tarball = tarball_path(cache_dir(), BaseRecipe())
    tag = f"chaosplane-bench-base:{L.new_run_id('import')}"
    started = time.monotonic()
    subprocess.run(
        ["sh", "-c", f'zstd -dc "{tarball}" | docker import - {tag}'],
        check=True,
        capture_output=True,
    )
    reimport_s = time.monotonic() - started
    client = docker.from_env()
    client.images.remove(tag)
    sizes = {
        kind: client.images.get(getattr(images, kind)).attrs["Size"] for kind in ("base", "app")
    }
    return {
        "bench": "images",
        "ensure_noop_median_s": round(statistics.median(noop), 3),
        "base_reimport_from_cache_s": round(reimport_s, 3),
        "base_tarball_mb": round(tarball.stat().st_size / 1e6, 1),
        "base_image_mb": round(sizes["base"] / 1e6, 1),
        "app_image_mb": round(sizes["app"] / 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--only", choices=["cold", "warm", "baseline", "images"], action="append", default=None
    )
    args = parser.parse_args()
    only = set(args.only or ["cold", "warm", "baseline", "images"])
    images = ensure_images(steps=Steps(quiet=True))
    if "images" in only:
        print(json.dumps(image_timings(images, args.repeat)), flush=True)
    if "baseline" in only:
        print(json.dumps(docker_baseline(images, args.repeat)), flush=True)
    if "cold" in only:
        print(json.dumps(cold(args.repeat)), flush=True)
    if "warm" in only:
        print(json.dumps(warm(images, args.repeat)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

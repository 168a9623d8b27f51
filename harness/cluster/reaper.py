"""Remove Docker objects left behind by runs whose owner process is dead.

In a nutshell: every container and network a run makes is labelled (``labels.py``). At each
cluster start ``reap_dead()`` lists objects labelled ``chaosplane``, groups them by run, and
removes the runs whose owner is gone (boot id + PID + start time no longer match), never a
live run's and never a detached (``chaosplane up``) run's. ``reap_run(id)`` removes one run;
``reap_all()`` removes everything labelled ``chaosplane`` (``chaosplane clean --all``).
Containers go first, then networks, then volumes: each container is disconnected from the
run's networks one at a time, removed by a small bounded pool, and waited for until the
engine no longer knows it; only then is the network removed. (Force-removing 13 containers at
once and the network right after left dockerd 20.10 with a leaked endpoint it would not free
until restart — moby #17217/#42119 — so endpoints are released serially, before the removal
that would race them.) Reaping a run also removes its state dir (``kubeconfig.state_dir``:
the kubeconfig of a cluster that had no run directory), useless once the cluster is gone.

    reaped = reap_dead(client)      # ["cp-1a2b3c4d", …]
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.cluster import labels as L
from harness.cluster.kubeconfig import state_dir

log = logging.getLogger(__name__)


def _labels_of(obj: Any) -> dict[str, str]:
    attrs = obj.attrs
    found = attrs.get("Labels") or (attrs.get("Config") or {}).get("Labels") or {}
    return dict(found)


def list_objects(client: Any, label: str = L.KEY) -> tuple[list[Any], list[Any], list[Any]]:
    flt = {"label": [label]}
    # sparse: the list call alone (labels included); a full inspect of each container races
    # with concurrent runs removing theirs (404 mid-listing).
    containers = client.containers.list(all=True, filters=flt, sparse=True)
    networks = client.networks.list(filters=flt)
    volumes = client.volumes.list(filters=flt)
    return containers, networks, volumes


def dead_runs(client: Any, *, this_boot: str | None = None) -> set[str]:
    """Run ids with at least one object whose owner is dead (or unknown)."""
    boot = this_boot if this_boot is not None else L.boot_id()
    dead: set[str] = set()
    containers, networks, volumes = list_objects(client)
    for obj in [*containers, *networks, *volumes]:
        found = _labels_of(obj)
        owner = L.parse_owner(found.get(L.OWNER))
        if not L.owner_alive(owner, this_boot=boot):
            dead.add(found.get(L.RUN, ""))  # "" = no run label: reaped with the unowned
    return dead


def _remove_container(container: Any) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True, v=True)


_STUCK: set[str] = set()  # networks the daemon would not remove (this process gave up on them)


def _remove_network(net: Any, attempts: int = 8, pause_s: float = 0.25) -> None:
    """Remove ``net``. The daemon may still hold endpoints of containers just force-removed
    ("has active endpoints"), so retry for a couple of seconds; a network it still refuses
    then (dockerd 20.10 can leak an endpoint count: only a daemon restart frees it) is left
    with a warning — it holds no container, and raising would stop every later cluster
    start at its reaper."""
    import docker.errors

    for attempt in range(1 if net.id in _STUCK else attempts):
        try:
            net.remove()
            _STUCK.discard(net.id)
            return
        except docker.errors.APIError as exc:
            if "active endpoints" not in str(exc):
                raise
            if attempt < attempts - 1 and net.id not in _STUCK:
                time.sleep(pause_s)
    _STUCK.add(net.id)
    log.warning(
        'network %s: the daemon refuses to remove it ("has active endpoints") although no '
        "container is attached; left in place. Fix: restart dockerd, then `chaosplane clean`",
        net.name,
    )


REMOVE_WORKERS = 4  # bounded: the daemon serialises most of the work anyway
GONE_TIMEOUT_S = 30.0


def _disconnect_all(networks: list[Any]) -> None:
    """Release every endpoint of ``networks``, one call at a time (the racy part, serially)."""
    import docker.errors

    for net in networks:
        with contextlib.suppress(docker.errors.NotFound):
            net.reload()
            for attached in net.attrs.get("Containers") or {}:
                with contextlib.suppress(docker.errors.APIError):
                    net.disconnect(attached, force=True)


def wait_containers_gone(
    client: Any, ids: list[str], timeout_s: float = GONE_TIMEOUT_S
) -> list[str]:
    """Poll until the engine knows none of ``ids``; returns those still there at the deadline."""
    import docker.errors

    pending = list(ids)
    deadline = time.monotonic() + timeout_s
    while pending:
        still: list[str] = []
        for cid in pending:
            try:
                client.api.inspect_container(cid)
                still.append(cid)
            except docker.errors.NotFound:
                pass
        pending = still
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return pending


def _remove_containers(client: Any, containers: list[Any]) -> None:
    try:
        with ThreadPoolExecutor(max_workers=REMOVE_WORKERS) as pool:
            list(pool.map(_remove_container, containers))
    except RuntimeError:
        # At interpreter exit (atexit teardown after SIGTERM) executors refuse new work.
        for container in containers:
            _remove_container(container)
    left = wait_containers_gone(client, [str(c.id) for c in containers])
    if left:
        log.warning(
            "%d container(s) still known to the engine %.0f s after removal (%s); their "
            "network's removal may be refused",
            len(left), GONE_TIMEOUT_S, ", ".join(c[:12] for c in left),
        )  # fmt: skip


def remove_objects(client: Any, label: str) -> int:
    """Remove every container, network and volume carrying ``label``; returns how many."""
    import docker.errors

    containers, networks, volumes = list_objects(client, label)
    _disconnect_all(networks)
    _remove_containers(client, containers)
    for net in networks:
        with contextlib.suppress(docker.errors.NotFound):
            net.reload()
            for attached in net.attrs.get("Containers") or {}:
                # A container of another owner attached by hand would block the removal.
                with contextlib.suppress(docker.errors.APIError):
                    net.disconnect(attached, force=True)
            try:
                _remove_network(net)
            except docker.errors.APIError as exc:
                # Still refused after the retries: a ghost endpoint (the engine lists no
                # container) must not fail a new run's start; the next reap tries again.
                if "active endpoints" not in str(exc):
                    raise
    for vol in volumes:
        with contextlib.suppress(docker.errors.NotFound):
            vol.remove(force=True)
    return len(containers) + len(networks) + len(volumes)


def reap_run(client: Any, run_id: str) -> int:
    """Remove one run's Docker objects (returns how many) and its state dir."""
    removed = remove_objects(client, f"{L.RUN}={run_id}")
    shutil.rmtree(state_dir(run_id), ignore_errors=True)
    return removed


def reap_runs(client: Any, run_ids: Iterable[str]) -> list[str]:
    reaped: list[str] = []
    for run in sorted(run_ids):
        if run:
            reap_run(client, run)
        else:
            _reap_unowned(client)
        reaped.append(run or "<no run label>")
    return reaped


def _reap_unowned(client: Any) -> None:
    import docker.errors

    containers, networks, volumes = list_objects(client)
    for container in containers:
        if L.RUN not in _labels_of(container):
            _remove_container(container)
    for obj in [*networks, *volumes]:
        if L.RUN not in _labels_of(obj):
            with contextlib.suppress(docker.errors.APIError):
                obj.remove()


def reap_dead(client: Any) -> list[str]:
    return reap_runs(client, dead_runs(client))


def reap_all(client: Any) -> int:
    containers, networks, volumes = list_objects(client)
    runs = {_labels_of(o).get(L.RUN, "") for o in [*containers, *networks, *volumes]}
    removed = remove_objects(client, L.KEY)
    for run in runs - {""}:
        shutil.rmtree(state_dir(run), ignore_errors=True)
    return removed

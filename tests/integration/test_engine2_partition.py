"""A partition scenario with the helper fault path forced, on the main engine and on a second.

Each run is ``chaosplane run`` in a subprocess, as a user starts it, with
``CHAOSPLANE_FAULT_PATH=helper``; the second engine's run adds ``DOCKER_HOST`` (and that
engine's own subnet pool) from ``tests/integration/engine2.sh``. Asserted: a valid verdict,
the partition's ``start`` event saying the helper path made it, and its ``effect`` event
saying it took effect (a cut sender's TCP probe timed out and the DROP counters grew).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.history import FaultPhase, read_faults

pytestmark = pytest.mark.docker

docker = pytest.importorskip("docker")

ENGINE2_HOST = "CHAOSPLANE_ENGINE2_HOST"
ENGINE2_POOL = "CHAOSPLANE_ENGINE2_SUBNET_POOL"
HOW_TO_START = (
    f"{ENGINE2_HOST} is unset: no second Docker engine. Start one with "
    f'`eval "$(sudo tests/integration/engine2.sh start)"`, build the images on it with '
    f"`DOCKER_HOST=$CHAOSPLANE_ENGINE2_HOST chaosplane build`, then rerun this test"
)

SCENARIO = """\
name: helper-partition
description: The store splits 1|2 while the helper-container path makes the rules.
cluster: {store: {engine: pysyncobj, members: 3}, apiservers: 1}
workload: {kind: register, clients: 4, keys: 3, rate: 40, duration: 12s, op_timeout: 1s}
faults:
  - {at: 3s, partition: majority-minority, for: 5s}
expect: {linearizable: true, recovered_within: 10s, converged_within: 12s}
"""


def _engine_env(docker_host: str | None) -> dict[str, str]:
    env = {**os.environ, "CHAOSPLANE_FAULT_PATH": "helper"}
    if docker_host is not None:
        env["DOCKER_HOST"] = docker_host
        if os.environ.get(ENGINE2_POOL):
            env["CHAOSPLANE_SUBNET_POOL"] = os.environ[ENGINE2_POOL]
    else:
        env.pop("DOCKER_HOST", None)
    return env


def _require_engine(env: dict[str, str]) -> None:
    host = env.get("DOCKER_HOST")
    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.skip(f"Docker engine {host or '(default)'} unreachable: {exc}")
    build = subprocess.run(
        [sys.executable, "-m", "harness", "build", "--quiet"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if build.returncode != 0:
        pytest.skip(f"images could not be built on {host or 'the main engine'}: {build.stderr}")


def _run(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    scenario = tmp_path / "helper-partition.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(scenario), "--seed", "1",
         "--reports", str(reports), "--no-index"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    found = sorted(reports.glob("*/verdicts.json"))
    assert found, f"no verdicts.json (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return found[-1].parent, proc.stdout + proc.stderr


def _assert_valid_through_the_helper(run_dir: Path, output: str) -> dict[str, Any]:
    verdicts = json.loads((run_dir / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["overall"] == "valid", f"{json.dumps(verdicts, indent=1)[:3000]}\n{output}"
    events = list(read_faults(run_dir / "faults.jsonl"))
    starts = [e for e in events if e.type is FaultPhase.START and e.fault == "partition"]
    assert len(starts) == 1, events
    path = starts[0].detail["fault_path"]
    assert path["path"] == "helper" and "forced" in path["reason"], path
    effects = [e for e in events if e.type is FaultPhase.EFFECT and e.id == starts[0].id]
    assert effects and effects[0].detail.get("ok") is True, effects
    return dict(path)


def test_partition_through_the_helper_on_the_main_engine(tmp_path: Path) -> None:
    env = _engine_env(None)
    _require_engine(env)
    _assert_valid_through_the_helper(*_run(tmp_path, env))


def test_partition_through_the_helper_on_a_second_engine(tmp_path: Path) -> None:
    host = os.environ.get(ENGINE2_HOST)
    if not host:
        pytest.skip(HOW_TO_START)
    env = _engine_env(host)
    _require_engine(env)
    run_dir, output = _run(tmp_path, env)
    _assert_valid_through_the_helper(run_dir, output)
    # The run's addresses come from the second engine's own pool (the kubeconfig names the
    # proxy's address): its network was made there, not on the main engine.
    server = re.search(r"server: https?://([0-9.]+):", (run_dir / "kubeconfig").read_text())
    assert server is not None
    pool = ipaddress.IPv4Network(os.environ.get(ENGINE2_POOL) or "10.202.0.0/16")
    assert ipaddress.IPv4Address(server.group(1)) in pool, (server.group(1), str(pool))


def test_auto_picks_the_helper_when_the_engine_pids_are_not_this_hosts() -> None:
    """The harness in its own PID namespace sees a /proc without the engine's processes — as
    on a machine other than the engine's, whatever DOCKER_HOST's socket looks like."""
    import shutil

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and util-linux unshare to give the harness its own PID namespace")
    from harness.cluster import labels as L
    from harness.images import BaseRecipe
    from harness.images.recipe import base_tag

    client = docker.from_env()
    image = base_tag(BaseRecipe())
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.skip(f"the base image {image} is not built: run `chaosplane build`")
    run_id = L.new_run_id()
    container = client.containers.run(
        image, ["sleep", "60"], detach=True, init=True, name=f"{run_id}-pidcheck",
        labels=L.run_labels(run_id, L.current_owner()),
    )  # fmt: skip
    probe = (
        "from harness.nemesis.netpath import choose_path_from_env as c; "
        "p = c(); print(p.path.value); print(p.reason)"
    )
    try:
        env = {k: v for k, v in os.environ.items() if k != "CHAOSPLANE_FAULT_PATH"}
        here = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
        )
        apart = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", probe],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        container.remove(force=True)
    assert here.stdout.splitlines()[0] == "nsenter", here.stdout + here.stderr
    path, reason = apart.stdout.splitlines()[:2]
    assert path == "helper" and "does not exist on this host" in reason, apart.stdout

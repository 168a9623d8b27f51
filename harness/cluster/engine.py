"""Is the Docker engine's process table this machine's? (Decides whether ``nsenter`` can work.)

In a nutshell: a container's PID as the engine reports it (``State.Pid``) names a process on the
engine's machine. The engine is *local* exactly when that PID exists in this host's ``/proc``
and its cgroup file names the container's id — a tunnelled unix socket, a ``tcp://`` engine
on another machine or a rootless engine (its own PID view) fail the check, and a second local
engine on any socket passes it. The socket's spelling alone (``DOCKER_HOST``) says nothing
honest: ``tcp://127.0.0.1`` may be this machine, ``unix:///tmp/x.sock`` an ssh tunnel.

    locality = engine_locality(docker.from_env())   # EngineLocality(local=True, reason="…")
    pid_is_local("3f1c…", 4242)       # (True, "container 3f1c…'s PID 4242 is in this host…")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cluster import labels as L


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineLocality:
    local: bool
    reason: str  # what was checked, for the fault path's recorded reason


def pid_is_local(container_id: str, pid: int, *, proc: Path = Path("/proc")) -> tuple[bool, str]:
    """Whether ``pid`` (the engine's view of the container's init) is that container's process
    in *this* host's process table: the PID exists and its cgroup path names the container id
    (cgroupfs ``/docker/<id>``, systemd ``docker-<id>.scope``, a ``--cgroup-parent`` prefix)."""
    if pid <= 0:
        return False, f"the engine reports no PID for container {container_id[:12]} (not running)"
    try:
        cgroups = (proc / str(pid) / "cgroup").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False, (
            f"container {container_id[:12]}'s PID {pid} (as the engine reports it) does not "
            f"exist on this host: the engine runs elsewhere (or in its own PID namespace)"
        )
    except OSError as exc:
        return False, f"cannot read {proc}/{pid}/cgroup ({exc})"
    if container_id and container_id in cgroups:
        return True, f"container {container_id[:12]}'s PID {pid} is in this host's /proc"
    return False, (
        f"PID {pid} exists on this host but is not container {container_id[:12]}'s process "
        f"(its cgroup does not name the container): the engine's PIDs are another machine's"
    )


def engine_locality(client: Any) -> EngineLocality | None:
    """Check one running container of the engine (a chaosplane one first); None when the
    engine runs no container to check (callers fall back to a weaker rule)."""
    for filters in ({"label": [L.KEY], "status": "running"}, {"status": "running"}):
        for container in client.containers.list(filters=filters, limit=5):
            try:
                container.reload()
            except Exception:  # removed between list and inspect: try the next one
                continue
            pid = int((container.attrs.get("State") or {}).get("Pid") or 0)
            if pid <= 0:
                continue
            local, reason = pid_is_local(str(container.id), pid)
            return EngineLocality(local=local, reason=reason)
    return None


def current_engine_locality() -> EngineLocality | None:
    """``engine_locality`` of the engine ``DOCKER_HOST`` names (None: unreachable, or idle)."""
    import docker

    try:
        client = docker.from_env()
        try:
            return engine_locality(client)
        finally:
            client.close()
    except docker.errors.DockerException:
        return None

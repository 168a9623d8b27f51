"""A store cluster of plain processes on 127.0.0.1, for tests and benchmarks (no Docker).

In a nutshell: :class:`LoopbackCluster` starts N ``python -m controlplane.kvstore`` members with
distinct free ports and their own data directories, and can SIGKILL, SIGSTOP/SIGCONT and
restart each by name. It only ever signals the process ids it started.

    with LoopbackCluster(base_dir=tmp_path, size=3) as cluster:
        leader = cluster.wait_leader(timeout_s=10)
        httpx.put(cluster.url("store-2") + "/kv/a", json={"value": 1})
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx


class LoopbackError(RuntimeError):
    """A member did not start, or the cluster did not reach the awaited condition."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopbackMember:
    name: str
    http_port: int
    raft_port: int
    data_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def raft_address(self) -> str:
        return f"127.0.0.1:{self.raft_port}"


def port_pairs(count: int) -> list[tuple[int, int]]:
    """``count`` (http, raft) port pairs with raft = http + 1 for every member: engines without
    forwarding find a leader's HTTP port from its Raft port by that common offset.

    Ports come from below the kernel's ephemeral range: a port the kernel hands out for
    ``bind(0)`` can meanwhile become the source port of someone's long-lived outgoing
    connection, and then our member cannot bind it (seen: a Raft port held for over 15 s by
    a keep-alive connection to a container)."""
    low = _ephemeral_low()
    candidates = list(range(10_000, low - 1, 2))
    random.shuffle(candidates)
    pairs: list[tuple[int, int]] = []
    for http_port in candidates:
        if len(pairs) == count:
            break
        if _free(http_port) and _free(http_port + 1):
            pairs.append((http_port, http_port + 1))
    if len(pairs) < count:
        raise LoopbackError(f"found only {len(pairs)} free port pairs below {low}")
    return pairs


def _ephemeral_low() -> int:
    try:
        low, _high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return max(int(low), 10_010)
    except (OSError, ValueError):
        return 32768  # Linux default


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL it when the parent dies (Linux prctl
    PR_SET_PDEATHSIG), so a killed test run leaves no members behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: close() still reaps members on a normal exit


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


class LoopbackCluster:
    """N store members as child processes; see the module docstring."""

    def __init__(
        self,
        *,
        base_dir: Path,
        size: int = 3,
        bugs: str = "",
        extra_env: dict[str, str] | None = None,
        start_timeout_s: float = 15.0,
    ) -> None:
        ports = port_pairs(size)
        self.members = {
            f"store-{i + 1}": LoopbackMember(
                name=f"store-{i + 1}",
                http_port=ports[i][0],
                raft_port=ports[i][1],
                data_dir=base_dir / f"store-{i + 1}",
                log_path=base_dir / f"store-{i + 1}.log",
            )
            for i in range(size)
        }
        self._bugs = bugs
        self._extra_env = extra_env or {}
        self._start_timeout_s = start_timeout_s
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._client = httpx.Client(timeout=5.0)

    # -- lifecycle --

    def __enter__(self) -> LoopbackCluster:
        self.start_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start_all(self) -> None:
        for name in self.members:
            self.start(name, wait=False)
        for name in self.members:
            self._wait_listening(name)

    def start(
        self,
        name: str,
        *,
        bugs: str | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> None:
        """(Re)start one member; ``bugs`` overrides the cluster's switch list for it and
        ``env`` adds variables (e.g. ``KV_RAFT_MIN_TIMEOUT_S``)."""
        if name in self._procs and self._procs[name].poll() is None:
            raise LoopbackError(f"{name} is already running")
        m = self.members[name]
        m.data_dir.mkdir(parents=True, exist_ok=True)
        peers = ",".join(f"{p.name}={p.raft_address}" for p in self.members.values())
        full_env = {
            **os.environ,
            "KV_ID": name,
            "KV_PEERS": peers,
            "KV_DATA_DIR": str(m.data_dir),
            "KV_HTTP_PORT": str(m.http_port),
            "KV_RAFT_PORT": str(m.raft_port),
            "CHAOSPLANE_BUGS": self._bugs if bugs is None else bugs,
            "PYTHONUNBUFFERED": "1",
            **self._extra_env,
            **(env or {}),
        }
        with m.log_path.open("ab") as log:
            log.write(f"--- start {name} at {time.time():.3f}\n".encode())
            log.flush()
            self._procs[name] = subprocess.Popen(
                [sys.executable, "-m", "controlplane.kvstore"],
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        if wait:
            self._wait_listening(name)

    def kill(self, name: str) -> None:
        """SIGKILL one member and reap it."""
        proc = self._procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def kill_all(self) -> None:
        for name in self.members:
            self.kill(name)

    def pause(self, name: str) -> None:
        os.kill(self._procs[name].pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.kill(self._procs[name].pid, signal.SIGCONT)

    def close(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self._client.close()

    def running(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.poll() is None

    # -- queries --

    def url(self, name: str) -> str:
        return self.members[name].url

    def log_text(self, name: str) -> str:
        return self.members[name].log_path.read_text(errors="replace")

    def status(self, name: str, *, timeout_s: float = 1.0) -> dict[str, Any] | None:
        try:
            resp = self._client.get(self.url(name) + "/status", timeout=timeout_s)
        except httpx.HTTPError:
            return None
        result: dict[str, Any] = resp.json()
        return result

    def wait_leader(
        self, *, timeout_s: float = 15.0, among: list[str] | None = None, not_: str | None = None
    ) -> str:
        """The leader that every member in ``among`` (default: running ones) agrees on."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            names = among or [n for n in self.members if self.running(n)]
            statuses = {n: self.status(n) for n in names}
            last = statuses
            leaders = {s.get("leader") if s else None for s in statuses.values()}
            if len(leaders) == 1:
                leader = leaders.pop()
                if leader is not None and leader != not_:
                    s = statuses.get(leader)
                    if s is None or s.get("role") == "leader":
                        return str(leader)
            time.sleep(0.05)
        raise LoopbackError(f"no agreed leader within {timeout_s}s; last statuses: {last}")

    def wait_converged(self, *, timeout_s: float = 15.0) -> dict[str, Any]:
        """Wait until every running member reports the same applied index and state hash."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            statuses = {n: self.status(n) for n in self.members if self.running(n)}
            last = statuses
            seen = {(s["applied_index"], s["state_hash"]) if s else None for s in statuses.values()}
            if len(seen) == 1 and None not in seen:
                return statuses
            time.sleep(0.05)
        raise LoopbackError(f"members did not converge within {timeout_s}s; last: {last}")

    def _wait_listening(self, name: str) -> None:
        deadline = time.monotonic() + self._start_timeout_s
        m = self.members[name]
        while time.monotonic() < deadline:
            text = m.log_path.read_text(errors="replace")
            # Only the lines after this start count (the log is appended across restarts).
            if "listening" in text.rsplit("--- start", 1)[-1]:
                return
            proc = self._procs[name]
            if proc.poll() is not None:
                raise LoopbackError(f"{name} exited with {proc.returncode}; log:\n{text[-2000:]}")
            time.sleep(0.05)
        raise LoopbackError(
            f"{name} printed no 'listening' within {self._start_timeout_s}s; log tail:\n"
            f"{m.log_path.read_text(errors='replace')[-2000:]}"
        )

"""Test support: the whole control plane as local processes on loopback (no Docker).

In a nutshell: :class:`LocalControlPlane` starts a one-member kvstore
(:class:`~harness.testing.loopback.LoopbackCluster`), one apiserver, and any number of
controller-managers, schedulers and kubelets (``python -m controlplane.<component>``), each
with its own status port and log file; it can SIGKILL / SIGSTOP / SIGCONT any of them by
name, read their ``/status``, and talk to the API with httpx. It only signals processes it
started. Holds no tests itself.

    with LocalControlPlane(tmp_path, controller_managers=2, schedulers=2, nodes=3) as cp:
        cp.api.post("/apis/apps/v1/namespaces/default/deployments", json=deployment("web", 6))
        cp.wait_for(lambda: len(cp.running_pods("web")) == 6, timeout_s=60, what="6 Running")
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from harness.testing.loopback import LoopbackCluster, _die_with_parent, port_pairs

TIMINGS = {
    "LE_LEASE_DURATION_S": "4",
    "LE_RENEW_DEADLINE_S": "3",
    "LE_RETRY_PERIOD_S": "0.5",
    "NODE_LEASE_DURATION_S": "4",
    "NODE_RENEW_INTERVAL_S": "1",
    "NODE_MONITOR_PERIOD_S": "0.5",
    "NODE_MONITOR_GRACE_S": "4",
    "POD_EVICTION_TIMEOUT_S": "6",
}

MODULES = {
    "controller-manager": "controlplane.controllermanager",
    "scheduler": "controlplane.scheduler",
    "node": "controlplane.kubelet",
}


def deployment(name: str, replicas: int, *, image: str = "x", cpu: str = "100m") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": image, "resources": {"requests": {"cpu": cpu}}}
                    ]
                },
            },
        },
    }


class LocalControlPlane:
    def __init__(
        self,
        base_dir: Path,
        *,
        controller_managers: int = 2,
        schedulers: int = 2,
        nodes: int = 3,
        apiservers: int = 1,
        bugs: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        self.base_dir = base_dir
        self._bugs = bugs
        self._env = {**TIMINGS, **(env or {})}
        self.store = LoopbackCluster(base_dir=base_dir / "store", size=1)
        names = (
            [f"controller-manager-{i + 1}" for i in range(controller_managers)]
            + [f"scheduler-{i + 1}" for i in range(schedulers)]
            + [f"node-{i + 1}" for i in range(nodes)]
        )
        ports = port_pairs(len(names) + apiservers)
        self.api_ports = {f"api-{i + 1}": ports[i][0] for i in range(apiservers)}
        self.status_ports = {n: ports[i + apiservers][0] for i, n in enumerate(names)}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # The test's own client uses the LAST apiserver; components list api-1 first, so a
        # test can kill api-1 and still watch the components fail over.
        self.api = httpx.Client(base_url=self.api_urls[-1], timeout=5.0)
        self._status = httpx.Client(timeout=1.0)

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports.values()]

    # ---- lifecycle ----

    def __enter__(self) -> LocalControlPlane:
        (self.base_dir / "store").mkdir(parents=True, exist_ok=True)
        self.store.start_all()
        self.store.wait_leader(timeout_s=20)
        for api, port in self.api_ports.items():
            self._spawn(
                api,
                "controlplane.apiserver",
                {
                    "API_NAME": api,
                    "API_STORE_URLS": self.store.url("store-1"),
                    "API_PORT": str(port),
                    "API_HOST": "127.0.0.1",
                },
            )
        for api in self.api_ports:
            self._wait_listening(api)
        self.wait_for(self._api_ready, timeout_s=30, what="apiserver /readyz")
        for name in self.status_ports:
            self.start(name, wait=False)
        for name in self.status_ports:
            self._wait_listening(name)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.store.close()
        self.api.close()
        self._status.close()

    def log_path(self, name: str) -> Path:
        return self.base_dir / f"{name}.log"

    def log_text(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def _spawn(self, name: str, module: str, env: dict[str, str]) -> None:
        full = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CHAOSPLANE_BUGS": self._bugs,
            **self._env,
            **env,
        }
        with self.log_path(name).open("ab") as log:
            log.write(f"--- start {name} at {time.time():.3f}\n".encode())
            log.flush()
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", module],
                env=full,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def start(self, name: str, *, wait: bool = True) -> None:
        kind = name.rsplit("-", 1)[0]
        self._spawn(
            name,
            MODULES[kind],
            {
                "CP_NAME": name,
                "CP_API_URLS": ",".join(self.api_urls),
                "CP_STATUS_PORT": str(self.status_ports[name]),
            },
        )
        if wait:
            self._wait_listening(name)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def pause(self, name: str) -> None:
        os.kill(self.procs[name].pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.kill(self.procs[name].pid, signal.SIGCONT)

    def _wait_listening(self, name: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.log_text(name).rsplit("--- start", 1)[-1]
            if "listening" in text:
                return
            if self.procs[name].poll() is not None:
                raise AssertionError(
                    f"{name} exited with {self.procs[name].returncode}:\n{text[-3000:]}"
                )
            time.sleep(0.05)
        raise AssertionError(
            f"{name} printed no 'listening' within {timeout_s}s:\n{self.log_text(name)[-3000:]}"
        )

    def _api_ready(self) -> bool:
        try:
            return self.api.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    # ---- queries ----

    def status(self, name: str) -> dict[str, Any] | None:
        try:
            r = self._status.get(f"http://127.0.0.1:{self.status_ports[name]}/status")
            out: dict[str, Any] = r.json()
            return out
        except (httpx.HTTPError, ValueError):
            return None

    def leader(self, kind: str) -> str | None:
        """The member of ``kind`` whose /status says it leads (None unless exactly one)."""
        leaders = [
            n
            for n in self.status_ports
            if n.startswith(kind + "-")
            and self.procs[n].poll() is None
            and (self.status(n) or {}).get("leader")
        ]
        return leaders[0] if len(leaders) == 1 else None

    def get(self, path: str) -> dict[str, Any]:
        r = self.api.get(path)
        r.raise_for_status()
        out: dict[str, Any] = r.json()
        return out

    def events(self, field_selector: str, *, namespace: str = "") -> list[dict[str, Any]]:
        """Core v1 events matching ``field_selector`` (as kubectl describe lists them)."""
        where = f"/api/v1/namespaces/{namespace}/events" if namespace else "/api/v1/events"
        r = self.api.get(where, params={"fieldSelector": field_selector})
        r.raise_for_status()
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def pods(self, app: str) -> list[dict[str, Any]]:
        items = self.get("/api/v1/namespaces/default/pods")["items"]
        return [p for p in items if (p["metadata"].get("labels") or {}).get("app") == app]

    def running_pods(self, app: str) -> list[dict[str, Any]]:
        """Pods of ``app`` that are Running, Ready, not terminating, on a Ready node."""
        ready_nodes = {
            n["metadata"]["name"]
            for n in self.get("/api/v1/nodes")["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n["status"].get("conditions", [])
            )
        }
        return [
            p
            for p in self.pods(app)
            if not p["metadata"].get("deletionTimestamp")
            and p.get("status", {}).get("phase") == "Running"
            and p["spec"].get("nodeName") in ready_nodes
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions", [])
            )
        ]

    def wait_for(
        self, cond: Callable[[], Any], *, timeout_s: float, what: str, poll_s: float = 0.2
    ) -> float:
        """Seconds until ``cond()`` is truthy; AssertionError naming ``what`` after the timeout."""
        start = time.monotonic()
        last_exc: BaseException | None = None
        while time.monotonic() - start < timeout_s:
            try:
                if cond():
                    return time.monotonic() - start
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                last_exc = exc
            time.sleep(poll_s)
        tails = "\n".join(f"== {n}\n{self.log_text(n)[-1500:]}" for n in self.procs)
        raise AssertionError(f"not within {timeout_s}s: {what} (last error: {last_exc})\n{tails}")

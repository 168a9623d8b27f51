"""One member container: start, readiness, and the process faults (kill, restart, pause).

In a nutshell: ``ContainerNode`` wraps a testcontainers ``DockerContainer`` (which creates and
first starts it) and its docker-py container (which does everything after: testcontainers'
``stop()`` is a forced remove and it has no kill/restart). After every (re)start the node
reloads its PID, runs the cluster's start hooks (the nemesis re-applies the partition rules
the old network namespace took with it) and waits until it is ready: its log since that start
says ``listening`` and its HTTP probe answers 200. A timeout says what was awaited, for how
long, the container state and its log tail.

    node.kill(); node.start()       # SIGKILL, then start + hooks + wait_ready
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from harness.cluster.tls import client_context
from harness.errors import ClusterError
from harness.model.cluster import Node, Role

POLL_S = 0.05
STATE_CHECK_S = 0.5  # how often a waiting node checks that its container still runs
LOG_TAIL_LINES = 30
KILL_WAIT_S = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadyProbe:
    port: int
    path: str  # answers 200 once the member serves
    ca_pem: str | None = None  # the member serves https with a cert from this CA (apiservers)

    @property
    def scheme(self) -> str:
        return "http" if self.ca_pem is None else "https"

    def client(self) -> httpx.Client:
        """A client for the probe (verifying against the run's CA when the member uses TLS)."""
        verify: ssl.SSLContext | bool = True
        if self.ca_pem is not None:
            verify = client_context(self.ca_pem)
        return httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5), verify=verify, trust_env=False)


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


class ContainerNode:
    """A ``Node`` (harness.cluster.model) backed by one Docker container."""

    def __init__(
        self,
        *,
        name: str,
        role: Role,
        ip: str,
        container: Any,
        probe: ReadyProbe,
        hooks: Sequence[Callable[[Node], None]],
        default_timeout_s: float,
    ) -> None:
        self.name = name
        self.role = role
        self.ip = ip
        self._tc = container  # testcontainers DockerContainer
        self._probe = probe
        self._hooks = hooks  # the cluster's list, shared: hooks added later apply too
        self._default_timeout_s = default_timeout_s
        self._started_at = time.time()  # wall clock: Docker's ``logs(since=…)`` is epoch-based
        self._lock = threading.Lock()

    # -- docker-py access -------------------------------------------------------------------

    @property
    def container(self) -> Any:
        """The docker-py ``Container`` (for exec, inspect, and faults this class lacks)."""
        return self._tc.get_wrapped_container()

    @property
    def base_url(self) -> str:
        return f"{self._probe.scheme}://{self.ip}:{self._probe.port}"

    def _state(self) -> dict[str, Any]:
        c = self.container
        c.reload()
        return dict(c.attrs.get("State") or {})

    def state_summary(self) -> str:
        try:
            s = self._state()
        except Exception as exc:  # the container may be gone: say so rather than hide the timeout
            return f"unknown ({exc})"
        return (
            f"status={s.get('Status')} running={s.get('Running')} paused={s.get('Paused')} "
            f"exit_code={s.get('ExitCode')} oom_killed={s.get('OOMKilled')} pid={s.get('Pid')}"
        )

    # -- Node protocol ----------------------------------------------------------------------

    def pid(self) -> int:
        return int(self._state().get("Pid") or 0)

    def is_running(self) -> bool:
        return bool(self._state().get("Running"))

    def is_paused(self) -> bool:
        return bool(self._state().get("Paused"))

    def kill(self) -> None:
        with self._lock:
            c = self.container
            c.kill()
            c.wait(timeout=KILL_WAIT_S)

    def start(self) -> None:
        with self._lock:
            self._started_at = time.time()
            self.container.start()
        self._after_start()

    def restart(self) -> None:
        with self._lock:
            self._started_at = time.time()
            if self.is_paused():
                self.container.unpause()  # Docker refuses to restart a frozen container
            # With --init the server gets SIGTERM and exits at once (notes §3d: 0.4 s).
            self.container.restart(timeout=5)
        self._after_start()

    def pause(self) -> None:
        self.container.pause()

    def unpause(self) -> None:
        self.container.unpause()

    def logs(self) -> str:
        """Every incarnation's stdout and stderr, in order."""
        raw: bytes = self.container.logs(stdout=True, stderr=True)
        return raw.decode("utf-8", errors="replace")

    def logs_since_start(self) -> str:
        since = max(0, int(self._started_at) - 1)  # whole seconds: allow one back
        raw: bytes = self.container.logs(stdout=True, stderr=True, since=since)
        return raw.decode("utf-8", errors="replace")

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        awaited = f"HTTP 200 from GET {self.base_url}{self._probe.path}"
        next_state_check = time.monotonic() + STATE_CHECK_S
        # The HTTP probe goes first: it costs the Docker daemon nothing, and on 2 busy cores
        # polling logs and state 20 times a second per member slows everyone's start.
        with self._probe.client() as http:
            while True:
                if self._answers(http):
                    if "listening" in self.logs_since_start():
                        return
                    awaited = "a line containing 'listening' in its log since it (re)started"
                now = time.monotonic()
                if now >= deadline:
                    break
                if now >= next_state_check:
                    next_state_check = now + STATE_CHECK_S
                    if not self.is_running():
                        break  # exited: waiting longer cannot help
                time.sleep(POLL_S)
        raise ClusterError(
            f"{self.name} not ready: waited {timeout_s:.1f} s for {awaited}; "
            f"container {self.state_summary()}; log tail:\n{tail(self.logs())}\n"
            f"hint: the log tail usually shows the cause; `docker logs {self.container.name}` "
            f"has the rest while the cluster is up"
        )

    def wait_http(self, path: str, timeout_s: float) -> None:
        """Wait until ``GET <base_url><path>`` answers 200 (e.g. an apiserver's ``/readyz``)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with self._probe.client() as http:
            while True:
                try:
                    response = http.get(f"{self.base_url}{path}")
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                if time.monotonic() >= deadline:
                    break
                time.sleep(POLL_S * 2)
        raise ClusterError(
            f"{self.name} not ready: waited {timeout_s:.1f} s for HTTP 200 from GET "
            f"{self.base_url}{path}; last answer: {last}; container {self.state_summary()}; "
            f"log tail:\n{tail(self.logs())}"
        )

    # -- internals --------------------------------------------------------------------------

    def _answers(self, http: httpx.Client) -> bool:
        try:
            return http.get(f"{self.base_url}{self._probe.path}").status_code == 200
        except httpx.HTTPError:
            return False

    def _after_start(self) -> None:
        self.pid()  # reload: hooks need the new PID (nsenter into the new namespace)
        for hook in list(self._hooks):
            hook(self)
        self.wait_ready(self._default_timeout_s)

    def __repr__(self) -> str:
        return f"ContainerNode({self.name!r}, {self.role.value}, {self.ip})"

"""The process shell of a controller-layer component: environment, ``/status``, signals.

In a nutshell: :func:`component_env` reads contract C3's common variables (``CP_NAME``,
``CP_API_URLS``, ``CP_API_TOKEN``, ``CP_API_CA``, ``CP_STATUS_PORT``, ``CHAOSPLANE_BUGS``);
:func:`env_seconds` reads one duration and names the variable when it is bad;
:func:`run_component` starts the component's threads, serves ``GET /status`` (the JSON the
component's ``status()`` returns) and ``GET /healthz``, prints ``<name> listening on …`` and
on SIGTERM/SIGINT stops the threads and returns.

    env = component_env(os.environ, default_name="scheduler-1")
    return run_component(env, status=sched.status, start=sched.start)
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from controlplane import bugs as bug_switches
from controlplane.kubeclient.client import ClientSettings
from controlplane.serving import serve_until_signalled

log = logging.getLogger(__name__)


class EnvError(ValueError):
    """An environment variable has a value the component cannot use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentEnv:
    name: str
    client: ClientSettings
    status_port: int
    bugs: frozenset[str]
    environ: Mapping[str, str]


def env_count(environ: Mapping[str, str], var: str, default: int) -> int:
    """A positive whole number from the environment (worker counts)."""
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise EnvError(f"{var}: got {raw!r}; expected a whole number, e.g. {default}") from exc
    if value < 1:
        raise EnvError(f"{var}: got {raw!r}; expected a whole number >= 1")
    return value


def env_seconds(environ: Mapping[str, str], var: str, default: float) -> float:
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise EnvError(f"{var}: got {raw!r}; expected seconds as a number, e.g. {default}") from exc
    if value <= 0:
        raise EnvError(f"{var}: got {raw!r}; expected a positive number of seconds")
    return value


def component_env(environ: Mapping[str, str], *, default_name: str) -> ComponentEnv:
    urls = tuple(
        u.strip().rstrip("/") for u in environ.get("CP_API_URLS", "").split(",") if u.strip()
    )
    if not urls:
        raise EnvError(
            "CP_API_URLS: unset or empty; expected a comma list of apiserver URLs, "
            "e.g. http://127.0.0.1:6443"
        )
    raw_port = environ.get("CP_STATUS_PORT", "10257")
    try:
        port = int(raw_port)
    except ValueError as exc:
        raise EnvError(f"CP_STATUS_PORT: got {raw_port!r}; expected a port number") from exc
    try:
        active = bug_switches.validate(environ)
    except bug_switches.UnknownBugError as exc:
        raise EnvError(str(exc)) from exc
    return ComponentEnv(
        name=environ.get("CP_NAME", default_name),
        client=ClientSettings(
            urls=urls, token=environ.get("CP_API_TOKEN", ""), ca_pem=environ.get("CP_API_CA", "")
        ),
        status_port=port,
        bugs=active,
        environ=environ,
    )


def run_component(
    env: ComponentEnv,
    *,
    status: Callable[[], dict[str, Any]],
    start: Callable[[threading.Event], None],
) -> int:
    """Run until a signal; ``start(stop)`` launches the component's (daemon) threads."""
    stop = threading.Event()

    async def get_status(request: web.Request) -> web.Response:
        # "now": this process's wall clock, so a clock-skew fault can prove it took effect.
        return web.json_response({**status(), "now": time.time()})

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/status", get_status)
    app.router.add_get("/healthz", healthz)

    def announce() -> None:
        if env.bugs:
            print(f"{env.name}: bug switches ON: {', '.join(sorted(env.bugs))}", flush=True)
        print(
            f"{env.name} listening on 0.0.0.0:{env.status_port} "
            f"(api: {', '.join(env.client.urls)})",
            flush=True,
        )

    start(stop)
    try:
        asyncio.run(serve_until_signalled(app, "0.0.0.0", env.status_port, announce=announce))
    finally:
        stop.set()
    log.info("%s: stopped", env.name)
    return 0


def main_guard(fn: Callable[[], int], *, what: str) -> int:
    """Logging set up, EnvError → exit status 2 with a one-line reason."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        return fn()
    except EnvError as exc:
        print(f"{what}: {exc}", file=sys.stderr)
        return 2

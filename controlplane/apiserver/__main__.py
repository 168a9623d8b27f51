"""``python -m controlplane.apiserver``: serve the API until SIGTERM/SIGINT.

In a nutshell: reads the environment (see :mod:`controlplane.apiserver.config`), binds
``API_HOST:API_PORT``, prints a line containing ``listening`` (the cluster waits for it), and
serves until told to stop. A bad environment exits with status 2 and a one-line reason.

    API_STORE_URLS=http://127.0.0.1:2379 API_PORT=6443 python -m controlplane.apiserver
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from controlplane.apiserver.app import build_app
from controlplane.apiserver.config import ApiConfig, ConfigError, config_from_env
from controlplane.bugs import UnknownBugError


async def serve(config: ApiConfig) -> None:
    runner = web.AppRunner(build_app(config), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        if config.tokens is None:
            print(f"{config.name}: API_TOKENS unset: authentication is OFF", flush=True)
        if config.bugs:
            print(f"{config.name}: bug switches ON: {', '.join(sorted(config.bugs))}", flush=True)
        print(
            f"{config.name} listening on {config.host}:{config.port} "
            f"(store: {', '.join(config.store.urls)})",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every store request at INFO: far too much for member logs under load.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = config_from_env(os.environ)
    except (ConfigError, UnknownBugError) as exc:
        print(f"apiserver: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())

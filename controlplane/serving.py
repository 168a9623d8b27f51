"""Serve an aiohttp app until SIGTERM or SIGINT: the shared shell of every control-plane server.

await serve_until_signalled(app, host, port, announce=lambda: print("x listening", flush=True))
"""

from __future__ import annotations

import asyncio
import signal
import ssl
from collections.abc import Callable

from aiohttp import web


async def serve_until_signalled(
    app: web.Application,
    host: str,
    port: int,
    *,
    announce: Callable[[], None],
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Bind, call ``announce`` (the cluster waits for its 'listening' line), run until a signal.

    With ``ssl_context`` the site serves HTTPS (the apiserver with ``API_TLS_*``)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        announce()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()

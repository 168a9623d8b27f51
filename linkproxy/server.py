"""Running the link proxy: in the foreground (the container) or on a background thread (tests).

In a nutshell: ``serve(host, port, seed)`` runs the REST API and every proxy on the current
event loop until cancelled, printing ``linkproxy listening on H:P`` once it accepts connections
(the cluster waits for that word). ``ServerThread`` runs the same thing on its own loop in a
daemon thread, for in-process tests and benchmarks.

    with ServerThread(seed=7) as server:
        print(server.base_url)  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from linkproxy.api import build_server
from linkproxy.collection import ProxyCollection


class Runner:
    """The API server and the collection it drives, stopped together."""

    def __init__(self, seed: int | None) -> None:
        self.collection = ProxyCollection(seed=seed)
        self.server = build_server(self.collection)

    async def cleanup(self) -> None:
        await self.server.close()
        self.collection.close()


async def start(host: str, port: int, seed: int | None) -> tuple[Runner, int]:
    """Start the API; returns the runner (for cleanup) and the bound port."""
    runner = Runner(seed)
    _, bound_port = await runner.server.start(host, port)
    return runner, bound_port


async def serve(host: str, port: int, seed: int | None) -> None:
    runner, bound_port = await start(host, port, seed)
    print(f"linkproxy listening on {host}:{bound_port} seed={seed}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class ServerThread:
    """The server on its own event loop in a daemon thread; ``stop()`` tears it all down."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: Runner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start(self.host, self.port, self.seed), self.loop)
        self._runner, self.port = future.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            asyncio.run_coroutine_threadsafe(_shutdown(runner), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def _shutdown(runner: Runner) -> None:
    await runner.cleanup()
    # Pipes of dropped connections end at their next await; let them, so no task is pending.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)

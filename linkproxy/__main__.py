"""``python -m linkproxy --host H --port 8474 [--seed N]``: the link proxy's entry point.

In a nutshell: parses the three options and runs ``linkproxy.server.serve`` until SIGINT or
SIGTERM; prints a line containing ``listening`` once the REST API accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal


def main(argv: list[str] | None = None) -> None:
    from linkproxy.server import serve

    parser = argparse.ArgumentParser(prog="linkproxy", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address of the REST API")
    parser.add_argument("--port", type=int, default=8474, help="port of the REST API")
    parser.add_argument("--seed", type=int, default=None, help="seed every random choice")
    args = parser.parse_args(argv)

    async def run() -> None:
        task = asyncio.create_task(serve(args.host, args.port, args.seed))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())


if __name__ == "__main__":
    main()

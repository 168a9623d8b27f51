"""Run one store member: ``python -m controlplane.kvstore`` (configured by ``KV_*`` env vars).

In a nutshell: load the config (bad env → exit 2 with the reason), start the Raft engine, bind
the HTTP port, print a ``listening`` line, serve until SIGTERM/SIGINT.

    KV_ID=store-1 KV_PEERS=store-1=127.0.0.1:2380 KV_DATA_DIR=/tmp/s1 python -m controlplane.kvstore
"""

from __future__ import annotations

import asyncio
import sys

from controlplane.kvstore.config import ConfigError, StoreConfig, load_config
from controlplane.kvstore.engine.factory import EngineNotAvailableError, make_engine
from controlplane.kvstore.http import make_app
from controlplane.serving import serve_until_signalled


async def serve(config: StoreConfig) -> None:
    engine = make_engine(config)
    engine.start()
    await engine.wait_started()

    def announce() -> None:
        print(
            f"kvstore {config.member_id}: listening http={config.http_host}:{config.http_port} "
            f"raft={config.self_address} engine={engine.name} bugs={','.join(sorted(config.bugs))}",
            flush=True,
        )

    try:
        app = make_app(engine, config)
        await serve_until_signalled(app, config.http_host, config.http_port, announce=announce)
    finally:
        engine.stop()


def main() -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"kvstore: bad configuration: {exc}", file=sys.stderr, flush=True)
        return 2
    try:
        asyncio.run(serve(config))
    except EngineNotAvailableError as exc:
        print(f"kvstore: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m controlplane.apiserver``: serve the API until SIGTERM/SIGINT.

In a nutshell: reads the environment (see :mod:`controlplane.apiserver.config`), binds
``API_HOST:API_PORT`` — HTTPS when ``API_TLS_CERT`` and ``API_TLS_KEY`` hold PEM text
(:mod:`controlplane.apiserver.tls`), plain HTTP when neither is set — prints a line containing
``listening`` (the cluster waits for it), and serves until told to stop. A bad environment
exits with status 2 and a one-line reason.

    API_STORE_URLS=http://127.0.0.1:2379 API_PORT=6443 python -m controlplane.apiserver
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import sys

from controlplane.apiserver.app import build_app
from controlplane.apiserver.config import ApiConfig, ConfigError, config_from_env
from controlplane.apiserver.tls import TlsConfigError, tls_from_env
from controlplane.bugs import UnknownBugError
from controlplane.serving import serve_until_signalled


async def serve(config: ApiConfig, tls: ssl.SSLContext | None = None) -> None:
    def announce() -> None:
        if config.tokens is None:
            print(f"{config.name}: API_TOKENS unset: authentication is OFF", flush=True)
        if config.bugs:
            print(f"{config.name}: bug switches ON: {', '.join(sorted(config.bugs))}", flush=True)
        scheme = "https" if tls is not None else "http"
        print(
            f"{config.name} listening on {scheme}://{config.host}:{config.port} "
            f"(store: {', '.join(config.store.urls)})",
            flush=True,
        )

    await serve_until_signalled(
        build_app(config), config.host, config.port, announce=announce, ssl_context=tls
    )


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every store request at INFO: far too much for member logs under load.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = config_from_env(os.environ)
        tls = tls_from_env(os.environ)
    except (ConfigError, TlsConfigError, UnknownBugError) as exc:
        print(f"apiserver: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(config, tls))
    return 0


if __name__ == "__main__":
    sys.exit(main())

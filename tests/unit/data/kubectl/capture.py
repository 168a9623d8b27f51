"""Record the protobuf bodies kubectl sends, against a real in-process apiserver.

In a nutshell: starts a one-member store and one apiserver on loopback (no tokens: kubectl
sends none over plain http), writes a kubeconfig, runs the `kubectl create` commands whose
bodies are protobuf, and saves each recorded request body next to this file as
``<name>.bin`` plus ``<name>.json`` (method, path, Content-Type, kubectl version). The unit
tests decode these files; rerun this script to regenerate them (needs `kubectl` on PATH):

    .venv/bin/python tests/unit/data/kubectl/capture.py
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # the repository
sys.path.insert(0, str(HERE.parents[1]))  # tests/unit, as pytest puts it for the tests

from test_apiserver_support import _serve, real_store  # noqa: E402

from controlplane.apiserver import ApiConfig, StoreClientConfig, build_app  # noqa: E402

# name -> kubectl arguments; each sends one protobuf POST.
COMMANDS: dict[str, list[str]] = {
    "configmap": ["create", "configmap", "x", "--from-literal=a=b"],
    "secret": ["create", "secret", "generic", "s", "--from-literal=password=hunter2"],
    "namespace": ["create", "namespace", "captured"],
    # replicas 0 is a pointer field set to zero: it must survive decoding.
    "deployment": ["create", "deployment", "d", "--image=nginx", "--replicas=0", "--port=80"],
}
# Not here: `kubectl run` (pods) and `kubectl apply` send JSON.


def kubeconfig(url: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: local\n"
        f"clusters:\n- name: local\n  cluster:\n    server: {url}\n"
        "users:\n- name: anon\n  user: {}\n"
        "contexts:\n- name: local\n  context:\n    cluster: local\n    user: anon\n"
        "    namespace: default\n"
    )


async def main() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl is not on PATH; install it to regenerate the captured bodies")
    version = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
    )
    client_version = json.loads(version.stdout)["clientVersion"]["gitVersion"]
    recorded: list[dict[str, Any]] = []

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method in ("POST", "PUT") and "protobuf" in request.content_type:
            recorded.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "content_type": request.headers["Content-Type"],
                    "body": await request.read(),  # cached: the handler reads it again
                }
            )
        return await handler(request)

    with tempfile.TemporaryDirectory() as tmp:
        async with real_store(Path(tmp)) as store_url:
            config = ApiConfig(store=StoreClientConfig(urls=(store_url,)), name="capture")
            app = build_app(config)
            app.middlewares.append(record)
            runner, port = await _serve(app)
            try:
                cfg = Path(tmp) / "kubeconfig"
                cfg.write_text(kubeconfig(f"http://127.0.0.1:{port}"))
                for name, args in COMMANDS.items():
                    before = len(recorded)
                    proc = await asyncio.create_subprocess_exec(
                        kubectl,
                        "--kubeconfig",
                        str(cfg),
                        *args,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                    out, _ = await proc.communicate()
                    print(f"kubectl {' '.join(args)}: rc={proc.returncode} {out.decode().strip()}")
                    if len(recorded) != before + 1:
                        raise SystemExit(
                            f"{name}: expected one protobuf request, got {len(recorded) - before}"
                        )
                    entry = recorded[-1]
                    (HERE / f"{name}.bin").write_bytes(entry.pop("body"))
                    entry["kubectl"] = client_version
                    entry["args"] = args
                    (HERE / f"{name}.json").write_text(json.dumps(entry, indent=2) + "\n")
            finally:
                await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())

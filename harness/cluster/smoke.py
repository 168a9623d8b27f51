"""``python -m harness.cluster.smoke``: the shortest proof that the whole stack works.

In a nutshell: bring a cluster up (3 store members, 2 apiservers, link proxy), create a
ConfigMap through ``api-1``'s client link, read it back through ``api-2``'s, tear down, and write
``reports/smoke-<run id>/summary.json`` (timings, leader, outcome) with the member logs beside
it. Exit 0 when the value read back is the value written. ``make run`` uses this until
``chaosplane run`` exists.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from harness.cluster.cluster import DockerCluster
from harness.cluster.labels import new_run_id
from harness.cluster.tls import client_context
from harness.history import RunDir
from harness.images import require_images
from harness.model.cluster import ClusterSpec


def write_and_read(cluster: DockerCluster) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {cluster.info.api_token}"}
    writer, reader = sorted(cluster.info.apiservers)[0], sorted(cluster.info.apiservers)[-1]
    collection = "/api/v1/namespaces/default/configmaps"
    body = {"metadata": {"name": "smoke"}, "data": {"written_by": writer}}
    verify = client_context(cluster.info.ca_pem)  # the apiservers serve https (run's CA)
    with httpx.Client(timeout=10.0, headers=headers, verify=verify, trust_env=False) as http:
        created = http.post(cluster.info.apiservers[writer] + collection, json=body)
        read = http.get(cluster.info.apiservers[reader] + collection + "/smoke")
    value = read.json().get("data") if read.status_code == 200 else None
    return {
        "write": {"via": writer, "status": created.status_code},
        "read": {"via": reader, "status": read.status_code, "data": value},
        "ok": created.status_code == 201 and value == body["data"],
    }


def main(reports: Path = Path("reports")) -> int:
    images = require_images()
    run_id = new_run_id()
    run_dir = RunDir(reports / f"smoke-{run_id}").create()
    spec = ClusterSpec(store_members=3, apiservers=2, log_dir=run_dir.logs)
    cluster = DockerCluster(spec, images=images, run_id=run_id)
    summary: dict[str, Any] = {"run_id": cluster.run_id, "images": images.to_json()}
    started = time.monotonic()
    try:
        cluster.start()
        summary["bringup_s"] = round(time.monotonic() - started, 2)
        summary["leader"] = cluster.leader()
        summary.update(write_and_read(cluster))
    except Exception as exc:
        summary.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        down = time.monotonic()
        cluster.teardown()
        summary["teardown_s"] = round(time.monotonic() - down, 2)
    path = run_dir.root / "summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    print(f"summary: {path}  member logs: {run_dir.logs}", file=sys.stderr)
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())

"""``chaosplane down RUN_ID``: remove a cluster started by ``chaosplane up`` (or any run).

With ``--log-dir`` the members' logs are saved there first. The run's state dir (the
kubeconfig ``chaosplane up`` wrote, ``harness.cluster.kubeconfig.state_dir``) goes too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.cluster import labels as L
from harness.cluster.reaper import reap_run


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("down", help="remove a cluster by run id")
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--log-dir", type=Path, default=None, help="save member logs here first")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import docker

    client = docker.from_env()
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        flt = {"label": [f"{L.RUN}={args.run_id}"]}
        for container in client.containers.list(all=True, filters=flt):
            member = container.labels.get(L.MEMBER, container.name)
            log = container.logs(stdout=True, stderr=True).decode("utf-8", errors="replace")
            (args.log_dir / f"{member}.log").write_text(log, encoding="utf-8")
    removed = reap_run(client, args.run_id)
    print(json.dumps({"run_id": args.run_id, "removed_objects": removed}))
    return 0 if removed else 1

"""``chaosplane up``: start a cluster, print its ``ClusterInfo`` as JSON, leave it running.

The cluster's owner label is a detached marker, so later runs' reapers leave it alone until
``chaosplane down RUN_ID`` (or ``chaosplane clean --all``). Progress goes to stderr; stdout is
exactly one JSON object. Its ``"kubeconfig"`` is the path of a kubeconfig for the cluster (the
run's CA, the admin token, one context per client link; ``harness.cluster.kubeconfig``), kept
in ``~/.cache/chaosplane/<run id>/`` (``$XDG_CACHE_HOME`` if set) until ``chaosplane down``:

    export KUBECONFIG=$(chaosplane up | jq -r .kubeconfig); kubectl get pods -A

With ``--controller-managers N --schedulers N --nodes N`` the controller layer runs too (its
members' ``/status`` URLs under ``"components"``, the durations under ``"controlplane_timings"``)
and ``up`` returns once each elected component has a lease holder and every node is Ready.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harness.cluster import ClusterSpec, DockerCluster
from harness.cluster.labels import detached_owner, new_run_id
from harness.images import Steps, ensure_images


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("up", help="start a cluster and leave it running")
    parser.add_argument("--store", type=int, default=3, metavar="N", help="store members (1-7)")
    parser.add_argument("--apiservers", type=int, default=2, metavar="M", help="apiservers (1-5)")
    parser.add_argument(
        "--controller-managers", type=int, default=0, metavar="N", help="KCM replicas (0-3)"
    )
    parser.add_argument(
        "--schedulers", type=int, default=0, metavar="N", help="scheduler replicas (0-3)"
    )
    parser.add_argument("--nodes", type=int, default=0, metavar="N", help="simulated nodes (0-10)")
    parser.add_argument("--engine", default="pysyncobj", help="pysyncobj | raftos | etcd")
    parser.add_argument("--bugs", default="", help="comma list of bug-zoo switches")
    parser.add_argument("--proxy-seed", type=int, default=None, help="seed for the link proxy")
    parser.add_argument("--ready-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--run-id", default=None, help="default: a fresh cp-<8 hex>")
    parser.add_argument("--quiet-build", action="store_true", help="no image build progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.store <= 7 or not 1 <= args.apiservers <= 5:
        print("chaosplane up: --store must be 1-7 and --apiservers 1-5", file=sys.stderr)
        return 2
    ranges = {"controller-managers": 3, "schedulers": 3, "nodes": 10}
    for flag, high in ranges.items():
        value = getattr(args, flag.replace("-", "_"))
        if not 0 <= value <= high:
            print(f"chaosplane up: --{flag}: got {value}; expected 0-{high}", file=sys.stderr)
            return 2
    spec = ClusterSpec(
        store_members=args.store,
        apiservers=args.apiservers,
        engine=args.engine,
        bugs=tuple(b for b in args.bugs.split(",") if b),
        proxy_seed=args.proxy_seed,
        ready_timeout_s=args.ready_timeout,
        controller_managers=args.controller_managers,
        schedulers=args.schedulers,
        nodes=args.nodes,
    )
    run_id = args.run_id or new_run_id()
    cluster = DockerCluster(
        spec,
        images=ensure_images(steps=Steps(quiet=args.quiet_build)),
        run_id=run_id,
        owner=detached_owner(run_id),
    )
    cluster.start()  # tears down by itself when it fails or is interrupted
    cluster.detach()
    print(json.dumps(cluster.info.to_json()))
    print(f"kubectl: export KUBECONFIG={cluster.info.kubeconfig}", file=sys.stderr)
    print(f"stop it with: chaosplane down {run_id}", file=sys.stderr)
    return 0

"""``python -m controlplane.kubelet``: one simulated node until SIGTERM (contract C3).

CP_NAME=node-1 CP_API_URLS=http://127.0.0.1:6443 CP_STATUS_PORT=10250 python -m controlplane.kubelet
"""

from __future__ import annotations

import os
import sys

from controlplane.kubeclient.component import component_env, main_guard, run_component
from controlplane.kubelet.sim import SimKubelet


def _main() -> int:
    env = component_env(os.environ, default_name="node-1")
    k = SimKubelet(env)
    return run_component(env, status=k.status, start=k.start)


if __name__ == "__main__":
    sys.exit(main_guard(_main, what="kubelet"))

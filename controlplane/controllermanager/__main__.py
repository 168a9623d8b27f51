"""``python -m controlplane.controllermanager``: run until SIGTERM (contract C3).

    CP_NAME=controller-manager-1 CP_API_URLS=http://127.0.0.1:6443 CP_STATUS_PORT=10257 \
        python -m controlplane.controllermanager
"""

from __future__ import annotations

import os
import sys

from controlplane.controllermanager.manager import ControllerManager
from controlplane.kubeclient.component import component_env, main_guard, run_component
from controlplane.leaderelection.core import ConfigError


def _main() -> int:
    env = component_env(os.environ, default_name="controller-manager-1")
    try:
        cm = ControllerManager(env)
    except ConfigError as exc:
        print(f"controller-manager: {exc}", file=sys.stderr)
        return 2
    return run_component(env, status=cm.status, start=cm.start)


if __name__ == "__main__":
    sys.exit(main_guard(_main, what="controller-manager"))

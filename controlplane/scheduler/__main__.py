"""``python -m controlplane.scheduler``: run until SIGTERM (contract C3).

    CP_NAME=scheduler-1 CP_API_URLS=http://127.0.0.1:6443 CP_STATUS_PORT=10259 \
        python -m controlplane.scheduler
"""

from __future__ import annotations

import os
import sys

from controlplane.kubeclient.component import component_env, main_guard, run_component
from controlplane.leaderelection.core import ConfigError
from controlplane.scheduler.scheduler import Scheduler


def _main() -> int:
    env = component_env(os.environ, default_name="scheduler-1")
    try:
        sched = Scheduler(env)
    except ConfigError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    return run_component(env, status=sched.status, start=sched.start)


if __name__ == "__main__":
    sys.exit(main_guard(_main, what="scheduler"))

"""An :class:`Elector` from a component's environment (contract C3: ``LE_*`` durations).

elector = elector_from_env(env)   # identity "<CP_NAME>_<8 hex>"
"""

from __future__ import annotations

import datetime
import secrets
import time

from controlplane.kubeclient.component import ComponentEnv, env_seconds
from controlplane.leaderelection.core import ElectionTimings, Elector


def election_timings(env: ComponentEnv) -> ElectionTimings:
    e = env.environ
    t = ElectionTimings(
        lease_duration_s=env_seconds(e, "LE_LEASE_DURATION_S", 4.0),
        renew_deadline_s=env_seconds(e, "LE_RENEW_DEADLINE_S", 3.0),
        retry_period_s=env_seconds(e, "LE_RETRY_PERIOD_S", 0.5),
    )
    t.check()
    return t


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def elector_from_env(env: ComponentEnv) -> Elector:
    return Elector(
        identity=f"{env.name}_{secrets.token_hex(4)}",
        timings=election_timings(env),
        mono=time.monotonic,
        wall=utcnow,
        bugs=env.bugs,
    )

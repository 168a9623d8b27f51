"""Build the ``FaultContext`` a run's nemesis works with.

In a nutshell: one context per run: the cluster handle, the Toxiproxy client, the fault
timeline, the run clock's zero, an RNG from the run seed, and a firewall whose start hook is
registered with the cluster (so a restarted member gets its partition rules back).

    ctx = make_context(cluster=cluster, toxiproxy=client, timeline=writer,
                       start_ns=clock_zero, seed=seed)
"""

from __future__ import annotations

import random

from harness.model.cluster import ClusterHandle
from harness.nemesis.base import FaultContext, TimelineWriter, ToxiproxyLike
from harness.nemesis.firewall import Firewall
from harness.nemesis.iptables import Netns
from harness.nemesis.netpath import NetnsDriver


def make_context(
    *,
    cluster: ClusterHandle,
    toxiproxy: ToxiproxyLike,
    timeline: TimelineWriter,
    start_ns: int,
    seed: int,
    netns: Netns | NetnsDriver | None = None,
) -> FaultContext:
    firewall = Firewall(cluster, netns)
    firewall.install()
    return FaultContext(
        cluster=cluster,
        toxiproxy=toxiproxy,
        timeline=timeline,
        start_ns=start_ns,
        rng=random.Random(seed),
        firewall=firewall,
    )

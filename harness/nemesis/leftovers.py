"""Read the cluster back after healing: is anything the nemesis broke still broken?

In a nutshell: ``find_leftovers(ctx)`` asks the sources of truth, not the nemesis' own
bookkeeping: each container's state (stopped, paused), each running member's ``CHAOSPLANE-IN``
chain (via nsenter), and every Toxiproxy proxy (disabled, toxics). An empty list means clean.

    assert find_leftovers(ctx) == []
"""

from __future__ import annotations

from harness.nemesis.base import FaultContext


def find_leftovers(ctx: FaultContext) -> list[str]:
    out: list[str] = []
    for node in sorted(ctx.cluster.nodes(), key=lambda n: n.name):
        if not node.is_running():
            out.append(f"{node.name}: container is not running")
        elif node.is_paused():
            out.append(f"{node.name}: container is paused")
    out += ctx.firewall.leftovers()
    for name, proxy in sorted(ctx.toxiproxy.proxies().items()):
        if proxy.get("enabled") is False:
            out.append(f"link {name}: proxy is disabled")
        toxics = proxy.get("toxics")
        if not isinstance(toxics, list):
            toxics = ctx.toxiproxy.toxics(name)
        if toxics:
            names = ", ".join(str(t.get("name")) for t in toxics)
            out.append(f"link {name}: toxic(s) left: {names}")
    return out

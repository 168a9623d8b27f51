"""What a test or benchmark asks of a cluster's controller layer: pods, nodes, and waiting.

In a nutshell: :class:`KubeView` reads through the run's apiservers (controllers.ApiReader:
each apiserver directly, then through its client link) and answers the questions issue 15's
"done when" asks: which pods of an app run (Running, Ready, not terminating, on a Ready node),
which nodes are Ready, whether a node is cut off (``Ready=Unknown`` with the unreachable
taint). :func:`wait_for` polls a condition and says what it waited for when it gives up.

    view = KubeView(cluster.info)
    wait_for(lambda: len(view.running_pods("web")) == 6, timeout_s=60, what="6 Running pods")
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from harness.cluster.controllers import ApiReader, node_ready
from harness.errors import ClusterError
from harness.model.cluster import ClusterInfo

Obj = dict[str, Any]
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def wait_for(cond: Callable[[], Any], *, timeout_s: float, what: str, poll_s: float = 0.2) -> float:
    """Seconds until ``cond()`` is truthy; ClusterError naming ``what`` after ``timeout_s``."""
    start = time.monotonic()
    last: BaseException | None = None
    while True:
        try:
            if cond():
                return time.monotonic() - start
        except (ClusterError, httpx.HTTPError, KeyError, ValueError) as exc:
            last = exc
        if time.monotonic() - start >= timeout_s:
            raise ClusterError(
                f"not within {timeout_s:.0f} s: {what}" + (f" (last error: {last})" if last else "")
            )
        time.sleep(poll_s)


def is_true(obj: Obj, kind: str) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


class KubeView:
    def __init__(self, info: ClusterInfo, namespace: str = "default") -> None:
        self.api = ApiReader(info)
        self.namespace = namespace

    def close(self) -> None:
        self.api.close()

    def get(self, path: str) -> Obj:
        found = self.api.get(path)
        if found is None:
            raise ClusterError(f"GET {path}: 404")
        return found

    def pods(self, app: str) -> list[Obj]:
        items = self.get(f"/api/v1/namespaces/{self.namespace}/pods")["items"]
        return [p for p in items if (p["metadata"].get("labels") or {}).get("app") == app]

    def live_pods(self, app: str) -> list[Obj]:
        """Pods of ``app`` not marked for deletion."""
        return [p for p in self.pods(app) if not p["metadata"].get("deletionTimestamp")]

    def ready_nodes(self) -> set[str]:
        return {n for n, s in node_ready(self.get("/api/v1/nodes")).items() if s == "True"}

    def running_pods(self, app: str) -> list[Obj]:
        """Pods of ``app`` Running and Ready, not terminating, on a Ready node."""
        ready = self.ready_nodes()
        return [
            p
            for p in self.live_pods(app)
            if (p.get("status") or {}).get("phase") == "Running"
            and p["spec"].get("nodeName") in ready
            and is_true(p, "Ready")
        ]

    def node(self, name: str) -> Obj:
        return self.get(f"/api/v1/nodes/{name}")

    def node_cut_off(self, name: str) -> bool:
        """``Ready=Unknown`` and the unreachable taint: the node controller gave up on it."""
        node = self.node(name)
        ready = [c for c in node["status"].get("conditions") or [] if c["type"] == "Ready"]
        taints = {t.get("key") for t in node.get("spec", {}).get("taints") or []}
        return bool(ready) and ready[0]["status"] == "Unknown" and UNREACHABLE_TAINT in taints

    def node_healthy(self, name: str) -> bool:
        node = self.node(name)
        return is_true(node, "Ready") and not (node.get("spec") or {}).get("taints")

    def __enter__(self) -> KubeView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

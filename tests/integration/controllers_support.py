"""Test support for the controller layer in Docker: raw API moves kubectl has no verb for.

In a nutshell: :func:`bind_twice` creates an unschedulable pod and POSTs two Bindings for it
(node-1, then node-2) — the apiserver must refuse the second unless ``bind-without-check`` is
planted; :class:`SkewedHolder` plays a leader whose clock runs behind: it keeps renewing a
Lease with a ``renewTime`` far in the past, which a correct candidate treats as held (it sees
the record change) and a ``lease-clock`` candidate as expired. Holds no tests itself.

    first, second = bind_twice(cluster.info, "manual")        # (201, 409) without the bug
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import httpx

from harness.cluster.tls import client_context
from harness.model.cluster import ClusterInfo

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"


def api_client(info: ClusterInfo) -> httpx.Client:
    base = next(iter(info.apiservers.values()))
    return httpx.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {info.api_token}"},
        verify=client_context(info.ca_pem),
        timeout=10.0,
        trust_env=False,
    )


def unschedulable_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeSelector": {"zone": "nowhere"}, "containers": [{"name": "c", "image": "x"}]},
    }


def bind_twice(info: ClusterInfo, name: str) -> tuple[int, int]:
    """Create pod ``name`` (no node matches it), bind it to node-1, then to node-2."""
    with api_client(info) as http:
        created = http.post("/api/v1/namespaces/default/pods", json=unschedulable_pod(name))
        assert created.status_code == 201, created.text
        codes = []
        for target in ("node-1", "node-2"):
            binding = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": target},
            }
            r = http.post(f"/api/v1/namespaces/default/pods/{name}/binding", json=binding)
            codes.append(r.status_code)
        node = http.get(f"/api/v1/namespaces/default/pods/{name}").json()["spec"].get("nodeName")
        http.delete(f"/api/v1/namespaces/default/pods/{name}")
    assert node == ("node-2" if codes[1] == 201 else "node-1"), (codes, node)
    return codes[0], codes[1]


def micro(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SkewedHolder:
    """Hold Lease ``kube-system/<lease>`` as ``ghost_0`` with a clock ``behind_s`` slow.

    Every ``period_s`` it re-reads the Lease and writes itself back as holder (taking it over
    again if a member took it), with ``renewTime = now - behind_s``. ``takeovers`` counts the
    times it found a member holding the lease, i.e. a candidate judged the live ghost expired.
    """

    def __init__(
        self, info: ClusterInfo, lease: str, *, behind_s: float = 10.0, period_s: float = 0.5
    ) -> None:
        self.info = info
        self.lease = lease
        self.behind_s = behind_s
        self.period_s = period_s
        self.takeovers: list[str] = []
        self.writes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="skewed-holder", daemon=True)

    def __enter__(self) -> SkewedHolder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with api_client(self.info) as http:
            while not self._stop.is_set():
                self._step(http)
                self._stop.wait(self.period_s)

    def _step(self, http: httpx.Client) -> None:
        try:
            current = http.get(f"{LEASES}/{self.lease}").json()
            spec = current.get("spec") or {}
            holder = str(spec.get("holderIdentity") or "")
            if self.writes and holder and not holder.startswith("ghost_"):
                self.takeovers.append(holder)
            now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.behind_s)
            taking = not holder.startswith("ghost_")
            spec = {
                **spec,
                "holderIdentity": "ghost_0",
                "leaseDurationSeconds": 4,
                "renewTime": micro(now),
                "acquireTime": micro(now) if taking else spec.get("acquireTime"),
                "leaseTransitions": int(spec.get("leaseTransitions") or 0) + int(taking),
            }
            r = http.put(f"{LEASES}/{self.lease}", json={**current, "spec": spec})
            if r.status_code == 200:
                self.writes += 1
        except (httpx.HTTPError, ValueError):
            pass  # a lost round: the next one retries


class PodAdds:
    """Count the distinct pods of ``app`` ever created, from a watch of the test's own."""

    def __init__(self, info: ClusterInfo, app: str) -> None:
        self.info = info
        self.app = app
        self.uids: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pod-adds", daemon=True)

    def __enter__(self) -> PodAdds:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        pods = "/api/v1/namespaces/default/pods"
        selector = f"labelSelector=app%3D{self.app}"
        with api_client(self.info) as http:
            rv = str(http.get(f"{pods}?{selector}").json()["metadata"]["resourceVersion"])
            while not self._stop.is_set():
                url = f"{pods}?watch=1&{selector}&resourceVersion={rv}&timeoutSeconds=5"
                try:
                    with http.stream("GET", url, timeout=httpx.Timeout(10.0)) as r:
                        for raw in r.iter_lines():
                            if raw.strip():
                                rv = self._event(json.loads(raw)) or rv
                            if self._stop.is_set():
                                return
                except (httpx.HTTPError, ValueError):
                    self._stop.wait(0.2)

    def _event(self, event: dict[str, Any]) -> str | None:
        meta = (event.get("object") or {}).get("metadata") or {}
        if meta.get("uid") and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
            self.uids.add(str(meta["uid"]))
        return str(meta["resourceVersion"]) if meta.get("resourceVersion") else None

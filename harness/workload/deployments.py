"""The deployments workload: Deployments and bare pods driven as a user would, every change watched.

In a nutshell: each client owns its own Deployments ``<key_prefix>dep-<client>-<i>`` and bare
pods ``<key_prefix>pod-<client>-<j>`` (so no two clients race on one object) and, paced like
every workload, creates them, scales them up and down, rolls their template (a new image),
deletes them, and deletes pods at random — a Deployment's (a simulated pod failure, which its
ReplicaSet must replace) or a bare one. Beside the clients, ``k8swatch`` watchers record every
change of deployments, replicasets, pods, nodes and leases (C4).

What a client does next comes from ``OpPlan``: a pure function of the seed, the client and what
it planned before — never of what the cluster answered — so the same seed gives the same
sequence of client ops in a faulty run and in its fault-free reference run
(``reference_end_state``). Client ops (C4; key ``<namespace>/<name>``):

| f                 | invoke value                    | ok value adds        |
|-------------------|---------------------------------|----------------------|
| create-deployment | ``{"name", "replicas", "image"}`` | ``resourceVersion``  |
| scale-deployment  | ``{"name", "replicas"}``          | ``resourceVersion``  |
| roll-deployment   | ``{"name", "image"}``             | ``resourceVersion``  |
| delete-deployment | ``{"name"}``                      |                      |
| create-pod        | ``{"name", "image"}``             | ``resourceVersion``  |
| delete-pod        | ``{"name", "pick"}`` (+ ``owner``)| ``pod`` (the one deleted) |
| bind-pod          | ``{"name", "pick"}``              | ``node`` (bound to)  |

A delete-pod of a Deployment's pod (key = the Deployment) deletes its ``pick``-th live pod in
name order. Outcomes follow ``harness.workload.outcome``: connect failure → fail; timeout or
reset → info; 409 and other 4xx → fail; 5xx → info. A scale or roll rereads and retries on a
409 Conflict (the controller-manager writes the Deployment's status meanwhile).

    DeploymentsWorkload(spec, info, writer, start_ns=t0, seed=7).run(stop)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.history.k8s import K8sResource
from harness.workload.base import ClientState, ClientWorkload, Invocation
from harness.workload.deployments_drain import DrainResult, Obj, wait_settled
from harness.workload.errors import WorkloadConfigError
from harness.workload.http import NAMESPACE, Endpoint, Http, Reply
from harness.workload.k8swatch import ResourceWatcher
from harness.workload.outcome import Effect, Outcome, classify_status, fail, ok, response_json

DEFAULT_MIX: dict[str, float] = {
    "scale-deployment": 0.35,
    "roll-deployment": 0.15,
    "delete-pod": 0.3,
    "create-pod": 0.1,
    "delete-deployment": 0.05,
    "delete-bare-pod": 0.05,
    # A second binder (a custom scheduler racing the default one): POST a Binding of a bare
    # pod to a node; the apiserver must answer 409 once the pod is bound. Off unless mixed in.
    "bind-pod": 0.0,
}
MAX_REPLICAS = 5
BARE_PODS = 2
IMAGE = "chaosplane/sim"
WORKLOAD_LABEL = "chaosplane.io/workload"
OWNER_LABEL = "chaosplane.io/deployment"
CONFLICT_RETRIES = 5
WATCHED = tuple(K8sResource)


def deployments_url(base: str, name: str | None = None) -> str:
    url = f"{base}/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
    return url if name is None else f"{url}/{name}"


def replicasets_url(base: str) -> str:
    return f"{base}/apis/apps/v1/namespaces/{NAMESPACE}/replicasets"


def pods_url(base: str, name: str | None = None) -> str:
    url = f"{base}/api/v1/namespaces/{NAMESPACE}/pods"
    return url if name is None else f"{url}/{name}"


def image(version: int) -> str:
    return f"{IMAGE}:{version}"


def pod_template(name: str, version: int) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name, OWNER_LABEL: name, WORKLOAD_LABEL: "deployments"}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image(version),
                    "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}},
                }
            ]
        },
    }


def deployment_body(name: str, replicas: int, version: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {WORKLOAD_LABEL: "deployments"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(name, version),
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
        },
    }


def pod_body(name: str, version: int) -> dict[str, Any]:
    template = pod_template(name, version)
    labels = {WORKLOAD_LABEL: "deployments", "app": name}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": template["spec"],
    }


# ---- the generator: seeded, blind to outcomes ----------------------------------------------


@dataclass(slots=True, kw_only=True)
class OpPlan:
    """One client's sequence of ops; ``next()`` depends only on the seed and earlier plans."""

    rng: random.Random
    deployments: list[str]
    bare_pods: list[str]
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    max_replicas: int = MAX_REPLICAS
    version: dict[str, int] = field(default_factory=dict)  # deployment → image version planned
    planned: set[str] = field(default_factory=set)  # objects planned to exist

    def next(self) -> Invocation:
        missing = [d for d in self.deployments if d not in self.planned]
        if missing:
            return self._create_deployment(missing[0])
        f = self.rng.choices(list(self.mix), list(self.mix.values()))[0]
        dep = self.rng.choice(self.deployments)
        if f == "scale-deployment":
            replicas = self.rng.randint(0, self.max_replicas)
            return _write(f, dep, {"name": dep, "replicas": replicas})
        if f == "roll-deployment":
            self.version[dep] = self.version.get(dep, 1) + 1
            return _write(f, dep, {"name": dep, "image": image(self.version[dep])})
        if f == "delete-deployment":
            self.planned.discard(dep)
            return _write(f, dep, {"name": dep})
        if f == "delete-pod":
            return _write(f, dep, {"name": dep, "owner": dep, "pick": self.rng.randrange(1000)})
        pod = self.rng.choice(self.bare_pods)
        if f == "bind-pod" and pod in self.planned:
            return _write(f, pod, {"name": pod, "pick": self.rng.randrange(1000)})
        if f in ("create-pod", "bind-pod") or pod not in self.planned:
            self.planned.add(pod)
            return _write("create-pod", pod, {"name": pod, "image": image(1)})
        self.planned.discard(pod)
        return _write("delete-pod", pod, {"name": pod, "pick": 0})

    def _create_deployment(self, dep: str) -> Invocation:
        self.planned.add(dep)
        self.version[dep] = 1
        replicas = self.rng.randint(1, self.max_replicas)
        return _write(
            "create-deployment", dep, {"name": dep, "replicas": replicas, "image": image(1)}
        )


def _write(f: str, name: str, value: dict[str, Any]) -> Invocation:
    return Invocation(f=f, key=f"{NAMESPACE}/{name}", value=value, effect=Effect.WRITE)


def make_plan(
    seed: int,
    slot: int,
    *,
    prefix: str,
    deployments: int,
    bare_pods: int,
    mix: Mapping[str, float] | None = None,
    max_replicas: int = MAX_REPLICAS,
) -> OpPlan:
    chosen = dict(mix or DEFAULT_MIX)
    unknown = sorted(set(chosen) - set(DEFAULT_MIX))
    if unknown:
        raise WorkloadConfigError(
            field="workload.mix",
            got=unknown,
            expected=f"ops among {sorted(DEFAULT_MIX)}",
            fix=f"the deployments workload has unknown ops {unknown}: remove them from the mix",
        )
    return OpPlan(
        rng=random.Random(f"{seed}:deployments:{slot}"),
        deployments=[f"{prefix}dep-{slot}-{i}" for i in range(max(1, deployments))],
        bare_pods=[f"{prefix}pod-{slot}-{j}" for j in range(max(1, bare_pods))],
        mix={k: v for k, v in chosen.items() if v > 0},
        max_replicas=max_replicas,
    )


# ---- the workload -------------------------------------------------------------------------


class DeploymentsWorkload(ClientWorkload):
    kind = "deployments"
    checkers = (
        "well_formed",
        "leader_exclusive",
        "lease_integrity",
        "failover",
        "replicas_converge",
        "no_overshoot",
        "binding",
        "node_failure",
        "no_overcommit",
        "reference_end_state",
    )

    def __init__(
        self,
        *args: Any,
        # The controllers settle the last ops (replicas_converge needs it): the drain waits
        # until every owner the workload made has settled, at most drain_s (deployments_drain).
        drain_s: float = 60.0,
        drain_tail_s: float = 1.0,  # then this long more, so the watchers record the last events
        bare_pods: int = BARE_PODS,
        max_replicas: int = MAX_REPLICAS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.spec.through != "apiserver":
            raise WorkloadConfigError(
                field="workload.through",
                got=self.spec.through,
                expected="'apiserver'",
                fix="set workload.through: apiserver (the deployments workload speaks the "
                "Kubernetes API; the store has no Deployments)",
            )
        self.drain_s = drain_s
        self.drain_tail_s = drain_tail_s
        self.drained: DrainResult | None = None
        self._http: Http | None = None
        self._drain_reads = 0
        per_client = max(1, self.spec.keys // max(1, self.spec.clients))
        self.plans = [
            make_plan(
                self.seed,
                slot,
                prefix=self.prefix,
                deployments=per_client,
                bare_pods=bare_pods,
                mix=self.spec.mix or None,
                max_replicas=max_replicas,
            )
            for slot in range(self.spec.clients)
        ]
        self.watchers = [
            ResourceWatcher(
                resource,
                process=self.spec.clients + i,
                endpoints=self.endpoints,
                recorder=self.recorder,
                read_timeout_s=max(5 * self.spec.op_timeout_s, 2.0),
                first_endpoint=i,
            )
            for i, resource in enumerate(WATCHED)
        ]

    def extra_processes(self) -> int:
        return len(WATCHED)

    def plan(self, client: ClientState) -> Invocation:
        return self.plans[client.slot].next()

    # ---- watchers ------------------------------------------------------------------------
    def background(self, http: Http, stopping: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        self._http = http  # the drain reads the objects through the same client
        return [w.run(http) for w in self.watchers]

    async def drain(self, tasks: list[asyncio.Task[None]]) -> None:
        """Keep watching after the clients stop until the controllers have answered the last
        ops (bounded by ``drain_s``; the result says whether they did): that answer is part of
        the history, and a slow one must not read as "not converged at the end"."""
        if self._http is not None:
            self.drained = await wait_settled(self._list_owned, max_s=self.drain_s)
        await asyncio.sleep(self.drain_tail_s)
        await super().drain(tasks)

    async def _list_owned(self) -> tuple[list[Obj], list[Obj], list[Obj]] | None:
        """The workload's Deployments, the namespace's ReplicaSets and the workload's pods."""
        assert self._http is not None
        lists: list[list[Obj]] = []
        for i, make_url in enumerate((deployments_url, replicasets_url, pods_url)):
            base = self.endpoints[(self._drain_reads + i) % len(self.endpoints)].url
            query = "" if i == 1 else f"?labelSelector={WORKLOAD_LABEL}%3Ddeployments"
            got = await self._http.call("GET", make_url(base) + query, effect=Effect.READ)
            if isinstance(got, Outcome) or got.status_code != 200:
                self._drain_reads += 1  # try the next apiserver on the next poll
                return None
            body = response_json(got)
            items = body.get("items") if isinstance(body, dict) else None
            lists.append(
                [
                    o
                    for o in items or []
                    if isinstance(o, dict)
                    and str((o.get("metadata") or {}).get("name", "")).startswith(self.prefix)
                ]
            )
        return lists[0], lists[1], lists[2]

    def result_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"watchers": {str(w.resource): w.stats() for w in self.watchers}}
        if self.drained is not None:
            extra["drain"] = self.drained.to_json()
        return extra

    # ---- client ops ----------------------------------------------------------------------
    async def execute(self, http: Http, inv: Invocation, endpoint: Endpoint) -> Outcome:
        value: dict[str, Any] = inv.value
        name = str(value["name"])
        base = endpoint.url
        if inv.f == "create-deployment":
            body = deployment_body(name, int(value["replicas"]), _version(value["image"]))
            return _created(
                await http.call("POST", deployments_url(base), effect=Effect.WRITE, json=body),
                value,
            )
        if inv.f in ("scale-deployment", "roll-deployment"):
            return await self._modify(http, deployments_url(base, name), inv.f, value)
        if inv.f == "delete-deployment":
            got = await http.call(
                "DELETE",
                deployments_url(base, name),
                effect=Effect.WRITE,
                json={"propagationPolicy": "Background"},
            )
            return _deleted(got, value)
        if inv.f == "create-pod":
            body = pod_body(name, _version(value["image"]))
            return _created(
                await http.call("POST", pods_url(base), effect=Effect.WRITE, json=body), value
            )
        if inv.f == "bind-pod":
            nodes = sorted(m for m in self.info.components if m.startswith("node-"))
            if not nodes:
                return fail("no node to bind to (cluster.nodes is 0)", value)
            node = nodes[int(value["pick"]) % len(nodes)]
            binding = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node},
            }
            got = await http.call(
                "POST", f"{pods_url(base, name)}/binding", effect=Effect.WRITE, json=binding
            )
            return _deleted(got, {**value, "node": node})
        if inv.f == "delete-pod":
            target = name
            if "owner" in value:
                picked = await self._pick_pod(http, base, str(value["owner"]), int(value["pick"]))
                if isinstance(picked, Outcome):
                    return picked
                target = picked
            got = await http.call("DELETE", pods_url(base, target), effect=Effect.WRITE)
            return _deleted(got, {**value, "pod": target})
        raise ValueError(f"deployments workload: unknown op {inv.f!r}")

    async def _modify(self, http: Http, url: str, f: str, value: dict[str, Any]) -> Outcome:
        for _ in range(CONFLICT_RETRIES):
            current = await http.call("GET", url, effect=Effect.READ)
            if isinstance(current, Outcome):
                return current  # a failed read changed nothing: fail, whatever the error
            if current.status_code != 200:
                return _read_failed(current, value)
            obj = response_json(current)
            if not isinstance(obj, dict) or not isinstance(obj.get("spec"), dict):
                return fail("GET answered no Deployment object", value)
            if f == "scale-deployment":
                obj["spec"]["replicas"] = int(value["replicas"])
            else:
                containers = obj["spec"].get("template", {}).get("spec", {}).get("containers") or []
                for c in containers:
                    c["image"] = value["image"]
            got = await http.call("PUT", url, effect=Effect.WRITE, json=obj)
            if isinstance(got, Reply) and got.status_code == 409:
                continue  # the controller wrote status in between: reread and try again
            return _created(got, value)
        return fail(f"HTTP 409 Conflict {CONFLICT_RETRIES} times in a row", value)

    async def _pick_pod(self, http: Http, base: str, owner: str, pick: int) -> str | Outcome:
        got = await http.call("GET", pods_url(base), effect=Effect.READ)
        if isinstance(got, Outcome):
            return got
        if got.status_code != 200:
            return _read_failed(got, {"owner": owner, "pick": pick})
        body = response_json(got) or {}
        names = sorted(
            str(item["metadata"]["name"])
            for item in body.get("items") or []
            if isinstance(item, dict)
            and isinstance(item.get("metadata"), dict)
            and (item["metadata"].get("labels") or {}).get(OWNER_LABEL) == owner
            and not item["metadata"].get("deletionTimestamp")
        )
        if not names:
            return fail(f"no live pod of {owner} to delete")
        return names[pick % len(names)]


def _read_failed(got: Reply, value: dict[str, Any]) -> Outcome:
    """A read step answered non-200: nothing was written, so the op certainly failed."""
    if got.status_code == 404:
        return fail("HTTP 404 NotFound", value)
    return classify_status(
        got.status_code, effect=Effect.READ, body=response_json(got), value=value
    )


def _version(img: Any) -> int:
    return int(str(img).rsplit(":", 1)[1])


def _created(got: Reply | Outcome, value: dict[str, Any]) -> Outcome:
    if isinstance(got, Outcome):
        return got
    body = response_json(got)
    if not 200 <= got.status_code < 300:
        return classify_status(got.status_code, effect=Effect.WRITE, body=body, value=value)
    rv = (body or {}).get("metadata", {}).get("resourceVersion") if isinstance(body, dict) else None
    return ok({**value, "resourceVersion": rv})


def _deleted(got: Reply | Outcome, value: dict[str, Any]) -> Outcome:
    if isinstance(got, Outcome):
        return got
    if not 200 <= got.status_code < 300:
        return classify_status(
            got.status_code, effect=Effect.WRITE, body=response_json(got), value=value
        )
    return ok(value)

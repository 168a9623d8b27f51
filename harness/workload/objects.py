"""The objects workload: Kubernetes-style verbs on ConfigMaps through the apiservers.

In a nutshell: clients create, update (with the last resourceVersion they know: a stale one gets
409 Conflict → fail, which exercises the precondition), delete, get and list ConfigMaps
``obj-<n>`` (n < keys; names start with ``WorkloadSpec.key_prefix``). Histories (key = object
name; values carry the resourceVersion the server gave so checkers can order them):

| f          | invoke value          | ok value                                          |
|------------|-----------------------|---------------------------------------------------|
| create     | ``{"name", "value"}`` | ``{"name", "value", "resourceVersion"}``          |
| update     | ``{"name", "value"}`` | ``{"name", "value", "resourceVersion"}``          |
| delete     | null                  | null                                              |
| get        | null                  | ``{"name", "value", "resourceVersion"}``, or null |
| list       | null                  | ``{"resourceVersion", "items": {name: rv}}``      |
| final-read | null                  | sorted names present after healing                |

``final_read`` lists the objects after healing (retried until it succeeds) so the
``no_lost_writes`` checker can ask whether every acknowledged create is still there (unless
deleted); the ``name`` in create values is the element it compares.

    ObjectsWorkload(WorkloadSpec(kind="objects", keys=8), info, writer, start_ns=t0, seed=2)
"""

from __future__ import annotations

import itertools
from typing import Any

from harness.workload.base import ClientState, ClientWorkload, Invocation
from harness.workload.errors import WorkloadConfigError
from harness.workload.http import (
    Endpoint,
    Http,
    configmap,
    configmaps_url,
    data_int,
    object_name,
    resource_version,
)
from harness.workload.outcome import Effect, Outcome, classify_status, ok, response_json

DEFAULT_MIX = {"create": 0.2, "update": 0.3, "delete": 0.1, "get": 0.3, "list": 0.1}
_EFFECTS = {
    "create": Effect.WRITE,
    "update": Effect.WRITE,
    "delete": Effect.WRITE,
    "get": Effect.READ,
    "list": Effect.READ,
}
PREFIX = "obj-"


class ObjectsWorkload(ClientWorkload):
    kind = "objects"
    checkers = ("well_formed", "no_lost_writes")

    def __init__(self, *args: Any, final_read_timeout_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.final_read_timeout_s = final_read_timeout_s
        if self.spec.through != "apiserver":
            raise WorkloadConfigError(
                field="workload.through",
                got=self.spec.through,
                expected="'apiserver' (objects are Kubernetes objects)",
                fix="set workload.through: apiserver",
            )
        mix = self.spec.mix or DEFAULT_MIX
        unknown = sorted(set(mix) - set(_EFFECTS))
        if unknown:
            raise WorkloadConfigError(
                field="workload.mix",
                got=unknown,
                expected=f"ops of the objects workload: {', '.join(sorted(_EFFECTS))}",
                fix="weight only those ops",
            )
        self.ops = [f for f, w in mix.items() if w > 0]
        self.weights = [mix[f] for f in self.ops]
        self.names = [f"{self.prefix}{PREFIX}{i}" for i in range(max(1, self.spec.keys))]
        self._values = itertools.count(1)
        self._rv: dict[str, str] = {}  # last resourceVersion seen per object

    def plan(self, client: ClientState) -> Invocation:
        f = client.rng.choices(self.ops, self.weights)[0]
        name = client.rng.choice(self.names)
        if f == "update" and name not in self._rv:
            f = "create"  # nothing known to update yet
        if f == "list":
            return Invocation(f="list", key=None, value=None, effect=Effect.READ)
        value = {"name": name, "value": next(self._values)} if f in ("create", "update") else None
        return Invocation(f=f, key=name, value=value, effect=_EFFECTS[f])

    async def execute(self, http: Http, inv: Invocation, endpoint: Endpoint) -> Outcome:
        if inv.f == "list":
            got = await http.call("GET", configmaps_url(endpoint.url), effect=Effect.READ)
            return self._answer(got, inv, lambda body: _list_value(body, self.prefix + PREFIX))
        assert inv.key is not None
        url = configmaps_url(endpoint.url, inv.key)
        if inv.f == "create":
            body = configmap(inv.key, {"value": str(inv.value["value"])})
            got = await http.call(
                "POST", configmaps_url(endpoint.url), effect=Effect.WRITE, json=body
            )
        elif inv.f == "update":
            rv = self._rv.get(inv.key)
            body = configmap(inv.key, {"value": str(inv.value["value"])}, resource_version=rv)
            got = await http.call("PUT", url, effect=Effect.WRITE, json=body)
        elif inv.f == "delete":
            got = await http.call("DELETE", url, effect=Effect.WRITE)
            return self._answer(got, inv, lambda body: None)
        else:
            got = await http.call("GET", url, effect=Effect.READ)
        return self._answer(got, inv, _object_value)

    def _answer(self, got: Any, inv: Invocation, value_of: Any) -> Outcome:
        if isinstance(got, Outcome):
            return got
        body = response_json(got)
        if not 200 <= got.status_code < 300:
            return classify_status(got.status_code, effect=inv.effect, body=body)
        return ok(value_of(body))

    def final_read(self) -> None:
        """Record ``final-read`` ops (key ``objects``) until one lists the objects."""

        async def names(http: Http, endpoint: Endpoint) -> Outcome:
            got = await http.call("GET", configmaps_url(endpoint.url), effect=Effect.READ)
            inv = Invocation(f="final-read", key=None, value=None, effect=Effect.READ)
            return self._answer(
                got, inv, lambda body: sorted(_list_value(body, self.prefix + PREFIX)["items"])
            )

        self.final_read_until_ok("objects", names, timeout_s=self.final_read_timeout_s)

    def observe(self, client: ClientState, inv: Invocation, outcome: Outcome) -> None:
        if outcome.type.value != "ok":
            return
        if inv.f == "list" and isinstance(outcome.value, dict):
            self._rv.update(outcome.value["items"])
        elif inv.f == "delete" and inv.key is not None:
            self._rv.pop(inv.key, None)
        elif inv.key is not None and isinstance(outcome.value, dict):
            rv = outcome.value.get("resourceVersion")
            if rv is not None:
                self._rv[inv.key] = str(rv)


def _object_value(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    return {
        "name": object_name(obj),
        "value": data_int(obj),
        "resourceVersion": resource_version(obj),
    }


def _list_value(body: Any, prefix: str) -> dict[str, Any]:
    items: dict[str, str | None] = {}
    for item in (body or {}).get("items") or []:
        name = object_name(item)
        if name is not None and name.startswith(prefix):
            items[name] = resource_version(item)
    return {"resourceVersion": resource_version(body), "items": items}

"""The set workload: unique adds during the run, one final read after healing.

In a nutshell: every op adds a fresh element (an integer unique in the run) to the set ``set``;
after the faults are healed, ``final_read`` lists what the cluster holds and records one op
``f: final-read`` (key = the set's name, value = the sorted elements seen), retried until it
succeeds or ``final_read_timeout_s`` passes. The ``no_lost_writes`` checker then asks: is every
acknowledged add in the final read, and no failed add?

* through ``apiserver``: an add creates ConfigMap ``set-<element>`` (label
  ``chaosplane-set: <set>``); 409 AlreadyExists → fail. The final read lists the namespace.
* through ``store``: an add is ``PUT /kv/set/<set>/<element>``; the final read is
  ``GET /kv?prefix=set/<set>/``. Names and keys carry ``WorkloadSpec.key_prefix``.

    SetWorkload(WorkloadSpec(kind="set"), info, writer, start_ns=t0, seed=3).final_read()
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from harness.workload.base import ClientState, ClientWorkload, Invocation
from harness.workload.http import (
    Endpoint,
    Http,
    configmap,
    configmaps_url,
    object_name,
    store_key_url,
)
from harness.workload.outcome import Effect, Outcome, classify_status, ok, response_json

SET_NAME = "set"
LABEL = "chaosplane-set"


class SetWorkload(ClientWorkload):
    kind = "set"
    checkers = ("well_formed", "no_lost_writes")
    parallel = True  # elements stay unique across processes (``unique``)

    def __init__(self, *args: Any, final_read_timeout_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.final_read_timeout_s = final_read_timeout_s
        self._elements = itertools.count(0)

    def plan(self, client: ClientState) -> Invocation:
        element = self.unique(next(self._elements))
        return Invocation(f="add", key=SET_NAME, value=element, effect=Effect.WRITE)

    async def execute(self, http: Http, inv: Invocation, endpoint: Endpoint) -> Outcome:
        element = int(inv.value)
        if self.spec.through == "store":
            url = store_key_url(endpoint.url, f"set/{self.prefix}{SET_NAME}/{element}")
            body: dict[str, Any] = {"value": element, "request_id": uuid.uuid4().hex}
            got = await http.call("PUT", url, effect=Effect.WRITE, json=body)
        else:
            obj = configmap(
                f"{self.prefix}set-{element}", {"element": str(element)}, labels={LABEL: SET_NAME}
            )
            got = await http.call(
                "POST", configmaps_url(endpoint.url), effect=Effect.WRITE, json=obj
            )
        if isinstance(got, Outcome):
            return got
        if 200 <= got.status_code < 300:
            return ok(element)
        return classify_status(got.status_code, effect=Effect.WRITE, body=response_json(got))

    async def read_elements(self, http: Http, endpoint: Endpoint) -> Outcome:
        """One attempt at reading the whole set: ok with the sorted elements, or fail."""
        if self.spec.through == "store":
            url = f"{endpoint.url}/kv"
            got = await http.call(
                "GET", url, effect=Effect.READ, params={"prefix": f"set/{self.prefix}{SET_NAME}/"}
            )
        else:
            got = await http.call("GET", configmaps_url(endpoint.url), effect=Effect.READ)
        if isinstance(got, Outcome):
            return got
        body = response_json(got)
        if got.status_code != 200 or not isinstance(body, dict):
            return classify_status(got.status_code, effect=Effect.READ, body=body)
        elements: list[int] = []
        for item in body.get("items") or []:
            element = _element_of(item, through=self.spec.through, prefix=self.prefix)
            if element is not None:
                elements.append(element)
        return ok(sorted(set(elements)))

    def final_read(self) -> None:
        """Record ``final-read`` attempts until one succeeds or the deadline passes."""
        self.final_read_until_ok(SET_NAME, self.read_elements, timeout_s=self.final_read_timeout_s)


def _element_of(item: Any, *, through: str, prefix: str) -> int | None:
    """The element an item of the final listing stands for (None: not one of ours)."""
    if not isinstance(item, dict):
        return None
    if through == "store":
        key = str(item.get("key", ""))
        tail = key.rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else None
    name = object_name(item) or ""
    if not name.startswith(f"{prefix}set-"):
        return None
    tail = name.removeprefix(f"{prefix}set-")
    return int(tail) if tail.isdigit() else None

"""The register workload: read / write / cas (and optionally delete) on a few keys.

In a nutshell: each key is a linearizable register with initial value null (absent). Written
values are unique per key (a per-key counter), which keeps the linearizability check cheap and
lets every read name the write it saw. Clients are spread over keys: with more clients than keys,
``ceil(clients / keys)`` clients share each key (the checker's cost grows with that number).
History (``harness.history.Op``): ``read`` (ok value = the value read, null when absent),
``write`` (value), ``cas`` (value ``[expected, new]``), ``delete``.

Two ways in (``WorkloadSpec.through``):

* ``store``: ``GET/PUT/DELETE /kv/reg/<key>``; cas is ``POST /kv/reg/<key>/cas`` with
  ``expect_value`` (``expect_revision: 0`` when expecting absence). Every write carries a
  ``request_id`` so the store applies it at most once. With ``WorkloadSpec.value_size`` > 0
  the stored value is the string ``"<n>|"`` plus that many bytes of padding (still unique per
  key); reads map it back to ``n``, so histories keep plain integers.
* ``apiserver``: the key ``k3`` is ConfigMap ``reg-k3`` in ``default``, value in ``data.value``
  (server-side names and keys carry ``WorkloadSpec.key_prefix``).
  - read = ``GET`` (404 → null).
  - cas [e, n] = ``GET``; if ``data.value != e`` the op fails (nothing was sent); else ``PUT``
    with that ``resourceVersion``. Values are unique, so the object's RV changes exactly when its
    value does, and the conditional PUT succeeds exactly when the value is still ``e``: an exact
    compare-and-set. 409 → fail. cas [null, n] = ``POST`` (create; 409 AlreadyExists → fail).
  - write = the same read-then-conditional-PUT, retried on 409 until the op deadline: each
    attempt either applies atomically at its PUT or certainly not at all, so the op is one
    atomic write (it never depends on the apiserver accepting an unconditional PUT). The first
    attempt with an unknown outcome ends the op as ``info``.
  - delete = ``DELETE`` (404 → ok: the register is absent either way).

    RegisterWorkload(WorkloadSpec(kind="register", keys=4), info, writer, start_ns=t0, seed=1)
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from harness.history import OpType
from harness.workload.base import ClientState, ClientWorkload, Invocation
from harness.workload.errors import WorkloadConfigError
from harness.workload.http import (
    Endpoint,
    Http,
    Reply,
    configmap,
    configmaps_url,
    data_int,
    resource_version,
    store_key_url,
)
from harness.workload.outcome import (
    Effect,
    Outcome,
    classify_exception,
    classify_status,
    fail,
    ok,
    response_json,
)

DEFAULT_MIX = {"read": 0.4, "write": 0.3, "cas": 0.3}
_EFFECTS = {"read": Effect.READ, "write": Effect.WRITE, "cas": Effect.WRITE, "delete": Effect.WRITE}


class RegisterWorkload(ClientWorkload):
    kind = "register"
    checkers = ("well_formed", "linearizable")
    parallel = True  # keys are split between processes: a key's clients share one counter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mix = self.spec.mix or DEFAULT_MIX
        unknown = sorted(set(mix) - set(_EFFECTS))
        if unknown:
            raise WorkloadConfigError(
                field="workload.mix",
                got=unknown,
                expected=f"ops of the register workload: {', '.join(sorted(_EFFECTS))}",
                fix="weight only those ops",
            )
        self.ops = [f for f, w in mix.items() if w > 0]
        self.weights = [mix[f] for f in self.ops]
        self.keys = [f"k{i}" for i in range(max(1, self.spec.keys))]
        self._counters: dict[str, itertools.count[int]] = {k: itertools.count(1) for k in self.keys}
        self._last_seen: dict[str, Any] = defaultdict(lambda: None)  # last value known per key

    # ----- planning ----------------------------------------------------------------------
    def parallel_group(self, slot: int) -> int:
        """Clients sharing a key (more clients than keys) run in one process."""
        return slot % min(self.spec.clients, len(self.keys))

    def keys_of(self, client: ClientState) -> list[str]:
        """The keys a client works on: its share of keys, never empty."""
        n = len(self.keys)
        if self.spec.clients >= n:
            return [self.keys[client.slot % n]]
        return self.keys[client.slot :: self.spec.clients]

    def plan(self, client: ClientState) -> Invocation:
        key = client.rng.choice(self.keys_of(client))
        f = client.rng.choices(self.ops, self.weights)[0]
        value: Any = None
        if f == "write":
            value = next(self._counters[key])
        elif f == "cas":
            value = [self._last_seen[key], next(self._counters[key])]
        return Invocation(f=f, key=key, value=value, effect=_EFFECTS[f])

    def observe(self, client: ClientState, inv: Invocation, outcome: Outcome) -> None:
        if inv.key is None:
            return
        if outcome.observed is not None:  # a failed cas told us the current value
            self._last_seen[inv.key] = outcome.observed[0]
        if outcome.type.value == "ok":
            if inv.f == "read":
                self._last_seen[inv.key] = outcome.value
            elif inv.f == "write":
                self._last_seen[inv.key] = inv.value
            elif inv.f == "cas":
                self._last_seen[inv.key] = inv.value[1]
            elif inv.f == "delete":
                self._last_seen[inv.key] = None

    # ----- execution ---------------------------------------------------------------------
    async def execute(self, http: Http, inv: Invocation, endpoint: Endpoint) -> Outcome:
        assert inv.key is not None
        if self.spec.through == "store":
            return await self._store_op(http, inv, endpoint.url)
        return await self._api_op(http, inv, endpoint.url)

    async def _store_op(self, http: Http, inv: Invocation, base: str) -> Outcome:
        assert inv.key is not None
        url = store_key_url(base, f"reg/{self.prefix}{inv.key}")
        request_id = uuid.uuid4().hex
        if inv.f == "read":
            got = await http.call("GET", url, effect=Effect.READ)
            return _answer(got, Effect.READ, lambda body: ok(unpad(body.get("value"))))
        if inv.f == "write":
            value = pad(inv.value, self.spec.value_size)
            got = await http.call(
                "PUT", url, effect=Effect.WRITE, json={"value": value, "request_id": request_id}
            )
            return _answer(got, Effect.WRITE, lambda body: ok(inv.value))
        if inv.f == "delete":
            got = await http.call(
                "DELETE", url, effect=Effect.WRITE, json={"request_id": request_id}
            )
            return _answer(got, Effect.WRITE, lambda body: ok(None))
        expected, new = inv.value
        size = self.spec.value_size
        compare: dict[str, Any] = (
            {"expect_revision": 0} if expected is None else {"expect_value": pad(expected, size)}
        )
        body = {**compare, "value": pad(new, size), "request_id": request_id}
        got = await http.call("POST", f"{url}/cas", effect=Effect.WRITE, json=body)
        return _answer(got, Effect.WRITE, lambda answer: _cas_answer(answer, inv.value))

    async def _api_op(self, http: Http, inv: Invocation, base: str) -> Outcome:
        assert inv.key is not None
        name = f"{self.prefix}reg-{inv.key}"
        url = configmaps_url(base, name)
        if inv.f == "read":
            got = await http.call("GET", url, effect=Effect.READ)
            return _answer(got, Effect.READ, lambda obj: ok(data_int(obj)))
        if inv.f == "delete":
            got = await http.call("DELETE", url, effect=Effect.WRITE)
            if isinstance(got, Reply) and got.status_code == 404:
                return ok(None)
            return _answer(got, Effect.WRITE, lambda obj: ok(None))
        if inv.f == "cas":
            expected, new = inv.value
            if expected is None:
                return await _create(http, base, name, new)
            return await _conditional_put(http, base, name, new, expect=expected)
        # write: read-then-conditional-PUT until one attempt is decided (see module docstring);
        # the op deadline bounds the retries.
        while True:
            outcome = await _conditional_put(http, base, name, inv.value, expect=_ANY)
            if outcome.error != _CONFLICT:
                return outcome

    def final_read(self) -> None:
        """Read every key once more after healing (ordinary reads, a fresh process each)."""

        async def body(http: Http) -> None:
            for i, key in enumerate(self.keys):
                process = self.fresh_process()
                endpoint = self.endpoints[i % len(self.endpoints)]
                inv = Invocation(f="read", key=key, value=None, effect=Effect.READ)
                pending = self.recorder.invoke(
                    process=process, f="read", key=key, value=None, node=endpoint.name
                )
                try:
                    async with asyncio.timeout(self.spec.op_timeout_s):
                        outcome = await self.execute(http, inv, endpoint)
                except Exception as exc:  # a read: whatever went wrong, it had no effect
                    outcome = classify_exception(exc, effect=Effect.READ)
                self.recorder.complete(
                    pending,
                    outcome.type,
                    value=outcome.value,
                    node=endpoint.name,
                    error=outcome.error,
                )

        self.run_final(body)


_ANY = object()  # a write: no expected value
_CONFLICT = "HTTP 409 Conflict"


def _answer(
    got: Reply | Outcome, effect: Effect, on_ok: Callable[[dict[str, Any]], Outcome]
) -> Outcome:
    """Map a response: 2xx → ``on_ok(json body)``; other statuses by the outcome table."""
    if isinstance(got, Outcome):
        return got
    body = response_json(got)
    if 200 <= got.status_code < 300:
        return on_ok(body if isinstance(body, dict) else {})
    return classify_status(got.status_code, effect=effect, body=body)


def _compare_failed(current: Any) -> Outcome:
    """A cas that certainly did not apply; ``current`` (None: absent) guides the next cas."""
    return Outcome(
        type=OpType.FAIL, error=f"compare failed: current value {current!r}", observed=(current,)
    )


def pad(value: Any, size: int) -> Any:
    """The stored form of a written value: itself, or ``"<value>|"`` + ``size`` padding bytes.
    Deterministic, so a cas can name the padded value it expects."""
    if size <= 0 or value is None:
        return value
    return f"{value}|" + "." * size


def unpad(stored: Any) -> Any:
    """The history value of a stored one (inverse of :func:`pad`; plain values pass through)."""
    if isinstance(stored, str) and "|" in stored:
        head = stored.split("|", 1)[0]
        if head.lstrip("-").isdigit():
            return int(head)
    return stored


def _cas_answer(answer: dict[str, Any], value: list[Any]) -> Outcome:
    if answer.get("succeeded") is True:
        return ok(value)
    return _compare_failed(unpad(answer.get("value")))


async def _create(http: Http, base: str, name: str, value: int) -> Outcome:
    """POST a new ConfigMap; 409 AlreadyExists → fail with ``_CONFLICT``."""
    body = configmap(name, {"value": str(value)})
    got = await http.call("POST", configmaps_url(base), effect=Effect.WRITE, json=body)
    if isinstance(got, Reply) and got.status_code == 409:
        return fail(_CONFLICT)
    return _answer(got, Effect.WRITE, lambda obj: ok())


async def _conditional_put(http: Http, base: str, name: str, value: int, *, expect: Any) -> Outcome:
    """GET, compare (unless ``expect`` is ``_ANY``: a write), then create or PUT with the RV read.
    A lost race returns a ``fail`` whose error is ``_CONFLICT``; a write tries again on it."""
    url = configmaps_url(base, name)
    got = await http.call("GET", url, effect=Effect.READ)
    if isinstance(got, Outcome):
        return got  # a failed read step: nothing was written
    if got.status_code == 404:
        if expect is not _ANY:
            return _compare_failed(None)
        return await _create(http, base, name, value)
    if got.status_code != 200:
        return classify_status(got.status_code, effect=Effect.READ, body=response_json(got))
    obj = response_json(got)
    if expect is not _ANY and data_int(obj) != expect:
        current = data_int(obj)
        return Outcome(
            type=OpType.FAIL,
            error=f"compare failed: current value {current!r}",
            observed=(current,),
        )
    body = configmap(name, {"value": str(value)}, resource_version=resource_version(obj))
    put = await http.call("PUT", url, effect=Effect.WRITE, json=body)
    if isinstance(put, Reply) and put.status_code == 409:
        return fail(_CONFLICT)
    return _answer(put, Effect.WRITE, lambda obj: ok())

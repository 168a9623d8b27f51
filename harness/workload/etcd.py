"""The register workload straight against etcd's v3 JSON gateway (``through: store``, etcd).

In a nutshell: ``EtcdRegisterWorkload`` is the register workload with the store steps spoken
in etcd's dialect; ``make_workload`` picks it when the store members answer ``/version`` as
etcd (``store_is_etcd``). Per key ``reg/<prefix><key>``, values are JSON text, base64 like keys:

* read = ``POST /v3/kv/range`` (``"serializable": true`` with ``read_consistency:
  serializable``: the member answers from its own state, possibly stale — Jepsen's etcd finding);
* write = ``/v3/kv/put``; delete = ``/v3/kv/deleterange``;
* cas [e, n] = ``/v3/kv/txn`` comparing the VALUE with e (absent: CREATE revision 0), putting n
  on success and reading the key back on failure, so a failed compare says the current value.

etcd has no request ids, so a write that timed out is ``info`` and never retried by us.

    EtcdRegisterWorkload(WorkloadSpec(kind="register", through="store"), info, writer, ...)
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from harness.model.cluster import ClusterInfo
from harness.workload.base import Invocation
from harness.workload.http import Http
from harness.workload.outcome import Effect, Outcome, ok
from harness.workload.register import RegisterWorkload, _answer, _compare_failed

VERSION_TIMEOUT_S = 1.0


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def encode_value(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")))


def decode_kvs(body: dict[str, Any]) -> Any:
    """The value of the first kv of a range answer, None when the key is absent."""
    kvs = body.get("kvs") or []
    if not kvs or not kvs[0].get("value"):
        return None
    return json.loads(base64.b64decode(kvs[0]["value"]).decode())


def store_is_etcd(info: ClusterInfo, timeout_s: float = VERSION_TIMEOUT_S) -> bool:
    """Whether the store members are etcd: the first that answers ``GET /version`` decides."""
    for url in info.store.values():
        try:
            response = httpx.get(f"{url.rstrip('/')}/version", timeout=timeout_s, trust_env=False)
        except httpx.HTTPError:
            continue
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and "etcdserver" in body
    return False


def cas_txn(key: str, expected: Any, new: Any) -> dict[str, Any]:
    k = b64(key)
    compare = (
        {"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        if expected is None
        else {"key": k, "target": "VALUE", "result": "EQUAL", "value": encode_value(expected)}
    )
    return {
        "compare": [compare],
        "success": [{"request_put": {"key": k, "value": encode_value(new)}}],
        "failure": [{"request_range": {"key": k}}],
    }


def cas_outcome(body: dict[str, Any], value: list[Any]) -> Outcome:
    if body.get("succeeded") is True:
        return ok(value)
    responses = body.get("responses") or [{}]
    return _compare_failed(decode_kvs(responses[0].get("response_range") or {}))


class EtcdRegisterWorkload(RegisterWorkload):
    async def _store_op(self, http: Http, inv: Invocation, base: str) -> Outcome:
        assert inv.key is not None
        key = f"reg/{self.prefix}{inv.key}"
        if inv.f == "read":
            request: dict[str, Any] = {"key": b64(key)}
            if self.spec.read_consistency == "serializable":
                request["serializable"] = True
            got = await http.call("POST", f"{base}/v3/kv/range", effect=Effect.READ, json=request)
            return _answer(got, Effect.READ, lambda body: ok(decode_kvs(body)))
        if inv.f == "write":
            request = {"key": b64(key), "value": encode_value(inv.value)}
            got = await http.call("POST", f"{base}/v3/kv/put", effect=Effect.WRITE, json=request)
            return _answer(got, Effect.WRITE, lambda body: ok(inv.value))
        if inv.f == "delete":
            request = {"key": b64(key)}
            url = f"{base}/v3/kv/deleterange"
            got = await http.call("POST", url, effect=Effect.WRITE, json=request)
            return _answer(got, Effect.WRITE, lambda body: ok(None))
        expected, new = inv.value
        txn = cas_txn(key, expected, new)
        got = await http.call("POST", f"{base}/v3/kv/txn", effect=Effect.WRITE, json=txn)
        return _answer(got, Effect.WRITE, lambda body: cas_outcome(body, inv.value))

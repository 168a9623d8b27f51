"""The etcd adapters without Docker: member flags, status mapping, gateway encodings, store client.

The store client runs against a fake gateway (httpx ``MockTransport``) that answers like etcd
3.4's JSON gateway does (base64 keys and values, decimal ids as
strings, zero-valued fields omitted).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from controlplane.apiserver.etcd_store import EtcdStoreClient, prefix_end, store_client
from controlplane.apiserver.store import (
    StoreClient,
    StoreClientConfig,
    StoreCompacted,
    StoreOutcomeUnknown,
)
from harness.cluster.etcd import etcd_command, member_id, status_from
from harness.cluster.members import apiserver_members, store_members
from harness.cluster.subnet import SubnetPlan
from harness.history import OpType
from harness.model.cluster import ClusterSpec
from harness.workload.etcd import cas_outcome, cas_txn, decode_kvs, encode_value


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def plan() -> SubnetPlan:
    import ipaddress

    return SubnetPlan(subnet=ipaddress.IPv4Network("10.201.7.0/24"))


# ---- members ------------------------------------------------------------------------------


def test_etcd_members_run_etcd_with_pre_vote_and_tuned_timers() -> None:
    spec = ClusterSpec(engine="etcd", store_members=3)
    members = store_members(spec, plan())
    assert [m.name for m in members] == ["store-1", "store-2", "store-3"]
    command = members[1].command or []
    assert command[0] == "etcd" and "--pre-vote" in command
    assert "--heartbeat-interval=50" in command and "--election-timeout=250" in command
    assert f"--advertise-client-urls=http://{members[1].ip}:2379" in command
    cluster = next(a for a in command if a.startswith("--initial-cluster="))
    assert cluster.count("store-") == 3
    assert members[0].probe.path == "/version"


def test_kvstore_members_are_unchanged_and_apiservers_learn_the_store_kind() -> None:
    kv = store_members(ClusterSpec(engine="pysyncobj"), plan())
    assert kv[0].command == ["python", "-m", "controlplane.kvstore"]
    etcd_api = apiserver_members(ClusterSpec(engine="etcd", apiservers=1), plan(), "t")
    kv_api = apiserver_members(ClusterSpec(engine="raftos", apiservers=1), plan(), "t")
    assert etcd_api[0].env["API_STORE_KIND"] == "etcd"
    assert kv_api[0].env["API_STORE_KIND"] == "kvstore"


def test_etcd_command_names_every_peer_once() -> None:
    command = etcd_command(ClusterSpec(engine="etcd", store_members=5), plan(), 2, "tok")
    peers = next(a for a in command if a.startswith("--initial-cluster=")).split("=", 1)[1]
    assert [p.split("=")[0] for p in peers.split(",")] == [f"store-{j}" for j in range(1, 6)]


# ---- status ---------------------------------------------------------------------------------

IDS = {"store-1": "8e9e05c52164694d", "store-2": "1f", "store-3": "2a"}
NAMES = {member_id(h): n for n, h in IDS.items()}


def raft(me: str, state: str, lead: str, term: int) -> dict[str, Any]:
    return {"id": IDS[me], "term": term, "lead": IDS.get(lead, "0"), "raftState": state,
            "commit": 12, "applied": 11}  # fmt: skip


def test_status_from_maps_raft_status_to_the_kvstore_shape() -> None:
    hashed = {"header": {"revision": "7"}, "hash": 123}
    leader = status_from(raft("store-1", "StateLeader", "store-1", 4), NAMES, hashed)
    assert leader == {
        "id": "store-1", "role": "leader", "term": 4, "leader": "store-1", "commit_index": 12,
        "applied_index": 11, "revision": 7, "state_hash": "7:123", "engine": "etcd",
    }  # fmt: skip
    follower = status_from(raft("store-2", "StateFollower", "store-1", 4), NAMES, None)
    assert (follower["role"], follower["leader"], follower["state_hash"]) == (
        "follower",
        "store-1",
        None,
    )
    lost = status_from(raft("store-3", "StatePreCandidate", "none", 4), NAMES, None)
    assert (lost["role"], lost["leader"]) == ("candidate", None)


def test_member_ids_convert_from_hex_to_the_gateways_decimal() -> None:
    assert member_id("8e9e05c52164694d") == "10276657743932975437"
    assert member_id("zz") == ""


# ---- workload encodings -----------------------------------------------------------------------


def test_cas_txn_compares_value_or_absence() -> None:
    on_value = cas_txn("reg/k1", 3, 4)
    assert on_value["compare"] == [
        {"key": b64("reg/k1"), "target": "VALUE", "result": "EQUAL", "value": encode_value(3)}
    ]
    absent = cas_txn("reg/k1", None, 4)
    assert absent["compare"][0]["target"] == "CREATE"
    assert absent["success"][0]["request_put"]["value"] == b64("4")


def test_cas_outcome_ok_or_compare_failed_with_the_current_value() -> None:
    assert cas_outcome({"succeeded": True}, [3, 4]).type is OpType.OK
    kvs = {"kvs": [{"key": b64("reg/k1"), "value": b64("9")}]}
    failed = cas_outcome({"responses": [{"response_range": kvs}]}, [3, 4])
    assert failed.type is OpType.FAIL and failed.observed == (9,)
    assert failed.error is not None and failed.error.startswith("compare failed")
    absent = cas_outcome({"responses": [{"response_range": {}}]}, [3, 4])
    assert absent.observed == (None,)
    assert decode_kvs({}) is None


# ---- apiserver store client -------------------------------------------------------------------


def test_prefix_end_is_the_next_key_after_the_prefix() -> None:
    assert base64.b64decode(prefix_end("/registry/")) == b"/registry0"
    assert base64.b64decode(prefix_end("a")) == b"b"


def test_store_client_follows_the_environment() -> None:
    config = StoreClientConfig(urls=("http://127.0.0.1:1",))
    assert isinstance(store_client(config, {"API_STORE_KIND": "etcd"}), EtcdStoreClient)
    plain = store_client(config, {})
    assert type(plain) is StoreClient
    with pytest.raises(ValueError, match="API_STORE_KIND"):
        store_client(config, {"API_STORE_KIND": "zookeeper"})


class FakeGateway:
    """Enough of etcd's gateway for one key: range, put, txn on MOD revision, watch."""

    def __init__(self) -> None:
        self.kv: dict[str, tuple[str, int, int]] = {}  # key → (value b64, mod, create)
        self.revision = 1
        self.compacted = 0

    def header(self) -> dict[str, str]:
        return {"revision": str(self.revision)}

    def kvs(self, key: str) -> list[dict[str, str]]:
        if key not in self.kv:
            return []
        value, mod, create = self.kv[key]
        return [{"key": key, "value": value, "mod_revision": str(mod),
                 "create_revision": str(create)}]  # fmt: skip

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        path = request.url.path
        if path == "/v3/kv/range":
            return httpx.Response(200, json={"header": self.header(), "kvs": self.kvs(body["key"])})
        if path == "/v3/kv/put":
            self._put(body["key"], body["value"])
            return httpx.Response(200, json={"header": self.header()})
        if path == "/v3/kv/txn":
            compare = body["compare"][0]
            current = self.kv.get(compare["key"], ("", 0, 0))[1]
            if current == int(compare["mod_revision"]):
                put = body["success"][0]["request_put"]
                self._put(put["key"], put["value"])
                return httpx.Response(200, json={"header": self.header(), "succeeded": True})
            ranged = {"kvs": self.kvs(compare["key"])}
            return httpx.Response(
                200, json={"header": self.header(), "responses": [{"response_range": ranged}]}
            )
        if path == "/v3/watch":
            if self.compacted:
                result = {"header": self.header(), "compact_revision": str(self.compacted)}
                return httpx.Response(200, text=json.dumps({"result": result}) + "\n")
            created = {"result": {"header": self.header(), "created": True}}
            events = [{"kv": kv} for k in sorted(self.kv) for kv in self.kvs(k)]
            lines = [created, {"result": {"header": self.header(), "events": events}}]
            return httpx.Response(200, text="".join(json.dumps(x) + "\n" for x in lines))
        return httpx.Response(404, text="404 page not found")

    def _put(self, key: str, value: str) -> None:
        self.revision += 1
        create = self.kv.get(key, ("", 0, self.revision))[2]
        self.kv[key] = (value, self.revision, create)


def fake_client(gateway: FakeGateway) -> EtcdStoreClient:
    client = EtcdStoreClient(StoreClientConfig(urls=("http://etcd.test:2379",)))
    client._http = httpx.AsyncClient(transport=httpx.MockTransport(gateway.handle))
    return client


def test_etcd_store_client_put_get_cas_and_watch_against_a_fake_gateway() -> None:
    gateway = FakeGateway()

    async def scenario() -> None:
        store = fake_client(gateway)
        assert await store.get("/r/a") is None
        created = await store.cas("/r/a", expect_revision=0, value={"n": 1})
        assert created.succeeded
        item = await store.get("/r/a")
        assert item is not None and item.value == {"n": 1}
        assert item.mod_revision == created.revision
        stale = await store.cas("/r/a", expect_revision=1, value={"n": 2})
        assert not stale.succeeded and stale.value == {"n": 1}
        assert stale.mod_revision == created.revision
        batch = await store.watch("/r/", 0, poll_s=0)
        assert [(e.key, e.value) for e in batch.events] == [("/r/a", {"n": 1})]
        gateway.compacted = 5
        with pytest.raises(StoreCompacted):
            await store.watch("/r/", 0, poll_s=0)
        await store.aclose()

    asyncio.run(scenario())


def test_a_write_is_never_resent_after_etcd_may_have_received_it() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "down.test":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503, json={"error": "etcdserver: request timed out", "code": 14})

    async def scenario() -> None:
        urls = ("http://down.test:2379", "http://slow.test:2379", "http://other.test:2379")
        store = EtcdStoreClient(StoreClientConfig(urls=urls))
        store._http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        with pytest.raises(StoreOutcomeUnknown):
            await store.cas("/r/a", expect_revision=0, value=1)
        await store.aclose()

    asyncio.run(scenario())
    # Connect refused → next URL; the 503 there may hide an applied write: no third attempt.
    assert seen == ["down.test", "slow.test"]


def test_a_url_once_etcd_and_now_a_kvstore_member_is_asked_for_status_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.cluster import etcd as etcd_status
    from harness.cluster import status as status_mod

    url = "http://10.201.7.11:2379"
    monkeypatch.setitem(etcd_status._names, url, {"1": "store-1"})  # seen as etcd earlier
    kv_status = {"id": "store-1", "role": "leader", "term": 1, "leader": "store-1"}

    def fake_get(target: str, **kwargs: Any) -> httpx.Response:
        if target.endswith("/debug/vars"):
            return httpx.Response(404, text="not found")
        return httpx.Response(200, json=kv_status)

    class FakeClient:
        def __init__(self, **kwargs: Any) -> None: ...
        def __enter__(self) -> FakeClient:
            return self

        def __exit__(self, *exc: object) -> None: ...
        def get(self, target: str) -> httpx.Response:
            return fake_get(target)

    monkeypatch.setattr(httpx, "Client", FakeClient)
    monkeypatch.setattr(httpx, "get", fake_get)
    assert status_mod.fetch_status(url) == kv_status
    assert not etcd_status.is_etcd(url)

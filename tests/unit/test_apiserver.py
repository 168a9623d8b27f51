"""Apiserver CRUD, concurrency, auth, readiness and error bodies against the real kvstore.

Each test names the Kubernetes API convention it checks ("API conventions" =
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md,
"API concepts" = https://kubernetes.io/docs/reference/using-api/api-concepts/).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from test_apiserver_support import (
    PODS,
    READER,
    _serve,
    apiserver,
    free_port,
    pod,
    real_store,
)

Body = Callable[[httpx.AsyncClient], Awaitable[None]]


def run_stack(tmp_path: Path, body: Body, *, bugs: frozenset[str] = frozenset()) -> None:
    async def main() -> None:
        async with real_store(tmp_path) as store_url, apiserver(store_url, bugs=bugs) as api:
            await body(api)

    asyncio.run(main())


def assert_status(resp: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    """The response is a Kubernetes Status failure with this code and reason."""
    assert resp.status_code == code, resp.text
    body: dict[str, Any] = resp.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1", body
    assert body["status"] == "Failure" and body["code"] == code and body["reason"] == reason, body
    assert body["message"], body
    return body


async def create(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    resp = await api.post(PODS, json=pod(name))
    assert resp.status_code == 201, resp.text
    obj: dict[str, Any] = resp.json()
    return obj


# ---- create / get ------------------------------------------------------------------------------


def test_create_sets_metadata_and_duplicate_is_409_already_exists(tmp_path: Path) -> None:
    """API conventions "Metadata" (uid, creationTimestamp, resourceVersion set by the server)
    and "HTTP Status codes" (409 with reason AlreadyExists on a duplicate create)."""

    async def body(api: httpx.AsyncClient) -> None:
        obj = await create(api, "web")
        meta = obj["metadata"]
        assert meta["namespace"] == "default" and meta["uid"] and meta["creationTimestamp"]
        assert int(meta["resourceVersion"]) > 0
        again = await api.post(PODS, json=pod("web"))
        assert_status(again, 409, "AlreadyExists")
        got = (await api.get(f"{PODS}/web")).json()
        assert got["metadata"]["uid"] == meta["uid"]  # the duplicate changed nothing
        assert got["metadata"]["resourceVersion"] == meta["resourceVersion"]

    run_stack(tmp_path, body)


def test_get_missing_is_404_and_create_needs_its_namespace(tmp_path: Path) -> None:
    """API conventions "HTTP Status codes": 404 NotFound for a missing object, and for a
    create into a namespace that does not exist."""

    async def body(api: httpx.AsyncClient) -> None:
        assert_status(await api.get(f"{PODS}/nope"), 404, "NotFound")
        resp = await api.post("/api/v1/namespaces/ghost/pods", json=pod("web"))
        assert_status(resp, 404, "NotFound")
        # The system namespaces exist from the start; a new one makes the create succeed.
        names = {
            n["metadata"]["name"] for n in (await api.get("/api/v1/namespaces")).json()["items"]
        }
        assert {"default", "kube-system"} <= names
        ns = await api.post("/api/v1/namespaces", json={"metadata": {"name": "ghost"}})
        assert ns.status_code == 201, ns.text
        resp = await api.post("/api/v1/namespaces/ghost/pods", json=pod("web"))
        assert resp.status_code == 201, resp.text

    run_stack(tmp_path, body)


# ---- update: optimistic concurrency ------------------------------------------------------------


def test_update_with_stale_resource_version_is_409_conflict(tmp_path: Path) -> None:
    """API conventions "Concurrency Control and Consistency": an update carrying an old
    resourceVersion fails with 409 Conflict and changes nothing."""

    async def body(api: httpx.AsyncClient) -> None:
        obj = await create(api, "web")
        stale = obj["metadata"]["resourceVersion"]
        obj["metadata"]["labels"] = {"v": "1"}
        first = await api.put(f"{PODS}/web", json=obj)
        assert first.status_code == 200, first.text
        assert int(first.json()["metadata"]["resourceVersion"]) > int(stale)
        obj["metadata"]["labels"] = {"v": "stale"}  # still carries the old resourceVersion
        assert_status(await api.put(f"{PODS}/web", json=obj), 409, "Conflict")
        got = (await api.get(f"{PODS}/web")).json()
        assert got["metadata"]["labels"] == {"v": "1"}

    run_stack(tmp_path, body)


async def race_updates(api: httpx.AsyncClient, name: str) -> list[int]:
    """Two updates from the same resourceVersion, sent at once; their status codes."""
    obj = (await api.get(f"{PODS}/{name}")).json()
    bodies = []
    for who in ("a", "b"):
        racer = {**obj, "metadata": {**obj["metadata"], "labels": {"writer": who}}}
        bodies.append(racer)
    resps = await asyncio.gather(*(api.put(f"{PODS}/{name}", json=b) for b in bodies))
    return sorted(r.status_code for r in resps)


def test_racing_updates_from_one_resource_version_exactly_one_wins(tmp_path: Path) -> None:
    """API conventions "Concurrency Control and Consistency": of two writers racing from the
    same resourceVersion, exactly one succeeds; the other gets 409 Conflict."""

    async def body(api: httpx.AsyncClient) -> None:
        await create(api, "web")
        for _ in range(8):
            assert await race_updates(api, "web") == [200, 409]

    run_stack(tmp_path, body)


def test_bug_cas_without_check_lets_stale_and_racing_updates_win(tmp_path: Path) -> None:
    """Bug switch ``cas-without-check`` really breaks "Concurrency Control and Consistency":
    a stale update succeeds (a lost update) and both racers win."""

    async def body(api: httpx.AsyncClient) -> None:
        obj = await create(api, "web")
        newer = await api.put(f"{PODS}/web", json={**obj, "spec": {"v": 1}})
        assert newer.status_code == 200
        stale = await api.put(f"{PODS}/web", json={**obj, "spec": {"v": "stale"}})
        assert stale.status_code == 200, "the bug should accept a stale resourceVersion"
        assert (await api.get(f"{PODS}/web")).json()["spec"] == {"v": "stale"}  # lost update
        assert await race_updates(api, "web") == [200, 200]

    run_stack(tmp_path, body, bugs=frozenset({"cas-without-check"}))


def test_update_without_resource_version_is_unconditional_and_never_creates(tmp_path: Path) -> None:
    """API conventions "Concurrency Control and Consistency": a PUT without resourceVersion
    is an unconditional update (allowed for these kinds); it does not create (404)."""

    async def body(api: httpx.AsyncClient) -> None:
        obj = await create(api, "web")
        del obj["metadata"]["resourceVersion"]
        obj["spec"] = {"v": 2}
        resp = await api.put(f"{PODS}/web", json=obj)
        assert resp.status_code == 200, resp.text
        assert resp.json()["metadata"]["uid"] == obj["metadata"]["uid"]
        assert_status(await api.put(f"{PODS}/ghost", json=pod("ghost")), 404, "NotFound")
        # The name in the body must match the URL.
        assert_status(await api.put(f"{PODS}/web", json=pod("other")), 400, "BadRequest")

    run_stack(tmp_path, body)


# ---- delete / list -------------------------------------------------------------------------------


def test_delete_then_get_is_404_and_preconditions_are_checked(tmp_path: Path) -> None:
    """API concepts "Deletion" / DeleteOptions.preconditions: a mismatched resourceVersion
    precondition is 409 Conflict; a delete returns the object; deleting twice is 404."""

    async def body(api: httpx.AsyncClient) -> None:
        obj = await create(api, "web")
        rv = int(obj["metadata"]["resourceVersion"])
        bad = {"kind": "DeleteOptions", "preconditions": {"resourceVersion": str(rv + 100)}}
        assert_status(await api.request("DELETE", f"{PODS}/web", json=bad), 409, "Conflict")
        good = {"preconditions": {"resourceVersion": str(rv), "uid": obj["metadata"]["uid"]}}
        resp = await api.request("DELETE", f"{PODS}/web", json=good)
        assert resp.status_code == 200, resp.text
        assert int(resp.json()["metadata"]["resourceVersion"]) > rv
        assert_status(await api.get(f"{PODS}/web"), 404, "NotFound")
        assert_status(await api.delete(f"{PODS}/web"), 404, "NotFound")
        assert_status(await api.delete("/api/v1/namespaces/default"), 403, "Forbidden")

    run_stack(tmp_path, body)


def test_list_resource_version_is_the_store_revision(tmp_path: Path) -> None:
    """API concepts "Resource versions": a list carries the collection's resourceVersion, at
    least every item's, and equal to the latest write when nothing else changed."""

    async def body(api: httpx.AsyncClient) -> None:
        await create(api, "a")
        last = await create(api, "b")
        await api.post("/api/v1/namespaces/kube-system/pods", json=pod("elsewhere"))
        listed = (await api.get(PODS)).json()
        assert listed["kind"] == "PodList"
        assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
        list_rv = int(listed["metadata"]["resourceVersion"])
        assert list_rv >= max(int(i["metadata"]["resourceVersion"]) for i in listed["items"])
        assert list_rv == int(last["metadata"]["resourceVersion"]) + 1  # + the kube-system pod
        everywhere = (await api.get("/api/v1/pods")).json()
        assert len(everywhere["items"]) == 3

    run_stack(tmp_path, body)


# ---- health, auth, errors ------------------------------------------------------------------------


def test_readyz_is_503_without_a_store_and_healthz_stays_200(tmp_path: Path) -> None:
    """Kubernetes health endpoints ("API health endpoints"): /healthz reports the process,
    /readyz is 503 while the store is unreachable and 200 once it is."""

    async def main() -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        async with apiserver(dead, wait_ready=False, request_timeout_s=0.3) as api:
            assert (await api.get("/healthz")).status_code == 200
            assert_status(await api.get("/readyz"), 503, "ServiceUnavailable")
            # A request needing the store says so, as a Status, without a traceback.
            assert_status(await api.get(f"{PODS}/web"), 503, "ServiceUnavailable")
        async with real_store(tmp_path) as url, apiserver(dead, url) as api:
            assert (await api.get("/readyz")).status_code == 200  # the second URL answers

    asyncio.run(main())


def test_bearer_tokens_401_without_and_403_without_the_verb(tmp_path: Path) -> None:
    """API access control ("Authenticating", "Authorization"): no or an unknown bearer token
    is 401 Unauthorized; a token without the verb is 403 Forbidden."""

    async def body(api: httpx.AsyncClient) -> None:
        anon = {"Authorization": ""}
        assert_status(await api.get(PODS, headers=anon), 401, "Unauthorized")
        assert_status(
            await api.get(PODS, headers={"Authorization": "Bearer wrong"}), 401, "Unauthorized"
        )
        reader = {"Authorization": f"Bearer {READER}"}
        assert (await api.get(PODS, headers=reader)).status_code == 200
        denied = await api.post(PODS, json=pod("web"), headers=reader)
        assert "cannot create" in assert_status(denied, 403, "Forbidden")["message"]
        assert_status(await api.get(f"{PODS}/web", headers=reader), 404, "NotFound")

    run_stack(tmp_path, body)


def test_every_error_is_a_status_body(tmp_path: Path) -> None:
    """API conventions "Response Status Kind": errors are Status objects — bad JSON (400),
    unknown resources (404), wrong methods (405), invalid names (422)."""

    async def body(api: httpx.AsyncClient) -> None:
        bad_json = await api.post(
            PODS, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert_status(bad_json, 400, "BadRequest")
        assert_status(await api.post(PODS, json=[1, 2]), 400, "BadRequest")
        assert_status(await api.get("/api/v1/namespaces/default/services"), 404, "NotFound")
        assert_status(await api.get("/no/such/path"), 404, "NotFound")
        assert_status(await api.post(f"{PODS}/web", json={}), 405, "MethodNotAllowed")
        assert_status(await api.patch(PODS, json={}), 405, "MethodNotAllowed")
        assert_status(await api.post(PODS, json=pod("Not_A_Name")), 422, "Invalid")
        wrong_kind = {"kind": "ConfigMap", "metadata": {"name": "x"}}
        assert_status(await api.post(PODS, json=wrong_kind), 400, "BadRequest")

    run_stack(tmp_path, body)


# ---- unknown outcomes --------------------------------------------------------------------------


@asynccontextmanager
async def store_losing_writes(cas_bodies: list[dict[str, Any]]) -> AsyncIterator[str]:
    """A fake store: reads work, every CAS answers 503 "outcome unknown" (as a store whose
    leader lost quorum after taking the entry) and is recorded."""

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"id": "fake", "role": "leader", "leader": "fake"})

    async def get(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        value = {"kind": "Namespace", "metadata": {"name": key.rsplit("/", 1)[1]}}
        return web.json_response(
            {"key": key, "value": value, "mod_revision": 1, "create_revision": 1, "revision": 1}
        )

    async def cas(request: web.Request) -> web.Response:
        cas_bodies.append(await request.json())
        body = {"error": "no quorum", "retryable": True, "outcome_unknown": True}
        return web.json_response(body, status=503)

    app = web.Application()
    app.router.add_get("/status", status)
    app.router.add_post("/kv/{key:.+}/cas", cas)
    app.router.add_get("/kv/{key:.+}", get)
    runner, port = await _serve(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_write_with_unknown_outcome_is_504_and_retries_reuse_the_request_id() -> None:
    """API conventions "HTTP Status codes" (504 Timeout: the request may still complete):
    a store write whose outcome is unknown is never reported as failed or done, and every
    retry carries the same request_id so the store applies it at most once."""

    async def main() -> None:
        bodies: list[dict[str, Any]] = []
        async with (
            store_losing_writes(bodies) as url,
            apiserver(url, url, wait_ready=False, request_timeout_s=0.5) as api,
        ):
            resp = await api.post(PODS, json=pod("web"))
            assert_status(resp, 504, "Timeout")
        # (The bootstrap's own namespace writes land here too; look at the pod's only.)
        pod_writes = [b for b in bodies if b["value"]["kind"] == "Pod"]
        assert len(pod_writes) >= 2, "the write should have been retried on the other URL"
        assert len({b["request_id"] for b in pod_writes}) == 1, pod_writes

    asyncio.run(main())


@pytest.mark.parametrize("raw", ["", "t", "t=alice", "t=alice:fly"])
def test_bad_api_tokens_are_rejected(raw: str) -> None:
    """Configuration errors name the variable (not an API convention: our container contract)."""
    from controlplane.apiserver.config import ConfigError, parse_tokens

    if raw == "":
        assert parse_tokens(raw) == {}
        return
    with pytest.raises(ConfigError, match="API_TOKENS"):
        parse_tokens(raw)


def test_api_tokens_verbs_continue_after_commas() -> None:
    from controlplane.apiserver.config import Verb, parse_tokens

    grants = parse_tokens("adm=alice:*,ro=bob:get,list,watch")
    assert grants["adm"].allows(Verb.DELETE)
    assert grants["ro"].allows(Verb.WATCH) and not grants["ro"].allows(Verb.CREATE)


def test_an_unexpected_exception_is_a_500_status_without_traceback() -> None:
    """API conventions "Response Status Kind": even a crash inside a handler answers a
    Status (500 InternalError) with a message, never an HTML page or a traceback."""
    from controlplane.apiserver import ApiConfig, StoreClientConfig, build_app

    async def boom(_: web.Request) -> web.Response:
        raise RuntimeError("kaboom")

    async def main() -> None:
        config = ApiConfig(store=StoreClientConfig(urls=(f"http://127.0.0.1:{free_port()}",)))
        app = build_app(config)
        app.router.add_get("/boom", boom)
        runner, port = await _serve(app)
        try:
            async with httpx.AsyncClient(trust_env=False) as client:
                resp = await client.get(f"http://127.0.0.1:{port}/boom")
        finally:
            await runner.cleanup()
        body = assert_status(resp, 500, "InternalError")
        assert "kaboom" in body["message"] and "Traceback" not in resp.text

    asyncio.run(main())


@asynccontextmanager
async def refusing_store(hits: list[str]) -> AsyncIterator[str]:
    """A fake store member without quorum: every request is a 503 "nothing applied"."""

    async def refuse(request: web.Request) -> web.Response:
        hits.append(request.path)
        body = {"error": "no leader", "retryable": True, "outcome_unknown": False}
        return web.json_response(body, status=503)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner, port = await _serve(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_store_urls_fail_over_on_503_and_stick_to_the_one_that_works(tmp_path: Path) -> None:
    """Our HA contract (ARCHITECTURE.md, apiserver container): a 503 or a connect error from
    one store URL moves the request to the next; later requests go straight to the URL that
    answered instead of paying the failure again."""

    async def main() -> None:
        hits: list[str] = []
        dead = f"http://127.0.0.1:{free_port()}"
        async with (
            refusing_store(hits) as refusing,
            real_store(tmp_path) as url,
            apiserver(dead, refusing, url) as api,
        ):
            assert hits, "the refusing member should have been tried first"
            before = len(hits)
            for i in range(5):
                assert (await api.post(PODS, json=pod(f"p{i}"))).status_code == 201
                assert (await api.get(f"{PODS}/p{i}")).status_code == 200
            assert len(hits) == before, "requests went back to a failing URL"

    asyncio.run(main())

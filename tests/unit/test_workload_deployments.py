"""The deployments workload: its seeded generator, its outcomes, and its watchers against the
real in-process apiserver over the real kvstore (test_apiserver_support).

Watch semantics follow client-go's reflector (list, watch from the list's resourceVersion,
relist on 410 Gone: kubernetes.io "API concepts", "Efficient detection of changes").
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from aiohttp import web
from test_apiserver_support import ADMIN, _serve, apiserver, free_port, link_to

from controlplane.kvstore.config import StoreConfig
from controlplane.kvstore.engine.pysyncobj_engine import PySyncObjEngine
from controlplane.kvstore.http import make_app
from harness.checker.controllers.model import ObjectHistory
from harness.history import JsonlWriter, Op, OpType, read_ops
from harness.history.k8s import K8sEvent, K8sResource, WatchEventType
from harness.model import WorkloadKind, WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.workload.base import ClientState, Invocation
from harness.workload.deployments import DEFAULT_MIX, DeploymentsWorkload, make_plan
from harness.workload.errors import WorkloadConfigError
from harness.workload.http import Endpoint, Http
from harness.workload.k8swatch import ResourceWatcher
from harness.workload.outcome import Effect
from harness.workload.recorder import Recorder

PODS = "/api/v1/namespaces/default/pods"


# ---- the generator ----------------------------------------------------------------------


def sequence(seed: int, slot: int = 0, n: int = 200) -> list[tuple[str, str | None, Any]]:
    plan = make_plan(seed, slot, prefix="p-", deployments=2, bare_pods=2)
    return [(inv.f, inv.key, inv.value) for inv in (plan.next() for _ in range(n))]


def test_the_same_seed_gives_the_same_ops_and_another_seed_others() -> None:
    a, b = sequence(7), sequence(7)
    assert a == b
    assert sequence(8) != a
    assert sequence(7, slot=1) != a  # each client has its own stream
    # it starts by creating its Deployments, then mixes every op of the default mix
    assert [f for f, *_ in a[:2]] == ["create-deployment", "create-deployment"]
    assert {k for _, k, _ in a[:2]} == {"default/p-dep-0-0", "default/p-dep-0-1"}
    fs = {f for f, *_ in a}
    assert fs == {
        "create-deployment",
        "scale-deployment",
        "roll-deployment",
        "delete-deployment",
        "create-pod",
        "delete-pod",
    }
    version = 0  # a roll sets the next image version; a (re)create starts again at 1
    for f, k, v in a:
        if k != "default/p-dep-0-0":
            continue
        if f == "create-deployment":
            version = 1
            assert v["image"] == "chaosplane/sim:1"
        elif f == "roll-deployment":
            version += 1
            assert v["image"] == f"chaosplane/sim:{version}"


def test_an_unknown_op_in_the_mix_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(WorkloadConfigError, match="unknown ops \\['explode'\\]"):
        make_plan(1, 0, prefix="", deployments=1, bare_pods=1, mix={"explode": 1.0})
    only_scale = make_plan(1, 0, prefix="", deployments=1, bare_pods=1, mix={"scale-deployment": 1})
    only_scale.next()
    assert {only_scale.next().f for _ in range(20)} == {"scale-deployment"}
    assert set(DEFAULT_MIX) >= {"scale-deployment", "delete-pod"}


# ---- outcomes -----------------------------------------------------------------------------


def spec(**overrides: Any) -> WorkloadSpec:
    base = WorkloadSpec(kind=cast(WorkloadKind, "deployments"), clients=1, keys=1, rate=20.0)
    return dataclasses.replace(base, **overrides)


def info(url: str) -> ClusterInfo:
    return ClusterInfo(
        run_id="r",
        network="n",
        subnet="s",
        store={},
        apiservers={"api-1": url},
        apiservers_direct={},
        toxiproxy="",
        api_token=ADMIN,
    )


@contextlib.asynccontextmanager
async def misbehaving(kind: str) -> AsyncIterator[str]:
    """A server that hangs on every request, or resets the connection."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if kind == "hang":
            await asyncio.sleep(30)
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner, port = await _serve(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class OneOp(DeploymentsWorkload):
    """The workload with its generator replaced by one given invocation."""

    op: Invocation

    def plan(self, client: ClientState) -> Invocation:
        return self.op


def perform_once(tmp_path: Path, url: str, inv: Invocation, timeout_s: float = 5.0) -> Op:
    """One op through the workload's own invoke/execute/complete path; its completion."""
    with JsonlWriter(tmp_path / "h.jsonl") as writer:
        w = OneOp(spec(op_timeout_s=timeout_s), info(url), writer, start_ns=0, seed=1)

        async def go() -> None:
            async with w.open_http() as http:
                client = ClientState(slot=0, process=0, endpoint=0, rng=None)  # type: ignore[arg-type]
                w.op = inv
                await w.perform(http, client)

        asyncio.run(go())
        w.recorder.close()
    ops = list(read_ops(tmp_path / "h.jsonl"))
    assert len(ops) == 2 and ops[0].type is OpType.INVOKE
    return ops[-1]


SCALE = Invocation(
    f="scale-deployment",
    key="default/dep-0-0",
    value={"name": "dep-0-0", "replicas": 2},
    effect=Effect.WRITE,
)
CREATE_POD = Invocation(
    f="create-pod",
    key="default/pod-0-0",
    value={"name": "pod-0-0", "image": "chaosplane/sim:1"},
    effect=Effect.WRITE,
)


def test_connection_refused_is_fail(tmp_path: Path) -> None:
    op = perform_once(tmp_path, f"http://127.0.0.1:{free_port()}", CREATE_POD)
    assert op.type is OpType.FAIL and "ConnectError" in (op.error or "")


@pytest.mark.parametrize(("kind", "error"), [("hang", "TimeoutError"), ("reset", "")])
def test_a_hang_or_a_reset_is_info(tmp_path: Path, kind: str, error: str) -> None:
    async def main() -> Op:
        async with misbehaving(kind) as url:  # served here; the workload runs in a thread
            return await asyncio.to_thread(perform_once, tmp_path, url, CREATE_POD, 0.5)

    op = asyncio.run(main())
    assert op.type is OpType.INFO, op
    assert error in (op.error or "")


def write(f: str, name: str, **value: Any) -> Invocation:
    return Invocation(
        f=f, key=f"default/{name}", value={"name": name, **value}, effect=Effect.WRITE
    )


def test_real_apiserver_answers_classify_as_ok_and_fail(tmp_path: Path) -> None:
    """create-pod: 201 ok, then 409 AlreadyExists fail; delete-pod ok; a scale of a Deployment
    that does not exist is a definite fail; the Deployment verbs of apps/v1 do what they say."""
    with serving_stack(tmp_path) as url:
        first = perform_once(tmp_path / "1", url, CREATE_POD)
        again = perform_once(tmp_path / "2", url, CREATE_POD)
        missing = perform_once(tmp_path / "3", url, SCALE)
        delete = perform_once(tmp_path / "4", url, write("delete-pod", "pod-0-0", pick=0))
        created = perform_once(
            tmp_path / "5",
            url,
            write("create-deployment", "dep-0-0", replicas=1, image="chaosplane/sim:1"),
        )
        scaled = perform_once(tmp_path / "6", url, SCALE)
        rolled = perform_once(
            tmp_path / "7", url, write("roll-deployment", "dep-0-0", image="chaosplane/sim:2")
        )
        none_to_pick = perform_once(
            tmp_path / "8", url, write("delete-pod", "dep-0-0", owner="dep-0-0", pick=3)
        )
        headers = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=url, headers=headers, trust_env=False) as api:
            for name in ("web-b", "web-a", "web-c"):  # pods as its ReplicaSet would label them
                labels = {"chaosplane.io/deployment": "dep-0-0", "app": "dep-0-0"}
                body = {"metadata": {"name": name, "labels": labels}, "spec": {"containers": []}}
                assert api.post(PODS, json=body).status_code == 201
            picked = perform_once(
                tmp_path / "9", url, write("delete-pod", "dep-0-0", owner="dep-0-0", pick=4)
            )
            dep = api.get("/apis/apps/v1/namespaces/default/deployments/dep-0-0").json()
            gone = perform_once(tmp_path / "10", url, write("delete-deployment", "dep-0-0"))
            after = api.get("/apis/apps/v1/namespaces/default/deployments/dep-0-0")
    assert first.type is OpType.OK and int(first.value["resourceVersion"]) > 0
    assert again.type is OpType.FAIL and "409" in (again.error or "")
    assert missing.type is OpType.FAIL and "404" in (missing.error or "")
    assert delete.type is OpType.OK and delete.value["pod"] == "pod-0-0"
    assert created.type is OpType.OK and scaled.type is OpType.OK and rolled.type is OpType.OK
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "chaosplane/sim:2"
    assert none_to_pick.type is OpType.FAIL and "no live pod of dep-0-0" in (
        none_to_pick.error or ""
    )
    # pick 4 of the 3 live pods in name order (web-a, web-b, web-c): the second, web-b
    assert picked.type is OpType.OK and picked.value["pod"] == "web-b"
    assert gone.type is OpType.OK and after.status_code == 404


# ---- a real stack in a thread of its own (the workload runs its own event loop) -----------


@contextlib.asynccontextmanager
async def small_history_store(data_dir: Path, max_events: int) -> AsyncIterator[str]:
    """The real one-member kvstore, keeping only ``max_events`` watch events (10,000 by
    default), so a watcher that falls behind meets a real 410."""
    raft = f"127.0.0.1:{free_port()}"
    config = StoreConfig(
        member_id="store-1",
        peers=(("store-1", raft),),
        data_dir=str(data_dir),
        raft_port=int(raft.split(":")[1]),
    )
    engine = PySyncObjEngine(config)
    # The one knob the store does not take from its config: reach into its state machine.
    engine._consumer.kv.max_events = max_events
    engine.start()
    runner, port = await _serve(make_app(engine, config))
    try:
        for _ in range(200):
            if engine.status().leader:
                break
            await asyncio.sleep(0.025)
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        engine.stop()


@contextlib.contextmanager
def serving_stack(tmp_path: Path, max_events: int = 10_000) -> Iterator[str]:
    """A store and an apiserver served from a background thread; yields the apiserver URL."""
    ready: dict[str, str] = {}
    started = threading.Event()
    stop = threading.Event()

    async def main() -> None:
        async with (
            small_history_store(tmp_path / "store", max_events) as store,
            apiserver(store) as api,
        ):
            ready["url"] = str(api.base_url).rstrip("/")
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert started.wait(20), "the apiserver stack did not start in 20 s"
    try:
        yield ready["url"]
    finally:
        stop.set()
        thread.join(10)


def test_the_workload_records_its_ops_and_the_pods_it_watches(tmp_path: Path) -> None:
    mix = {
        "create-pod": 1.0,
        "delete-bare-pod": 1.0,
        "scale-deployment": 0.5,
        "roll-deployment": 0.5,
    }
    with serving_stack(tmp_path) as url, JsonlWriter(tmp_path / "h.jsonl") as writer:
        w = DeploymentsWorkload(
            spec(duration_s=2.0, mix=mix), info(url), writer, start_ns=0, seed=3, drain_s=1.0
        )
        result = w.run()
    ops = list(read_ops(tmp_path / "h.jsonl"))
    client = [o for o in ops if o.f != "k8s-event" and o.type is not OpType.INVOKE]
    events = [K8sEvent.from_op(o) for o in ops if o.f == "k8s-event"]
    assert result.by_f.get("create-pod", 0) >= 1
    assert all(w["served"] for w in result.extra["watchers"].values()), result.extra
    created = {o.value["name"] for o in client if o.f == "create-pod" and o.type is OpType.OK}
    seen = {
        e.object["metadata"]["name"]
        for e in events
        if e is not None and e.object and e.event is WatchEventType.ADDED
    }
    assert created and created <= seen  # every pod the workload created was seen being added
    first = next(e for e in events if e is not None)
    assert first.event is WatchEventType.RELIST and not first.gap
    # the checkers' object model reads the recorded events back; the Deployment's last version
    # carries the replicas of the last acknowledged scale
    h = ObjectHistory.of_ops(ops)
    assert {k.rsplit("/", 1)[1] for k in h.keys(K8sResource.PODS)} >= created
    scales = [
        o
        for o in client
        if o.f in ("create-deployment", "scale-deployment") and o.type is OpType.OK
    ]
    assert scales and all(o.type is OpType.OK for o in client if o.f == "create-deployment")
    last = h.chain("deployments/default/dep-0-0")[-1]
    assert last.obj["spec"]["replicas"] == scales[-1].value["replicas"]


def test_a_watcher_relists_after_410_and_marks_the_gap(tmp_path: Path) -> None:
    async def main() -> list[Op]:
        async with (
            small_history_store(tmp_path / "store", max_events=5) as store,
            apiserver(store) as api,
            link_to(str(api.base_url).rstrip("/")) as link,
        ):
            writer = JsonlWriter(tmp_path / "h.jsonl")
            recorder = Recorder(writer, start_ns=0)
            endpoints = [Endpoint(name="api-1", url=link.url)]
            pods = ResourceWatcher(
                K8sResource.PODS,
                process=5,
                endpoints=endpoints,
                recorder=recorder,
                read_timeout_s=2.0,
            )
            nodes = ResourceWatcher(
                K8sResource.NODES,
                process=6,
                endpoints=endpoints,
                recorder=recorder,
                read_timeout_s=2.0,
            )
            headers = {"Authorization": f"Bearer {ADMIN}"}
            async with httpx.AsyncClient(headers=headers, trust_env=False) as client:
                http = Http(client)
                tasks = [asyncio.create_task(pods.run(http)), asyncio.create_task(nodes.run(http))]
                await until(lambda: pods.lists == 1)
                assert (
                    await api.post(PODS, json={"metadata": {"name": "before"}})
                ).status_code == 201
                await until(lambda: pods.events >= 2)  # the RELIST marker and ADDED before
                link.cut()
                for i in range(8):  # more changes than the store's 5-event history holds
                    assert (
                        await api.post(PODS, json={"metadata": {"name": f"gone-{i}"}})
                    ).status_code == 201
                assert (await api.delete(f"{PODS}/before")).status_code == 200
                link.heal()
                await until(lambda: pods.relists_after_expiry >= 1 and pods.lists >= 2)
                assert (
                    await api.post(PODS, json={"metadata": {"name": "after"}})
                ).status_code == 201
                await until(lambda: pods.rv is not None and pods.events >= 12)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            # no node exists, yet its resume revision was compacted too: it listed again
            assert nodes.served and nodes.lists == 1 + nodes.relists_after_expiry
            recorder.close()
            writer.close()
        return list(read_ops(tmp_path / "h.jsonl"))

    ops = asyncio.run(main())
    events = [e for e in (K8sEvent.from_op(o) for o in ops) if e is not None]
    assert {o.process for o in ops} == {5, 6}  # each watcher records as its own process
    events = [e for e in events if e.resource is K8sResource.PODS]
    relists = [e for e in events if e.event is WatchEventType.RELIST]
    assert [r.gap for r in relists] == [False, True]
    assert set(relists[1].keys) == {f"pods/default/gone-{i}" for i in range(8)}
    after_relist = events[events.index(relists[1]) + 1 :]
    listed = [e for e in after_relist if e.listed]
    assert {e.object["metadata"]["name"] for e in listed if e.object} == {
        f"gone-{i}" for i in range(8)
    }
    assert after_relist[-1].event is WatchEventType.ADDED and not after_relist[-1].listed
    assert (
        after_relist[-1].object is not None
        and after_relist[-1].object["metadata"]["name"] == "after"
    )
    rvs = [e.rv for e in events if not e.listed and e.event is not WatchEventType.RELIST]
    assert rvs == sorted(rvs)
    # "before" was deleted unseen during the gap: the object model infers it from the relist
    h = ObjectHistory.of_ops(ops)
    last = h.chain("pods/default/before")[-1]
    assert last.deleted and last.inferred


async def until(condition: Any, timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s")
        await asyncio.sleep(0.02)

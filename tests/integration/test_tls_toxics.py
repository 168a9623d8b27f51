"""A toxic on a client link breaks TLS clients the way it breaks plain-HTTP ones.

The apiservers serve https; the store members' links (``api-1-store-1``) carry plain HTTP
through the same link proxy and are reachable from the host. Each test applies one toxic
(through the nemesis, as a scenario would) first to the plain link, then to the TLS client
link, with the workloads' own HTTP layer (``harness.workload.http``: one context trusting the
run's CA, keep-alive connections), and asserts the same effect and the same outcome class:

- ``latency`` adds its latency to a request on a kept-alive connection (a lower bound: the
  bytes cannot arrive before the proxy lets them go);
- ``reset_peer`` resets the connection: a write in flight is ``info``;
- ``timeout`` (0: hold the data for ever) times the request out: a write in flight is ``info``.

On a *fresh* TLS connection the same toxics hit the handshake instead, before any request
byte is sent: httpx then says ``ConnectError``/``ConnectTimeout`` and the write is ``fail`` —
correctly, as it never left the client. That case is asserted too.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from harness.cluster.cluster import DockerCluster
from harness.history import JsonlWriter, OpType
from harness.model import FaultKind, FaultSpec
from harness.model.cluster import ClusterSpec
from harness.nemesis import FaultContext, find_leftovers, make_context, make_fault
from harness.nemesis.base import Verifiable
from harness.workload.http import Http, Reply, configmap, configmaps_url, open_http, store_key_url
from harness.workload.outcome import Effect, Outcome

pytestmark = pytest.mark.docker

ClusterFactory = Callable[..., DockerCluster]  # conftest.py's cluster_factory
LATENCY_MS = 1000
REQUEST_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def cluster(cluster_factory: ClusterFactory) -> DockerCluster:
    return cluster_factory(ClusterSpec(store_members=1, apiservers=1))


@pytest.fixture(scope="module")
def ctx(cluster: DockerCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultContext]:
    from harness.toxiproxy import ToxiproxyClient

    path = tmp_path_factory.mktemp("tls-toxics") / "faults.jsonl"
    with JsonlWriter(path) as timeline:
        context = make_context(
            cluster=cluster,
            toxiproxy=ToxiproxyClient(cluster.info.toxiproxy, timeout_s=5.0),
            timeline=timeline,
            start_ns=time.monotonic_ns(),
            seed=1,
        )
        yield context
        context.firewall.close()


@pytest.fixture(autouse=True)
def healed(ctx: FaultContext) -> Iterator[None]:
    yield
    assert find_leftovers(ctx) == []


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One link and a write through it: the plain store link or the TLS client link."""

    link: str
    tls: bool

    def write(self, cluster: DockerCluster) -> tuple[str, str, dict[str, Any]]:
        """(method, url, body) of a fresh write through this link."""
        name = f"tls-toxic-{secrets.token_hex(4)}"
        if self.tls:
            base = cluster.info.apiservers["api-1"]  # https through client-api-1
            return "POST", configmaps_url(base), configmap(name, {"k": "v"})
        listen = next(k.listen for k in cluster.info.links if k.name == self.link)
        return "PUT", store_key_url(f"http://{listen}", name), {"value": 1}


PLAIN = Target(link="api-1-store-1", tls=False)
TLS = Target(link="client-api-1", tls=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    warm: Outcome | Reply  # first request, before the toxic (opens the connection)
    hit: Outcome | Reply  # the request made under the toxic
    elapsed_s: float  # of the request under the toxic
    scheme: str


def under_toxic(
    ctx: FaultContext, cluster: DockerCluster, target: Target, toxic: dict[str, Any], *, fresh: bool
) -> Attempt:
    """Open a connection, add ``toxic`` to the target's link, write again, heal."""
    spec = FaultSpec(kind=FaultKind.TOXIC, at_s=0.0, target=target.link, params=toxic)
    fault = make_fault(spec, fault_id=random.randrange(1, 10**6), rng=random.Random(5))
    assert isinstance(fault, Verifiable)

    async def go() -> Attempt:
        async with open_http(
            token=cluster.info.api_token,
            timeout_s=REQUEST_TIMEOUT_S,
            connections=1,
            ca_pem=cluster.info.ca_pem,  # what every workload passes (ClusterInfo.ca_pem)
        ) as http:
            method, url, body = target.write(cluster)
            warm = await http.call(method, url, json=body, effect=Effect.WRITE)
            if fresh:
                await http.client.aclose()  # drop the pooled connection: the next one is new
                http = Http(_fresh_client(cluster))
            await asyncio.to_thread(fault.inject, ctx)
            try:
                evidence = await asyncio.to_thread(fault.verify, ctx)
                assert evidence.ok, evidence
                method, url, body = target.write(cluster)
                started = time.monotonic()
                hit = await http.call(method, url, json=body, effect=Effect.WRITE)
                elapsed_s = time.monotonic() - started
            finally:
                await asyncio.to_thread(fault.heal, ctx)
                if fresh:
                    await http.client.aclose()
            return Attempt(warm=warm, hit=hit, elapsed_s=elapsed_s, scheme=url.split(":")[0])

    return asyncio.run(go())


def _fresh_client(cluster: DockerCluster) -> httpx.AsyncClient:
    from harness.workload.http import tls_context

    return httpx.AsyncClient(
        headers={"Authorization": f"Bearer {cluster.info.api_token}"},
        timeout=httpx.Timeout(REQUEST_TIMEOUT_S),
        verify=tls_context(cluster.info.ca_pem),
        trust_env=False,
    )


def succeeded(result: Outcome | Reply) -> bool:
    return isinstance(result, Reply) and result.status_code in (200, 201)


def outcome(result: Outcome | Reply) -> Outcome:
    assert isinstance(result, Outcome), f"expected a transport failure, got {result!r}"
    return result


@pytest.mark.parametrize("target", [PLAIN, TLS], ids=["plain", "tls"])
def test_latency_adds_latency_on_a_kept_alive_connection(
    ctx: FaultContext, cluster: DockerCluster, target: Target
) -> None:
    toxic = {"type": "latency", "attributes": {"latency": LATENCY_MS}}
    got = under_toxic(ctx, cluster, target, toxic, fresh=False)
    assert got.scheme == ("https" if target.tls else "http")
    assert succeeded(got.warm) and succeeded(got.hit), got
    assert got.elapsed_s >= LATENCY_MS / 1000.0, got  # a floor the toxic sets, not a speed goal


@pytest.mark.parametrize("target", [PLAIN, TLS], ids=["plain", "tls"])
@pytest.mark.parametrize(
    ("toxic", "errors"),
    [
        (
            {"type": "reset_peer", "attributes": {"timeout": 0}},
            ("ReadError", "RemoteProtocolError"),
        ),
        ({"type": "timeout", "attributes": {"timeout": 0}}, ("ReadTimeout",)),
    ],
    ids=["reset_peer", "timeout"],
)
def test_reset_and_timeout_break_a_write_in_flight_the_same_way(
    ctx: FaultContext,
    cluster: DockerCluster,
    target: Target,
    toxic: dict[str, Any],
    errors: tuple[str, ...],
) -> None:
    got = under_toxic(ctx, cluster, target, toxic, fresh=False)
    assert succeeded(got.warm), got
    hit = outcome(got.hit)
    assert hit.type is OpType.INFO, hit  # sent, outcome unknown: the same for TLS and plain
    assert any(name in (hit.error or "") for name in errors), hit


@pytest.mark.parametrize(
    ("toxic", "errors"),
    [
        ({"type": "reset_peer", "attributes": {"timeout": 0}}, ("ConnectError",)),
        ({"type": "timeout", "attributes": {"timeout": 0}}, ("ConnectTimeout",)),
    ],
    ids=["reset_peer", "timeout"],
)
def test_on_a_fresh_tls_connection_the_handshake_breaks_and_nothing_was_sent(
    ctx: FaultContext, cluster: DockerCluster, toxic: dict[str, Any], errors: tuple[str, ...]
) -> None:
    got = under_toxic(ctx, cluster, TLS, toxic, fresh=True)
    assert succeeded(got.warm), got
    hit = outcome(got.hit)
    assert hit.type is OpType.FAIL, hit  # the request never left the client
    assert any(name in (hit.error or "") for name in errors), hit

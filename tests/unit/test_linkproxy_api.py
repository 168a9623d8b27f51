"""Conformance of linkproxy's REST API with Toxiproxy 2.x.

Driven in-process (server on 127.0.0.1:0 in a background thread) with ``toxiproxy-python``
unchanged for what it covers, and raw httpx for what it lacks (PATCH, partial updates,
``/populate``, ``GET /proxies/{p}``, metrics). Behaviour of the toxics on real sockets lives in
``test_linkproxy_toxics.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from linkproxy.echo import EchoServer
from linkproxy.server import ServerThread


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(seed=1) as running:
        yield running


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as running:
        yield running


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        yield client
        for name in client.get("/proxies").json():
            client.delete(f"/proxies/{name}")


@pytest.fixture
def tp(server: ServerThread, api: httpx.Client) -> Iterator[Toxiproxy]:
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = server.host, server.port
    yield Toxiproxy()
    APIConsumer.host, APIConsumer.port = saved


def _port(listen: str) -> int:
    return int(listen.rpartition(":")[2])


def _echoes(listen: str) -> bool:
    with socket.create_connection(("127.0.0.1", _port(listen)), timeout=5) as sock:
        sock.sendall(b"ping")
        return sock.recv(16) == b"ping"


def _refuses(listen: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", _port(listen)), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_create_picks_a_free_port_and_proxies(tp: Toxiproxy, echo: EchoServer) -> None:
    proxy = tp.create(upstream=echo.address, name="svc", listen="127.0.0.1:0")
    assert proxy.listen.startswith("127.0.0.1:") and _port(proxy.listen) != 0
    assert proxy.enabled is True
    assert set(tp.proxies()) == {"svc"}
    assert _echoes(proxy.listen)


def test_duplicate_proxy_is_409_and_proxy_exists(
    tp: Toxiproxy, api: httpx.Client, echo: EchoServer
) -> None:
    body = {"name": "dup", "listen": "127.0.0.1:0", "upstream": echo.address}
    assert api.post("/proxies", json=body).status_code == 201
    answer = api.post("/proxies", json=body)
    assert answer.status_code == 409
    assert answer.json() == {"error": "proxy already exists", "status": 409}
    with pytest.raises(ProxyExists):  # the client's own pre-check
        tp.create(upstream=echo.address, name="dup")
    with pytest.raises(ProxyExists):  # the server's 409 through the client's mapping
        APIConsumer.post("/proxies", json=body)


@pytest.mark.parametrize(
    "toxic",
    [
        {"type": "nope"},
        {"type": "latency", "attributes": {"latency": -1}},
        {"type": "latency", "attributes": {"latncy": 10}},
        {"type": "latency", "stream": "sideways"},
        {"type": "latency", "toxicity": 1.5},
    ],
)
def test_bad_toxic_is_400_and_invalid_toxic(
    tp: Toxiproxy, echo: EchoServer, toxic: dict[str, object]
) -> None:
    proxy = tp.create(upstream=echo.address, name="bad")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(**toxic)
    assert proxy.toxics() == {}


def test_down_stops_listening_then_comes_back_on_the_same_port(
    tp: Toxiproxy, api: httpx.Client, echo: EchoServer
) -> None:
    proxy = tp.create(upstream=echo.address, name="flaky")
    with proxy.down():
        assert api.get("/proxies/flaky").json()["enabled"] is False
        assert _refuses(proxy.listen)
    assert api.get("/proxies/flaky").json()["listen"] == proxy.listen
    assert _echoes(proxy.listen)


def test_toxics_list_default_names_and_destroy(tp: Toxiproxy, echo: EchoServer) -> None:
    proxy = tp.create(upstream=echo.address, name="tox")
    proxy.add_toxic(type="latency", attributes={"latency": 10})
    proxy.add_toxic(type="bandwidth", stream="upstream", attributes={"rate": 100})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "bandwidth_upstream"}
    assert toxics["bandwidth_upstream"].stream == "upstream"
    assert toxics["latency_downstream"].attributes == {"latency": 10, "jitter": 0}
    with pytest.raises(ProxyExists):  # duplicate toxic name: 409
        proxy.add_toxic(type="latency")
    proxy.destroy_toxic("latency_downstream")
    assert set(proxy.toxics()) == {"bandwidth_upstream"}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")


def test_reset_enables_all_and_removes_toxics(
    tp: Toxiproxy, api: httpx.Client, echo: EchoServer
) -> None:
    proxy = tp.create(upstream=echo.address, name="r")
    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    proxy.disable()
    assert tp.reset() is True
    state = api.get("/proxies/r").json()
    assert state["enabled"] is True and state["toxics"] == []
    assert api.post("/reset").status_code == 204
    assert _echoes(proxy.listen)


def test_destroy_and_not_found(tp: Toxiproxy, api: httpx.Client, echo: EchoServer) -> None:
    proxy = tp.create(upstream=echo.address, name="gone")
    assert proxy.destroy() is True
    assert tp.get_proxy("gone") is None
    assert _refuses(proxy.listen)
    with pytest.raises(NotFound):
        proxy.destroy()
    missing = api.get("/proxies/gone")
    assert missing.status_code == 404
    assert missing.json() == {"error": "proxy not found", "status": 404}


def test_partial_proxy_update_keeps_missing_fields(api: httpx.Client, echo: EchoServer) -> None:
    created = api.post(
        "/proxies", json={"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}
    ).json()
    patched = api.patch("/proxies/p", json={"upstream": echo.address})
    assert patched.status_code == 200
    assert patched.json() == {**created, "upstream": echo.address}
    assert _echoes(created["listen"])
    disabled = api.patch("/proxies/p", json={"enabled": False}).json()
    assert disabled == {**created, "upstream": echo.address, "enabled": False}
    assert api.patch("/proxies/nope", json={"enabled": False}).status_code == 404


def test_partial_toxic_update_keeps_missing_fields(api: httpx.Client, echo: EchoServer) -> None:
    api.post("/proxies", json={"name": "t", "listen": "127.0.0.1:0", "upstream": echo.address})
    created = api.post(
        "/proxies/t/toxics",
        json={"type": "latency", "toxicity": 0.5, "attributes": {"latency": 100}},
    )
    assert created.status_code == 200  # Toxiproxy answers 200, not 201, for a new toxic
    patched = api.patch("/proxies/t/toxics/latency_downstream", json={"attributes": {"jitter": 5}})
    assert patched.json() == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.5,
        "attributes": {"latency": 100, "jitter": 5},
    }
    assert api.get("/proxies/t/toxics/latency_downstream").json() == patched.json()
    assert api.patch("/proxies/t/toxics/nope", json={}).status_code == 404
    bad = api.patch("/proxies/t/toxics/latency_downstream", json={"attributes": {"jitter": "x"}})
    assert bad.status_code == 400


def test_populate_creates_and_is_idempotent(api: httpx.Client, echo: EchoServer) -> None:
    wanted = [
        {"name": "a", "listen": "127.0.0.1:0", "upstream": echo.address},
        {"name": "b", "listen": "127.0.0.1:0", "upstream": echo.address, "enabled": False},
    ]
    first = api.post("/populate", json=wanted)
    assert first.status_code == 201
    proxies = {p["name"]: p for p in first.json()["proxies"]}
    assert proxies["a"]["enabled"] is True and proxies["b"]["enabled"] is False
    again = api.post("/populate", json=wanted).json()["proxies"]
    assert again[0]["listen"] == proxies["a"]["listen"]  # kept, not re-created
    assert _echoes(proxies["a"]["listen"])


def test_populate_is_all_or_nothing(api: httpx.Client, echo: EchoServer) -> None:
    taken = api.post(
        "/proxies", json={"name": "holder", "listen": "127.0.0.1:0", "upstream": echo.address}
    ).json()["listen"]
    clash = [
        {"name": "new-1", "listen": "127.0.0.1:0", "upstream": echo.address},
        {"name": "new-2", "listen": taken, "upstream": echo.address},  # port already in use
    ]
    failed = api.post("/populate", json=clash)
    assert failed.status_code >= 400 and failed.json()["status"] == failed.status_code
    assert failed.json()["proxies"] == []
    assert set(api.get("/proxies").json()) == {"holder"}
    invalid = [{"name": "x", "listen": "127.0.0.1:0", "upstream": echo.address}, {"name": "y"}]
    assert api.post("/populate", json=invalid).status_code == 400
    assert set(api.get("/proxies").json()) == {"holder"}


def test_version_and_unknown_route(api: httpx.Client) -> None:
    assert "version" in api.get("/version").json()
    unknown = api.get("/nowhere")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404


def test_metrics_count_connections_and_bytes(api: httpx.Client, echo: EchoServer) -> None:
    listen = api.post(
        "/proxies", json={"name": "m", "listen": "127.0.0.1:0", "upstream": echo.address}
    ).json()["listen"]
    assert _echoes(listen)
    assert _echoes(listen)
    metrics = api.get("/proxies/m/metrics").json()
    assert metrics["connections_total"] == 2
    assert metrics["upstream"] == {"bytes_in": 8, "bytes_out": 8}
    assert metrics["downstream"] == {"bytes_in": 8, "bytes_out": 8}
    everything = api.get("/metrics").json()["proxies"]["m"]
    assert everything["upstream"] == metrics["upstream"]  # connections_active may be closing


def test_created_disabled_does_not_listen(api: httpx.Client, echo: EchoServer) -> None:
    body = {"name": "off", "listen": "127.0.0.1:0", "upstream": echo.address, "enabled": False}
    created = api.post("/proxies", json=body).json()
    assert created["enabled"] is False
    enabled = api.post("/proxies/off", json={"enabled": True}).json()
    assert enabled["enabled"] is True and _port(enabled["listen"]) != 0
    assert _echoes(enabled["listen"])


def test_browsers_are_refused(api: httpx.Client) -> None:
    answer = api.get("/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert answer.status_code == 403

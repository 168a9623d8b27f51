"""``harness.toxiproxy.ToxiproxyClient`` against an in-process linkproxy and a mute server.

Proves the layer closes toxiproxy-python's gaps: dict answers, PATCH, ``/populate``, metrics,
errors mapped by status (5xx included), a bounded timeout, and one client per server without
leaking toxiproxy-python's class-level host/port.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from toxiproxy.api import APIConsumer

from harness.errors import FaultError
from harness.toxiproxy import (
    ToxiproxyBadRequest,
    ToxiproxyClient,
    ToxiproxyConflict,
    ToxiproxyError,
    ToxiproxyNotFound,
)
from linkproxy.echo import EchoServer
from linkproxy.server import ServerThread


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(seed=3) as running:
        yield running


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[ToxiproxyClient]:
    tp = ToxiproxyClient(server.base_url, timeout_s=5.0)
    yield tp
    for name in tp.proxies():
        tp.delete(name)
    tp.close()


def _echoes(listen: str) -> bool:
    port = int(listen.rpartition(":")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"hi")
        return sock.recv(8) == b"hi"


def test_proxy_lifecycle(client: ToxiproxyClient, echo: EchoServer) -> None:
    created = client.create("one", upstream=echo.address)
    assert created["enabled"] is True and created["toxics"] == []
    assert client.proxy("one") == created
    assert set(client.proxies()) == {"one"}
    client.set_enabled("one", False)
    assert client.proxy("one")["enabled"] is False
    with client.down("one"):
        assert client.proxy("one")["enabled"] is False
    assert client.proxy("one")["enabled"] is True
    assert _echoes(created["listen"])
    client.delete("one")
    assert client.proxies() == {}


def test_toxics_round_trip(client: ToxiproxyClient, echo: EchoServer) -> None:
    client.create("t", upstream=echo.address)
    added = client.add_toxic("t", type="latency", toxicity=0.5, attributes={"latency": 10})
    assert added == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.5,
        "attributes": {"latency": 10, "jitter": 0},
    }
    assert client.toxics("t") == [added]
    updated = client.update_toxic("t", "latency_downstream", attributes={"jitter": 3})
    assert updated["attributes"] == {"latency": 10, "jitter": 3} and updated["toxicity"] == 0.5
    with client.with_toxic("t", type="timeout", name="cut", stream="upstream") as toxic:
        assert toxic["name"] == "cut"
        assert {t["name"] for t in client.toxics("t")} == {"latency_downstream", "cut"}
    assert [t["name"] for t in client.toxics("t")] == ["latency_downstream"]
    client.remove_toxic("t", "latency_downstream")
    assert client.toxics("t") == []


def test_populate_reset_metrics_version(client: ToxiproxyClient, echo: EchoServer) -> None:
    populated = client.populate(
        [
            {"name": "a", "listen": "127.0.0.1:0", "upstream": echo.address},
            {"name": "b", "listen": "127.0.0.1:0", "upstream": echo.address},
        ]
    )
    assert [p["name"] for p in populated] == ["a", "b"]
    client.add_toxic("a", type="noop")
    client.set_enabled("b", False)
    client.reset()
    assert client.proxy("a")["toxics"] == [] and client.proxy("b")["enabled"] is True
    assert _echoes(populated[0]["listen"])
    metrics = client.metrics("a")
    assert metrics["connections_total"] == 1 and metrics["upstream"]["bytes_out"] == 2
    assert client.version()


def test_errors_are_mapped_by_status(client: ToxiproxyClient, echo: EchoServer) -> None:
    client.create("e", upstream=echo.address)
    with pytest.raises(ToxiproxyConflict):
        client.create("e", upstream=echo.address)
    with pytest.raises(ToxiproxyBadRequest):  # one name twice in one populate body
        client.populate([{"name": "e", "listen": "127.0.0.1:0", "upstream": echo.address}] * 2)
    with pytest.raises(ToxiproxyBadRequest) as bad:
        client.add_toxic("e", type="no-such-toxic")
    assert bad.value.status == 400
    with pytest.raises(ToxiproxyNotFound):
        client.proxy("missing")
    with pytest.raises(ToxiproxyNotFound):
        client.remove_toxic("e", "missing")
    with pytest.raises(ToxiproxyNotFound):
        client.update_toxic("e", "missing", toxicity=0.1)
    assert issubclass(ToxiproxyError, FaultError)


def test_5xx_is_raised(client: ToxiproxyClient, echo: EchoServer) -> None:
    taken = client.create("holder", upstream=echo.address)["listen"]
    with pytest.raises(ToxiproxyError) as failure:
        client.create("clash", upstream=echo.address, listen=taken)  # port in use: 500
    assert failure.value.status == 500
    assert "clash" not in client.proxies()


@pytest.fixture
def mute_server() -> Iterator[int]:
    """Accepts TCP connections (via the backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def test_every_call_is_bounded_by_the_timeout(mute_server: int) -> None:
    mute = ToxiproxyClient(f"http://127.0.0.1:{mute_server}", timeout_s=0.3)
    for call in (mute.proxies, mute.reset, lambda: mute.set_enabled("x", False)):
        start = time.monotonic()
        with pytest.raises(ToxiproxyError) as failure:
            call()
        assert failure.value.status is None
        assert time.monotonic() - start < 3.0  # toxiproxy-python alone would hang for ever


def test_unreachable_server_is_a_toxiproxy_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    free_port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ToxiproxyError):
        ToxiproxyClient(f"http://127.0.0.1:{free_port}", timeout_s=1.0).version()


def test_two_clients_two_servers_and_globals_restored(
    client: ToxiproxyClient, echo: EchoServer
) -> None:
    saved = APIConsumer.host, APIConsumer.port
    with ServerThread() as other_server:
        other = ToxiproxyClient(other_server.base_url)
        other.create("only-there", upstream=echo.address)
        client.create("only-here", upstream=echo.address)
        assert set(other.proxies()) == {"only-there"}
        assert set(client.proxies()) == {"only-here"}
        other.close()
    assert (APIConsumer.host, APIConsumer.port) == saved


def test_a_url_without_a_port_is_a_harness_error_naming_the_fix() -> None:
    with pytest.raises(FaultError, match=r"http://host:port.*chaosplane up") as caught:
        ToxiproxyClient("toxiproxy.local")
    assert isinstance(caught.value, ToxiproxyError) and caught.value.url == "toxiproxy.local"

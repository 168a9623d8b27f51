"""Behaviour of linkproxy's toxics on real loopback sockets, against a threaded echo server.

Each test proves its toxic really happened (the delay, the cap, the reset, the cut) and, where
Toxiproxy promises it, that no byte is lost or reordered. Delays are lower bounds with generous
upper tolerances: a loaded 2-core machine may be slow, never early.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from linkproxy.echo import EchoServer
from linkproxy.server import ServerThread


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(seed=42) as running:
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


def _proxy(api: httpx.Client, echo: EchoServer, name: str = "link") -> tuple[str, int]:
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": echo.address}
    listen = api.post("/proxies", json=body).json()["listen"]
    return "127.0.0.1", int(listen.rpartition(":")[2])


def _toxic(api: httpx.Client, proxy: str, **toxic: Any) -> None:
    answer = api.post(f"/proxies/{proxy}/toxics", json=toxic)
    assert answer.status_code == 200, answer.text


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        data = sock.recv(min(size, 1 << 20))
        if not data:
            break
        chunks.append(data)
        size -= len(data)
    return b"".join(chunks)


def _round_trip_s(sock: socket.socket, payload: bytes = b"x" * 16) -> float:
    start = time.monotonic()
    sock.sendall(payload)
    assert _recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - start


def test_latency_adds_the_delay(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    with socket.create_connection(address, timeout=5) as sock:
        base_s = min(_round_trip_s(sock) for _ in range(3))
        _toxic(api, "link", type="latency", attributes={"latency": 150})  # live connection
        delayed_s = _round_trip_s(sock)
    # The floor is the toxic's (bytes cannot come back sooner); the base round trip is noise
    # that a loaded machine can make larger than the latency's own share, so it is not taken off.
    assert delayed_s >= 0.15, (delayed_s, base_s)
    assert delayed_s - base_s < 0.15 + 0.35, (delayed_s, base_s)


def test_latency_removed_mid_flight_forwards_held_bytes(
    api: httpx.Client, echo: EchoServer
) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="latency", stream="upstream", attributes={"latency": 5000})
    with socket.create_connection(address, timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(b"held bytes")
        time.sleep(0.1)
        api.delete("/proxies/link/toxics/latency_upstream")
        assert _recv_exactly(sock, 10) == b"held bytes"
        assert time.monotonic() - start < 4.0  # released by the removal, not the 5 s timer


def test_bandwidth_caps_throughput(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="bandwidth", attributes={"rate": 100})  # 100 KB/s downstream
    payload = os.urandom(50_000)
    with socket.create_connection(address, timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(payload)
        assert _recv_exactly(sock, len(payload)) == payload
        elapsed_s = time.monotonic() - start
    assert elapsed_s >= 0.45  # 50 KB at 100 KB/s is 0.5 s; unthrottled loopback takes ~1 ms


def test_timeout_zero_blackholes_then_closes_on_removal(
    api: httpx.Client, echo: EchoServer
) -> None:
    address = _proxy(api, echo)
    with socket.create_connection(address, timeout=5) as sock:
        _toxic(api, "link", type="timeout", stream="upstream", attributes={"timeout": 0})
        sock.sendall(b"into the void")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(16)
        metrics = api.get("/proxies/link/metrics").json()["upstream"]
        assert metrics["bytes_in"] - metrics["bytes_out"] == len(b"into the void")
        api.delete("/proxies/link/toxics/timeout_upstream")
        sock.settimeout(5)
        assert sock.recv(16) == b""  # closed on removal, as Toxiproxy does


def test_timeout_with_a_delay_closes_the_connection(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="timeout", attributes={"timeout": 200})
    with socket.create_connection(address, timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(b"dropped")
        assert sock.recv(16) == b""
        assert time.monotonic() - start >= 0.19


def test_reset_peer_resets(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="reset_peer", stream="upstream", attributes={"timeout": 100})
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(16)


def test_reset_peer_zero_resets_on_the_first_data(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="reset_peer", stream="upstream", attributes={"timeout": 0})
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"trigger")
        with pytest.raises(ConnectionResetError):
            sock.recv(16)
    assert api.get("/proxies/link/metrics").json()["upstream"]["bytes_out"] == 0


def test_slicer_delivers_the_same_bytes_in_pieces(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(
        api,
        "link",
        type="slicer",
        attributes={"average_size": 100, "size_variation": 50, "delay": 5000},
    )
    payload = os.urandom(2000)
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(payload)
        pieces: list[bytes] = []
        while sum(len(p) for p in pieces) < len(payload):
            pieces.append(sock.recv(65536))
    assert b"".join(pieces) == payload
    assert len(pieces) >= 10  # ~20 slices 5 ms apart arrive as separate reads


def test_limit_data_closes_after_n_bytes(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="limit_data", attributes={"bytes": 100})
    payload = os.urandom(300)
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(payload)
        received = _recv_exactly(sock, 300)
    assert received == payload[:100]


def test_slow_close_delays_the_close(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    _toxic(api, "link", type="slow_close", attributes={"delay": 300})
    with socket.create_connection(address, timeout=5) as sock:
        assert _round_trip_s(sock) < 5
        start = time.monotonic()
        sock.shutdown(socket.SHUT_WR)  # echo server closes in turn; its FIN is held back
        assert sock.recv(16) == b""
        assert time.monotonic() - start >= 0.29


def _affected(address: tuple[str, int], count: int) -> list[bool]:
    """Per connection: did a toxicity-0.5 ``limit_data`` of 0 bytes cut it?"""
    cut = []
    for _ in range(count):
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"?")
            cut.append(sock.recv(1) == b"")
    return cut


def test_toxicity_half_affects_about_half_and_replays(api: httpx.Client, echo: EchoServer) -> None:
    runs = []
    for _ in range(2):
        address = _proxy(api, echo, name="coin")
        _toxic(api, "coin", type="limit_data", toxicity=0.5, attributes={"bytes": 0})
        runs.append(_affected(address, 200))
        api.delete("/proxies/coin")
    assert 70 <= sum(runs[0]) <= 130  # binomial(200, 0.5): 100 ± 30 is > 4 sigma
    assert runs[0] == runs[1]  # same seed, same connection order: same draws


def test_disabling_drops_live_connections(api: httpx.Client, echo: EchoServer) -> None:
    address = _proxy(api, echo)
    with socket.create_connection(address, timeout=5) as sock:
        assert _round_trip_s(sock) < 5
        api.patch("/proxies/link", json={"enabled": False})
        with contextlib.suppress(ConnectionResetError):  # a reset is a drop too
            assert sock.recv(16) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5)
    api.patch("/proxies/link", json={"enabled": True})
    with socket.create_connection(address, timeout=5) as sock:
        assert _round_trip_s(sock) < 5


def _stream_through(address: tuple[str, int], size_bytes: int) -> tuple[str, str]:
    payload = os.urandom(size_bytes)
    with (
        socket.create_connection(address, timeout=20) as sock,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        sent = pool.submit(sock.sendall, payload)
        received = _recv_exactly(sock, size_bytes)
        sent.result()
    return hashlib.sha256(payload).hexdigest(), hashlib.sha256(received).hexdigest()


def test_plain_proxy_loses_and_reorders_nothing_under_load(
    api: httpx.Client, echo: EchoServer
) -> None:
    address = _proxy(api, echo)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _stream_through(address, 1 << 20), range(8)))
    assert all(sent == received for sent, received in results)
    metrics = api.get("/proxies/link/metrics").json()
    assert metrics["upstream"]["bytes_out"] == 8 << 20
    assert metrics["downstream"]["bytes_out"] == 8 << 20
    assert metrics["connections_total"] == 8
    deadline = time.monotonic() + 10
    while api.get("/proxies/link/metrics").json()["connections_active"] and (
        time.monotonic() < deadline
    ):
        time.sleep(0.02)
    # Both ends closed, so the proxy must have released every connection (no leak).
    assert api.get("/proxies/link/metrics").json()["connections_active"] == 0


def test_adding_and_removing_toxics_under_load_loses_nothing(
    api: httpx.Client, echo: EchoServer
) -> None:
    address = _proxy(api, echo)
    toggles_while_streaming = 0
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(_stream_through, address, 2 << 20) for _ in range(3)]
        while not all(f.done() for f in futures) or toggles_while_streaming < 1:
            _toxic(api, "link", type="latency", attributes={"latency": 20, "jitter": 10})
            slicer = {"average_size": 512, "delay": 50}  # µs: gives it a sleep to interrupt
            _toxic(api, "link", type="slicer", stream="upstream", attributes=slicer)
            time.sleep(0.02)
            api.delete("/proxies/link/toxics/latency_downstream")
            api.delete("/proxies/link/toxics/slicer_upstream")
            toxics_left = api.get("/proxies/link/toxics").json()
            assert toxics_left == []
            toggles_while_streaming += 1
        results = [f.result() for f in futures]
    assert all(sent == received for sent, received in results)
    assert toggles_while_streaming >= 3  # the chains really were swapped mid-stream

"""What each toxic does when the sender closes and when the toxic is removed, as Toxiproxy does.

Read from Shopify/toxiproxy (toxics/*.go, link.go): a toxic's input ending (``c == nil``) makes
most toxics ``stub.Close()``; the ``timeout`` toxic holds the connection and drops data, closes
the whole connection when its input ends, and its ``Cleanup`` closes the connection when it is
removed (``TestTimeoutToxicClosesConnectionOnRemove``: both the client and the server read
EOF); ``reset_peer`` waits without an interrupt case, so a removal does not cancel a reset that
is due, and the sender's EOF triggers it too. Driven through ``toxiproxy-python`` against the
in-process server, with a recording upstream that shows what the server side saw.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.proxy import Proxy

from linkproxy.server import ServerThread

WAIT_S = 5.0  # generous bound on "the close arrives": never a speed assertion


@dataclass
class Seen:
    """What the upstream server saw on one connection."""

    data: bytearray = field(default_factory=bytearray)
    end: str | None = None  # "eof" | "reset"
    done: threading.Event = field(default_factory=threading.Event)


class RecordingServer:
    """Upstream that records bytes and how each connection ended, never closing first.

    It does not echo unless told to: a blackhole test must see silence because of the toxic.
    It keeps its side open after the client's EOF, so a close the client sees came from the
    proxy, not from this server.
    """

    def __init__(self, *, reply: bytes | None = None) -> None:
        self.reply = reply
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self.connections: list[Seen] = []
        self._conns: list[socket.socket] = []
        self._accepted = threading.Condition()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            seen = Seen()
            with self._accepted:
                self.connections.append(seen)
                self._conns.append(conn)
                self._accepted.notify_all()
            threading.Thread(target=self._serve, args=(conn, seen), daemon=True).start()

    def _serve(self, conn: socket.socket, seen: Seen) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                seen.end = "reset"
                break
            except OSError:
                seen.end = "closed"
                break
            if not data:
                seen.end = "eof"
                break
            seen.data += data
            if self.reply is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(self.reply)
        seen.done.set()

    def connection(self, index: int = 0) -> Seen:
        with self._accepted:
            self._accepted.wait_for(lambda: len(self.connections) > index, timeout=WAIT_S)
            return self.connections[index]

    def close(self) -> None:
        self._sock.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(seed=3) as running:
        yield running


@pytest.fixture
def tp(server: ServerThread) -> Iterator[Toxiproxy]:
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = server.host, server.port
    client = Toxiproxy()
    yield client
    client.destroy_all()
    APIConsumer.host, APIConsumer.port = saved


@pytest.fixture
def upstream() -> Iterator[RecordingServer]:
    recording = RecordingServer()
    yield recording
    recording.close()


@pytest.fixture
def echoing() -> Iterator[RecordingServer]:
    recording = RecordingServer(reply=b"pong")
    yield recording
    recording.close()


def connect(proxy: Proxy) -> socket.socket:
    port = int(proxy.listen.rpartition(":")[2])
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)


def still_open(sock: socket.socket, for_s: float = 1.0) -> bool:
    """Nothing arrives and no close either, for ``for_s``: a held-open connection."""
    sock.settimeout(for_s)
    try:
        data = sock.recv(16)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(WAIT_S)
    raise AssertionError(f"expected silence, got {data!r}")


def end_of(sock: socket.socket) -> str:
    """How the client's side ends: "eof" (FIN) or "reset" (RST)."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return "reset"
    return "eof"


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_timeout_zero_holds_the_connection_open_and_drops_data_until_removed(
    tp: Toxiproxy, echoing: RecordingServer, stream: str
) -> None:
    proxy = tp.create(upstream=echoing.address, name="blackhole")
    with connect(proxy) as sock:
        proxy.add_toxic(type="timeout", stream=stream, attributes={"timeout": 0})
        sock.sendall(b"ping")
        assert still_open(sock, 1.5)
        sock.sendall(b"ping again")  # writes still succeed: the proxy keeps reading
        assert still_open(sock)
        seen = echoing.connection()
        if stream == "upstream":
            assert bytes(seen.data) == b""  # the server never got a byte
        else:
            assert bytes(seen.data) == b"pingping again"  # its replies were the ones dropped
        proxy.destroy_toxic(f"timeout_{stream}")
        # Removal closes the connection (timeout.go Cleanup → stub.Close): both sides see EOF.
        assert end_of(sock) == "eof"
        assert seen.done.wait(WAIT_S) and seen.end == "eof"


def test_timeout_zero_outlives_other_toxic_changes_on_the_connection(
    tp: Toxiproxy, echoing: RecordingServer
) -> None:
    proxy = tp.create(upstream=echoing.address, name="blackhole")
    with connect(proxy) as sock:
        proxy.add_toxic(type="timeout", stream="upstream", attributes={"timeout": 0})
        proxy.add_toxic(type="latency", stream="downstream", attributes={"latency": 10})
        proxy.destroy_toxic("latency_downstream")  # re-chains the connection: no close
        sock.sendall(b"ping")
        assert still_open(sock)
        assert bytes(echoing.connection().data) == b""


def test_timeout_closes_the_whole_connection_when_the_sender_closes(
    tp: Toxiproxy, upstream: RecordingServer
) -> None:
    proxy = tp.create(upstream=upstream.address, name="blackhole")
    with connect(proxy) as sock:
        proxy.add_toxic(type="timeout", stream="upstream", attributes={"timeout": 0})
        sock.sendall(b"dropped")
        sock.shutdown(socket.SHUT_WR)
        # timeout.go: ``c == nil`` → ``stub.Close()``. Not a half-close: the server (which
        # never closes first) is closed by the proxy, and so is the client.
        seen = upstream.connection()
        assert seen.done.wait(WAIT_S) and seen.end == "eof" and bytes(seen.data) == b""
        assert end_of(sock) == "eof"


def test_timeout_with_a_delay_is_closed_by_removal_before_it_fires(
    tp: Toxiproxy, upstream: RecordingServer
) -> None:
    proxy = tp.create(upstream=upstream.address, name="slowhole")
    with connect(proxy) as sock:
        proxy.add_toxic(type="timeout", stream="upstream", attributes={"timeout": 60_000})
        sock.sendall(b"dropped")
        assert still_open(sock)
        proxy.destroy_toxic("timeout_upstream")
        assert end_of(sock) == "eof"


def test_reset_peer_resets_even_when_removed_while_it_waits(
    tp: Toxiproxy, upstream: RecordingServer
) -> None:
    proxy = tp.create(upstream=upstream.address, name="reset")
    with connect(proxy) as sock:
        proxy.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 300})
        sock.sendall(b"doomed")
        time.sleep(0.05)  # the chunk reached the toxic, whose wait has started
        proxy.destroy_toxic("reset_peer_upstream")
        assert end_of(sock) == "reset"
        seen = upstream.connection()
        assert seen.done.wait(WAIT_S) and seen.end == "reset" and bytes(seen.data) == b""


def test_reset_peer_resets_on_the_senders_close(tp: Toxiproxy, upstream: RecordingServer) -> None:
    proxy = tp.create(upstream=upstream.address, name="reset")
    proxy.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 0})
    with connect(proxy) as sock:
        sock.shutdown(socket.SHUT_WR)  # no data at all: the EOF itself triggers the reset
        assert end_of(sock) == "reset"
        seen = upstream.connection()
        assert seen.done.wait(WAIT_S) and seen.end == "reset"


def test_reset_peer_removed_before_any_data_leaves_the_connection_alone(
    tp: Toxiproxy, echoing: RecordingServer
) -> None:
    proxy = tp.create(upstream=echoing.address, name="reset")
    with connect(proxy) as sock:
        proxy.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 0})
        proxy.destroy_toxic("reset_peer_upstream")
        sock.sendall(b"ping")
        assert sock.recv(4) == b"pong"


def test_slow_close_removed_during_its_delay_closes_at_once(
    tp: Toxiproxy, upstream: RecordingServer
) -> None:
    proxy = tp.create(upstream=upstream.address, name="slow")
    with connect(proxy) as sock:
        proxy.add_toxic(type="slow_close", stream="upstream", attributes={"delay": 600_000})
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        seen = upstream.connection()
        assert not seen.done.wait(0.5)  # the close is held back by the toxic
        proxy.destroy_toxic("slow_close_upstream")
        # Without the toxic the EOF goes on (10 minutes of delay otherwise).
        assert seen.done.wait(WAIT_S) and seen.end == "eof"
        assert bytes(seen.data) == b"last words"


@pytest.mark.parametrize(
    ("toxic", "attributes"),
    [
        ("latency", {"latency": 200}),
        ("bandwidth", {"rate": 1}),
        ("slicer", {"average_size": 3, "size_variation": 1, "delay": 1000}),
    ],
)
def test_the_senders_close_follows_its_data_through_a_delaying_toxic(
    tp: Toxiproxy, upstream: RecordingServer, toxic: str, attributes: dict[str, int]
) -> None:
    # latency.go / bandwidth.go / slicer.go handle ``nil`` in order after the data before it:
    # every byte arrives, then the close.
    proxy = tp.create(upstream=upstream.address, name="delay")
    proxy.add_toxic(type=toxic, stream="upstream", attributes=attributes)
    payload = b"0123456789" * 30
    with connect(proxy) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        seen = upstream.connection()
        assert seen.done.wait(WAIT_S) and seen.end == "eof"
        assert bytes(seen.data) == payload


def test_limit_data_closes_both_sides_at_the_limit(
    tp: Toxiproxy, upstream: RecordingServer
) -> None:
    proxy = tp.create(upstream=upstream.address, name="limit")
    proxy.add_toxic(type="limit_data", stream="upstream", attributes={"bytes": 5})
    with connect(proxy) as sock:
        sock.sendall(b"0123456789")
        seen = upstream.connection()
        assert seen.done.wait(WAIT_S) and seen.end == "eof" and bytes(seen.data) == b"01234"
        assert end_of(sock) == "eof"

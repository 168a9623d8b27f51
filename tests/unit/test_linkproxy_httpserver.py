"""The link proxy's own HTTP/1.1 server: framing, keep-alive, routing errors, bad input."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from linkproxy.server import ServerThread


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread(seed=3) as running:
        yield running


def _exchange(server: ServerThread, raw: bytes, answers: int = 1) -> list[bytes]:
    """Send ``raw`` on one connection; read ``answers`` complete responses back."""
    out: list[bytes] = []
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(raw)
        buf = b""
        while len(out) < answers:
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    return out
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(rest) < length:
                rest += sock.recv(65536)
            out.append(head + b"\r\n\r\n" + rest[:length])
            buf = rest[length:]
    return out


def test_two_requests_on_one_kept_alive_connection(server: ServerThread) -> None:
    get = b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
    answers = _exchange(server, get + get, answers=2)
    assert len(answers) == 2
    assert all(a.startswith(b"HTTP/1.1 200 OK") and b"2.9.0-linkproxy" in a for a in answers)


def test_a_chunked_body_is_read_whole(server: ServerThread) -> None:
    body = b'{"name": "c", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"}'
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
        + b"0\r\n\r\n"
    )
    raw = (
        b"POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n" + chunked
    )
    (answer,) = _exchange(server, raw)
    assert answer.startswith(b"HTTP/1.1 201"), answer
    assert b'"name": "c"' in answer


def test_unknown_path_is_404_and_wrong_method_405_in_toxiproxys_error_shape(
    server: ServerThread,
) -> None:
    (missing,) = _exchange(server, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    assert missing.startswith(b"HTTP/1.1 404") and b'"status": 404' in missing
    (wrong,) = _exchange(server, b"PUT /version HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wrong.startswith(b"HTTP/1.1 405") and b'"status": 405' in wrong


def test_connection_close_is_honoured(server: ServerThread) -> None:
    raw = b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):  # ends: the server closed the connection
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data


def test_a_malformed_request_line_gets_400_and_the_server_keeps_serving(
    server: ServerThread,
) -> None:
    (bad,) = _exchange(server, b"NONSENSE\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400")
    (ok,) = _exchange(server, b"GET /proxies HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200")


def test_a_browser_user_agent_is_refused(server: ServerThread) -> None:
    raw = b"GET /proxies HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\n\r\n"
    (answer,) = _exchange(server, raw)
    assert answer.startswith(b"HTTP/1.1 403") and b"User agent not allowed" in answer

"""Every row of the outcome table in harness/workload/outcome.py, from constructed exceptions and
from real HTTP exchanges with the in-process fake cluster."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from harness.history import OpType
from harness.testing.fakes import TOKEN, FakeCluster, Misbehave
from harness.workload.http import open_http
from harness.workload.outcome import Effect, Outcome, classify_exception, classify_status

REQ = httpx.Request("GET", "http://127.0.0.1:1/")

EXCEPTION_ROWS: list[tuple[BaseException, OpType, OpType]] = [
    # exception, outcome for a write, outcome for a read
    (httpx.ConnectError("refused", request=REQ), OpType.FAIL, OpType.FAIL),
    (httpx.ConnectTimeout("slow connect", request=REQ), OpType.FAIL, OpType.FAIL),
    (httpx.PoolTimeout("no connection", request=REQ), OpType.FAIL, OpType.FAIL),
    (httpx.LocalProtocolError("bad request"), OpType.FAIL, OpType.FAIL),
    (httpx.UnsupportedProtocol("ftp", request=REQ), OpType.FAIL, OpType.FAIL),
    (httpx.ReadTimeout("slow", request=REQ), OpType.INFO, OpType.FAIL),
    (httpx.WriteTimeout("slow send", request=REQ), OpType.INFO, OpType.FAIL),
    (httpx.ReadError("reset", request=REQ), OpType.INFO, OpType.FAIL),
    (httpx.WriteError("broken pipe", request=REQ), OpType.INFO, OpType.FAIL),
    (httpx.RemoteProtocolError("disconnected", request=REQ), OpType.INFO, OpType.FAIL),
    (httpx.CloseError("close", request=REQ), OpType.INFO, OpType.FAIL),
    (TimeoutError(), OpType.INFO, OpType.FAIL),
    (RuntimeError("a bug somewhere"), OpType.INFO, OpType.FAIL),
]


@pytest.mark.parametrize(("exc", "write", "read"), EXCEPTION_ROWS, ids=lambda x: type(x).__name__)
def test_exception_rows(exc: BaseException, write: OpType, read: OpType) -> None:
    assert classify_exception(exc, effect=Effect.WRITE).type is write
    assert classify_exception(exc, effect=Effect.READ).type is read
    out = classify_exception(exc, effect=Effect.WRITE)
    assert out.error and type(exc).__name__ in out.error
    assert out.unavailable  # the next op goes to another server


STATUS_ROWS = [
    # status, write, read
    (500, OpType.INFO, OpType.FAIL),
    (502, OpType.INFO, OpType.FAIL),
    (503, OpType.INFO, OpType.FAIL),
    (504, OpType.INFO, OpType.FAIL),
    (404, OpType.FAIL, OpType.OK),
    (409, OpType.FAIL, OpType.FAIL),
    (400, OpType.FAIL, OpType.FAIL),
    (401, OpType.FAIL, OpType.FAIL),
    (403, OpType.FAIL, OpType.FAIL),
    (410, OpType.FAIL, OpType.FAIL),
    (422, OpType.FAIL, OpType.FAIL),
    (429, OpType.FAIL, OpType.FAIL),
    (302, OpType.INFO, OpType.FAIL),
    (101, OpType.INFO, OpType.FAIL),
]


@pytest.mark.parametrize(("status", "write", "read"), STATUS_ROWS)
def test_status_rows(status: int, write: OpType, read: OpType) -> None:
    assert classify_status(status, effect=Effect.WRITE).type is write
    got = classify_status(status, effect=Effect.READ)
    assert got.type is read
    if status == 404:
        assert got.value is None and got.error is None  # a read of an absent key: null
    assert classify_status(status, effect=Effect.WRITE).unavailable == (write is OpType.INFO)


def test_reason_from_a_status_body() -> None:
    body = {"kind": "Status", "reason": "Conflict", "code": 409}
    assert classify_status(409, effect=Effect.WRITE, body=body).error == "HTTP 409 Conflict"
    assert classify_status(503, effect=Effect.WRITE, body={"error": "no leader"}).error == (
        "HTTP 503 no leader"
    )


# ----- the same rows, produced for real over loopback ----------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCluster]:
    with FakeCluster(apiservers=1, store_members=1) as cluster:
        yield cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _put(url: str, effect: Effect, timeout_s: float = 0.5) -> Outcome:
    async def go() -> Outcome:
        async with open_http(token=TOKEN, timeout_s=timeout_s, connections=2) as http:
            got = await http.call("PUT", url, effect=effect, json={"value": 1})
            if isinstance(got, Outcome):
                return got
            return classify_status(got.status_code, effect=effect)

    return asyncio.run(go())


def test_a_write_broken_on_a_kept_alive_connection_is_sent_once_and_is_info() -> None:
    """The first PUT is answered on a kept-alive connection; the second is read and the
    connection dropped: the client must not re-send it (aiohttp would, once, by default)."""
    seen: list[bytes] = []

    async def go() -> Outcome:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                seen.append(head + await reader.readexactly(length))
                if len(seen) >= 2:
                    writer.close()  # the request arrived; the answer never will
                    return
                body = b'{"value": 1}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/kv/a"
        try:
            async with open_http(token=TOKEN, timeout_s=2.0, connections=1) as http:
                first = await http.call("PUT", url, effect=Effect.WRITE, json={"value": 1})
                assert not isinstance(first, Outcome) and first.status_code == 200
                second = await http.call("PUT", url, effect=Effect.WRITE, json={"value": 2})
                assert isinstance(second, Outcome), second
                return second
        finally:
            server.close()

    got = asyncio.run(go())
    assert len(seen) == 2, [s.split(b"\r\n")[0] for s in seen]  # a third: re-sent
    assert got.type is OpType.INFO and got.error is not None and "RemoteProtocolError" in got.error


def test_connection_refused_is_fail() -> None:
    url = f"http://127.0.0.1:{_free_port()}/kv/a"
    got = _put(url, Effect.WRITE)
    assert got.type is OpType.FAIL and got.error is not None and "ConnectError" in got.error


@pytest.mark.parametrize(
    ("how", "error"),
    [
        (Misbehave(hang=True), ("ReadTimeout",)),
        # A reset and a close without an answer race the client's read: either name is right,
        # and both mean "sent, outcome unknown".
        (Misbehave(reset=True), ("ReadError", "RemoteProtocolError")),
        (Misbehave(disconnect=True), ("RemoteProtocolError", "ReadError")),
    ],
)
def test_unknown_outcomes_over_http(
    fake: FakeCluster, how: Misbehave, error: tuple[str, ...]
) -> None:
    fake.misbehave("store-1", how)
    try:
        url = fake.url("store-1") + "/kv/a"
        write = _put(url, Effect.WRITE, timeout_s=0.3)
        assert write.type is OpType.INFO and write.error is not None
        assert any(name in write.error for name in error), write.error
        assert _put(url, Effect.READ, timeout_s=0.3).type is OpType.FAIL
    finally:
        fake.misbehave("store-1", Misbehave())


def test_applied_then_503_is_info_and_the_write_really_landed(fake: FakeCluster) -> None:
    before = fake.state.writes
    fake.misbehave("store-1", Misbehave(apply_then_status=503))
    try:
        got = _put(fake.url("store-1") + "/kv/landed", Effect.WRITE)
    finally:
        fake.misbehave("store-1", Misbehave())
    assert got.type is OpType.INFO  # and it did take effect: info was the only honest answer
    assert fake.state.writes == before + 1

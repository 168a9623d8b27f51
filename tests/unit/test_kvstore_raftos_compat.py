"""The raftos compatibility layer: each of the five patches does what raftos needs on
Python 3.11 / msgpack 1.x (controlplane/kvstore/engine/raftos_compat.py), and the command
encoding round-trips."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("raftos", reason="the raftos extra is not installed")
pytest.importorskip("msgpack", reason="the raftos extra is not installed")

import raftos.replicator
import raftos.server
import raftos.state
import raftos.storage

from controlplane.kvstore.engine import raftos_compat
from controlplane.kvstore.engine.raftos_engine import decode, encode
from controlplane.kvstore.state import Cas, Delete, Get, Put, Range

raftos_compat.install()


def test_patch1_queue_accepts_loop_inside_raftos_only() -> None:
    async def main() -> None:
        q = raftos.server.asyncio.Queue(loop=asyncio.get_running_loop())
        await q.put(1)
        assert await q.get() == 1

    asyncio.run(main())
    # The process-wide asyncio is untouched.
    assert asyncio.Queue is not raftos.server.asyncio.Queue


def test_patch2_with_await_lock_acquires_and_releases() -> None:
    async def main() -> None:
        lock = raftos.replicator.asyncio.Lock()
        with await lock:
            assert lock.locked()
        assert not lock.locked()

    asyncio.run(main())


def test_patch3_futures_invalid_state_error_exists_for_raftos() -> None:
    assert raftos.state.asyncio.futures.InvalidStateError is asyncio.InvalidStateError


def test_patch4_serializer_round_trips_str_and_int_keys() -> None:
    s = raftos_compat.MsgpackSerializer
    data = {"type": "x", 1: ["a", b"b"]}
    assert s.unpack(s.pack(data)) == data


def test_patch5_log_survives_entries_containing_newline_bytes(tmp_path: Path) -> None:
    raftos.configure({"log_path": str(tmp_path) + "/"})
    log = raftos.storage.Log("127.0.0.1:9999")
    # The int 10 packs to byte 0x0a, which raftos' line-based reader used to split on; more
    # than five entries also crosses raftos' re-read every UPDATE_CACHE_EVERY writes.
    for i in range(12):
        log.write(1, {"cmd": {"n": 10, "i": i, "s": "a\nb"}})
    reread = raftos.storage.Log("127.0.0.1:9999")
    assert len(reread) == 12
    assert reread[12]["command"]["cmd"] == {"n": 10, "i": 11, "s": "a\nb"}


@pytest.mark.parametrize(
    "command",
    [
        Put(key="a/b", value_json='{"x":1}', request_id="r"),
        Cas(key="k", value_json="2", expect_revision=0),
        Cas(key="k", value_json="2", expect_value_json='"v"', request_id="c"),
        Delete(key="k"),
        Get(key="k"),
        Range(prefix="p/"),
    ],
)
def test_command_encoding_round_trips_through_msgpack(command: object) -> None:
    s = raftos_compat.MsgpackSerializer
    wire = s.unpack(s.pack(encode(command, "id-1")))  # type: ignore[arg-type]
    assert decode(wire) == (command, "id-1")

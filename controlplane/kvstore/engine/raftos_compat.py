"""Make raftos 0.2.6 (2017) run on Python 3.11 and msgpack 1.x — and change nothing else.

In a nutshell: :func:`install` applies five patches (listed below), each scoped
to raftos' own modules where possible (raftos sees a patched ``asyncio`` namespace; the rest of
the process keeps the real one). They only restore what raftos meant on its original platform;
none of them fixes a Raft bug, because the harness is supposed to find those.

    from controlplane.kvstore.engine import raftos_compat
    raftos_compat.install()          # idempotent; before raftos.register()

Patches (raftos code — broken since — what we do):

1. ``asyncio.Queue(loop=...)`` in server.py — Python 3.10 — a Queue that drops ``loop``.
2. ``with await self.lock`` in replicator.py — Python 3.10 — a Lock whose ``await`` acquires.
3. ``asyncio.futures.InvalidStateError`` — Python 3.8 — alias to ``asyncio.InvalidStateError``.
4. ``msgpack.unpackb(..., encoding=...)`` — msgpack 1.0 — a serializer with ``raw=False``.
5. ``Log.read`` splits msgpack entries on ``\\n`` — every version (a bug) — stream decoding.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Generator
from typing import Any

import msgpack

_installed = False


class _LooplessQueue(asyncio.Queue):  # type: ignore[type-arg]
    """Patch 1: ``asyncio.Queue`` lost its ``loop`` argument in 3.10."""

    def __init__(self, maxsize: int = 0, *, loop: object = None) -> None:
        del loop  # the running loop is used implicitly since 3.10
        super().__init__(maxsize)


class _AwaitableLock(asyncio.Lock):
    """Patch 2: ``with await lock`` (removed in 3.10) acquires and returns a context manager."""

    def __await__(self) -> Generator[Any, None, _Releaser]:
        yield from self.acquire().__await__()
        return _Releaser(self)


class _Releaser:
    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _AsyncioForRaftos(types.ModuleType):
    """The ``asyncio`` raftos' modules see: the real one with patches 1–3 on top."""

    Queue = _LooplessQueue
    Lock = _AwaitableLock
    # Patch 3: raftos evaluates ``asyncio.futures.InvalidStateError`` in an except tuple; the
    # attribute vanished in 3.8, so the lookup itself raised AttributeError on every follower
    # apply and the AppendEntries was dropped.
    futures = types.SimpleNamespace(InvalidStateError=asyncio.InvalidStateError)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


class MsgpackSerializer:
    """Patch 4: msgpack ≥ 1.0 has no ``encoding=``; decode str as str and allow int map keys."""

    @staticmethod
    def pack(data: Any) -> bytes:
        packed: bytes = msgpack.packb(data, use_bin_type=True)
        return packed

    @staticmethod
    def unpack(data: bytes) -> Any:
        return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)


def _read_log(self: Any) -> list[dict[str, Any]]:
    """Patch 5: raftos writes ``msgpack(entry) + b"\\n"`` and reads with ``readlines()``, which
    splits entries containing byte 0x0a and chokes on the framing. Decode the file as a stream
    of msgpack objects instead; the separators decode as the int 10 and are skipped."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, use_list=True)
    with open(self.filename, "rb") as f:
        unpacker.feed(f.read())
    return [obj for obj in unpacker if isinstance(obj, dict)]


def install() -> None:
    """Apply the patches (idempotent) and point raftos at the patched serializer."""
    global _installed
    if _installed:
        return
    import raftos
    import raftos.replicator
    import raftos.server
    import raftos.state
    import raftos.storage

    shim = _AsyncioForRaftos("asyncio")
    for module in (raftos.server, raftos.replicator, raftos.state):
        module.asyncio = shim  # type: ignore[attr-defined]
    raftos.storage.Log.read = _read_log
    raftos.configure({"serializer": MsgpackSerializer})
    _installed = True

"""One direction of one proxied connection: read → toxic chain → write, chain swappable live.

In a nutshell: a ``Pipe`` runs two tasks. The reader timestamps each chunk on arrival and puts it
on a small bounded queue (the bound is the backpressure: a slow toxic slows the sender). The
processor pushes each chunk through the current chain of ``Stage``s and writes what comes out.
``set_stages`` swaps the chain: when the processor is idle the swap is immediate; when a chunk is
in flight, sleeping stages are interrupted (they forward what they hold, never drop it) and the
new chain takes over after that chunk. Chunks keep their order because one task writes them.

    pipe = Pipe(ctx=conn, reader=r, writer=w, stages=[...], counters=metrics.upstream)
    pipe.start(); ...; pipe.set_stages(new_stages)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from linkproxy.toxics import Stage

READ_SIZE_BYTES = 32 * 1024  # Toxiproxy's buffer size
QUEUE_CHUNKS = 8


@dataclass(slots=True)
class DirectionCounters:
    """Bytes read from the source and written to the destination (differ under drop toxics)."""

    bytes_in: int = 0
    bytes_out: int = 0

    def to_json(self) -> dict[str, int]:
        return {"bytes_in": self.bytes_in, "bytes_out": self.bytes_out}


class ConnectionControl:
    """What a pipe needs from its connection: close/reset and half-close bookkeeping."""

    def close_connection(self) -> None:
        raise NotImplementedError

    def reset_connection(self) -> None:
        raise NotImplementedError

    def pipe_finished(self, pipe: Pipe) -> None:
        raise NotImplementedError


class Pipe:
    def __init__(
        self,
        *,
        control: ConnectionControl,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stages: list[Stage],
        counters: DirectionCounters,
    ) -> None:
        self._control = control
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue(QUEUE_CHUNKS)
        self._stages = stages
        self._pending: list[Stage] | None = None
        self._busy = False
        self._interrupted = False
        self._sleeper: asyncio.Future[bool] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.counters = counters

    # -- PipeContext (what stages see) ----------------------------------------------------------
    def now(self) -> float:
        return self._loop.time()

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the chain changes; returns False when interrupted."""
        if self._interrupted:
            return False
        if seconds <= 0:
            return True
        fut: asyncio.Future[bool] = self._loop.create_future()
        handle = self._loop.call_later(seconds, _resolve, fut, True)
        self._sleeper = fut
        try:
            return await fut
        finally:
            handle.cancel()
            self._sleeper = None

    def close_connection(self) -> None:
        self._control.close_connection()

    def reset_connection(self) -> None:
        self._control.reset_connection()

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Callable[[], None]:
        handle = self._loop.call_later(seconds, callback)
        self._timers.add(handle)

        def cancel() -> None:
            handle.cancel()
            self._timers.discard(handle)

        return cancel

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        for stage in self._stages:
            stage.attach(self)
        self._tasks = [
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._process_loop()),
        ]

    def stages(self) -> list[Stage]:
        return list(self._pending if self._pending is not None else self._stages)

    def set_stages(self, stages: list[Stage]) -> None:
        """Swap the toxic chain; bytes held by interrupted stages are forwarded, not lost."""
        if self._closed:
            return
        if self._busy:
            self._pending = stages
            self._interrupted = True
            if self._sleeper is not None and not self._sleeper.done():
                self._sleeper.set_result(False)
        else:
            self._install(stages)

    def _install(self, stages: list[Stage]) -> None:
        old, self._stages = self._stages, stages
        kept = {id(s) for s in stages}
        for stage in old:
            if id(stage) not in kept:
                stage.detach(self, removed=stage.spec.name not in {s.spec.name for s in stages})
        old_ids = {id(s) for s in old}
        for stage in stages:
            if id(stage) not in old_ids:
                stage.attach(self)

    def stop(self) -> None:
        """Cancel both tasks and the stages' timers (the connection closes the sockets)."""
        if self._closed:
            return
        self._closed = True
        for stage in self._stages:
            stage.detach(self, removed=False)
        for handle in self._timers:
            handle.cancel()
        for task in self._tasks:
            task.cancel()  # also the current one: it ends at its next await

    # -- the two loops --------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(READ_SIZE_BYTES)
                if not data:
                    break
                self.counters.bytes_in += len(data)
                if not self._stages and not self._busy and self._queue.empty():
                    # Fast path: no toxics and nothing queued, so writing here keeps the order
                    # and saves the hand-over to the processor (one loop iteration per chunk).
                    await self._write(data)
                else:
                    await self._queue.put((data, self._loop.time()))
        except (ConnectionError, OSError):
            self._control.reset_connection()  # the peer reset: pass the reset on
            return
        await self._queue.put(None)

    async def _process_loop(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                self._busy = True
                if item is None:
                    for stage in list(self._stages):
                        await stage.push_eof(self)
                    self._half_close()
                    return
                data, arrived_s = item
                await self._push(0, self._stages, data, arrived_s)
                self._busy = False
                if self._pending is not None:
                    pending, self._pending = self._pending, None
                    self._interrupted = False
                    self._install(pending)
        except (ConnectionError, OSError):
            self._control.reset_connection()

    async def _push(self, index: int, chain: list[Stage], data: bytes, arrived_s: float) -> None:
        if index == len(chain):
            await self._write(data)
            return

        async def out(piece: bytes) -> None:
            await self._push(index + 1, chain, piece, arrived_s)

        await chain[index].push(data, arrived_s, self, out)

    async def _write(self, data: bytes) -> None:
        if not data or self._closed:
            return
        self._writer.write(data)
        self.counters.bytes_out += len(data)
        await self._writer.drain()

    def _half_close(self) -> None:
        transport = self._writer.transport
        if not transport.is_closing() and transport.can_write_eof():
            # The peer may already be gone; the connection's close reports that.
            with contextlib.suppress(OSError):
                transport.write_eof()
        self._control.pipe_finished(self)


def _resolve(fut: asyncio.Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)

"""One named proxy: a listener, its live connections, its toxics and its counters.

In a nutshell: ``Proxy`` accepts on ``listen``, dials ``upstream`` for each client, and joins
them with two ``Pipe``s (upstream = client → server, downstream = server → client). Adding,
updating or removing a toxic re-chains every live connection at once. ``stop()`` closes the
listener and drops every live connection (Toxiproxy's ``enabled=false``).

    proxy = Proxy(name="db", listen="127.0.0.1:0", upstream="127.0.0.1:5432", seed=7)
    await proxy.start(); proxy.add_toxic(parse_toxic({"type": "latency", ...}))

Randomness (toxicity draws, jitter, slice sizes) comes from ``random.Random`` seeded by
``seed/proxy/connection index/toxic name/toxic version``, so a seeded run replays exactly given
the same order of connections, whatever the timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from linkproxy.pipe import ConnectionControl, DirectionCounters, Pipe
from linkproxy.toxics import ApiError, Stage, Stream, ToxicSpec, make_stage, update_toxic

UPSTREAM_CONNECT_TIMEOUT_S = 5.0


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ApiError(f"address {address!r} must be host:port", 400)
    return host.strip("[]") or "0.0.0.0", int(port)


@dataclass(slots=True)
class ProxyMetrics:
    connections_total: int = 0
    connections_active: int = 0
    upstream: DirectionCounters = field(default_factory=DirectionCounters)
    downstream: DirectionCounters = field(default_factory=DirectionCounters)

    def to_json(self) -> dict[str, Any]:
        return {
            "connections_total": self.connections_total,
            "connections_active": self.connections_active,
            "upstream": self.upstream.to_json(),
            "downstream": self.downstream.to_json(),
        }


class Connection(ConnectionControl):
    def __init__(
        self,
        proxy: Proxy,
        index: int,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.index = index
        self._writers = (client[1], server[1])
        self._stages: dict[str, Stage] = {}
        self._closed = False
        self._finished: set[int] = set()
        self.pipes = {
            Stream.UPSTREAM: Pipe(
                control=self,
                reader=client[0],
                writer=server[1],
                stages=self._chain(Stream.UPSTREAM),
                counters=proxy.metrics.upstream,
            ),
            Stream.DOWNSTREAM: Pipe(
                control=self,
                reader=server[0],
                writer=client[1],
                stages=self._chain(Stream.DOWNSTREAM),
                counters=proxy.metrics.downstream,
            ),
        }

    def _chain(self, stream: Stream) -> list[Stage]:
        """The stages for ``stream``, reusing this connection's stage for an unchanged toxic."""
        chain = []
        for spec in self.proxy.toxics.values():
            if spec.stream != stream:
                continue
            stage = self._stages.get(spec.name)
            if stage is None or stage.spec is not spec:
                stage = make_stage(spec, self.proxy.rng_for(self.index, spec), previous=stage)
                self._stages[spec.name] = stage
            chain.append(stage)
        return chain

    def start(self) -> None:
        for pipe in self.pipes.values():
            pipe.start()

    def retoxic(self) -> None:
        for stream, pipe in self.pipes.items():
            pipe.set_stages(self._chain(stream))
        live = set(self.proxy.toxics)
        self._stages = {name: s for name, s in self._stages.items() if name in live}

    def close_connection(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pipe in self.pipes.values():
            pipe.stop()
        for writer in self._writers:
            writer.close()  # flushes what the pipes already wrote, then FIN
        self.proxy.connection_closed(self)

    def reset_connection(self) -> None:
        if self._closed:
            return
        for writer in self._writers:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._closed = True
        for pipe in self.pipes.values():
            pipe.stop()
        for writer in self._writers:
            writer.transport.abort()
        self.proxy.connection_closed(self)

    def pipe_finished(self, pipe: Pipe) -> None:
        self._finished.add(id(pipe))
        if len(self._finished) == len(self.pipes):
            self.close_connection()


class Proxy:
    def __init__(
        self, *, name: str, listen: str, upstream: str, enabled: bool = True, seed: int | None
    ) -> None:
        split_address(listen)
        split_address(upstream)
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = enabled
        self.toxics: dict[str, ToxicSpec] = {}
        self.metrics = ProxyMetrics()
        self._seed = seed
        self._toxic_versions: dict[str, int] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._accepted = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [spec.to_json() for spec in self.toxics.values()],
        }

    def metrics_json(self) -> dict[str, Any]:
        return {"name": self.name, "enabled": self.enabled, **self.metrics.to_json()}

    def rng_for(self, connection_index: int, spec: ToxicSpec) -> random.Random:
        if self._seed is None:
            return random.Random()
        version = self._toxic_versions.get(spec.name, 0)
        return random.Random(f"{self._seed}/{self.name}/{connection_index}/{spec.name}/{version}")

    # -- listening ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Bind ``listen``; a port of 0 is replaced by the port the kernel picked."""
        if self._server is not None:
            return
        host, port = split_address(self.listen)
        try:
            self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
        except OSError as exc:
            raise ApiError(f"listen {self.listen}: {exc.strerror or exc}", 500) from exc
        bound_port = self._server.sockets[0].getsockname()[1]
        self.listen = f"{self.listen.rpartition(':')[0]}:{bound_port}"
        self.enabled = True

    def stop(self) -> None:
        """Stop listening and drop every live connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.drop_connections()
        self.enabled = False

    def drop_connections(self) -> None:
        for conn in list(self._connections):
            conn.close_connection()

    def connection_closed(self, conn: Connection) -> None:
        if conn in self._connections:
            self._connections.discard(conn)
            self.metrics.connections_active -= 1

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self._accepted
        self._accepted += 1
        host, port = split_address(self.upstream)
        try:
            server = await asyncio.wait_for(
                asyncio.open_connection(host, port), UPSTREAM_CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            writer.close()  # as Toxiproxy: the client sees its connection closed
            return
        if self._server is None:  # disabled while dialing
            writer.close()
            server[1].close()
            return
        conn = Connection(self, index, (reader, writer), server)
        self._connections.add(conn)
        self.metrics.connections_total += 1
        self.metrics.connections_active += 1
        conn.start()

    # -- toxics ---------------------------------------------------------------------------------
    def add_toxic(self, spec: ToxicSpec) -> None:
        if spec.name in self.toxics:
            raise ApiError("toxic already exists", 409)
        self.toxics[spec.name] = spec
        self._retoxic()

    def update_toxic(self, name: str, body: object) -> ToxicSpec:
        spec = update_toxic(self.get_toxic(name), body)
        self._toxic_versions[name] = self._toxic_versions.get(name, 0) + 1
        self.toxics[name] = spec
        self._retoxic()
        return spec

    def get_toxic(self, name: str) -> ToxicSpec:
        try:
            return self.toxics[name]
        except KeyError:
            raise ApiError("toxic not found", 404) from None

    def remove_toxic(self, name: str) -> None:
        self.get_toxic(name)
        del self.toxics[name]
        self._retoxic()

    def clear_toxics(self) -> None:
        self.toxics.clear()
        self._retoxic()

    def _retoxic(self) -> None:
        for conn in list(self._connections):
            conn.retoxic()

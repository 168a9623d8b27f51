"""Toxics: what a link does to the bytes flowing through one direction of a connection.

In a nutshell: a ``ToxicSpec`` is the validated, immutable description the REST API stores
(Toxiproxy 2.x names: ``latency``, ``bandwidth``, ``slow_close``, ``timeout``, ``reset_peer``,
``slicer``, ``limit_data``, ``noop``). ``make_stage(spec, rng)`` turns it into a ``Stage``: the
per-connection, per-direction object a ``linkproxy.pipe.Pipe`` pushes chunks through. Whether a
toxic applies to a connection at all is drawn once per connection from ``toxicity``.

    spec = parse_toxic({"type": "latency", "attributes": {"latency": 100}})
    stage = make_stage(spec, random.Random("seed/proxy/0/latency_downstream"))

Every stage keeps Toxiproxy's rule that interrupting it (the chain changed) must not drop the
bytes it holds: a sleeping stage forwards its chunk at once when ``ctx.sleep`` returns False.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class ApiError(Exception):
    """A request the REST API refuses; carries the HTTP status Toxiproxy would answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Stream(enum.StrEnum):
    UPSTREAM = "upstream"  # client → server
    DOWNSTREAM = "downstream"  # server → client


# type → {attribute: default}. Toxiproxy's attribute names and units (ms unless noted).
TOXIC_ATTRIBUTES: dict[str, dict[str, int]] = {
    "noop": {},
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},  # KB/s, 1 KB = 1000 bytes as in Toxiproxy
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},  # delay in µs
    "limit_data": {"bytes": 0},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ToxicSpec:
    name: str
    type: str
    stream: Stream
    toxicity: float
    attributes: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": str(self.stream),
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }


def _attributes(type_: str, raw: object, base: Mapping[str, int]) -> dict[str, int]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError("attributes must be an object", 400)
    known = TOXIC_ATTRIBUTES[type_]
    merged = dict(base)
    for key, value in raw.items():
        if key not in known:
            # Toxiproxy ignores unknown fields silently; refusing them catches typos in scenarios.
            raise ApiError(f"unknown attribute {key!r} for toxic {type_}", 400)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ApiError(f"attribute {key!r} must be a non-negative number, got {value!r}", 400)
        merged[key] = int(value)
    if type_ == "slicer" and merged["size_variation"] > merged["average_size"]:
        raise ApiError("slicer size_variation must not exceed average_size", 400)
    return merged


def _toxicity(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0.0 <= raw <= 1.0:
        raise ApiError(f"toxicity must be a number in [0, 1], got {raw!r}", 400)
    return float(raw)


def parse_toxic(body: object) -> ToxicSpec:
    """Validate a create body; raises ``ApiError`` 400 as Toxiproxy does for bad input."""
    if not isinstance(body, dict):
        raise ApiError("bad request body", 400)
    type_ = body.get("type")
    if not isinstance(type_, str) or type_ not in TOXIC_ATTRIBUTES:
        raise ApiError(f"invalid toxic type: {type_!r}", 400)
    try:
        stream = Stream(body.get("stream") or "downstream")
    except ValueError:
        raise ApiError("stream was invalid, can be either upstream or downstream", 400) from None
    name = body.get("name") or f"{type_}_{stream}"
    if not isinstance(name, str):
        raise ApiError("toxic name must be a string", 400)
    toxicity = _toxicity(body.get("toxicity", 1.0))
    attributes = _attributes(type_, body.get("attributes"), TOXIC_ATTRIBUTES[type_])
    return ToxicSpec(name=name, type=type_, stream=stream, toxicity=toxicity, attributes=attributes)


def update_toxic(spec: ToxicSpec, body: object) -> ToxicSpec:
    """Partial update: missing fields keep their values (Toxiproxy's PATCH semantics)."""
    if not isinstance(body, dict):
        raise ApiError("bad request body", 400)
    if body.get("type", spec.type) != spec.type:
        raise ApiError("a toxic's type cannot change; delete and re-create it", 400)
    if body.get("stream", str(spec.stream)) != str(spec.stream):
        raise ApiError("a toxic's stream cannot change; delete and re-create it", 400)
    toxicity = _toxicity(body["toxicity"]) if "toxicity" in body else spec.toxicity
    attributes = _attributes(spec.type, body.get("attributes"), spec.attributes)
    return ToxicSpec(
        name=spec.name,
        type=spec.type,
        stream=spec.stream,
        toxicity=toxicity,
        attributes=attributes,
    )


# ---------------------------------------------------------------------------------------------
# Stages: the per-connection behaviour.

Emit = Callable[[bytes], Awaitable[None]]


class PipeContext(Protocol):
    """What a stage may ask of the pipe it sits in (implemented by ``linkproxy.pipe.Pipe``)."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> bool: ...  # False when interrupted
    def close_connection(self) -> None: ...  # graceful close of both sockets
    def reset_connection(self) -> None: ...  # RST both sockets (SO_LINGER 0)
    def call_later(self, seconds: float, callback: Callable[[], None]) -> Callable[[], None]: ...


class Stage:
    """Default stage: forward everything (the ``noop`` toxic and a toxic whose draw missed)."""

    def __init__(self, spec: ToxicSpec, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng

    def attach(self, ctx: PipeContext) -> None:
        """Called when the stage joins a live pipe (connection start or toxic added)."""

    def detach(self, ctx: PipeContext, *, removed: bool) -> None:
        """Called when the stage leaves (toxic removed/updated, or connection closed)."""

    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        await out(data)

    async def push_eof(self, ctx: PipeContext) -> None:
        """Runs before the EOF goes downstream (slow_close waits here)."""


class LatencyStage(Stage):
    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        latency_ms = self.spec.attributes["latency"]
        jitter_ms = self.spec.attributes["jitter"]
        delay_ms = float(latency_ms)
        if jitter_ms:
            delay_ms += self.rng.uniform(-jitter_ms, jitter_ms)
        # Measured from arrival, so back-to-back chunks are delayed in parallel, not in series.
        await ctx.sleep(arrived_s + delay_ms / 1000.0 - ctx.now())
        await out(data)


class BandwidthStage(Stage):
    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        rate_bytes_per_s = self.spec.attributes["rate"] * 1000
        if rate_bytes_per_s <= 0:
            await out(data)
            return
        # Large chunks go out in 100 ms slices so the reader sees a steady rate.
        slice_bytes = max(1, rate_bytes_per_s // 10)
        for start in range(0, len(data), slice_bytes):
            piece = data[start : start + slice_bytes]
            if not await ctx.sleep(len(piece) / rate_bytes_per_s):
                await out(data[start:])  # interrupted: hand over the rest at once
                return
            await out(piece)


class SlowCloseStage(Stage):
    async def push_eof(self, ctx: PipeContext) -> None:
        await ctx.sleep(self.spec.attributes["delay"] / 1000.0)


class TimeoutStage(Stage):
    """Drops data and holds the connection open; closes it after ``timeout`` ms without data
    (0: never), on removal, and when the sender closes. Like Toxiproxy, each dropped chunk
    re-arms the timer (toxics/timeout.go: a fresh ``time.After`` per loop)."""

    _cancel: Callable[[], None] | None = None

    def _arm(self, ctx: PipeContext) -> None:
        if self._cancel is not None:
            self._cancel()
        timeout_ms = self.spec.attributes["timeout"]
        if timeout_ms > 0:
            self._cancel = ctx.call_later(timeout_ms / 1000.0, ctx.close_connection)

    def attach(self, ctx: PipeContext) -> None:
        self._arm(ctx)

    def detach(self, ctx: PipeContext, *, removed: bool) -> None:
        if self._cancel is not None:
            self._cancel()
        if removed:
            # Toxiproxy closes a blackholed connection when the toxic goes: its bytes are gone,
            # so continuing would hand the peer a corrupt stream.
            ctx.close_connection()

    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        self._arm(ctx)  # the data itself is dropped on purpose

    async def push_eof(self, ctx: PipeContext) -> None:
        # Toxiproxy's timeout toxic closes the whole connection when its input ends (``c ==
        # nil`` → ``stub.Close()``): the sender's FIN does not pass as a half-close, since the
        # bytes before it were dropped and the peer would otherwise wait on a stream with a hole.
        ctx.close_connection()


class ResetPeerStage(Stage):
    """On the first chunk, or on the sender's EOF, waits ``timeout`` ms (0: none) and resets
    the connection (RST). As in Toxiproxy (toxics/reset_peer.go), the wait is not
    interruptible: once data (or EOF) arrived the reset happens even if the toxic is removed
    or updated meanwhile, and the chunk that triggered it is dropped."""

    async def _reset(self, ctx: PipeContext) -> None:
        # asyncio.sleep, not ctx.sleep: a chain change must not cancel a reset already due.
        await asyncio.sleep(self.spec.attributes["timeout"] / 1000.0)
        ctx.reset_connection()

    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        await self._reset(ctx)

    async def push_eof(self, ctx: PipeContext) -> None:
        await self._reset(ctx)


class SlicerStage(Stage):
    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        average = self.spec.attributes["average_size"]
        variation = self.spec.attributes["size_variation"]
        delay_s = self.spec.attributes["delay"] / 1_000_000.0
        if average <= 0:
            await out(data)
            return
        start = 0
        while start < len(data):
            size = max(1, average + self.rng.randint(-variation, variation))
            await out(data[start : start + size])
            start += size
            if start < len(data) and delay_s > 0 and not await ctx.sleep(delay_s):
                await out(data[start:])
                return


class LimitDataStage(Stage):
    sent_bytes = 0

    async def push(self, data: bytes, arrived_s: float, ctx: PipeContext, out: Emit) -> None:
        limit = self.spec.attributes["bytes"]
        room = max(0, limit - self.sent_bytes)
        if room:
            piece = data[:room]
            self.sent_bytes += len(piece)
            await out(piece)
        if self.sent_bytes >= limit:
            ctx.close_connection()


_STAGES: dict[str, type[Stage]] = {
    "noop": Stage,
    "latency": LatencyStage,
    "bandwidth": BandwidthStage,
    "slow_close": SlowCloseStage,
    "timeout": TimeoutStage,
    "reset_peer": ResetPeerStage,
    "slicer": SlicerStage,
    "limit_data": LimitDataStage,
}


def make_stage(spec: ToxicSpec, rng: random.Random, previous: Stage | None = None) -> Stage:
    """The stage for one connection; a missed toxicity draw gives a pass-through stage.

    ``previous`` (same toxic, before an update) hands over state Toxiproxy keeps across
    updates: the byte count of ``limit_data``.
    """
    applies = spec.toxicity >= 1.0 or rng.random() < spec.toxicity
    stage = _STAGES[spec.type](spec, rng) if applies else Stage(spec, rng)
    if isinstance(stage, LimitDataStage) and isinstance(previous, LimitDataStage):
        stage.sent_bytes = previous.sent_bytes
    return stage

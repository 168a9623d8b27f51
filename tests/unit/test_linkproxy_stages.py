"""Toxic stages without sockets or clocks: a fake pipe records sleeps, closes and output.

Covers what real-socket tests cannot pin down exactly: seeded replay of jitter, slice sizes
and toxicity draws; interrupted stages forwarding every held byte; ``limit_data`` keeping its
count across an update; attribute validation.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping

import pytest

from linkproxy.toxics import ApiError, Stage, ToxicSpec, make_stage, parse_toxic, update_toxic


class FakePipe:
    """A PipeContext whose clock only moves when a stage sleeps."""

    def __init__(self, *, interrupt_after_sleeps: int | None = None) -> None:
        self.clock_s = 0.0
        self.sleeps_s: list[float] = []
        self.closed = False
        self.reset = False
        self.out: list[bytes] = []
        self._interrupt_after = interrupt_after_sleeps

    def now(self) -> float:
        return self.clock_s

    async def sleep(self, seconds: float) -> bool:
        if self._interrupt_after is not None and len(self.sleeps_s) >= self._interrupt_after:
            return False
        if seconds > 0:
            self.sleeps_s.append(seconds)
            self.clock_s += seconds
        return True

    def close_connection(self) -> None:
        self.closed = True

    def reset_connection(self) -> None:
        self.reset = True

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Callable[[], None]:
        return lambda: None

    async def emit(self, data: bytes) -> None:
        self.out.append(data)


def _stage(body: Mapping[str, object], seed: str = "s") -> Stage:
    return make_stage(parse_toxic(dict(body)), random.Random(seed))


def _push(stage: Stage, pipe: FakePipe, data: bytes) -> None:
    asyncio.run(stage.push(data, pipe.now(), pipe, pipe.emit))


def test_seeded_jitter_replays_and_stays_in_range() -> None:
    body = {"type": "latency", "attributes": {"latency": 100, "jitter": 50}}
    runs = []
    for _ in range(2):
        pipe, stage = FakePipe(), _stage(body, seed="7/link/0/latency_downstream/0")
        for _ in range(20):
            _push(stage, pipe, b"x")
            pipe.clock_s = 0.0  # each chunk arrives "now": its sleep is its whole delay
        runs.append(pipe.sleeps_s)
    assert runs[0] == runs[1]
    assert all(0.05 <= s <= 0.15 for s in runs[0]) and len(set(runs[0])) > 1


def test_seeded_slices_replay_and_keep_every_byte() -> None:
    body = {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 5}}
    payload = bytes(range(256)) * 4
    sizes = []
    for _ in range(2):
        pipe = FakePipe()
        _push(_stage(body), pipe, payload)
        assert b"".join(pipe.out) == payload
        sizes.append([len(piece) for piece in pipe.out])
    assert sizes[0] == sizes[1] and all(
        5 <= n <= 15 for n in sizes[0][:-1]
    )  # the last is what is left


def test_seeded_toxicity_draws_replay_and_differ_by_connection() -> None:
    spec = parse_toxic({"type": "timeout", "toxicity": 0.5})

    def draws() -> list[bool]:
        return [
            type(make_stage(spec, random.Random(f"1/p/{i}/{spec.name}/0"))) is not Stage
            for i in range(100)
        ]

    first = draws()
    assert first == draws() and 30 <= sum(first) <= 70


@pytest.mark.parametrize(
    ("body", "sleeps_before_interrupt"),
    [
        ({"type": "latency", "attributes": {"latency": 1000}}, 0),
        ({"type": "bandwidth", "attributes": {"rate": 1}}, 2),
        ({"type": "slicer", "attributes": {"average_size": 4, "delay": 1000}}, 3),
    ],
)
def test_interrupted_stage_forwards_everything(
    body: dict[str, object], sleeps_before_interrupt: int
) -> None:
    pipe = FakePipe(interrupt_after_sleeps=sleeps_before_interrupt)
    payload = b"0123456789" * 50
    _push(_stage(body), pipe, payload)
    assert b"".join(pipe.out) == payload
    assert not pipe.reset


def test_reset_peer_resets_even_when_interrupted_and_drops_the_chunk() -> None:
    # Toxiproxy's reset_peer waits with a bare ``<-time.After(timeout)``: no interrupt case.
    pipe = FakePipe(interrupt_after_sleeps=0)
    _push(_stage({"type": "reset_peer", "attributes": {"timeout": 20}}), pipe, b"lost")
    assert pipe.out == [] and pipe.reset


def test_bandwidth_sleeps_for_the_rate() -> None:
    pipe = FakePipe()
    _push(_stage({"type": "bandwidth", "attributes": {"rate": 10}}), pipe, b"x" * 5000)
    assert sum(pipe.sleeps_s) == pytest.approx(0.5)  # 5000 bytes at 10 KB/s
    assert max(len(piece) for piece in pipe.out) <= 1000  # 100 ms slices


def test_limit_data_counts_across_an_update() -> None:
    body = {"type": "limit_data", "attributes": {"bytes": 10}}
    pipe, stage = FakePipe(), _stage(body)
    _push(stage, pipe, b"abcdef")
    assert not pipe.closed
    updated = update_toxic(stage.spec, {"toxicity": 1.0})
    stage = make_stage(updated, random.Random(), previous=stage)
    _push(stage, pipe, b"ghijkl")
    assert b"".join(pipe.out) == b"abcdefghij" and pipe.closed


def test_timeout_drops_data() -> None:
    pipe = FakePipe()
    _push(_stage({"type": "timeout"}), pipe, b"gone")
    assert pipe.out == [] and not pipe.closed


@pytest.mark.parametrize(
    "body",
    [
        {"type": "latency", "attributes": {"latency": True}},
        {"type": "latency", "attributes": ["latency"]},
        {"type": "slicer", "attributes": {"average_size": 2, "size_variation": 5}},
        {"type": "latency", "toxicity": -0.1},
        {"type": "latency", "name": 7},
        {"type": 3},
        ["not", "an", "object"],
    ],
)
def test_bad_bodies_are_400(body: object) -> None:
    with pytest.raises(ApiError) as refused:
        parse_toxic(body)
    assert refused.value.status == 400


def test_update_refuses_a_type_or_stream_change() -> None:
    spec: ToxicSpec = parse_toxic({"type": "latency"})
    for change in ({"type": "timeout"}, {"stream": "upstream"}):
        with pytest.raises(ApiError):
            update_toxic(spec, change)

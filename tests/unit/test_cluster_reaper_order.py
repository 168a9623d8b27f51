"""Teardown order: endpoints released serially, containers gone, only then the network.

The fake engine behaves like dockerd 20.10 under moby #17217/#42119: a removed container
lingers for a few inspections, and removing a network while one of its containers is still
known (or still attached) is refused with "has active endpoints".
"""

from __future__ import annotations

import threading
from typing import Any

import docker.errors
import pytest

from harness.cluster import reaper


class Engine:
    def __init__(self, n: int, linger: int = 3) -> None:
        self.known: dict[str, int] = {f"c{i}": -1 for i in range(n)}  # id → inspections left
        self.attached = set(self.known)
        self.events: list[str] = []
        self.lock = threading.Lock()
        self.linger = linger
        self.concurrent_disconnects = 0
        self.max_concurrent_disconnects = 0

    def inspect(self, cid: str) -> None:
        with self.lock:
            left = self.known.get(cid)
            if left is None:
                raise docker.errors.NotFound(cid)
            if left >= 0:
                if left == 0:
                    del self.known[cid]
                    raise docker.errors.NotFound(cid)
                self.known[cid] = left - 1


class Container:
    def __init__(self, engine: Engine, cid: str) -> None:
        self.engine, self.id = engine, cid
        self.attrs: dict[str, Any] = {"Labels": {}}

    def remove(self, **kwargs: Any) -> None:
        with self.engine.lock:
            self.engine.events.append(f"remove {self.id}")
            self.engine.known[self.id] = self.engine.linger  # still inspectable for a while


class Network:
    def __init__(self, engine: Engine) -> None:
        self.engine, self.id, self.name = engine, "n1", "cp-x-net"
        self.attrs: dict[str, Any] = {}

    def reload(self) -> None:
        self.attrs = {"Labels": {}, "Containers": {c: {} for c in sorted(self.engine.attached)}}

    def disconnect(self, cid: str, force: bool = False) -> None:
        e = self.engine
        with e.lock:
            e.concurrent_disconnects += 1
            e.max_concurrent_disconnects = max(
                e.max_concurrent_disconnects, e.concurrent_disconnects
            )
            e.events.append(f"disconnect {cid}")
            e.attached.discard(cid)
            e.concurrent_disconnects -= 1

    def remove(self) -> None:
        e = self.engine
        with e.lock:
            if e.attached or e.known:
                raise docker.errors.APIError("error while removing network: has active endpoints")
            e.events.append("remove network")


class Api:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def inspect_container(self, cid: str) -> None:
        self.engine.inspect(cid)


class Collection:
    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def list(self, **kwargs: Any) -> list[Any]:
        return self.items


class Client:
    def __init__(self, engine: Engine) -> None:
        self.api = Api(engine)
        self.containers = Collection([Container(engine, c) for c in sorted(engine.known)])
        self.networks = Collection([Network(engine)])
        self.volumes = Collection([])


def test_the_network_goes_only_after_every_container_is_disconnected_and_gone() -> None:
    engine = Engine(13)
    removed = reaper.remove_objects(Client(engine), "chaosplane.run=cp-x")
    assert removed == 14
    events = engine.events
    assert events[-1] == "remove network"
    assert sum(e.startswith("disconnect") for e in events) == 13
    last_disconnect = max(i for i, e in enumerate(events) if e.startswith("disconnect"))
    first_remove = min(i for i, e in enumerate(events) if e.startswith("remove c"))
    assert last_disconnect < first_remove  # endpoints released before any container removal
    assert engine.max_concurrent_disconnects == 1 and not engine.known


def test_wait_containers_gone_reports_the_ones_that_never_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = Engine(2)
    engine.known["c0"] = 10**9  # the daemon never forgets it
    engine.known["c1"] = 2  # removed: gone after two more inspections
    left = reaper.wait_containers_gone(Client(engine), ["c0", "c1"], timeout_s=0.2)
    assert left == ["c0"]

"""Which runs the reaper removes, decided from labels on fake Docker objects (no Docker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.cluster import labels as L
from harness.cluster.reaper import dead_runs


@dataclass
class FakeObject:
    labels: dict[str, str]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.attrs = {"Labels": self.labels}


@dataclass
class FakeCollection:
    items: list[FakeObject]

    def list(self, **kwargs: Any) -> list[FakeObject]:
        return self.items


@dataclass
class FakeClient:
    containers: FakeCollection
    networks: FakeCollection
    volumes: FakeCollection


def client_with(*objects: FakeObject) -> FakeClient:
    return FakeClient(FakeCollection(list(objects)), FakeCollection([]), FakeCollection([]))


def test_dead_owners_runs_are_reaped_live_and_detached_ones_are_not() -> None:
    me = L.current_owner()
    ghost = L.Owner(boot_id=me.boot_id, pid=me.pid, start_time=me.start_time + 99)
    client = client_with(
        FakeObject(L.run_labels("cp-live", me)),
        FakeObject(L.run_labels("cp-dead", ghost)),
        FakeObject(L.run_labels("cp-up", L.detached_owner("cp-up"))),
        FakeObject({"chaosplane": "1", "chaosplane.run": "cp-noowner"}),
        FakeObject(L.run_labels("cp-old-boot", L.Owner(boot_id="old", pid=1, start_time=1))),
    )
    assert dead_runs(client, this_boot=me.boot_id) == {"cp-dead", "cp-noowner", "cp-old-boot"}


def test_objects_without_a_run_label_are_grouped_under_the_empty_run() -> None:
    client = client_with(FakeObject({"chaosplane": "1"}))
    assert dead_runs(client, this_boot="b") == {""}

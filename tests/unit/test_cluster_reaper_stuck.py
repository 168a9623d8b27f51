"""The reaper survives a network dockerd refuses to remove ("has active endpoints")."""

from __future__ import annotations

import logging

import docker.errors
import pytest

from harness.cluster import reaper


class Net:
    def __init__(self, fails: int, message: str = "network x has active endpoints") -> None:
        self.id = f"id-{fails}-{message[:3]}"
        self.name = "cp-dead-net"
        self.fails = fails
        self.message = message
        self.calls = 0

    def remove(self) -> None:
        self.calls += 1
        if self.calls <= self.fails:
            raise docker.errors.APIError(self.message)


def test_a_transient_refusal_is_retried() -> None:
    net = Net(fails=2)
    reaper._remove_network(net, pause_s=0.0)
    assert net.calls == 3


def test_a_stuck_network_is_left_with_a_warning_and_not_retried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = Net(fails=1000)
    with caplog.at_level(logging.WARNING):
        reaper._remove_network(net, attempts=4, pause_s=0.0)
    assert net.calls == 4
    assert "restart dockerd" in caplog.text
    reaper._remove_network(net, attempts=4, pause_s=0.0)
    assert net.calls == 5  # known stuck: one try, no waiting


def test_other_errors_still_raise() -> None:
    with pytest.raises(docker.errors.APIError):
        reaper._remove_network(Net(fails=1, message="permission denied"), pause_s=0.0)

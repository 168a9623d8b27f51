"""Clients fail over from an unavailable endpoint and, after a while, go back home — so a
healed apiserver gets traffic again and its recovery can be measured."""

from __future__ import annotations

import random
from types import SimpleNamespace

from harness.history import OpType
from harness.workload.base import RETURN_HOME_AFTER_OK, ClientState, ClientWorkload
from harness.workload.outcome import Outcome


def test_client_fails_over_then_returns_home_after_enough_ok_ops() -> None:
    workload = SimpleNamespace(endpoints=["api-1", "api-2"])
    client = ClientState(slot=0, process=0, endpoint=0, rng=random.Random(0))
    ClientWorkload._steer(workload, client, Outcome(type=OpType.FAIL, unavailable=True))  # type: ignore[arg-type]
    assert client.endpoint == 1
    for _ in range(RETURN_HOME_AFTER_OK - 1):
        ClientWorkload._steer(workload, client, Outcome(type=OpType.OK))  # type: ignore[arg-type]
    assert client.endpoint == 1  # not yet
    ClientWorkload._steer(workload, client, Outcome(type=OpType.OK))  # type: ignore[arg-type]
    assert client.endpoint == 0 and client.ok_away == 0


def test_a_client_at_home_stays_home() -> None:
    workload = SimpleNamespace(endpoints=["api-1", "api-2"])
    client = ClientState(slot=1, process=1, endpoint=1, rng=random.Random(0))
    for _ in range(3 * RETURN_HOME_AFTER_OK):
        ClientWorkload._steer(workload, client, Outcome(type=OpType.OK))  # type: ignore[arg-type]
    assert client.endpoint == 1

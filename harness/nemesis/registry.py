"""Fault kinds by the name scenario files use; one module per kind registers itself here.

In a nutshell: ``@register(FaultKind.KILL)`` on a class whose constructor takes
``(spec, *, fault_id, rng)``; ``make_fault(spec, fault_id=…, rng=…)`` builds one. Importing
``harness.nemesis`` imports every kind module, so the registry is complete.

    fault = make_fault(FaultSpec(kind=FaultKind.PAUSE, at_s=3, target="store-1"), fault_id=1,
                       rng=Random(7))
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol, TypeVar

from harness.errors import FaultError
from harness.model import FaultSpec
from harness.nemesis.base import Fault


class FaultFactory(Protocol):
    def __call__(self, spec: FaultSpec, *, fault_id: int, rng: random.Random) -> Fault: ...


_FAULTS: dict[str, FaultFactory] = {}

F = TypeVar("F", bound=FaultFactory)


def register(kind: str) -> Callable[[F], F]:
    """The nemesis half of a fault kind (the descriptor: ``register_fault_kind`` in
    ``harness.scenario.faultkinds``)."""

    def decorate(factory: F) -> F:
        if kind in _FAULTS:
            raise FaultError(f"fault kind {str(kind)!r} registered twice")
        _FAULTS[kind] = factory
        return factory

    return decorate


def registered() -> list[str]:
    return sorted(_FAULTS)


def unregister(kind: str) -> None:
    """For tests that registered a kind of their own."""
    _FAULTS.pop(kind, None)


def make_fault(spec: FaultSpec, *, fault_id: int, rng: random.Random) -> Fault:
    factory = _FAULTS.get(spec.kind)
    if factory is None:
        known = ", ".join(registered())
        raise FaultError(f"fault kind {spec.kind!r} has no implementation; known: {known}")
    return factory(spec, fault_id=fault_id, rng=rng)

"""What a recorded fault did, read from its ``start`` event: checkers never test kind names.

In a nutshell: the nemesis writes ``detail["class"]`` (a ``FaultClass``) on every ``start``
event; ``classes(faults)`` maps each fault id to it, so a check can ask ``cls.takes_out_members``
of a fault's ``end`` or ``effect`` records too. A run recorded before the class was written
falls back to the kind's registered traits (``harness.model.kinds``); a kind nothing registers
has no class (None) and no check treats it as a take-out.

    by_id = classes(run.faults)
    struck = [f for f in run.faults if is_class(by_id, f, lambda c: c.takes_out_members)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.errors import HarnessError
from harness.history import CLASS_KEY, FaultEvent, FaultPhase
from harness.model.kinds import FaultClass, fault_traits


def event_class(event: FaultEvent) -> FaultClass | None:
    """The class a start event records; else (older runs) the kind's registered one."""
    recorded = event.detail.get(CLASS_KEY)
    if isinstance(recorded, str) and recorded in {c.value for c in FaultClass}:
        return FaultClass(recorded)
    try:
        return fault_traits(event.fault).fault_class
    except HarnessError:
        return None


def classes(faults: Iterable[FaultEvent]) -> dict[int, FaultClass | None]:
    """Fault id → its class, from the start events."""
    return {f.id: event_class(f) for f in faults if f.type is FaultPhase.START}


def is_class(
    by_id: dict[int, FaultClass | None],
    event: FaultEvent,
    test: Callable[[FaultClass], bool],
) -> bool:
    """Whether ``event``'s fault (by id; its own record if the start is missing) passes."""
    cls = by_id[event.id] if event.id in by_id else event_class(event)
    return cls is not None and test(cls)

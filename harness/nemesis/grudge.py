"""Partitions as grudges: who drops whom, computed from member lists. Pure; no I/O.

In a nutshell: a ``Grudge`` maps each *receiving* member to the members whose packets it drops
(Jepsen's grudge). Rules go on the receiver's INPUT only (an OUTPUT drop makes ``sendto`` fail
with EPERM), so a one-way grudge silences ``a → b`` by
putting ``a`` in ``grudge[b]``. TCP needs both directions for a handshake, so a one-way cut breaks
new TCP connections both ways; it means something for datagrams and established streams.

    grudge = build_grudge("majority-minority", ["store-1", "store-2", "store-3"], rng=Random(7))
    {"store-1": {"store-3"}, "store-2": {"store-3"}, "store-3": {"store-1", "store-2"}}
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from harness.errors import FaultError

Grudge = dict[str, frozenset[str]]

GRUDGE_NAMES = (
    "isolate:<member>",
    "isolate-leader",
    "halves",
    "majority-minority",
    "bridge",
    "ring",
)


def complete(components: Sequence[Iterable[str]]) -> Grudge:
    """Every member drops everyone it shares no component with (components may overlap)."""
    sets = [frozenset(c) for c in components]
    members = frozenset().union(*sets) if sets else frozenset()
    grudge: Grudge = {}
    for member in sorted(members):
        visible = frozenset().union(*(c for c in sets if member in c))
        grudge[member] = members - visible
    return grudge


def isolate(members: Sequence[str], victim: str) -> Grudge:
    if victim not in members:
        raise FaultError(f"isolate: {victim!r} is not one of {sorted(members)}")
    return complete([[victim], [m for m in members if m != victim]])


def split(members: Sequence[str], first_size: int) -> tuple[list[str], list[str]]:
    return list(members[:first_size]), list(members[first_size:])


def halves(members: Sequence[str]) -> Grudge:
    """Two sides as equal as possible; the first is the smaller (``n // 2``)."""
    small, big = split(members, len(members) // 2)
    return complete([small, big])


def majority_minority(members: Sequence[str]) -> Grudge:
    """Minority ``(n - 1) // 2`` members against a majority; the minority has no quorum."""
    minority, majority = split(members, (len(members) - 1) // 2)
    if not minority:
        raise FaultError(f"majority-minority needs at least 3 members, got {len(members)}")
    return complete([minority, majority])


def bridge(members: Sequence[str]) -> Grudge:
    """Two halves that share one member (the bridge), which sees everyone (Jepsen's bridge).

    With 5 members ``a b c d e``: ``{a, b, c}`` and ``{c, d, e}``; ``c`` is the bridge.
    """
    if len(members) < 3:
        raise FaultError(f"bridge needs at least 3 members, got {len(members)}")
    middle = len(members) // 2
    return complete([members[: middle + 1], members[middle:]])


def ring(members: Sequence[str]) -> Grudge:
    """Each member sees only its nearest neighbours in ``members`` order, as few as still make
    a majority with itself (Jepsen's majorities-ring): with 5, ``±1``; with 7, ``±2``. Every
    member sees a majority, yet no two members see the same one. Symmetric (two-way)."""
    n = len(members)
    if n < 4:
        raise FaultError(f"ring needs at least 4 members (3 would be fully connected), got {n}")
    majority = n // 2 + 1
    reach = -(-(majority - 1) // 2)  # ceil: neighbours on each side
    grudge: Grudge = {}
    for i, member in enumerate(members):
        visible = {members[(i + d) % n] for d in range(-reach, reach + 1)}
        grudge[member] = frozenset(members) - visible
    return grudge


def one_way(grudge: Mapping[str, frozenset[str]], receivers: Iterable[str]) -> Grudge:
    """Keep only the drops made by ``receivers``: traffic *to* them from their grudges is cut,
    traffic *from* them still arrives."""
    keep = set(receivers)
    return {m: (drops if m in keep else frozenset()) for m, drops in grudge.items()}


def build_grudge(
    name: str,
    members: Sequence[str],
    *,
    rng: random.Random,
    leader: str | None = None,
    one_way_side: str | None = None,
) -> Grudge:
    """Resolve a scenario target (``halves``, ``isolate:store-2``, …) into a grudge.

    Members are shuffled with ``rng`` (seeded, so a seed gives the same sides) except for
    ``ring``, whose neighbours follow the shuffled order too. ``one_way_side`` is ``"minority"``
    (the smaller side stops hearing the bigger one) or ``"majority"``; ``None`` is two-way.
    """
    if len(set(members)) != len(members):
        raise FaultError(f"duplicate members in {list(members)}")
    order = list(members)
    rng.shuffle(order)
    if name == "isolate-leader":
        if leader is None:
            raise FaultError("isolate-leader: no store leader is elected right now")
        grudge = isolate(members, leader)
        small: list[str] = [leader]
    elif name.startswith("isolate:"):
        victim = name.split(":", 1)[1]
        grudge, small = isolate(members, victim), [victim]
    elif name == "halves":
        grudge, small = halves(order), order[: len(order) // 2]
    elif name == "majority-minority":
        grudge, small = majority_minority(order), order[: (len(order) - 1) // 2]
    elif name == "bridge":
        grudge, small = bridge(order), order[: len(order) // 2]
    elif name == "ring":
        grudge, small = ring(order), []
    else:
        raise FaultError(
            f"partition target {name!r} is unknown; expected one of {', '.join(GRUDGE_NAMES)}"
        )
    if one_way_side is None:
        return grudge
    if one_way_side not in ("minority", "majority") or not small:
        raise FaultError(
            f"one_way: got {one_way_side!r} for {name!r}; expected 'minority' or 'majority' "
            "(ring has no sides)"
        )
    receivers = small if one_way_side == "minority" else [m for m in members if m not in small]
    return one_way(grudge, receivers)


def cut_pairs(grudge: Mapping[str, frozenset[str]]) -> set[tuple[str, str]]:
    """The ``(sender, receiver)`` pairs whose packets are dropped."""
    return {(sender, receiver) for receiver, drops in grudge.items() for sender in drops}


def merge(grudges: Iterable[Mapping[str, frozenset[str]]]) -> Grudge:
    """Union of grudges (overlapping partition faults drop what either drops)."""
    out: dict[str, frozenset[str]] = {}
    for grudge in grudges:
        for receiver, drops in grudge.items():
            out[receiver] = out.get(receiver, frozenset()) | drops
    return out


def to_json(grudge: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    return {m: sorted(d) for m, d in sorted(grudge.items())}


def from_json(data: Mapping[str, Iterable[str]]) -> Grudge:
    return {str(m): frozenset(str(s) for s in d) for m, d in data.items()}

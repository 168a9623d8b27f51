"""Who leads, decided from the members' ``/status`` answers: a pure function.

In a nutshell: a leader is *agreed* when a majority of all members answered and more than half
of those that answered name the same leader (a member's own ``role: leader`` counts as naming
itself). One member claiming leadership alone, e.g. an isolated stale leader, is not enough.

    agreed_leader({"store-1": {"leader": "store-2"}, "store-2": {...}, "store-3": None}, total=3)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any


def named_leader(status: Mapping[str, Any], member: str) -> str | None:
    if status.get("role") == "leader":
        return member
    leader = status.get("leader")
    return str(leader) if leader else None


def agreed_leader(statuses: Mapping[str, Mapping[str, Any] | None], *, total: int) -> str | None:
    reachable = {m: s for m, s in statuses.items() if s is not None}
    if 2 * len(reachable) <= total:
        return None  # no quorum answered: any agreement could be a minority's
    votes = Counter(name for m, s in reachable.items() if (name := named_leader(s, m)) is not None)
    if not votes:
        return None
    name, count = votes.most_common(1)[0]
    return name if 2 * count > len(reachable) else None

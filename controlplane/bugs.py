"""Bug-zoo switches: deliberately broken behaviour the harness must be able to catch.

In a nutshell: ``CHAOSPLANE_BUGS`` is a comma list of switch names; every switch is off by
default. Servers call :func:`validate` once at start (an unknown name is an error then, not a
silent no-op), and :func:`enabled` wherever a switch changes behaviour.

    >>> enabled("stale-follower-reads")      # CHAOSPLANE_BUGS unset
    False

Switches (who implements them):

- ``stale-follower-reads`` (kvstore): reads are answered from local state on any member.
- ``ack-before-commit`` (kvstore): a PUT is acknowledged as soon as it is submitted.
- ``cas-without-check`` (apiserver): an update ignores the resourceVersion precondition.
- ``no-step-down`` (kvstore): a deposed leader keeps believing it leads and serves local reads.
- ``forget-vote`` (kvstore): a restarted member forgets its persisted term and vote.
- ``watch-gap`` (apiserver): a watch skips events.
- ``no-renew-deadline`` (leaderelection): a leader keeps acting after it failed to renew.
- ``lease-clock`` (leaderelection): lease expiry judged from the holder's renewTime on the
  candidate's wall clock instead of its own observation time (bites under clock skew).
- ``no-expectations`` (controllermanager): the ReplicaSet controller trusts a stale cache.
- ``eviction-before-grace`` (controllermanager): a node is judged unreachable, and its pods
  evicted, on the first missed heartbeat.
- ``bind-without-check`` (apiserver): a pod binding is accepted although the pod is bound.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_VAR = "CHAOSPLANE_BUGS"

# The one list of switches, in the order the docs show them: the scenario format
# (harness/scenario/fields.py BUG_ZOO) and its JSON Schema read it from here.
SWITCHES: tuple[str, ...] = (
    "stale-follower-reads",
    "ack-before-commit",
    "cas-without-check",
    "no-step-down",
    "forget-vote",
    "watch-gap",
    "no-renew-deadline",
    "lease-clock",
    "no-expectations",
    "eviction-before-grace",
    "bind-without-check",
)
KNOWN_BUGS: frozenset[str] = frozenset(SWITCHES)


class UnknownBugError(ValueError):
    """``CHAOSPLANE_BUGS`` names a switch that does not exist."""


def parse(raw: str) -> frozenset[str]:
    """The switch names in a comma list; raise :class:`UnknownBugError` on an unknown one."""
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(names - KNOWN_BUGS)
    if unknown:
        raise UnknownBugError(
            f"{ENV_VAR}: got {', '.join(unknown)}; expected a comma list of "
            f"{', '.join(sorted(KNOWN_BUGS))} (or empty)"
        )
    return names


def active(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """All switches turned on in ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    return parse(env.get(ENV_VAR, ""))


def validate(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Check the switch list at server start; returns the active switches."""
    return active(environ)


def enabled(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether switch ``name`` is on. Asking about a name that is not a switch is a bug."""
    if name not in KNOWN_BUGS:
        raise UnknownBugError(f"not a bug switch: {name!r}; known: {', '.join(sorted(KNOWN_BUGS))}")
    return name in active(environ)

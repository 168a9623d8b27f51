"""List paging (``limit`` / ``continue``) over a consistent snapshot, and snapshots at a revision.

In a nutshell: a list with ``limit=N`` answers at most N items and, when more remain, a
``metadata.continue`` token holding the list's revision and the last store key served. A
continued list serves the items after that key *as they were at that revision*, like
kube-apiserver over etcd. The kvstore cannot read at an old revision, so
:func:`snapshot_at` rebuilds one: it lists now (revision R) and rolls the watch history
between the token's revision and R back, using each event's previous value. History the store
has compacted answers 410 ``Expired``, as Kubernetes does for a too-old continue token.

    token = encode_continue(revision=812, key="/registry/pods/default/web-7")
    rev, key = decode_continue(token)
"""

from __future__ import annotations

import base64
import binascii
import json

from controlplane.apiserver.status import ApiError, Reason
from controlplane.apiserver.store import (
    EventType,
    KvItem,
    ListResult,
    StoreClient,
    StoreCompacted,
    WatchEvent,
)

_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


def encode_continue(*, revision: int, key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(body["rv"]), str(body["start"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ApiError(
            Reason.BAD_REQUEST,
            f"continue: got {token[:40]!r}; expected the metadata.continue of a previous list",
        ) from exc


async def snapshot_at(store: StoreClient, prefix: str, revision: int) -> ListResult:
    """The items under ``prefix`` as they were at ``revision``; 410 when that is compacted."""
    listed = await store.list(prefix)
    if listed.revision <= revision:
        return listed
    events: list[WatchEvent] = []
    since = revision
    try:
        while since < listed.revision:
            batch = await store.watch(prefix, since, poll_s=0)
            fresh = [e for e in batch.events if e.mod_revision > since]
            if not fresh:
                break
            events.extend(e for e in fresh if e.mod_revision <= listed.revision)
            since = max(e.mod_revision for e in fresh)
    except StoreCompacted as exc:
        raise ApiError(Reason.EXPIRED, _TOO_OLD) from exc
    items = {i.key: i for i in listed.items}
    for ev in sorted(events, key=lambda e: e.mod_revision, reverse=True):
        created = ev.type is EventType.PUT and ev.create_revision == ev.mod_revision
        if created:
            items.pop(ev.key, None)
        elif ev.prev_value is None or ev.prev_mod_revision == 0:
            raise ApiError(Reason.EXPIRED, _TOO_OLD)  # a store that does not report prev values
        else:
            items[ev.key] = KvItem(
                key=ev.key,
                value=ev.prev_value,
                mod_revision=ev.prev_mod_revision,
                create_revision=ev.create_revision,
            )
    ordered = tuple(sorted(items.values(), key=lambda i: i.key))
    return ListResult(items=ordered, revision=revision)

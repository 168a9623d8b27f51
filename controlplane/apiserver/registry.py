"""Create, get, update, delete and list over the store, with Kubernetes semantics.

In a nutshell: :class:`Registry` is the apiserver's storage layer (kube-apiserver's
``registry/generic``). Every write is one store compare-and-swap keyed on ``mod_revision``:

- create = CAS with ``expect_revision: 0`` → 201, or 409 ``AlreadyExists``;
- update with ``metadata.resourceVersion`` = CAS on that revision → 200, or 409 ``Conflict``
  (API conventions: "Concurrency Control and Consistency"); of two updates racing from the
  same resourceVersion exactly one wins;
- update *without* a resourceVersion is an unconditional update, as Kubernetes allows for
  pods, configmaps, leases and namespaces (``AllowUnconditionalUpdate``): read, then CAS on
  the revision read, retried on a race (``GuaranteedUpdate``). It never creates (404);
- delete with ``preconditions`` (uid, resourceVersion) checks them against a fresh read.
  The store has no conditional delete, so the check and the delete are two steps: a write
  landing between them is not detected. Known limitation.
- deleting a namespace deletes only the namespace object, not its contents (Kubernetes
  finalizes namespaces asynchronously; we have no controller for that).

Store failures surface as ``StoreError`` subclasses, which the error middleware maps to 503
(nothing applied), 504 (outcome unknown) or 410.

Bug switch ``cas-without-check``: an update ignores its resourceVersion and writes with a plain
store PUT, so a stale update silently overwrites a newer one (a lost update), and both of two
racing updates from one resourceVersion "win".

    reg = Registry(store, bugs=frozenset())
    pods = lookup("pods", namespaced=True)
    pod = await reg.create(pods, "default", {"metadata": {"name": "web"}})
"""

from __future__ import annotations

from typing import Any

from controlplane.apiserver.resources import (
    NAMESPACES,
    SYSTEM_NAMESPACES,
    Obj,
    Resource,
    collection_prefix,
    new_object,
    parse_resource_version,
    store_key,
    updated_object,
    validate_name,
    with_resource_version,
)
from controlplane.apiserver.status import ApiError, Reason
from controlplane.apiserver.store import KvItem, StoreClient

# Attempts of an unconditional update racing other writers before giving up with 409.
UNCONDITIONAL_UPDATE_ATTEMPTS = 5


class Registry:
    """Kubernetes object semantics over one :class:`StoreClient`."""

    def __init__(self, store: StoreClient, *, bugs: frozenset[str]) -> None:
        self._store = store
        self._cas_without_check = "cas-without-check" in bugs
        # System namespaces cannot be deleted, so once seen they need no lookup per create
        # (which would double the store round trips of the commonest write).
        self._system_namespaces_exist = False

    async def ensure_system_namespaces(self) -> None:
        """Create ``default`` and ``kube-system`` if absent; idempotent across replicas."""
        for name in SYSTEM_NAMESPACES:
            obj = new_object(NAMESPACES, None, {"metadata": {"name": name}})
            await self._store.cas(store_key(NAMESPACES, None, name), expect_revision=0, value=obj)
        self._system_namespaces_exist = True

    async def create(self, res: Resource, namespace: str | None, body: Obj) -> Obj:
        if res.namespaced:
            await self._require_namespace(namespace)
        obj = new_object(res, namespace, body)
        name = obj["metadata"]["name"]
        result = await self._store.cas(
            store_key(res, namespace, name), expect_revision=0, value=obj
        )
        if not result.succeeded:
            raise ApiError(
                Reason.ALREADY_EXISTS,
                f'{res.plural} "{name}" already exists',
                kind=res.plural,
                name=name,
            )
        return with_resource_version(obj, result.revision)

    async def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        item = await self._read(res, namespace, name)
        return with_resource_version(item.value, item.mod_revision)

    async def update(self, res: Resource, namespace: str | None, name: str, body: Obj) -> Obj:
        key = store_key(res, namespace, name)
        current = await self._read(res, namespace, name)
        obj = updated_object(res, namespace, name, body, current.value)
        raw_rv = body.get("metadata", {}).get("resourceVersion")
        if raw_rv in (None, ""):
            return await self._unconditional_update(res, namespace, name, obj, current)
        expected = parse_resource_version(str(raw_rv), what="metadata.resourceVersion")
        if self._cas_without_check:
            # BUG (cas-without-check): the precondition is dropped; last writer wins.
            return with_resource_version(obj, await self._store.put(key, obj))
        if expected != current.mod_revision:
            raise _conflict(res, name)  # stale already; spare the store a doomed CAS
        result = await self._store.cas(key, expect_revision=expected, value=obj)
        if result.succeeded:
            return with_resource_version(obj, result.revision)
        if result.mod_revision == 0:
            raise _not_found(res, name)  # deleted meanwhile
        raise _conflict(res, name)

    async def delete(
        self, res: Resource, namespace: str | None, name: str, options: Obj | None
    ) -> Obj:
        if res is NAMESPACES and name in SYSTEM_NAMESPACES:
            raise ApiError(
                Reason.FORBIDDEN,
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                kind=res.plural,
                name=name,
            )
        current = await self._read(res, namespace, name)
        _check_preconditions(res, name, (options or {}).get("preconditions"), current)
        result = await self._store.delete(store_key(res, namespace, name))
        if not result.deleted:
            raise _not_found(res, name)  # someone else deleted it between our read and delete
        return with_resource_version(current.value, result.revision)

    async def list(self, res: Resource, namespace: str | None) -> Obj:
        listed = await self._store.list(collection_prefix(res, namespace))
        return {
            "kind": res.list_kind,
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(listed.revision)},
            "items": [with_resource_version(i.value, i.mod_revision) for i in listed.items],
        }

    async def _read(self, res: Resource, namespace: str | None, name: str) -> KvItem:
        validate_name(name)
        item = await self._store.get(store_key(res, namespace, name))
        if item is None:
            raise _not_found(res, name)
        return item

    async def _require_namespace(self, namespace: str | None) -> None:
        if self._system_namespaces_exist and namespace in SYSTEM_NAMESPACES:
            return
        if (
            namespace is None
            or await self._store.get(store_key(NAMESPACES, None, namespace)) is None
        ):
            raise _not_found(NAMESPACES, str(namespace))

    async def _unconditional_update(
        self, res: Resource, namespace: str | None, name: str, obj: Obj, current: KvItem
    ) -> Obj:
        key = store_key(res, namespace, name)
        revision = current.mod_revision
        for _ in range(UNCONDITIONAL_UPDATE_ATTEMPTS):
            result = await self._store.cas(key, expect_revision=revision, value=obj)
            if result.succeeded:
                return with_resource_version(obj, result.revision)
            if result.mod_revision == 0:
                raise _not_found(res, name)
            revision = result.mod_revision
        raise _conflict(res, name)


def _check_preconditions(res: Resource, name: str, pre: Any, current: KvItem) -> None:
    if not pre:
        return
    if not isinstance(pre, dict):
        raise ApiError(Reason.BAD_REQUEST, "preconditions must be a JSON object")
    uid = current.value.get("metadata", {}).get("uid") if isinstance(current.value, dict) else None
    if pre.get("uid") not in (None, "", uid):
        raise ApiError(
            Reason.CONFLICT,
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {uid}",
            kind=res.plural,
            name=name,
        )
    rv = pre.get("resourceVersion")
    if rv not in (None, "") and parse_resource_version(str(rv)) != current.mod_revision:
        raise ApiError(
            Reason.CONFLICT,
            f"Precondition failed: ResourceVersion in precondition: {rv}, "
            f"ResourceVersion in object meta: {current.mod_revision}",
            kind=res.plural,
            name=name,
        )


def _not_found(res: Resource, name: str) -> ApiError:
    return ApiError(
        Reason.NOT_FOUND, f'{res.plural} "{name}" not found', kind=res.plural, name=name
    )


def _conflict(res: Resource, name: str) -> ApiError:
    return ApiError(
        Reason.CONFLICT,
        f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        kind=res.plural,
        name=name,
    )

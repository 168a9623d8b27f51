"""Create, get, update, patch and list over the store, with Kubernetes semantics.

In a nutshell: :class:`Registry` is the apiserver's storage layer (kube-apiserver's
``registry/generic``). Every write is one store compare-and-swap keyed on ``mod_revision``:

- create = CAS with ``expect_revision: 0`` → 201, or 409 ``AlreadyExists``;
- update with ``metadata.resourceVersion`` = CAS on that revision → 200, or 409 ``Conflict``
  (API conventions: "Concurrency Control and Consistency"); of two updates racing from the
  same resourceVersion exactly one wins;
- update *without* a resourceVersion, every PATCH and every subresource write is
  :meth:`Registry.guaranteed_update`: read, apply the change to what was read, CAS on the
  revision read, and on a race start again from a fresh read (kube-apiserver's
  ``GuaranteedUpdate``). A resourceVersion the client pinned (in a PUT body, or set by its
  patch) is a precondition: stale → 409, never retried;
- ``dryRun``: everything but the store write; the answer is what would have been stored.

Deletion (graceful pods, finalizers, garbage collection) lives in ``deletion``.

Bug switch ``cas-without-check``: an update ignores its resourceVersion and writes with a plain
store PUT, so a stale update silently overwrites a newer one (a lost update), and both of two
racing updates from one resourceVersion "win".

    reg = Registry(store, bugs=frozenset())
    pod = await reg.create(PODS, "default", {"metadata": {"name": "web"}})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from controlplane.apiserver.objects import (
    Obj,
    new_object,
    parse_resource_version,
    updated_object,
    validate_name,
    with_resource_version,
)
from controlplane.apiserver.paging import decode_continue, encode_continue, snapshot_at
from controlplane.apiserver.resources import (
    NAMESPACES,
    SYSTEM_NAMESPACES,
    Resource,
    collection_prefix,
    store_key,
)
from controlplane.apiserver.selectors import EVERYTHING, Selector
from controlplane.apiserver.status import ApiError, Reason
from controlplane.apiserver.store import KvItem, StoreClient

# Attempts of a guaranteed update racing other writers before giving up with 409.
UNCONDITIONAL_UPDATE_ATTEMPTS = 8

# current object as served (with resourceVersion) -> the value to store
Mutation = Callable[[Obj], Obj]
# called after a write landed: (stored value, revision)
AfterWrite = Callable[[Obj, int], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListOptions:
    selector: Selector = EVERYTHING
    limit: int = 0  # 0: everything
    continue_token: str = ""


class Registry:
    """Kubernetes object semantics over one :class:`StoreClient`."""

    def __init__(self, store: StoreClient, *, bugs: frozenset[str]) -> None:
        self.store = store
        self.bugs = bugs
        self._cas_without_check = "cas-without-check" in bugs
        # System namespaces cannot be deleted, so once seen they need no lookup per create
        # (which would double the store round trips of the commonest write).
        self._system_namespaces_exist = False

    async def ensure_system_namespaces(self) -> None:
        """Create the system namespaces if absent; idempotent across replicas."""
        for name in SYSTEM_NAMESPACES:
            obj = new_object(NAMESPACES, None, {"metadata": {"name": name}})
            await self.store.cas(store_key(NAMESPACES, None, name), expect_revision=0, value=obj)
        self._system_namespaces_exist = True

    async def create(
        self, res: Resource, namespace: str | None, body: Obj, *, dry_run: bool = False
    ) -> Obj:
        if res.namespaced:
            await self._require_namespace(namespace)
        obj = new_object(res, namespace, body)
        name = obj["metadata"]["name"]
        key = store_key(res, namespace, name)
        if dry_run:
            if await self.store.get(key) is not None:
                raise _already_exists(res, name)
            return obj
        result = await self.store.cas(key, expect_revision=0, value=obj)
        if not result.succeeded:
            raise _already_exists(res, name)
        return with_resource_version(obj, result.revision)

    async def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        item = await self.read(res, namespace, name)
        return with_resource_version(item.value, item.mod_revision)

    async def update(
        self, res: Resource, namespace: str | None, name: str, body: Obj, *, dry_run: bool = False
    ) -> Obj:
        """PUT of the main resource."""
        return await self.replace(
            res,
            namespace,
            name,
            body,
            lambda cur: updated_object(res, namespace, name, body, cur),
            dry_run=dry_run,
        )

    async def replace(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        body: Obj,
        build: Mutation,
        *,
        dry_run: bool = False,
    ) -> Obj:
        """A PUT: ``build(current stored value)`` is stored; the body's resourceVersion pins it."""
        raw_rv = (body.get("metadata") or {}).get("resourceVersion")
        if raw_rv in (None, ""):
            return await self.guaranteed_update(res, namespace, name, build, dry_run=dry_run)
        expected = parse_resource_version(str(raw_rv), what="metadata.resourceVersion")
        key = store_key(res, namespace, name)
        current = await self.read(res, namespace, name)
        obj = build(current.value)
        if dry_run:
            if expected != current.mod_revision:
                raise conflict(res, name)
            return with_resource_version(obj, current.mod_revision)
        if self._cas_without_check:
            # BUG (cas-without-check): the precondition is dropped; last writer wins.
            return with_resource_version(obj, await self.store.put(key, obj))
        if expected != current.mod_revision:
            raise conflict(res, name)  # stale already; spare the store a doomed CAS
        result = await self.store.cas(key, expect_revision=expected, value=obj)
        if result.succeeded:
            return with_resource_version(obj, result.revision)
        if result.mod_revision == 0:
            raise not_found(res, name)  # deleted meanwhile
        raise conflict(res, name)

    async def guaranteed_update(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        mutate: Mutation,
        *,
        dry_run: bool = False,
        served: bool = False,
    ) -> Obj:
        """Read, mutate, CAS on the revision read; a lost race starts again from a fresh read.

        ``mutate`` gets the stored value, or with ``served=True`` the object as served (with
        its resourceVersion, which a patch may pin: a changed one is a 409 precondition).
        """
        key = store_key(res, namespace, name)
        for _ in range(UNCONDITIONAL_UPDATE_ATTEMPTS):
            current = await self.read(res, namespace, name)
            given = with_resource_version(current.value, current.mod_revision)
            obj = mutate(given if served else current.value)
            if served:
                pinned = (obj.get("metadata") or {}).pop("resourceVersion", None)
                if pinned not in (None, "", str(current.mod_revision)):
                    raise conflict(res, name)
            if dry_run:
                return with_resource_version(obj, current.mod_revision)
            result = await self.store.cas(key, expect_revision=current.mod_revision, value=obj)
            if result.succeeded:
                return with_resource_version(obj, result.revision)
            if result.mod_revision == 0:
                raise not_found(res, name)
        raise conflict(res, name)

    async def list(self, res: Resource, namespace: str | None, options: ListOptions) -> Obj:
        prefix = collection_prefix(res, namespace)
        start = ""
        if options.continue_token:
            revision, start = decode_continue(options.continue_token)
            listed = await snapshot_at(self.store, prefix, revision)
        else:
            listed = await self.store.list(prefix)
        items = [i for i in listed.items if i.key > start and options.selector.matches(i.value)]
        meta: Obj = {"resourceVersion": str(listed.revision)}
        if options.limit and len(items) > options.limit:
            items = items[: options.limit]
            meta["continue"] = encode_continue(revision=listed.revision, key=items[-1].key)
        return {
            "kind": res.list_kind,
            "apiVersion": res.api_version,
            "metadata": meta,
            "items": [with_resource_version(i.value, i.mod_revision) for i in items],
        }

    async def read(self, res: Resource, namespace: str | None, name: str) -> KvItem:
        validate_name(name)
        item = await self.store.get(store_key(res, namespace, name))
        if item is None or not isinstance(item.value, dict):
            raise not_found(res, name)
        return item

    async def _require_namespace(self, namespace: str | None) -> None:
        if self._system_namespaces_exist and namespace in SYSTEM_NAMESPACES:
            return
        if (
            namespace is None
            or await self.store.get(store_key(NAMESPACES, None, namespace)) is None
        ):
            raise not_found(NAMESPACES, str(namespace))


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(
        Reason.NOT_FOUND,
        f'{res.plural} "{name}" not found',
        kind=res.plural,
        name=name,
        group=res.group,
    )


def _already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(
        Reason.ALREADY_EXISTS,
        f'{res.plural} "{name}" already exists',
        kind=res.plural,
        name=name,
        group=res.group,
    )


def conflict(res: Resource, name: str) -> ApiError:
    return ApiError(
        Reason.CONFLICT,
        f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        kind=res.plural,
        name=name,
        group=res.group,
    )

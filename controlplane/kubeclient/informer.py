"""A shared informer: list, then watch from the list's resourceVersion, relist on 410.

In a nutshell: :class:`Informer` keeps one cache of a collection (``namespace/name`` → object)
for every controller of a process (client-go's shared informer). :meth:`run` lists, replaces
the cache (telling handlers of every difference), then watches from the list's
resourceVersion; a stream that ends is re-opened from the last resourceVersion seen
(BOOKMARKs included); ``410 Gone`` — as an HTTP status or an ERROR event — relists. Handlers
``fn(old, new)`` run on the informer's thread (``old`` None: added; ``new`` None: deleted) and
must only enqueue work.

    pods = Informer(kube, "/api/v1/pods", name="pods")
    pods.add_handler(lambda old, new: queue.add(key_of(new or old)))
    threading.Thread(target=pods.run, args=(stop,), daemon=True).start()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException

from controlplane.kubeclient.client import ApiUnavailable, Kube, Obj, status_code

log = logging.getLogger(__name__)

Handler = Callable[[Obj | None, Obj | None], None]


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def rv_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class _Relist(Exception):
    """The watch must start over with a list (410 Gone)."""


class Informer:
    def __init__(
        self,
        kube: Kube,
        path: str,
        *,
        name: str,
        query: dict[str, str] | None = None,
        watch_timeout_s: float = 10.0,
        backoff_s: float = 0.5,
    ) -> None:
        self._kube = kube
        self.path = path
        self.name = name
        self._query = query or {}
        self._watch_timeout_s = watch_timeout_s
        self._backoff_s = backoff_s
        self._lock = threading.Lock()
        self._cache: dict[str, Obj] = {}
        self._handlers: list[Handler] = []
        self.synced = threading.Event()
        self.resource_version = ""
        self.relists = 0

    def add_handler(self, fn: Handler) -> None:
        self._handlers.append(fn)

    def items(self) -> list[Obj]:
        with self._lock:
            return list(self._cache.values())

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._cache.get(key)

    def _notify(self, old: Obj | None, new: Obj | None) -> None:
        for fn in self._handlers:
            try:
                fn(old, new)
            except Exception:  # a broken handler must not stop the informer
                log.exception("%s informer: handler failed", self.name)

    def _replace(self, items: list[Obj]) -> None:
        fresh = {key_of(o): o for o in items}
        with self._lock:
            old = self._cache
            self._cache = fresh
        for key, obj in fresh.items():
            prev = old.get(key)
            if prev is None or rv_of(prev) != rv_of(obj):
                self._notify(prev, obj)
        for key, prev in old.items():
            if key not in fresh:
                self._notify(prev, None)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = int(obj.get("code") or 0)
            raise _Relist() if code == 410 else ApiUnavailable(f"watch error event: {obj}")
        rv = rv_of(obj)
        if kind == "BOOKMARK":
            self.resource_version = rv or self.resource_version
            return
        key = key_of(obj)
        with self._lock:
            prev = self._cache.get(key)
            if kind == "DELETED":
                self._cache.pop(key, None)
            else:
                self._cache[key] = obj
        self.resource_version = rv or self.resource_version
        self._notify(prev, None if kind == "DELETED" else obj)

    def _list(self) -> None:
        listed = self._kube.get(self.path, query=self._query)
        self._replace(list(listed.get("items") or []))
        self.resource_version = rv_of(listed)
        self.relists += 1
        self.synced.set()

    def run(self, stop: threading.Event) -> None:
        need_list = True
        while not stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                for event in self._kube.watch(
                    self.path,
                    resource_version=self.resource_version,
                    query=self._query,
                    timeout_s=self._watch_timeout_s,
                ):
                    if stop.is_set():
                        return
                    self._apply(event)
            except _Relist:
                log.info(
                    "%s informer: resourceVersion %s expired; relisting",
                    self.name,
                    self.resource_version,
                )
                need_list = True
            except ApiException as exc:
                need_list = need_list or status_code(exc) == 410
                if status_code(exc) != 410:
                    log.info("%s informer: %s %s", self.name, exc.status, exc.reason)
                    stop.wait(self._backoff_s)
            except ApiUnavailable as exc:
                log.info("%s informer: %s", self.name, exc)
                stop.wait(self._backoff_s)

"""A Kubernetes apiserver: stateless replicas over the replicated kvstore.

In a nutshell: each replica serves the resources of one table (``resources.SERVED``: namespaces,
pods, nodes, configmaps, secrets, apps/v1 deployments and replicasets, coordination.k8s.io/v1
leases, with the status/scale/binding/eviction subresources) under kube-apiserver's paths,
with discovery, PATCH, selectors, paging, watch (with bookmarks), graceful deletion and garbage
collection, so kubectl and the official Python client use it unchanged. resourceVersion = the
store's mod_revision, optimistic concurrency through store compare-and-swap, watches that resume
without gap or duplicate after losing the store, 410 when history is compacted, Status bodies
for every error, bearer tokens, ``/healthz`` and ``/readyz``. It keeps no state of its own:
any replica can serve any request.

    API_STORE_URLS=http://127.0.0.1:2379 API_TOKENS=admin=alice:* python -m controlplane.apiserver

Modules: ``config`` (environment), ``store``/``etcd_store`` (store clients), ``resources`` (the
table, keys), ``objects`` (metadata rules), ``registry`` (CRUD, GuaranteedUpdate), ``deletion``
(graceful delete, finalizers, GC), ``subresources``, ``patch``/``merge_keys``, ``selectors``,
``paging``, ``bodies`` (request bodies and options), ``watch``, ``discovery``, ``tables``
(kubectl columns), ``routes`` (paths → handlers), ``status`` (Status bodies), ``app``
(middlewares, wiring), ``__main__`` (process entry point). Bug switches (``CHAOSPLANE_BUGS``):
``cas-without-check`` (see ``registry``), ``watch-gap`` (see ``watch``) and
``bind-without-check`` (see ``subresources``).
"""

from __future__ import annotations

from controlplane.apiserver.app import build_app
from controlplane.apiserver.config import ApiConfig, TokenGrant, Verb, config_from_env
from controlplane.apiserver.store import StoreClientConfig

__all__ = ["ApiConfig", "StoreClientConfig", "TokenGrant", "Verb", "build_app", "config_from_env"]

"""A Kubernetes-style apiserver: stateless replicas over the replicated kvstore.

In a nutshell: each replica serves ``/api/v1/namespaces/{ns}/{pods|configmaps|leases}[/{name}]``
and ``/api/v1/namespaces[/{name}]`` (create, get, update, delete, list, watch) with
Kubernetes semantics where they matter to high availability — resourceVersion = the store's
mod_revision, optimistic concurrency through store compare-and-swap, watches that resume
without gap or duplicate after losing the store, 410 when history is compacted, Status bodies
for every error, bearer tokens, ``/healthz`` and ``/readyz``. It keeps no state of its own:
any replica can serve any request.

    API_STORE_URLS=http://127.0.0.1:2379 API_TOKENS=admin=alice:* python -m controlplane.apiserver

Modules: ``config`` (environment), ``store`` (store client over several URLs), ``resources``
(kinds, keys, metadata), ``registry`` (CRUD semantics), ``watch`` (streams), ``status``
(Status bodies), ``app`` (routes and middlewares), ``__main__`` (process entry point).
Bug switches (``CHAOSPLANE_BUGS``): ``cas-without-check`` (see ``registry``) and
``watch-gap`` (see ``watch``).
"""

from __future__ import annotations

from controlplane.apiserver.app import build_app
from controlplane.apiserver.config import ApiConfig, TokenGrant, Verb, config_from_env
from controlplane.apiserver.store import StoreClientConfig

__all__ = ["ApiConfig", "StoreClientConfig", "TokenGrant", "Verb", "build_app", "config_from_env"]

"""The kubeconfig of a running cluster: what kubectl and the official clients need, nothing else.

In a nutshell: :func:`kubeconfig` turns a ``ClusterInfo`` (https apiserver URLs, the run's CA,
the admin token) into a kubeconfig document; :func:`write_kubeconfig` writes it owner-only
(it holds a bearer token). Layout, for run ``cp-1a2b3c4d`` with two apiservers:

- clusters ``chaosplane-cp-1a2b3c4d`` (the server of link ``client-api-1``) and
  ``chaosplane-cp-1a2b3c4d-client-api-<i>`` (one per client link), each with
  ``certificate-authority-data``;
- user ``chaosplane-cp-1a2b3c4d-admin`` with the bearer token;
- contexts ``client-api-<i>`` (one per link) and ``chaosplane-cp-1a2b3c4d``, the current
  context, on ``client-api-1``.

A kubeconfig cluster has exactly one ``server`` and client-go never fails over between
clusters, so the default context follows ``client-api-1``: with ``api-1`` killed or its link
cut, ``kubectl`` fails as a real client pinned to one apiserver would — which is what a fault
on that link is meant to show — and ``--context client-api-2`` reaches another replica.

:func:`state_dir` is where ``chaosplane up`` keeps a detached cluster's files
(``$XDG_CACHE_HOME/chaosplane/<run id>/``, default ``~/.cache/…``); ``chaosplane down`` and
the teardown of a cluster that used it remove it.

    path = write_kubeconfig(state_dir(info.run_id) / "kubeconfig", kubeconfig(info))
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ClusterError
from harness.model.cluster import ClusterInfo

DEFAULT_LINK = "client-api-1"
NAMESPACE = "default"


def cluster_name(run_id: str) -> str:
    return f"chaosplane-{run_id}"


def kubeconfig(info: ClusterInfo) -> dict[str, Any]:
    """The kubeconfig document (``kind: Config``) for ``info``; raises ClusterError without TLS."""
    if not info.ca_pem:
        raise ClusterError(
            f"cluster {info.run_id}: no CA; kubectl sends a bearer token only over https, so a "
            f"kubeconfig needs apiservers serving TLS (ClusterInfo.ca_pem)"
        )
    base = cluster_name(info.run_id)
    user = f"{base}-admin"
    ca_data = base64.b64encode(info.ca_pem.encode("ascii")).decode("ascii")
    servers = {k.name: f"https://{k.listen}" for k in info.links if k.source == "client"}
    if DEFAULT_LINK not in servers:
        raise ClusterError(
            f"cluster {info.run_id}: no {DEFAULT_LINK} link; client links: {sorted(servers)}"
        )

    def cluster(name: str, server: str) -> dict[str, Any]:
        return {"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}

    def context(name: str, cluster_ref: str) -> dict[str, Any]:
        ref = {"cluster": cluster_ref, "user": user, "namespace": NAMESPACE}
        return {"name": name, "context": ref}

    links = sorted(servers, key=lambda n: (len(n), n))  # client-api-10 after client-api-9
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [cluster(base, servers[DEFAULT_LINK])]
        + [cluster(f"{base}-{link}", servers[link]) for link in links],
        "users": [{"name": user, "user": {"token": info.api_token}}],
        "contexts": [context(base, base)] + [context(link, f"{base}-{link}") for link in links],
        "current-context": base,
    }


def write_kubeconfig(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` to ``path`` (mode 0600: it holds a bearer token); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = yaml.safe_dump(document, sort_keys=False)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def state_dir(run_id: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where a cluster without a run directory keeps its kubeconfig."""
    env = os.environ if environ is None else environ
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(cache) / "chaosplane" / run_id

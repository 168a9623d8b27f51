"""Shared Docker fixtures: images once per session, clusters on demand, one shared cluster.

In a nutshell: ``images`` builds (or finds) the images once and skips the session's Docker
tests with the reason when no engine is reachable; ``cluster_factory(spec)`` starts a ready
cluster and tears it down at the end of the session (or earlier with ``.teardown()``);
``cluster`` is one 3-store / 2-apiserver cluster for tests that leave it as they found it.

    def test_x(cluster_factory):
        c = cluster_factory(ClusterSpec(store_members=1, apiservers=1))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harness.cluster import tcenv  # noqa: F401  (before testcontainers is imported)
from harness.cluster.cluster import DockerCluster
from harness.images import ImageTags
from harness.model.cluster import ClusterSpec

ClusterFactory = Callable[..., DockerCluster]


def _docker_reachable() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # any failure means: no engine to test against
        return f"no Docker engine reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def images() -> ImageTags:
    reason = _docker_reachable()
    if reason is not None:
        pytest.skip(reason)
    from harness.images import Steps, ensure_images

    return ensure_images(steps=Steps(quiet=True))


@pytest.fixture(scope="session")
def cluster_factory(
    images: ImageTags, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterFactory]:
    started: list[DockerCluster] = []

    def factory(spec: ClusterSpec | None = None, **overrides: object) -> DockerCluster:
        spec = spec or ClusterSpec()
        if spec.log_dir is None:
            log_dir: Path = tmp_path_factory.mktemp("cluster-logs")
            spec = replace(spec, log_dir=log_dir)  # every other field as given
        cluster = DockerCluster(spec, images=images, **overrides)  # type: ignore[arg-type]
        started.append(cluster)
        return cluster.start()

    try:
        yield factory
    finally:
        for cluster in reversed(started):
            cluster.teardown()


@pytest.fixture(scope="session")
def cluster(cluster_factory: ClusterFactory) -> DockerCluster:
    """One 3-store / 2-apiserver cluster for the session; tests must leave it healthy."""
    return cluster_factory(ClusterSpec(store_members=3, apiservers=2))


KUBE_ENGINES = ("pysyncobj", "raftos", "etcd")


@pytest.fixture(scope="session", params=KUBE_ENGINES)
def kube_cluster(
    request: pytest.FixtureRequest, cluster_factory: ClusterFactory
) -> Iterator[DockerCluster]:
    """A cluster as ``chaosplane up`` makes it (3 store members, 2 apiservers), one per engine.

    Session-scoped and parametrized, so the real-client modules (test_kube_python_client.py,
    test_kubectl.py) share one cluster per engine, and only one is up at a time. Clients use
    only ``cluster.info.kubeconfig``.
    """
    cluster = cluster_factory(ClusterSpec(store_members=3, apiservers=2, engine=request.param))
    try:
        yield cluster
    finally:
        cluster.teardown()

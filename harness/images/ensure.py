"""Build all three images if needed (``ensure_images``) or check they exist (``require_images``).

In a nutshell: ``ensure_images()`` takes a file lock (several people and pytest workers share
one checkout), makes the base, the build context and the app/proxy images, records the tags in
``.cache/images/tags.json`` (one record per engine, ``tags_file``) and returns them.
``require_images()`` is the cheap preflight a cluster start runs: it reads that record and
checks each tag exists locally, so testcontainers never reaches its pull path; it names
``make images`` when something is missing, and warns (``strict=True``: refuses) when
``controlplane``/``linkproxy`` changed since the build.

    tags = ensure_images()          # ImageTags(base=…, app=…, proxy=…)
    tags = require_images()         # raises ImageError with the fix
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ImageError
from harness.images.app import build_app_images
from harness.images.base import ensure_base
from harness.images.recipe import BaseRecipe, base_tag
from harness.images.steps import Steps
from harness.images.wheels import make_context

# Code that runs inside the containers: a change here makes the images stale.
CONTAINER_PACKAGES = ("controlplane", "linkproxy")
# The build procedure itself (Dockerfile templates, recipes): a change there rebuilds too.
BUILD_PACKAGE = "harness/images"
FIX = "run `make images` or `chaosplane build`"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageTags:
    base: str
    app: str  # kvstore members and apiservers
    proxy: str  # the Toxiproxy-compatible link proxy

    def to_json(self) -> dict[str, str]:
        return {"base": self.base, "app": self.app, "proxy": self.proxy}


def repo_root() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        raise ImageError(f"images are built from a source checkout; no pyproject.toml in {root}")
    return root


def cache_dir() -> Path:
    env = os.environ.get("CHAOSPLANE_IMAGE_CACHE")
    return Path(env) if env else repo_root() / ".cache" / "images"


DEFAULT_HOSTS = ("", "unix:///var/run/docker.sock", "unix:///run/docker.sock")


def tags_file(cache: Path) -> Path:
    """Where the last build's tags are recorded, one file per Docker engine: image tags carry
    the engine's own base-image id, so another engine's record (``DOCKER_HOST``) names images
    this one does not have (a build on a second engine made every later local run fail)."""
    host = os.environ.get("DOCKER_HOST", "")
    if host in DEFAULT_HOSTS:
        return cache / "tags.json"
    return cache / f"tags-{hashlib.sha256(host.encode()).hexdigest()[:12]}.json"


def source_fingerprint(root: Path) -> str:
    """sha256 over pyproject.toml, every file of the containers' wheel, and the build code."""
    digest = hashlib.sha256()
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        digest.update(pyproject.read_bytes() + b"\0")
    for pkg in (*CONTAINER_PACKAGES, BUILD_PACKAGE):
        for path in sorted((root / pkg).rglob("*")):
            if "__pycache__" in path.parts or path.suffix == ".pyc" or not path.is_file():
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _client() -> Any:
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise ImageError(f"cannot reach the Docker engine ({exc}); is dockerd running?") from exc
    return client


def ensure_images(*, steps: Steps | None = None, recipe: BaseRecipe | None = None) -> ImageTags:
    steps = steps or Steps()
    root, cache = repo_root(), cache_dir()
    client = _client()
    with _locked(cache):
        fingerprint = source_fingerprint(root)  # before the copy: a later edit reads as stale
        current = _current_record(client, cache, recipe or BaseRecipe(), fingerprint)
        if current is not None:
            return current  # nothing changed since the last build: no wheel, no hashing
        base, base_id = ensure_base(client, recipe or BaseRecipe(), cache, steps)
        ctx = make_context(root, cache, steps)
        app, proxy = build_app_images(client, base, base_id, ctx, steps)
        tags = ImageTags(base=base, app=app, proxy=proxy)
        record = {**tags.to_json(), "source_fingerprint": fingerprint, "built_at": time.time()}
        target = tags_file(cache)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        partial.replace(target)
    return tags


class StaleImagesWarning(UserWarning):
    """The images predate the current controlplane/linkproxy source."""


def _current_record(
    client: Any, cache: Path, recipe: BaseRecipe, fingerprint: str
) -> ImageTags | None:
    """The recorded tags when they match this source and recipe and all exist, else None."""
    import docker.errors

    try:
        record = json.loads(tags_file(cache).read_text(encoding="utf-8"))
        tags = ImageTags(base=record["base"], app=record["app"], proxy=record["proxy"])
    except (OSError, ValueError, KeyError):
        return None
    if record.get("source_fingerprint") != fingerprint or tags.base != base_tag(recipe):
        return None
    try:
        for tag in (tags.base, tags.app, tags.proxy):
            client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    return tags


def require_images(*, strict: bool = False) -> ImageTags:
    """The tags of the last build, after checking each exists locally (no build, no pull).

    ``strict`` also refuses images older than the current container source (else a warning).
    """
    path = tags_file(cache_dir())
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        tags = ImageTags(base=record["base"], app=record["app"], proxy=record["proxy"])
    except FileNotFoundError:
        raise ImageError(
            f"no images have been built in this checkout ({path} is missing); {FIX}"
        ) from None
    except (ValueError, KeyError) as exc:
        raise ImageError(f"{path} is unreadable ({exc}); {FIX}") from exc
    import docker.errors

    client = _client()
    for tag in (tags.base, tags.app, tags.proxy):
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            raise ImageError(f"image {tag} is not in the local Docker engine; {FIX}") from None
    if record.get("source_fingerprint") != source_fingerprint(repo_root()):
        message = (
            f"{tags.app} predates the current {', '.join((*CONTAINER_PACKAGES, BUILD_PACKAGE))} "
            f"source; {FIX}"
        )
        if strict:
            raise ImageError(message)
        # Not an error by default: a long test session must not fail because someone edited
        # the control plane after the session's build; the warning says the images lag.
        warnings.warn(message, StaleImagesWarning, stacklevel=2)
    return tags

"""App and link-proxy images: the base plus a venv installed offline from host-built wheels.

In a nutshell: ``build_app_images(client, base_tag, base_id, ctx, steps)`` renders the
Dockerfiles, hashes base id + wheels + Dockerfile into one build hash, and builds
``chaosplane-app:<hash>`` and ``chaosplane-linkproxy:<hash>`` with docker-py (legacy builder,
``pull=False``), skipping whichever tag already exists. The proxy image is the app image with
another command, so it costs one metadata layer.

    app, proxy = build_app_images(client, base_tag, base_id, ctx, steps)
"""

from __future__ import annotations

import contextlib
import io
import time
from datetime import UTC, datetime
from typing import Any

from harness.errors import ImageError
from harness.images.recipe import (
    IMAGE_HASH_LABEL,
    IMAGE_KIND_LABEL,
    app_tag,
    context_hash,
    proxy_tag,
)
from harness.images.steps import Steps
from harness.images.wheels import BuildContext

BUILD_TIMEOUT_S = 600

APP_DOCKERFILE = """\
FROM {base_tag}
# Metadata first: the legacy builder runs a container per instruction, so every instruction
# after the changing layer costs about a second per code change; these stay cached.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PYTHONUNBUFFERED=1
WORKDIR /data
CMD ["python", "-m", "controlplane.kvstore"]
# Dependencies next: their layer is reused while only the project wheel changes.
COPY deps/ /wheels/deps/
RUN python3 -m venv --without-pip /opt/venv \\
 && /opt/venv/bin/python /wheels/deps/{pip_wheel}/pip install --no-index \\
    --find-links /wheels/deps --no-cache-dir --disable-pip-version-check -q \\
    -r /wheels/deps/requirements.lock \\
 && /opt/venv/bin/python /wheels/deps/{pip_wheel}/pip install --no-index --no-deps \\
    --find-links /wheels/deps --no-cache-dir --disable-pip-version-check -q \\
    -r /wheels/deps/nodeps.lock
COPY app/ /wheels/app/
RUN /opt/venv/bin/python /wheels/deps/{pip_wheel}/pip install --no-index --no-deps \\
    --no-cache-dir --disable-pip-version-check -q /wheels/app/*.whl
"""

PROXY_DOCKERFILE = """\
FROM {app_tag}
CMD ["python", "-m", "linkproxy", "--host", "0.0.0.0", "--port", "8474"]
"""


def render_app_dockerfile(base_tag: str, pip_wheel: str) -> str:
    return APP_DOCKERFILE.format(base_tag=base_tag, pip_wheel=pip_wheel)


def build_app_images(
    client: Any, base_tag: str, base_id: str, ctx: BuildContext, steps: Steps
) -> tuple[str, str]:
    """Return ``(app_tag, proxy_tag)``, building each image that does not exist yet."""
    dockerfile = render_app_dockerfile(base_tag, ctx.pip_wheel)
    build_hash = context_hash(base_id, ctx.digests, dockerfile)
    app, proxy = app_tag(build_hash), proxy_tag(build_hash)
    if not _exists(client, app):
        (ctx.dir / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        with steps.step(f"build {app}"):
            context = {"path": str(ctx.dir), "dockerfile": "Dockerfile"}
            _build(client, context, app, "app", build_hash)
    if not _exists(client, proxy):
        # Only a Dockerfile as context: the proxy image adds metadata to the app image, so
        # sending the wheels to the daemon again would be wasted time.
        text = PROXY_DOCKERFILE.format(app_tag=app)
        with steps.step(f"build {proxy}"):
            _build(client, {"fileobj": io.BytesIO(text.encode())}, proxy, "linkproxy", build_hash)
    _prune_old(client, keep={app, proxy})
    return app, proxy


def _prune_old(client: Any, keep: set[str], keep_count: int = 5, min_age_s: float = 7200) -> None:
    """Drop app/proxy tags beyond the newest few that are also hours old.

    The age floor matters: a test session resolves its tags once and may use them an hour
    later, while others rebuild meanwhile; a tag still used by a container is refused anyway.
    """
    import docker.errors

    cutoff = time.time() - min_age_s
    for kind in ("app", "linkproxy"):
        images = client.images.list(filters={"label": f"{IMAGE_KIND_LABEL}={kind}"})
        images.sort(key=lambda image: str(image.attrs.get("Created", "")), reverse=True)
        for image in images[keep_count:]:
            if _created_epoch(image) > cutoff:
                continue
            for tag in image.tags:
                if tag in keep:
                    continue
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(tag, noprune=False)


def _created_epoch(image: Any) -> float:
    created = str(image.attrs.get("Created", ""))  # RFC 3339 with nanoseconds, e.g. …51.123456789Z
    try:
        return datetime.fromisoformat(created[:19]).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return time.time()  # unknown age: treat as new, keep it


def _exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _build(client: Any, context: dict[str, Any], tag: str, kind: str, build_hash: str) -> None:
    import docker.errors

    try:
        client.images.build(
            **context,
            tag=tag,
            pull=False,  # never reach a registry: FROM names a local image
            network_mode="none",  # pip installs --no-index; and docker0 may not exist here
            rm=True,
            forcerm=True,
            labels={IMAGE_KIND_LABEL: kind, IMAGE_HASH_LABEL: build_hash},
            timeout=BUILD_TIMEOUT_S,
        )
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
        tail = "\n".join(log.splitlines()[-20:])
        raise ImageError(f"docker build of {tag} failed: {exc.msg}\n{tail}") from exc
    except docker.errors.APIError as exc:
        raise ImageError(f"docker build of {tag} failed: {exc}") from exc

"""The etcd image: Debian's ``etcd-server``/``etcd-client`` installed on the project base, offline.

In a nutshell: ``ensure_etcd_image()`` downloads the two .debs on the host once (``apt-get
download`` into ``.cache/images/etcd-debs``; no registry), builds ``FROM`` the base image with
``dpkg -i`` under ``--network none`` (~2 s), tags the result with a
hash of base image id + .deb digests + Dockerfile, and records it in ``etcd.json``.
``require_etcd_image()`` is the no-build preflight a cluster start with engine etcd runs.

    tag = ensure_etcd_image()      # "chaosplane-etcd:3f2a9c1b7d0e"
    tag = require_etcd_image()     # raises ImageError naming `chaosplane build`
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from harness.errors import ImageError
from harness.images.base import ensure_base
from harness.images.ensure import _client, _locked, cache_dir
from harness.images.recipe import (
    IMAGE_HASH_LABEL,
    IMAGE_KIND_LABEL,
    BaseRecipe,
    file_sha256,
    sha12,
)
from harness.images.steps import Steps

ETCD_REPO = "chaosplane-etcd"
ETCD_PACKAGES = ("etcd-server", "etcd-client")
DOWNLOAD_TIMEOUT_S = 300.0
BUILD_TIMEOUT_S = 300
FIX = "run `chaosplane build` (it downloads etcd-server/etcd-client with apt-get download)"

ETCD_DOCKERFILE = """\
FROM {base_tag}
COPY debs/ /debs/
# postinst creates the etcd user and /var/lib/etcd; invoke-rc.d's "no init system" warning is
# harmless. We run etcd as root from the cluster, data in /data.
RUN dpkg -i /debs/*.deb && rm -rf /debs && etcd --version
WORKDIR /data
CMD ["etcd", "--version"]
"""


def debs_dir() -> Path:
    return cache_dir() / "etcd-debs"


def etcd_tag(build_hash: str) -> str:
    return f"{ETCD_REPO}:{build_hash}"


def build_hash(base_image_id: str, deb_digests: dict[str, str], dockerfile: str) -> str:
    lines = [f"base {base_image_id}", f"dockerfile {sha12(dockerfile)}"]
    lines += [f"deb {name} {deb_digests[name]}" for name in sorted(deb_digests)]
    return sha12("\n".join(lines))


def _find_debs(directory: Path) -> list[Path] | None:
    found = [sorted(directory.glob(f"{pkg}_*.deb")) for pkg in ETCD_PACKAGES]
    if not all(found):
        return None
    return [paths[-1] for paths in found]


def ensure_debs(directory: Path, steps: Steps) -> list[Path]:
    """The .debs, downloaded with the host's apt the first time (kept for later builds)."""
    debs = _find_debs(directory)
    if debs is not None:
        return debs
    directory.mkdir(parents=True, exist_ok=True)
    with steps.step("apt-get download " + " ".join(ETCD_PACKAGES)):
        try:
            proc = subprocess.run(
                ["apt-get", "download", *ETCD_PACKAGES],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=DOWNLOAD_TIMEOUT_S,
                check=False,
            )
        except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
            raise ImageError(f"apt-get download {' '.join(ETCD_PACKAGES)} failed: {exc}") from exc
    debs = _find_debs(directory)
    if proc.returncode != 0 or debs is None:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-10:])
        raise ImageError(
            f"apt-get download {' '.join(ETCD_PACKAGES)} in {directory} failed "
            f"(exit {proc.returncode}); is the Debian mirror reachable and `apt-get update` "
            f"done?\n{tail}"
        )
    return debs


def _context_tar(dockerfile: str, debs: list[Path]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for deb in debs:
            tar.add(deb, arcname=f"debs/{deb.name}")
    buffer.seek(0)
    return buffer


def ensure_etcd_image(*, steps: Steps | None = None, recipe: BaseRecipe | None = None) -> str:
    """Return the etcd image tag, building it (and the base, if missing) only when needed."""
    steps = steps or Steps()
    cache = cache_dir()
    client = _client()
    with _locked(cache):
        base, base_id = ensure_base(client, recipe or BaseRecipe(), cache, steps)
        debs = ensure_debs(debs_dir(), steps)
        dockerfile = ETCD_DOCKERFILE.format(base_tag=base)
        digests = {deb.name: file_sha256(deb.read_bytes()) for deb in debs}
        hash_ = build_hash(base_id, digests, dockerfile)
        tag = etcd_tag(hash_)
        if not _exists(client, tag):
            with steps.step(f"build {tag}"):
                _build(client, _context_tar(dockerfile, debs), tag, hash_)
        record = {"etcd": tag, "debs": sorted(digests), "built_at": time.time()}
        partial = cache / "etcd.json.partial"
        partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        partial.replace(cache / "etcd.json")
    return tag


def require_etcd_image() -> str:
    """The recorded etcd image tag after checking it exists locally (no build, no pull)."""
    path = cache_dir() / "etcd.json"
    try:
        tag = str(json.loads(path.read_text(encoding="utf-8"))["etcd"])
    except FileNotFoundError:
        raise ImageError(f"no etcd image has been built in this checkout ({path}); {FIX}") from None
    except (ValueError, KeyError) as exc:
        raise ImageError(f"{path} is unreadable ({exc}); {FIX}") from exc
    if not _exists(_client(), tag):
        raise ImageError(f"image {tag} is not in the local Docker engine; {FIX}")
    return tag


def _exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _build(client: Any, context: io.BytesIO, tag: str, hash_: str) -> None:
    import docker.errors

    try:
        client.images.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            pull=False,  # FROM names the local base image
            network_mode="none",  # dpkg -i needs nothing from the network
            rm=True,
            forcerm=True,
            labels={IMAGE_KIND_LABEL: "etcd", IMAGE_HASH_LABEL: hash_},
            timeout=BUILD_TIMEOUT_S,
        )
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
        tail = "\n".join(log.splitlines()[-20:])
        raise ImageError(f"docker build of {tag} failed: {exc.msg}\n{tail}") from exc
    except docker.errors.APIError as exc:
        raise ImageError(f"docker build of {tag} failed: {exc}") from exc

"""The Debian base image: debootstrap minbase, trimmed, ``docker import``ed, rootfs cached.

In a nutshell: ``ensure_base(client, recipe, cache_dir, steps)`` returns the base image's tag
and id, doing the least work possible: the tag exists (0.03 s) → nothing; the cached
``base-<suite>-<hash>.tar.zst`` exists → re-import (~3 s); otherwise debootstrap (~45 s on
2 cores), trim, save the dpkg manifest and the tarball, import. No registry is involved.

    tag, image_id = ensure_base(docker.from_env(), BaseRecipe(), Path(".cache/images"), steps)
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.errors import ImageError
from harness.images.recipe import (
    IMAGE_HASH_LABEL,
    IMAGE_KIND_LABEL,
    KEEP_LOCALE,
    BaseRecipe,
    base_tag,
    recipe_hash,
)
from harness.images.steps import Steps

DEBOOTSTRAP_TIMEOUT_S = 900.0
IMPORT_TIMEOUT_S = 300.0


def tarball_path(cache_dir: Path, recipe: BaseRecipe) -> Path:
    return cache_dir / f"base-{recipe.suite}-{recipe_hash(recipe)}.tar.zst"


def manifest_path(cache_dir: Path, recipe: BaseRecipe) -> Path:
    return cache_dir / f"base-{recipe.suite}-{recipe_hash(recipe)}.manifest"


def ensure_base(client: Any, recipe: BaseRecipe, cache_dir: Path, steps: Steps) -> tuple[str, str]:
    """Return ``(tag, image_id)`` of the base image, building or re-importing it if needed."""
    tag = base_tag(recipe)
    image = _get_image(client, tag)
    if image is not None:
        return tag, str(image.id)
    tarball = tarball_path(cache_dir, recipe)
    if not tarball.exists():
        _build_rootfs_tarball(recipe, cache_dir, tarball, steps)
    with steps.step(f"import {tag}"):
        _import(tarball, tag, recipe)
    image = _get_image(client, tag)
    if image is None:
        raise ImageError(f"docker import of {tarball} reported success but {tag} is missing")
    return tag, str(image.id)


def _get_image(client: Any, tag: str) -> Any | None:
    import docker.errors

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def _run(argv: list[str], *, what: str, timeout_s: float, **kwargs: Any) -> None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, **kwargs)
    except FileNotFoundError as exc:
        raise ImageError(
            f"{what}: {argv[0]} is not installed; run `make images` (it apt-get installs "
            f"debootstrap and zstd) or `apt-get install -y debootstrap zstd`"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ImageError(f"{what}: no result after {timeout_s:.0f} s: {' '.join(argv)}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise ImageError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{tail}")


def _build_rootfs_tarball(recipe: BaseRecipe, cache_dir: Path, tarball: Path, steps: Steps) -> None:
    if os.geteuid() != 0:
        raise ImageError("building the base image runs debootstrap, which needs root")
    cache_dir.mkdir(parents=True, exist_ok=True)
    debs = cache_dir / "debs"  # keeps downloaded .debs so a rebuild skips the download
    debs.mkdir(exist_ok=True)
    rootfs = cache_dir / f"rootfs-{recipe_hash(recipe)}.tmp"
    if rootfs.exists():
        shutil.rmtree(rootfs)  # a half-built tree from an interrupted build
    try:
        with steps.step(f"debootstrap {recipe.variant} {recipe.suite}"):
            _run(
                [
                    "debootstrap",
                    f"--variant={recipe.variant}",
                    f"--include={','.join(recipe.packages)}",
                    f"--cache-dir={debs.resolve()}",
                    recipe.suite,
                    str(rootfs),
                    recipe.mirror,
                ],
                what="debootstrap",
                timeout_s=DEBOOTSTRAP_TIMEOUT_S,
            )
        with steps.step("trim rootfs, save dpkg manifest"):
            _write_manifest(rootfs, manifest_path(cache_dir, recipe))
            trim_rootfs(rootfs, recipe)
        with steps.step(f"pack {tarball.name}"):
            partial = tarball.with_suffix(".partial")
            _run(
                [
                    "sh",
                    "-c",
                    'tar -C "$1" --numeric-owner -c . | zstd -q -T0 -3 -o "$2" -f',
                    "sh",
                    str(rootfs),
                    str(partial),
                ],
                what="pack rootfs",
                timeout_s=IMPORT_TIMEOUT_S,
            )
            partial.rename(tarball)  # atomic: a tarball that exists is complete
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _write_manifest(rootfs: Path, path: Path) -> None:
    # The recipe hash pins the recipe, not the mirror's package versions: the manifest records them.
    proc = subprocess.run(
        ["dpkg-query", f"--admindir={rootfs}/var/lib/dpkg", "-W", "-f=${Package} ${Version}\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise ImageError(f"dpkg-query on {rootfs} failed: {proc.stderr.strip()}")
    path.write_text(proc.stdout, encoding="utf-8")


def trim_rootfs(rootfs: Path, recipe: BaseRecipe) -> None:
    """Remove apt caches, docs and locales (about 145 MB of 266 MB)."""
    for pattern in recipe.trim_globs:
        for hit in glob.glob(str(rootfs / pattern)):
            path = Path(hit)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    locale = rootfs / "usr/share/locale"
    if locale.is_dir():
        for entry in locale.iterdir():
            if entry.name == KEEP_LOCALE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def _import(tarball: Path, tag: str, recipe: BaseRecipe) -> None:
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
        'CMD ["/bin/bash"]',
        f"LABEL {IMAGE_KIND_LABEL}=base {IMAGE_HASH_LABEL}={recipe_hash(recipe)}",
    ]
    # $1 is the tarball; the remaining arguments are docker import's --change options.
    argv = [
        "sh",
        "-c",
        'f="$1"; shift; zstd -dc "$f" | docker import "$@" - "$TAG"',
        "sh",
        str(tarball),
    ]
    for change in changes:
        argv += ["--change", change]
    _run(argv, what="docker import", timeout_s=IMPORT_TIMEOUT_S, env={**os.environ, "TAG": tag})

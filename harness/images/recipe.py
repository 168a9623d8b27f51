"""Image recipes and their content hashes: pure functions, no Docker, no subprocess.

In a nutshell: an image's tag is a hash of what went into it, so "is the image current?" is a
tag lookup. The base tag hashes the debootstrap recipe (suite, variant, packages, trim list);
the app tag hashes the base image id plus the sha256 of every wheel in the build context; the
proxy image is the app image with another command, so it shares the app hash.

    recipe = BaseRecipe()
    base_tag(recipe)                      # "chaosplane-base:bookworm-3f2a9c1b7d0e"
    app_tag(base_id, {"x.whl": "ab12…"})  # "chaosplane-app:…"
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

BASE_REPO = "chaosplane-base"
APP_REPO = "chaosplane-app"
PROXY_REPO = "chaosplane-linkproxy"

# Images carry these labels (not the bare ``chaosplane`` key: that one marks per-run objects
# the reaper may delete, and images outlive runs).
IMAGE_KIND_LABEL = "chaosplane.image"
IMAGE_HASH_LABEL = "chaosplane.hash"

# Paths removed from the debootstrap tree before import: ~145 MB of the 266 MB are apt caches,
# docs and locales. Globs are relative to the rootfs.
TRIM_GLOBS: tuple[str, ...] = (
    "var/cache/apt/archives/*.deb",
    "var/cache/apt/*.bin",
    "var/lib/apt/lists/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "var/log/*",
    "debootstrap",
)
# Everything under usr/share/locale except this is removed too.
KEEP_LOCALE = "locale.alias"


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseRecipe:
    """What debootstrap builds. Changing any field changes the base tag."""

    suite: str = "bookworm"
    variant: str = "minbase"
    mirror: str = "http://deb.debian.org/debian"
    # libfaketime: the clock-skew fault (LD_PRELOAD + FAKETIME_TIMESTAMP_FILE, no privileges).
    packages: tuple[str, ...] = ("python3", "iproute2", "iptables", "procps", "libfaketime")
    trim_globs: tuple[str, ...] = TRIM_GLOBS
    # Bumped by hand when the build procedure changes in a way the fields above do not show.
    version: int = 1

    def canonical(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "suite": self.suite,
                "variant": self.variant,
                "mirror": self.mirror,
                "packages": sorted(self.packages),
                "trim": list(self.trim_globs),
                "keep_locale": KEEP_LOCALE,
            },
            sort_keys=True,
        )


def sha12(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:12]


def recipe_hash(recipe: BaseRecipe) -> str:
    return sha12(recipe.canonical())


def base_tag(recipe: BaseRecipe) -> str:
    return f"{BASE_REPO}:{recipe.suite}-{recipe_hash(recipe)}"


def context_hash(base_image_id: str, wheel_digests: Mapping[str, str], dockerfile: str) -> str:
    """Hash of an app build: base image id, every wheel's sha256 (by file name), the Dockerfile.

    File names are part of the hash so that a renamed wheel (new version, same bytes) rebuilds.
    """
    lines = [f"base {base_image_id}", f"dockerfile {sha12(dockerfile)}"]
    lines += [f"wheel {name} {wheel_digests[name]}" for name in sorted(wheel_digests)]
    return sha12("\n".join(lines))


def app_tag(build_hash: str) -> str:
    return f"{APP_REPO}:{build_hash}"


def proxy_tag(build_hash: str) -> str:
    return f"{PROXY_REPO}:{build_hash}"


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

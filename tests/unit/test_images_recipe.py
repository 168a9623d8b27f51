"""Image recipes and tags are content hashes: what changes them, what does not (no Docker)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import ImageError
from harness.images import ensure as ensure_mod
from harness.images.app import render_app_dockerfile
from harness.images.base import trim_rootfs
from harness.images.recipe import (
    BaseRecipe,
    app_tag,
    base_tag,
    context_hash,
    proxy_tag,
    recipe_hash,
)
from harness.images.wheels import _wheel_requirement, runtime_dependencies

REPO = Path(__file__).resolve().parents[2]


def test_base_tag_is_stable_and_names_suite_and_hash() -> None:
    recipe = BaseRecipe()
    assert base_tag(recipe) == base_tag(BaseRecipe())
    assert base_tag(recipe) == f"chaosplane-base:bookworm-{recipe_hash(recipe)}"
    assert len(recipe_hash(recipe)) == 12


@pytest.mark.parametrize(
    "change",
    [
        {"suite": "trixie"},
        {"variant": "buildd"},
        {"mirror": "http://example.invalid/debian"},
        {"packages": ("python3", "iproute2")},
        {"trim_globs": ("usr/share/doc/*",)},
        {"version": 2},
    ],
)
def test_every_recipe_field_changes_the_base_hash(change: dict[str, object]) -> None:
    changed = dataclasses.replace(BaseRecipe(), **change)  # type: ignore[arg-type]
    assert recipe_hash(changed) != recipe_hash(BaseRecipe())


def test_package_order_does_not_change_the_hash() -> None:
    a = BaseRecipe(packages=("python3", "iproute2", "iptables", "procps"))
    b = BaseRecipe(packages=("procps", "iptables", "iproute2", "python3"))
    assert recipe_hash(a) == recipe_hash(b)


def test_app_hash_covers_base_id_every_wheel_byte_and_the_dockerfile() -> None:
    wheels = {"deps/a-1-py3-none-any.whl": "aa", "app/chaosplane-0.1.0-py3-none-any.whl": "bb"}
    h = context_hash("sha256:base", wheels, "FROM x")
    assert h == context_hash("sha256:base", dict(reversed(list(wheels.items()))), "FROM x")
    assert h != context_hash("sha256:other", wheels, "FROM x")
    assert h != context_hash("sha256:base", {**wheels, "deps/a-1-py3-none-any.whl": "ab"}, "FROM x")
    assert h != context_hash("sha256:base", {"deps/a-2-py3-none-any.whl": "aa"}, "FROM x")
    assert h != context_hash("sha256:base", wheels, "FROM y")
    assert app_tag(h) == f"chaosplane-app:{h}" and proxy_tag(h) == f"chaosplane-linkproxy:{h}"


def test_app_dockerfile_installs_offline_from_the_base() -> None:
    text = render_app_dockerfile("chaosplane-base:bookworm-abc", "pip-26.3-py3-none-any.whl")
    assert text.startswith("FROM chaosplane-base:bookworm-abc\n")
    # Every pip call is offline: locked deps, the --no-deps ones (raftos), the project wheel.
    assert text.count("--no-index") == 3
    assert "--no-deps" in text.split("nodeps.lock")[0].rsplit("&&", 1)[1]
    assert "/wheels/deps/pip-26.3-py3-none-any.whl/pip install" in text
    assert "PATH=/opt/venv/bin:" in text


def test_wheel_file_names_become_pins() -> None:
    name = "aiohttp-3.14.5-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
    assert _wheel_requirement(name) == "aiohttp==3.14.5"
    assert _wheel_requirement("typing_extensions-4.16.0-py3-none-any.whl") == (
        "typing_extensions==4.16.0"
    )


def test_runtime_dependencies_come_from_pyproject() -> None:
    deps = runtime_dependencies(REPO)
    assert any(d.startswith("pysyncobj") for d in deps)
    assert not any(d.startswith("docker") for d in deps)  # harness-only deps stay out


def test_trim_removes_caches_docs_and_locales_but_keeps_the_rest(tmp_path: Path) -> None:
    files = [
        "var/cache/apt/archives/x.deb",
        "var/cache/apt/archives/partial/keep",
        "var/lib/apt/lists/deb.debian.org_InRelease",
        "usr/share/doc/python3/copyright",
        "usr/share/man/man1/ls.1.gz",
        "usr/share/locale/de/LC_MESSAGES/x.mo",
        "usr/share/locale/locale.alias",
        "usr/bin/python3",
        "debootstrap/debootstrap.log",
    ]
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("x")
    trim_rootfs(tmp_path, BaseRecipe())
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "usr/bin/python3",
        "usr/share/locale/locale.alias",
        "var/cache/apt/archives/partial/keep",
    ]


def test_require_images_names_the_fix_when_nothing_was_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOSPLANE_IMAGE_CACHE", str(tmp_path))
    with pytest.raises(ImageError, match="make images"):
        ensure_mod.require_images()
    (tmp_path / "tags.json").write_text("{not json")
    with pytest.raises(ImageError, match=r"unreadable.*chaosplane build"):
        ensure_mod.require_images()


def test_source_fingerprint_follows_container_code_only(tmp_path: Path) -> None:
    for pkg in ("controlplane", "linkproxy", "harness"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "m.py").write_text("x = 1\n")
    before = ensure_mod.source_fingerprint(tmp_path)
    (tmp_path / "harness" / "m.py").write_text("x = 2\n")
    assert ensure_mod.source_fingerprint(tmp_path) == before
    (tmp_path / "linkproxy" / "m.py").write_text("x = 2\n")
    assert ensure_mod.source_fingerprint(tmp_path) != before


def test_each_docker_engine_keeps_its_own_tags_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build on a second engine must not replace the record the local engine's runs read."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    local = ensure_mod.tags_file(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert ensure_mod.tags_file(tmp_path) == local == tmp_path / "tags.json"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/chaosplane-engine2.sock")
    other = ensure_mod.tags_file(tmp_path)
    assert other != local and other.parent == tmp_path
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    assert ensure_mod.tags_file(tmp_path) not in (local, other)

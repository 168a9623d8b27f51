"""The app build context, made on the host: project wheel, runtime-dependency wheels, pip.

In a nutshell: images install everything with ``pip --no-index`` from wheels built here, so a
build never reaches PyPI from inside Docker (README: no image is ever pulled). Dependency
wheels are cached per dependency list under ``.cache/images/deps-<hash>/``; the project wheel
is built from a scratch copy of the source with a fixed ``SOURCE_DATE_EPOCH``, so unchanged
source gives a byte-identical wheel and therefore the same image tag.

    ctx = make_context(repo_root, cache_dir, steps)   # ctx.dir holds deps/ and app/
    ctx.digests                                       # {"deps/aiohttp-….whl": "sha256…", …}
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ImageError
from harness.images.recipe import file_sha256, sha12
from harness.images.steps import Steps

# What goes into the project wheel. The harness runs on the host only, so it stays out: then
# the app tag changes only when code that runs in a container changes (the tag is a wheel hash).
SOURCE_PACKAGES = ("controlplane", "linkproxy")
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")
# Zip timestamps must not depend on when the wheel was built (1980-01-01 is the zip minimum).
SOURCE_DATE_EPOCH = "315532800"
PIP_TIMEOUT_S = 600.0
# Installed with ``--no-deps`` (listed in ``nodeps.lock``, not ``requirements.lock``): raftos
# 0.2.6 pins cryptography==1.5.3 and msgpack-python==0.4.8, which do not build on 3.11; its
# real dependencies come from pyproject's ``raftos`` extra.
NO_DEPS_REQUIREMENTS = ("raftos==0.2.6",)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildContext:
    dir: Path  # holds deps/ (wheels, pip wheel, requirements.lock) and app/ (project wheel)
    pip_wheel: str  # file name of the pip wheel inside deps/, run as a zipapp in the image
    digests: dict[str, str]  # "deps/<file>" / "app/<file>" → sha256


def runtime_dependencies(repo_root: Path) -> list[str]:
    with (repo_root / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    extras = project.get("optional-dependencies", {})
    # The raftos engine runs in the same image, so its extra ships with the runtime deps.
    return [str(d) for d in [*project.get("dependencies", []), *extras.get("raftos", [])]]


def make_context(repo_root: Path, cache_dir: Path, steps: Steps) -> BuildContext:
    cache_dir.mkdir(parents=True, exist_ok=True)
    deps_dir = _ensure_dep_wheels(runtime_dependencies(repo_root), cache_dir, steps)
    ctx = cache_dir / "context"
    if ctx.exists():
        shutil.rmtree(ctx)
    (ctx / "app").mkdir(parents=True)
    # Hard links: the deps cache and the context live on the same file system.
    shutil.copytree(deps_dir, ctx / "deps", copy_function=os.link)
    with steps.step("build project wheel"):
        _build_project_wheel(repo_root, cache_dir, ctx / "app")
    pip_wheels = sorted(p.name for p in (ctx / "deps").glob("pip-*.whl"))
    if not pip_wheels:
        raise ImageError(f"no pip wheel in {deps_dir}; delete that directory and rebuild")
    digests = {
        f"{sub}/{p.name}": file_sha256(p.read_bytes())
        for sub in ("deps", "app")
        for p in sorted((ctx / sub).iterdir())
    }
    return BuildContext(dir=ctx, pip_wheel=pip_wheels[-1], digests=digests)


def _pip(
    *args: str, what: str, python: str = sys.executable, env: dict[str, str] | None = None
) -> None:
    argv = [python, "-m", "pip", *args]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ImageError(f"{what}: pip gave no result after {PIP_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise ImageError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{tail}")


def _ensure_dep_wheels(deps: list[str], cache_dir: Path, steps: Steps) -> Path:
    pip_version = _host_pip_version()
    nodeps = sorted(NO_DEPS_REQUIREMENTS)
    parts = [*sorted(deps), *(f"nodeps {r}" for r in nodeps)]
    key = sha12("\n".join([*parts, f"pip=={pip_version}", sys.implementation.cache_tag]))
    out = cache_dir / f"deps-{key}"
    if (out / "requirements.lock").exists():
        return out
    partial = cache_dir / f"deps-{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with steps.step(f"wheels for {', '.join(deps)}"):
        # Built on the host: same CPython minor (cp311) and glibc 2.36 as the bookworm image.
        _pip("wheel", "-q", "-w", str(partial), *deps, what="pip wheel (runtime dependencies)")
        _pip("download", "-q", "--no-deps", "-d", str(partial), f"pip=={pip_version}",
             what="pip download (pip)")  # fmt: skip
        _pip("wheel", "-q", "--no-deps", "-w", str(partial), *nodeps,
             what="pip wheel (no-deps requirements)")  # fmt: skip
    nodeps_names = {r.split("==")[0].lower() for r in nodeps}
    lock = [_wheel_requirement(p.name) for p in sorted(partial.glob("*.whl"))]
    lock = [line for line in lock if not line.startswith("pip==")]
    loose = [line for line in lock if line.split("==")[0].lower() in nodeps_names]
    lock = [line for line in lock if line not in loose]
    (partial / "nodeps.lock").write_text("\n".join(loose) + "\n", encoding="utf-8")
    (partial / "requirements.lock").write_text("\n".join(lock) + "\n", encoding="utf-8")
    partial.rename(out)
    return out


def _wheel_requirement(file_name: str) -> str:
    # PEP 427: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
    name, version = file_name.split("-")[:2]
    return f"{name}=={version}"


def _host_pip_version() -> str:
    import pip

    return str(pip.__version__)


def _build_env(cache_dir: Path) -> str:
    """A venv with setuptools>=68 and wheel, made once: ``--no-build-isolation`` needs them."""
    env = cache_dir / "buildenv"
    python = env / "bin" / "python"
    stamp = env / ".ready"
    if not stamp.exists():
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
        _pip("install", "-q", "setuptools>=68", "wheel", what="build venv", python=str(python))
        stamp.touch()
    return str(python)


def _build_project_wheel(repo_root: Path, cache_dir: Path, out: Path) -> None:
    python = _build_env(cache_dir)
    # A scratch copy: setuptools' build/ directory keeps deleted modules, and other people
    # may be building in the same checkout at the same time.
    src = cache_dir / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")
    for pkg in SOURCE_PACKAGES:
        if (repo_root / pkg).is_dir():
            shutil.copytree(repo_root / pkg, src / pkg, ignore=ignore)
    for name in SOURCE_FILES:
        if (repo_root / name).exists():
            shutil.copy2(repo_root / name, src / name)
    if not (src / "README.md").exists():
        (src / "README.md").write_text("chaosplane\n", encoding="utf-8")  # pyproject names it
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    _pip("wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src),
         what="pip wheel (project)", python=python, env=env)  # fmt: skip
    shutil.rmtree(src, ignore_errors=True)

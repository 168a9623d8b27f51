"""The images themselves: what is inside, that a rebuild with no change builds nothing, and
that the preflight refuses a missing tag instead of letting testcontainers try a pull."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cluster import labels as L
from harness.errors import ImageError
from harness.images import ImageTags, Steps, ensure_images, require_images

pytestmark = pytest.mark.docker
docker = pytest.importorskip("docker")


def run_in(image: str, command: list[str]) -> str:
    client = docker.from_env()
    out: bytes = client.containers.run(
        image, command, remove=True, labels=L.run_labels(L.new_run_id("img"), L.current_owner())
    )
    return out.decode()


def test_base_has_python_and_the_network_tools(images: ImageTags) -> None:
    out = run_in(
        images.base, ["sh", "-c", "python3 -c 'import ssl,venv; print(1)' && ip -V && iptables -V"]
    )
    assert out.startswith("1\n") and "iproute2" in out and "nf_tables" in out
    assert run_in(images.base, ["sh", "-c", "ls /usr/share/doc | wc -l"]).strip() == "0"  # trimmed


def test_app_image_runs_the_project_from_its_venv_with_pinned_deps(images: ImageTags) -> None:
    code = "import sys, aiohttp, httpx, pysyncobj, controlplane, linkproxy; print(sys.prefix)"
    assert run_in(images.app, ["python", "-c", code]).strip() == "/opt/venv"
    client = docker.from_env()
    assert client.images.get(images.proxy).attrs["Config"]["Cmd"][:3] == [
        "python", "-m", "linkproxy",
    ]  # fmt: skip


def test_a_second_ensure_builds_nothing(images: ImageTags) -> None:
    steps = Steps(quiet=True)
    again = ensure_images(steps=steps)
    assert again.base == images.base
    assert not [s for s in steps.timings_s if s.startswith(("debootstrap", "import "))]
    if again.app == images.app:  # the container code did not change meanwhile
        assert not [s for s in steps.timings_s if s.startswith("build chaosplane-")]


def test_preflight_refuses_a_tag_that_is_not_local(
    images: ImageTags, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = {**images.to_json(), "app": "chaosplane-app:000000000000"}
    (tmp_path / "tags.json").write_text(json.dumps(record))
    monkeypatch.setenv("CHAOSPLANE_IMAGE_CACHE", str(tmp_path))
    with pytest.raises(ImageError, match=r"chaosplane-app:000000000000 is not in the local"):
        require_images()
